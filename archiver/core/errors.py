"""Errors the archiver raises, as one tree.

* ArchiverError
  x ConfigurationError      a setting is missing or invalid; the message names it
  x RequestRejected         the HTTP request as a whole is refused; nothing is written
  | + InvalidBody           not JSON, or not an event or an array of events   -> 400
  | + TopicNotAllowed       an event comes from a topic outside the allow-list -> 403
  | + BodyTooLarge          the body exceeds ARCHIVE_MAX_BODY_BYTES             -> 413
  | + InvalidQuery          a read API parameter is malformed                   -> 400
  x Unauthenticated         no bearer token, or one that is not valid          -> 401
  x Forbidden               a valid token without the role the route needs     -> 403
  x IdentityUnavailable     the tenant's OpenID metadata or keys could not be read -> 503
  x SearchUnavailable       the search service failed, throttled or did not answer -> 503
  x OnHold                  a thread under legal hold cannot be disposed of    -> 409
  x UnknownThread           the archive holds nothing of a thread or message    -> 404
  x UnknownContainer        a dead-letter container that does not exist
  x NotSealed               no seal covers a version yet, so nothing proves it -> 409
  x DamagedArchive          a stored blob is not what the storage contract says; run verify
  | + UnreadableEnvelope    an envelope or wrapped key does not open: a byte changed,
  |                         or the key is not the one it was sealed under
  x InvalidExport           an export would break its format's rules (a bug); nothing written
  x InvalidEvent            one event failed parsing or validation -> quarantine entry
  x AcsError                the ACS API did not give what was asked
  | + AcsDenied             401/403: the token or key is refused, or the archiver is not
  |                         a participant of the thread (only participants may list it)
  | + ThreadNotInAcs        404: ACS has no such thread, or it was deleted
  | + AcsUnavailable        429 after retries, 5xx, network; run again later
  x ModelError              the language model gave no summary (refused, throttled, failed,
  |                         unreachable); nothing is written, the thread is archived all the same
  | + UnusableAnswer        its answer does not parse or breaks the summary's rules
  x StorageError
    + AlreadyStored         a create-only write found the name taken (a duplicate)
    + ConcurrentUpdate      an ETag-conditional write lost a race; read again and retry
    + NotFound              a blob or row that was asked for does not exist
    + Immutable             a delete refused by an immutability policy or legal hold
    + StorageUnavailable    storage failed or did not answer in time             -> 503

Azure SDK exceptions are translated into this tree at the adapter edges only
(`archiver.storage.translation`, `archiver.acs.client`, `archiver.access`,
`archiver.summaries.azureopenai`, `archiver.search.azure.service`), and HTTP status
codes are chosen by `archiver.core.http`'s table only.
"""

from __future__ import annotations


class ArchiverError(Exception):
    """Base class of every error the archiver raises on purpose."""


class ConfigurationError(ArchiverError):
    """A setting is missing or invalid; the message names the setting."""


class RequestRejected(ArchiverError):
    """The request as a whole is refused before anything is written."""


class InvalidBody(RequestRejected):
    """The body is not JSON, or not an Event Grid / CloudEvents event or array."""


class TopicNotAllowed(RequestRejected):
    """An event comes from a topic that ARCHIVE_ALLOWED_TOPICS does not list."""


class BodyTooLarge(RequestRejected):
    """The body is larger than ARCHIVE_MAX_BODY_BYTES."""


class InvalidQuery(RequestRejected):
    """A parameter of a read request (or a command) is malformed; the message names it."""


class Unauthenticated(ArchiverError):
    """The request carries no credential, or one that does not prove who sent it."""


class Forbidden(ArchiverError):
    """The caller is known but lacks the role the request needs."""

    def __init__(self, message: str, *, principal: object = None) -> None:
        super().__init__(message)
        self.principal = principal  # who was refused, for the audit trail


class IdentityUnavailable(ArchiverError):
    """The identity provider's discovery document or signing keys could not be fetched, so
    a token cannot be checked either way; retrying later may work."""


class SearchUnavailable(ArchiverError):
    """The search service failed, throttled or did not answer in time; the archive is
    untouched and retrying later may work."""


class OnHold(ArchiverError):
    """The thread is under legal hold (or being disposed of, so it cannot be held)."""


class UnknownThread(ArchiverError):
    """The archive holds nothing of the thread (or message) asked for."""


class UnknownContainer(ArchiverError):
    """A container does not exist: one named on the command line, or one the archiver
    writes to (created then, where it may be)."""


class NotSealed(ArchiverError):
    """No seal of the thread covers the version yet, so nothing could prove it to anyone
    else: seal the thread first."""


class DamagedArchive(ArchiverError):
    """A stored blob does not hold what the storage contract says it holds."""


class UnreadableEnvelope(DamagedArchive):
    """An envelope or a wrapped key does not open: its bytes changed, it is not an
    envelope, or the key offered is not the one it was sealed or wrapped under."""


class Erased(ArchiverError):
    """A version's text is gone: its data key, or its sender's subject key, was destroyed
    by a redaction or an erasure, or restricted while a retention obligation runs. Its
    envelope, header and hash remain (410 Gone). `receipt` names the erasure receipt
    that says why ("" when none does: a key destroyed outside the archiver)."""

    def __init__(self, message: str, *, receipt: str = "", restricted: bool = False) -> None:
        super().__init__(message)
        self.receipt = receipt
        self.restricted = restricted


class InvalidExport(ArchiverError):
    """An export would break its format's rules (a bug to report); nothing is written."""


class InvalidEvent(ArchiverError):
    """One event cannot be archived as a chat record; it goes to quarantine."""


class InvalidJob(ArchiverError):
    """A jobs-queue message that is not a job this archiver runs (poisoned, never retried
    into success)."""


class AcsError(ArchiverError):
    """The ACS API did not give what was asked; the message says what to do."""


class AcsDenied(AcsError):
    """ACS refused the archiver's credentials, or the archiver is not a participant."""


class ThreadNotInAcs(AcsError):
    """ACS has no such thread (it was deleted, or never existed)."""


class AcsUnavailable(AcsError):
    """ACS kept throttling or failing, or could not be reached; retrying later may work."""


class ModelError(ArchiverError):
    """The language model gave no summary: it refused, throttled, failed or could not be
    reached. Summaries are best-effort: nothing is written, and the thread's archiving
    goes on."""


class UnusableAnswer(ModelError):
    """The model's answer is not the JSON the summary schema asks for, or breaks its rules
    (an unknown sentiment, a text too long); no half summary is ever written."""


class StorageError(ArchiverError):
    """A storage operation did not do what was asked."""


class AlreadyStored(StorageError):
    """A create-only write found an object under that name already."""


class ConcurrentUpdate(StorageError):
    """A conditional write lost to a concurrent writer."""


class RowConflict(ConcurrentUpdate):
    """A table transaction was refused because one of its writes lost a race: that row
    existed, changed or went. Nothing of the transaction was written."""

    def __init__(self, message: str, *, index: int) -> None:
        super().__init__(message)
        self.index = index  # the refused write's place in the transaction


class NotFound(StorageError):
    """A blob or row that was asked for does not exist."""


class StorageUnavailable(StorageError):
    """Storage failed, refused, or did not answer in time; retrying later may work."""


class Immutable(StorageError):
    """Storage refused to delete a blob: an immutability policy or legal hold keeps it."""

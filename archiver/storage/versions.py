"""Message versions as their blobs hold them: the plain document, or (envelope mode) an
envelope with that document sealed inside (archiver.core.erasure.envelopes).

Everything that reads what a version says (the read API, exports, RSMF, transcripts,
search, summaries) reads it through `Versions.read`, which hands back the plain
document's exact bytes either way, so no reader knows which mode wrote it. Everything
that checks what a blob is (seals, checkpoints, citations, verify) reads the stored
bytes themselves from `BlobArchive.read`: a seal covers the envelope, and verifies
whether or not its key still exists.

An archive written in envelope mode is read with its root key (ARCHIVE_ROOT_KEY) whether
or not new versions are still sealed (ARCHIVE_ENVELOPE); without the key, an envelope is
refused with a message that says which setting is missing.
"""

from __future__ import annotations

from collections.abc import Sequence

from archiver.core.erasure.envelopes import Header, Opened, open_version, read_header, seal_version
from archiver.core.erasure.redacted import redacted_document
from archiver.core.errors import ConfigurationError, Erased
from archiver.core.records import MessageVersion
from archiver.storage.keyring import Keyring
from archiver.storage.ports import BlobArchive

# Every envelope is canonical JSON (RFC 8785), keys in order: it starts with these bytes,
# which no plain document does (its first key is "threadId").
_ENVELOPE_START = b'{"ciphertext":'


def is_envelope(content: bytes) -> bool:
    """Whether a version blob's bytes are an envelope rather than a plain document."""
    return content.startswith(_ENVELOPE_START)


class Versions:
    """Reads versions back as plain documents, and seals new ones into envelopes."""

    def __init__(self, blobs: BlobArchive, keyring: Keyring | None, *, sealing: bool) -> None:
        if sealing and keyring is None:
            raise ConfigurationError("ARCHIVE_ENVELOPE=on needs ARCHIVE_ROOT_KEY")
        self._blobs = blobs
        self.keyring = keyring
        self.sealing = sealing  # new versions are written as envelopes

    def over(self, blobs: BlobArchive) -> Versions:
        """The same keys and mode over other blobs (a wrapper of this adapter's)."""
        return Versions(blobs, self.keyring, sealing=self.sealing)

    async def read(self, name: str) -> bytes:
        """The plain document of version blob `name`: its bytes, or the envelope's inside;
        for a version whose key is gone, the redacted document its header still gives
        ("[redacted: receipt N]"); UnreadableEnvelope when it does not open."""
        content = await self._blobs.read(name)
        if not is_envelope(content):
            return content
        return await self.plain(content, name=name)

    async def plain(self, content: bytes, *, name: str) -> bytes:
        """What an envelope's bytes read as: its plain document, or the redacted one."""
        try:
            return (await self.open(content, name=name)).event
        except Erased as gone:
            header = read_header(content, name=name)
            return redacted_document(header, receipt=gone.receipt, restricted=gone.restricted)

    async def both(self, name: str) -> tuple[bytes, bytes]:
        """The blob's stored bytes (what seals and citations hash) and its plain document;
        Erased when its key is gone (search leaves such a version out)."""
        content = await self._blobs.read(name)
        if not is_envelope(content):
            return content, content
        return content, (await self.open(content, name=name)).event

    async def opened(self, name: str) -> Opened | None:
        """The envelope `name` opened (with its salt, for a disclosure); None for a
        version written in plain mode."""
        content = await self._blobs.read(name)
        return await self.open(content, name=name) if is_envelope(content) else None

    async def open(self, content: bytes, *, name: str) -> Opened:
        """Open an envelope's bytes read elsewhere."""
        if self.keyring is None:
            raise ConfigurationError(
                f"{name} is an envelope: set ARCHIVE_ROOT_KEY to the archive's root key to read it"
            )
        header = read_header(content, name=name)
        return open_version(content, data_key=await self.keyring.data_key(header), name=name)

    async def sealed(self, versions: Sequence[tuple[str, MessageVersion, bytes]]) -> list[bytes]:
        """The envelope of each (blob name, version, plain document), in order, its data key's row
        committed first (archiver.storage.keyring); the documents themselves when
        envelope mode is off."""
        if not self.sealing or not versions:
            return [document for _, _, document in versions]
        assert self.keyring is not None
        keyring = self.keyring
        by_sender: dict[str, list[int]] = {}
        for index, (_, version, _) in enumerate(versions):
            # A version whose sender ACS did not name has the subject key of "".
            by_sender.setdefault(version.sender.raw_id or "", []).append(index)
        envelopes: list[bytes] = [b""] * len(versions)
        for raw_id, indexes in by_sender.items():
            pseudonym = await keyring.pseudonym(raw_id)
            keys = await keyring.data_keys(pseudonym, [versions[i][0] for i in indexes])
            for index, key in zip(indexes, keys, strict=True):
                _, version, document = versions[index]
                header = Header(
                    thread_id=version.thread_id,
                    message_id=version.message_id,
                    version=version.version,
                    action=version.action,
                    compose_time=version.compose_time,
                    edit_time=version.edit_time,
                    delete_time=version.delete_time,
                    sender=pseudonym,
                    subject_key_id=key.subject_key_id,
                    data_key_id=key.data_key_id,
                )
                envelopes[index] = seal_version(document, header=header, data_key=key.key)
        return envelopes

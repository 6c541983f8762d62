"""The ACS stand-in answers the real Identity and Chat SDKs as ACS would, over plain http.

Each spec drives `azure-communication-identity` and `azure-communication-chat` (async)
against a fresh stand-in; the threads come from one small hand-written story or from
archiver.sim.conversations, built by `threads_from`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.communication.chat import ChatMessage
from azure.communication.chat.aio import (
    ChatClient,
    ChatThreadClient,
    CommunicationTokenCredential,
)
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from archiver.core.records import Action, ThreadChange
from archiver.sim.conversations import Changed, Happening, Person, Said, Shape, conversations
from tests.acs_standin import MAX_PAGE_SIZE, AcsStandin, threads_from

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RESOURCE = "5e7c1b0a-2d4f-4a61-9b3e-8c0d1f2a3b4c"
THREAD = "19:6e5d6ca1d75044a49a36a7965ec4a906@thread.v2"
ALICE = Person(f"8:acs:{RESOURCE}_00000008-578d-7caf-07fd-084822001724", "Alice Adeyemi")
BOB = Person("8:orgid:2d3f6b0c-8e4a-4c1b-9f0e-6a7b8c9d0e1f", "Bob Bergström")
CAROL = Person(f"8:acs:{RESOURCE}_00000008-578d-7d60-83fe-084822000f6f", "Carol Costa")
ARCHIVER = f"8:acs:{RESOURCE}_00000008-0000-0000-0000-00000000a7c1"


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ms(seconds: int) -> int:
    return int(at(seconds).timestamp() * 1000)


def changed(
    change: ThreadChange,
    seconds: int,
    *,
    participant: Person | None = None,
    topic: str | None = None,
) -> Changed:
    return Changed(
        thread_id=THREAD,
        version=ms(seconds),
        change=change,
        time=at(seconds),
        create_time=T0,
        actor=ALICE,
        participant=participant,
        topic=topic,
        audience=(ALICE, BOB),
    )


def said(
    action: Action,
    seconds: int,
    *,
    sent: int | None = None,
    sender: Person = ALICE,
    body: str | None = None,
    kind: str = "Text",
    metadata: dict[str, str] | None = None,
) -> Said:
    composed = seconds if sent is None else sent
    return Said(
        thread_id=THREAD,
        message_id=str(ms(composed)),
        version=ms(seconds),
        action=action,
        time=at(seconds),
        compose_time=at(composed),
        sender=sender,
        type=kind,
        body=body,
        metadata=metadata,
        audience=(ALICE, BOB),
    )


STORY: list[Happening] = [
    changed(ThreadChange.CREATED, 0, topic="Order #48213"),
    said(Action.RECEIVED, 10, body="Hello"),
    said(Action.RECEIVED, 20, sender=BOB, body="Hi 👋", metadata={"tag": "case-7"}),
    said(Action.EDITED, 30, sent=10, body="Hello (edited)"),
    changed(ThreadChange.PARTICIPANT_ADDED, 40, participant=CAROL),
    said(Action.RECEIVED, 50, sender=CAROL, body="<p>Hi <b>all</b></p>", kind="Html"),
    said(Action.DELETED, 60, sent=20, sender=BOB, metadata={"tag": "case-7"}),
    changed(ThreadChange.PROPERTIES_UPDATED, 70, topic="Order #48213 (closed)"),
    changed(ThreadChange.PARTICIPANT_REMOVED, 80, participant=BOB),
]


@pytest.fixture
async def standin() -> AsyncIterator[AcsStandin]:
    async with AcsStandin(resource_id=RESOURCE) as running:
        yield running


@contextlib.asynccontextmanager
async def reader(standin: AcsStandin, token: str, thread_id: str = THREAD) -> AsyncIterator[Any]:
    """A ChatThreadClient for `thread_id` with the caller's token and a quick retry policy."""
    async with (
        CommunicationTokenCredential(token) as credential,
        ChatThreadClient(
            standin.endpoint, credential, thread_id, retry_backoff_factor=0.01
        ) as chat,
    ):
        yield chat


def identity_client(standin: AcsStandin, key: str | None = None) -> CommunicationIdentityClient:
    credential = AzureKeyCredential(key or standin.access_key)
    return CommunicationIdentityClient(standin.host_url, credential, retry_total=0)


async def listed(chat: Any, **options: Any) -> list[ChatMessage]:
    return [message async for message in chat.list_messages(**options)]


def statuses(standin: AcsStandin, path_end: str = "/messages") -> list[int]:
    return [s.status for s in standin.served if s.path.endswith(path_end)]


# Identity and tokens


async def test_a_token_minted_over_hmac_lists_the_thread_newest_first(standin: AcsStandin):
    async with identity_client(standin) as identities:
        archiver, first = await identities.create_user_and_token(["chat"])
        again = await identities.get_token(archiver, ["chat"])
    standin.add_threads(threads_from(STORY, archiver=archiver.raw_id))

    async with reader(standin, first.token) as chat:
        assert [m.sequence_id for m in await listed(chat)] == [
            "8",
            "7",
            "6",
            "5",
            "4",
            "3",
            "2",
            "1",
        ]
    # A thread client from ChatClient is a client of its own, to be closed on its own.
    async with (
        CommunicationTokenCredential(again.token) as credential,
        ChatClient(standin.endpoint, credential) as client,
        client.get_chat_thread_client(THREAD) as chat,
    ):
        assert len(await listed(chat)) == 8
    assert archiver.raw_id.startswith(f"8:acs:{RESOURCE}_")
    assert [(s.method, s.status) for s in standin.served[:2]] == [("POST", 201), ("POST", 200)]


async def test_identity_answers_carry_expiry_as_text_and_a_jwt_the_chat_sdk_reads():
    async with AcsStandin() as standin, identity_client(standin) as identities:
        user = await identities.create_user()
        token = await identities.get_token(user, ["chat"], token_expires_in=timedelta(hours=1))

    # The identity SDK hands back expiresOn as the service's text, not epoch seconds.
    expires = datetime.fromisoformat(str(token.expires_on))
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    async with CommunicationTokenCredential(token.token) as credential:
        read = await credential.get_token()
    assert read.expires_on == int(expires.timestamp())


async def test_a_wrong_access_key_is_refused_with_the_sdks_auth_error(standin: AcsStandin):
    wrong = base64.b64encode(b"k" * 32).decode()
    async with identity_client(standin, wrong) as identities:
        with pytest.raises(ClientAuthenticationError, match="HMAC signature does not match"):
            await identities.create_user_and_token(["chat"])

    assert [s.status for s in standin.served] == [401]


@pytest.mark.parametrize("rehash", [False, True], ids=["body-only", "body-and-hash"])
async def test_a_body_changed_after_signing_is_refused(standin: AcsStandin, rehash: bool):
    def tamper(request: Any) -> None:
        request.http_request.set_json_body({"createTokenWithScopes": ["chat", "voip"]})
        if rehash:
            digest = hashlib.sha256(request.http_request.body.encode()).digest()
            request.http_request.headers["x-ms-content-sha256"] = base64.b64encode(digest).decode()

    async with identity_client(standin) as identities:
        with pytest.raises(ClientAuthenticationError, match="does not match"):
            await identities.create_user_and_token(["chat"], raw_request_hook=tamper)


async def test_a_client_from_the_connection_string_reaches_the_standin_over_https(
    standin: AcsStandin,
):
    assert standin.connection_string == (
        f"endpoint={standin.endpoint};accesskey={standin.access_key}"
    )
    async with CommunicationIdentityClient.from_connection_string(
        standin.connection_string, retry_total=0
    ) as identities:
        user = await identities.create_user()

    assert user.raw_id.startswith("8:acs:")
    assert [s.status for s in standin.served] == [201]


async def test_an_identity_endpoint_with_a_trailing_slash_signs_the_wrong_host(
    standin: AcsStandin,
):
    credential = AzureKeyCredential(standin.access_key)
    async with CommunicationIdentityClient(standin.endpoint, credential, retry_total=0) as slashed:
        with pytest.raises(ClientAuthenticationError, match="HMAC signature does not match"):
            await slashed.create_user()


# Who may read


async def test_an_unknown_or_expired_token_is_unauthorized(standin: AcsStandin):
    standin.add_threads(threads_from(STORY, archiver=ARCHIVER))
    foreign = AcsStandin().grant(ARCHIVER)  # well formed, but another service issued it
    expired = standin.grant(ARCHIVER, lifetime=timedelta(minutes=-1))

    for token in (foreign, expired):
        async with reader(standin, token) as chat:
            with pytest.raises(ClientAuthenticationError, match="Request is not authorized"):
                await listed(chat)
    assert statuses(standin) == [401, 401]


async def test_a_reader_who_is_not_a_participant_is_forbidden(standin: AcsStandin):
    standin.add_threads(threads_from(STORY, archiver=None))

    async with reader(standin, standin.grant(ARCHIVER)) as chat:
        with pytest.raises(HttpResponseError) as raised:
            await listed(chat)
    assert raised.value.status_code == 403
    assert raised.value.error is not None
    assert raised.value.error.code == "Forbidden"
    assert raised.value.error.message == "User is not allowed to perform specified action."


async def test_participants_who_left_are_forbidden_and_those_who_joined_may_read(
    standin: AcsStandin,
):
    standin.add_threads(threads_from(STORY, archiver=None))
    standin.join(THREAD, Person(ARCHIVER, "Archiver"))

    async with reader(standin, standin.grant(BOB.raw_id)) as bob:
        with pytest.raises(HttpResponseError, match="not allowed"):
            await listed(bob)
    async with reader(standin, standin.grant(ARCHIVER)) as archiver:
        assert len(await listed(archiver)) == 8
    standin.leave(THREAD, ARCHIVER)
    async with reader(standin, standin.grant(ARCHIVER)) as archiver:
        with pytest.raises(HttpResponseError, match="not allowed"):
            await listed(archiver)


async def test_history_before_a_participants_share_time_stays_hidden(standin: AcsStandin):
    standin.add_threads(threads_from(STORY, archiver=None))
    standin.join(THREAD, Person(ARCHIVER, "Archiver"), share_history_time=at(40))

    async with reader(standin, standin.grant(ARCHIVER)) as chat:
        messages = await listed(chat)
    assert [m.sequence_id for m in messages] == ["8", "7", "6", "5"]


async def test_a_deleted_or_unknown_thread_is_not_found(standin: AcsStandin):
    deleted = [*STORY, changed(ThreadChange.DELETED, 90)]
    standin.add_threads(threads_from(deleted, archiver=ARCHIVER))
    token = standin.grant(ARCHIVER)

    async with reader(standin, token) as chat:
        for forgotten in (False, True):
            if forgotten:
                standin.remove_thread(THREAD)
            with pytest.raises(ResourceNotFoundError):
                await chat.get_properties()
            with pytest.raises(ResourceNotFoundError):
                await listed(chat)
    assert statuses(standin, "") == [404, 404, 404, 404]


async def test_the_standin_speaks_real_tls_a_client_without_the_test_authority_is_refused(
    standin: AcsStandin,
):
    standin.add_threads(threads_from(STORY, archiver=ARCHIVER))
    system_authorities = "/etc/ssl/certs/ca-certificates.crt"

    async with reader(standin, standin.grant(ARCHIVER)) as chat:
        with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
            await chat.get_properties(connection_verify=system_authorities, retry_total=0)
    assert standin.served == ()


# Listing


async def test_pages_follow_next_links_newest_first_with_every_message_exactly_once(
    standin: AcsStandin,
):
    standin.add_threads(threads_from(STORY, archiver=ARCHIVER))

    async with reader(standin, standin.grant(ARCHIVER)) as chat:
        pages = [
            [m.sequence_id async for m in page]
            async for page in chat.list_messages(results_per_page=3).by_page()
        ]
    assert pages == [["8", "7", "6"], ["5", "4", "3"], ["2", "1"]]
    asked = [s.query for s in standin.served]
    assert [q["maxPageSize"] for q in asked] == ["3", "3", "3"]
    assert ["syncState" in q for q in asked] == [False, True, True]
    assert all(q["startTime"] == "0" for q in asked[1:]), "as in the REST example"


async def test_page_size_200_is_accepted_and_a_larger_one_is_a_bad_request(standin: AcsStandin):
    standin.add_threads(threads_from(STORY, archiver=ARCHIVER))

    async with reader(standin, standin.grant(ARCHIVER)) as chat:
        assert len(await listed(chat, results_per_page=MAX_PAGE_SIZE)) == 8
        with pytest.raises(HttpResponseError, match="maxPageSize") as raised:
            await listed(chat, results_per_page=MAX_PAGE_SIZE + 1)
    assert raised.value.status_code == 400
    assert [s.query["maxPageSize"] for s in standin.served] == ["200", "201"]


async def test_start_time_keeps_only_messages_created_at_or_after_it_on_every_page(
    standin: AcsStandin,
):
    standin.add_threads(threads_from(STORY, archiver=ARCHIVER))

    async with reader(standin, standin.grant(ARCHIVER)) as chat:
        messages = await listed(chat, start_time=at(20), results_per_page=2)
    assert [m.sequence_id for m in messages] == ["8", "7", "6", "5", "4"]
    assert min(m.created_on for m in messages) == at(20)
    assert {s.query["startTime"] for s in standin.served} == {"2026-11-02T09:00:20.000Z"}


async def test_every_message_comes_through_the_sdk_model_in_its_latest_state(standin: AcsStandin):
    standin.add_threads(threads_from(STORY, archiver=ARCHIVER))

    async with reader(standin, standin.grant(ARCHIVER)) as chat:
        removed, renamed, html, added, deleted, edited, topic, created = await listed(chat)

    assert (edited.id, edited.type, edited.version) == (str(ms(10)), "text", str(ms(30)))
    assert edited.content.message == "Hello (edited)"
    assert (edited.created_on, edited.edited_on, edited.deleted_on) == (at(10), at(30), None)
    assert (edited.sender.raw_id, edited.sender_display_name) == (ALICE.raw_id, ALICE.name)
    assert (deleted.id, deleted.version, deleted.content) == (str(ms(20)), str(ms(60)), None)
    assert (deleted.deleted_on, deleted.metadata) == (at(60), {"tag": "case-7"})
    assert deleted.sender.raw_id == BOB.raw_id, "a Teams user, by its raw id"
    assert (html.type, html.content.message) == ("html", "<p>Hi <b>all</b></p>")
    for system in (removed, renamed, added, topic, created):
        assert (system.sender, system.sender_display_name) == (None, None)
        assert system.content.initiator.raw_id == ALICE.raw_id
    assert [p.identifier.raw_id for p in created.content.participants] == [ALICE.raw_id, BOB.raw_id]
    assert (created.type, topic.type, topic.content.topic) == (
        "participantAdded",
        "topicUpdated",
        "Order #48213",
    )
    assert [p.display_name for p in added.content.participants] == [CAROL.name]
    assert (removed.type, removed.content.participants[0].identifier.raw_id) == (
        "participantRemoved",
        BOB.raw_id,
    )
    assert (renamed.content.topic, renamed.created_on) == ("Order #48213 (closed)", at(70))


async def test_properties_and_participants_show_the_current_thread(standin: AcsStandin):
    standin.add_threads(threads_from(STORY, archiver=ARCHIVER))

    async with reader(standin, standin.grant(ARCHIVER)) as chat:
        properties = await chat.get_properties()
        paged = chat.list_participants(results_per_page=2)
        people = [(p.identifier.raw_id, p.display_name, p.share_history_time) async for p in paged]

    assert (properties.id, properties.topic) == (THREAD, "Order #48213 (closed)")
    assert (properties.created_on, properties.created_by.raw_id) == (T0, ALICE.raw_id)
    assert people == [
        (ALICE.raw_id, ALICE.name, T0),
        (ARCHIVER, "Archiver", T0),
        (CAROL.raw_id, CAROL.name, T0),
    ]
    assert [s.query.get("skip") for s in standin.served[1:]] == [None, "2"]


# Faults


async def test_a_throttled_request_is_retried_after_retry_after_and_then_succeeds(
    standin: AcsStandin,
):
    standin.add_threads(threads_from(STORY, archiver=ARCHIVER))
    standin.throttle(times=2, retry_after=0.2)

    async with reader(standin, standin.grant(ARCHIVER)) as chat:
        assert len(await listed(chat, results_per_page=200)) == 8

    tries = [s for s in standin.served if s.path.endswith("/messages")]
    assert [s.status for s in tries] == [429, 429, 200]
    assert all(s.query["maxPageSize"] == "200" for s in tries)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(tries)]
    assert min(gaps) >= 0.18, "the SDK waited for Retry-After"


async def test_a_throttled_next_page_is_retried_and_the_listing_carries_on(standin: AcsStandin):
    standin.add_threads(threads_from(STORY, archiver=ARCHIVER))

    async with reader(standin, standin.grant(ARCHIVER)) as chat:
        pages = chat.list_messages(results_per_page=5).by_page()
        first = [m.sequence_id async for m in await anext(pages)]
        standin.throttle(times=1, retry_after=0)
        rest = [m.sequence_id async for page in pages async for m in page]

    assert first + rest == ["8", "7", "6", "5", "4", "3", "2", "1"]
    assert statuses(standin) == [200, 429, 200]
    assert standin.served[1].query == standin.served[2].query, "the same next link, resent"


async def test_a_service_outage_is_retried_but_a_refusal_is_not(standin: AcsStandin):
    standin.add_threads(threads_from(STORY, archiver=ARCHIVER))
    standin.fail(503, times=2)

    async with reader(standin, standin.grant(ARCHIVER)) as chat:
        assert len(await listed(chat)) == 8
        standin.fail(403)
        with pytest.raises(HttpResponseError) as raised:
            await listed(chat)
    assert raised.value.status_code == 403
    assert statuses(standin) == [503, 503, 200, 403]


# Threads from simulated conversations


def simulated(seed: int) -> list[Happening]:
    shape = Shape(threads=4, messages=25, delete_threads=0.5)
    return conversations(shape, rng=random.Random(seed), start=T0, resource=RESOURCE)


def latest_said(happenings: list[Happening]) -> dict[tuple[str, str], Said]:
    latest: dict[tuple[str, str], Said] = {}
    for happening in happenings:
        if isinstance(happening, Said):
            latest[(happening.thread_id, happening.message_id)] = happening
    return latest


def test_threads_from_numbers_messages_in_creation_order_and_keeps_only_the_latest_state():
    happenings = simulated(7)
    threads = threads_from(happenings, archiver=ARCHIVER)

    latest = latest_said(happenings)
    for thread in threads.values():
        assert [m.sequence_id for m in thread.messages] == list(range(1, len(thread.messages) + 1))
        assert len({m.id for m in thread.messages}) == len(thread.messages)
        assert thread.member(ARCHIVER) is not None
        users = [m for m in thread.messages if m.sender is not None]
        assert {m.id for m in users} == {mid for tid, mid in latest if tid == thread.id}
        for message in users:
            last = latest[(thread.id, message.id)]
            assert (message.version, message.body) == (last.version, last.body)
            assert message.deleted_on == (last.time if last.action is Action.DELETED else None)
    unread = threads_from(happenings, archiver=None)
    assert all(thread.member(ARCHIVER) is None for thread in unread.values())


def test_threads_from_refuses_a_story_that_starts_before_the_thread_was_created():
    with pytest.raises(ValueError, match="before its creation"):
        threads_from(STORY[1:], archiver=ARCHIVER)


async def test_a_simulated_conversation_lists_back_the_latest_state_of_every_message(
    standin: AcsStandin,
):
    happenings = simulated(11)
    threads = threads_from(happenings, archiver=ARCHIVER)
    standin.add_threads(threads)
    token = standin.grant(ARCHIVER)

    latest = latest_said(happenings)
    deleted = {
        h.thread_id
        for h in happenings
        if isinstance(h, Changed) and h.change is ThreadChange.DELETED
    }
    assert deleted, "the sample has deleted threads"
    assert deleted != set(threads), "and threads still open"
    for thread_id in threads:
        async with reader(standin, token, thread_id) as chat:
            if thread_id in deleted:
                with pytest.raises(ResourceNotFoundError):
                    await listed(chat, results_per_page=7)
                continue
            messages = await listed(chat, results_per_page=7)
        sequence = [int(m.sequence_id) for m in messages]
        assert sequence == sorted(sequence, reverse=True)
        users = {m.id: m for m in messages if m.sender is not None}
        assert set(users) == {mid for tid, mid in latest if tid == thread_id}
        for message_id, message in users.items():
            last = latest[(thread_id, message_id)]
            assert message.version == str(last.version)
            assert message.type == last.type.lower()
            assert message.sender.raw_id == last.sender.raw_id
            assert message.created_on == last.compose_time
            assert message.metadata == last.metadata
            if last.action is Action.DELETED:
                assert (message.content, message.deleted_on) == (None, last.time)
            else:
                assert message.content.message == last.body
                assert message.edited_on == (last.time if last.action is Action.EDITED else None)

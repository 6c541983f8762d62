"""The Azure AI Search index as the service sees it, through the real SDK against its
stand-in: writes fit the push limits however many documents there are, lists page past
the service's 1,000 a request, the app signs in with its Entra identity and never with
a key, and every refusal of the service becomes a precise error of the archiver's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest

from archiver.core.errors import ConfigurationError, InvalidQuery, SearchUnavailable
from archiver.core.search.documents import SearchDocument, Standing, search_key
from archiver.core.search.queries import query_of
from archiver.search.azure.index import AiSearchIndex
from archiver.search.azure.schema import messages_index
from archiver.search.azure.service import MAX_BATCH_BYTES, MAX_BATCH_DOCUMENTS, ServiceIndex
from tests.aisearch_standin import API_VERSIONS, AiSearchStandin, StandinCredential
from tests.search.test_index_contract import filled, version

INDEX = "chat-messages"


@pytest.fixture
async def service() -> AsyncIterator[AiSearchStandin]:
    async with AiSearchStandin() as standin:
        yield standin


@pytest.fixture
async def index(service: AiSearchStandin) -> AsyncIterator[AiSearchIndex]:
    made = AiSearchIndex(service.endpoint, INDEX, credential=StandinCredential())
    await made.prepare()
    try:
        yield made
    finally:
        await made.close()


def many(count: int, *, text: str = "refund") -> list[SearchDocument]:
    return [version(f"t{n % 7}", f"m{n}", n + 1, "received", f"{text} {n}") for n in range(count)]


async def test_more_than_a_thousand_documents_go_in_batches_of_at_most_a_thousand(service, index):
    documents = many(2 * MAX_BATCH_DOCUMENTS + 345)

    await index.put(documents)

    assert service.batches == [MAX_BATCH_DOCUMENTS, MAX_BATCH_DOCUMENTS, 345]
    assert await index.known() == {d.name for d in documents}  # listed past 1,000 too


async def test_large_documents_go_in_batches_well_under_the_services_sixteen_megabytes(
    service, index
):
    long = "refund " * 40_000  # 280 KB of text a version
    documents = [replace(d, text=long) for d in many(20)]

    await index.put(documents)

    assert sum(service.batches) == 20
    assert len(service.batches) >= 6
    assert max(service.batches) * len(long) <= MAX_BATCH_BYTES < 16 * 1024 * 1024
    assert await index.known() == {d.name for d in documents}


async def test_a_thread_of_more_than_a_thousand_versions_leaves_whole(service, index):
    documents = [version("big", f"m{n}", n + 1, "received", "text") for n in range(1500)]
    await index.put([*documents, *many(3)])

    await index.forget_threads(["big"])

    assert await index.known() == {d.name for d in many(3)}


async def test_a_version_not_indexed_yet_gets_its_standing_when_it_is_written(service, index):
    first, later = (
        version("t", "m", 1, "received", "alpha"),
        version("t", "m", 2, "edited", "bravo"),
    )
    await index.put([first])
    await index.restand(
        [([first.name, later.name], Standing(later.name, False))]
    )  # later: not there
    await index.put([later])
    await index.restand([([first.name, later.name], Standing(later.name, False))])

    assert [h.document.version for h in await index.search(query_of("bravo"))] == [2]
    assert await index.search(query_of("alpha")) == []


async def test_the_app_signs_in_with_its_identity_for_search_and_never_sends_a_key(service, index):
    credential = StandinCredential()
    signed_in = AiSearchIndex(service.endpoint, INDEX, credential=credential)
    await filled(signed_in)
    await signed_in.search(query_of("refund"))
    await signed_in.close()

    assert credential.scopes
    assert set(credential.scopes) == {("https://search.azure.com/.default",)}
    assert service.api_keys == 0
    assert all("api-key" not in {h.lower() for h in headers} for _, _, headers in service.requests)
    assert all(headers["Authorization"].startswith("Bearer ") for _, _, headers in service.requests)


async def test_the_stand_in_refuses_a_request_without_a_token_or_with_a_key(service, index):
    url = f"{service.endpoint}/indexes('{INDEX}')/docs/$count?api-version={max(API_VERSIONS)}"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as anonymous:
            assert anonymous.status == 401
        async with session.get(url, headers={"api-key": "0" * 52}) as keyed:
            assert keyed.status == 403
            assert (
                "Key based authentication is disabled" in (await keyed.json())["error"]["message"]
            )


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_identity_names_the_role_to_grant(service, index, status):
    service.refuse["/docs/"] = status

    with pytest.raises(ConfigurationError, match="Search Index Data Contributor"):
        await index.search(query_of("refund"))
    with pytest.raises(ConfigurationError, match="Search Index Data Contributor"):
        await index.put(many(1))


async def test_a_refused_index_definition_names_the_role_that_creates_indexes(service, index):
    service.refuse[f"/indexes('{INDEX}')"] = 403

    with pytest.raises(ConfigurationError, match="'Search Service Contributor'"):
        await index.prepare()


async def test_preparing_again_is_idempotent_and_a_changed_field_is_refused_clearly(service, index):
    await index.prepare()
    changed = messages_index(INDEX)
    for field in changed.fields:
        if field.name == "text":
            field.analyzer_name = "en.lucene"

    other = ServiceIndex(service.endpoint, INDEX, credential=StandinCredential())

    with pytest.raises(ConfigurationError, match="cannot be changed"):
        await other.define(changed)
    fields = {f["name"]: f for f in service.indexes[INDEX].definition["fields"]}
    assert fields["text"]["analyzer"] == "standard.lucene"


async def test_an_outage_is_search_unavailable_and_a_missing_index_a_configuration_error(
    service, index
):
    service.refuse["/docs/"] = 503
    with pytest.raises(SearchUnavailable):
        await index.search(query_of("refund"))
    service.refuse.clear()
    missing = AiSearchIndex(service.endpoint, "no-such-index", credential=StandinCredential())
    with pytest.raises(ConfigurationError, match="ARCHIVE_SEARCH_INDEX"):
        await missing.known()
    await missing.close()


async def test_a_query_the_service_refuses_is_a_bad_request_never_a_server_error(service, index):
    service.refuse["search.post.search"] = 400

    with pytest.raises(InvalidQuery, match="refused the query"):
        await index.search(query_of("refund"))


async def test_keys_are_the_blob_names_in_url_safe_base64_which_the_service_accepts(service, index):
    odd = version("19:a-b_c@thread.v2", "1700000000001", 7, "received", "odd key")
    odd = replace(odd, name="messages/19%3Aa-b_c%40thread.v2/1700000000001/0007-received.json")

    await index.put([odd])

    assert search_key(odd.name) in service.indexes[INDEX].documents
    assert await index.known() == {odd.name}


async def test_the_stand_in_refuses_what_the_service_refuses(service, index):
    body = {"value": [{"@search.action": "upload", "key": "a/b"}]}
    url = f"{service.endpoint}/indexes('{INDEX}')/docs/search.index?api-version={max(API_VERSIONS)}"
    headers = {"Authorization": "Bearer ai-search-test-token"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(url, json=body) as bad_key:
            assert bad_key.status == 400
            assert "Invalid document key" in (await bad_key.json())["error"]["message"]
        unknown = {"value": [{"@search.action": "upload", "key": "k", "colour": "red"}]}
        async with session.post(url, json=unknown) as bad_field:
            assert (
                "does not exist on type 'search.documentFields'"
                in (await bad_field.json())["error"]["message"]
            )
        too_many = {"value": [{"@search.action": "delete", "key": f"k{n}"} for n in range(1001)]}
        async with session.post(url, json=too_many) as oversized:
            assert oversized.status == 413

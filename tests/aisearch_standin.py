"""Azure AI Search's REST API on 127.0.0.1, answering the real azure-search-documents SDK
as the service would, over https (tests.tls), written from Microsoft's REST reference
(Search Service REST API 2026-04-01, the version the SDK sends; 2024-07-01 and
2025-09-01 are accepted too): "Create or Update Index", "Get Index", "Index Documents",
"Search Documents (POST)" and "Count Documents".

It checks what the service checks that the adapter could get wrong: a bearer token (the
test credential's, else 401; an `api-key` header is refused with 403, as a service with
local authentication off refuses it, and counted), the api-version, the index definition
(one string key, known types, vector fields with a profile whose algorithm and
vectorizer exist; an existing field never changed), and each document (no field the
index lacks, a key of letters, digits, `_`, `-`, `=` only, at most 1,000 actions and
16 MB a batch), with the service's error shape `{"error": {"code", "message"}}` and a
status per document (200, 201, 404; 207 when any failed). Searches take the simple
syntax the adapter sends (tests/aisearch_syntax.py) with searchMode all, OData filters
and orderby, select, top, skip and highlight tags; scores are a simple tf.

Not implemented: the full Lucene syntax, searchMode any, semantic ranking, vector and
hybrid queries (the vectorizer is stored, never called), facets, suggesters,
autocomplete, scoring profiles, collection filters (any/all), search.in and geo
functions, paging past `top` (nextPageParameters), indexers, skillsets, aliases, ETags.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.aisearch_syntax import Refused, highlighted, order, parse_filter, parse_simple, score
from tests.aisearch_syntax import tokens as tokenized
from tests.standin import RecordingCredential, Standin

TOKEN = "ai-search-test-token"
API_VERSIONS = {"2024-07-01", "2025-09-01", "2026-04-01"}
MAX_ACTIONS = 1000
MAX_BYTES = 16 * 1024 * 1024
_PATH = re.compile(r"^/indexes(?:\('([^']*)'\)|/([^/]+))(?:/(.*))?$")
_KEY = re.compile(r"^[A-Za-z0-9=\-][A-Za-z0-9_=\-]{0,1023}$")
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
TYPES = {"Edm.String", "Edm.Int32", "Edm.Int64", "Edm.Double", "Edm.Boolean",
         "Edm.DateTimeOffset", "Collection(Edm.String)", "Collection(Edm.Single)"}  # fmt: skip
CHANGED_IF = ("type", "key", "searchable", "filterable", "sortable", "facetable", "analyzer",
              "dimensions", "vectorSearchProfile")  # fmt: skip
SEARCH_OPTIONS = {"search", "searchMode", "queryType", "searchFields", "filter", "orderby",
                  "select", "top", "skip", "highlight", "highlightPreTag", "highlightPostTag",
                  "count"}  # fmt: skip


class StandinCredential(RecordingCredential):
    """The search service's credential: TOKEN."""

    def __init__(self) -> None:
        super().__init__(TOKEN)


def error(status: int, message: str, code: str = "") -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@dataclass
class Index:
    definition: dict[str, Any]
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def fields(self) -> dict[str, dict[str, Any]]:
        return {f["name"]: f for f in self.definition["fields"]}

    @property
    def key(self) -> str:
        return str(next(f["name"] for f in self.definition["fields"] if f.get("key")))


@dataclass
class AiSearchStandin(Standin):
    """A search service; `indexes` by name; every request's method, path and headers
    in `requests`; `refuse` maps a path fragment to a status to answer with instead."""

    indexes: dict[str, Index] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)  # actions per index request
    api_keys: int = 0  # requests that came with an api-key header
    refuse: dict[str, int] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"https://localhost:{self.port}"

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._checks], client_max_size=MAX_BYTES + 1024)
        app.router.add_route("*", "/{tail:.*}", self._route)
        return app

    @web.middleware
    async def _checks(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.requests.append((request.method, request.path, dict(request.headers)))
        if "api-key" in request.headers:
            self.api_keys += 1
            return error(403, "Key based authentication is disabled for this search service.")
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        if request.query.get("api-version") not in API_VERSIONS:
            return error(400, "Invalid or missing api-version query string parameter.")
        for fragment, status in self.refuse.items():
            if fragment in request.path:
                return error(status, f"The stand-in was told to answer {status}.")
        return await handler(request)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        match = _PATH.match(request.path)
        if match is None:
            return error(404, f"No resource at {request.path}.")
        name, rest = match[1] or match[2], match[3] or ""
        if rest == "":
            if request.method == "PUT":
                return self._define(name, await request.json())
            if request.method == "GET":
                return self._get(name)
        index = self.indexes.get(name)
        if index is None:
            return error(404, f"The index '{name}' for service 'standin' was not found.")
        if request.method == "POST" and rest in ("docs/search.index", "docs/index"):
            body = await request.read()
            return self._write(index, body)
        if request.method == "POST" and rest == "docs/search.post.search":
            return self._search(index, await request.json())
        if request.method == "GET" and rest == "docs/$count":
            return web.Response(text=str(len(index.documents)), content_type="text/plain")
        return error(404, f"The stand-in does not implement {request.method} {request.path}.")

    # --- indexes -------------------------------------------------------------------

    def _define(self, name: str, definition: dict[str, Any]) -> web.Response:
        if definition.get("name") != name:
            return error(400, "The index name in the request body does not match the URL.")
        problem = _invalid_definition(definition)
        existing = self.indexes.get(name)
        if problem is None and existing is not None:
            problem = _changed(existing.definition, definition)
        if problem is not None:
            return error(400, problem, "InvalidRequestParameter")
        stored = definition | {"@odata.etag": f'"0x{len(self.requests):x}"'}
        if existing is None:
            self.indexes[name] = Index(stored)
            return web.json_response(stored, status=201)
        existing.definition = stored
        return web.json_response(stored, status=200)

    def _get(self, name: str) -> web.Response:
        if name not in self.indexes:
            return error(
                404, f"No index with the name '{name}' was found in a service named 'standin'."
            )
        return web.json_response(self.indexes[name].definition)

    # --- documents -----------------------------------------------------------------

    def _write(self, index: Index, body: bytes) -> web.Response:
        if len(body) > MAX_BYTES:
            return error(413, "The request is too large: a batch holds at most 16 MB.")
        actions = json.loads(body).get("value")
        if not isinstance(actions, list) or not actions:
            return error(400, "The request is invalid. Details: actions : No actions given.")
        if len(actions) > MAX_ACTIONS:
            return error(413, f"The request is too large: at most {MAX_ACTIONS} actions a batch.")
        self.batches.append(len(actions))
        fields = index.fields
        for at, action in enumerate(actions):
            problem = _invalid_action(action, fields, index.key)
            if problem is not None:
                return error(400, f"The request is invalid. Details: actions : {at}: {problem}")
        results = [self._apply(index, action) for action in actions]
        failed = any(not result["status"] for result in results)
        return web.json_response({"value": results}, status=207 if failed else 200)

    def _apply(self, index: Index, action: dict[str, Any]) -> dict[str, Any]:
        kind = action.get("@search.action", "upload")
        document = {k: v for k, v in action.items() if k != "@search.action"}
        key = document[index.key]
        held = index.documents.get(key)
        status = 200
        if kind == "delete":
            index.documents.pop(key, None)
        elif kind == "merge" and held is None:
            return {"key": key, "status": False, "statusCode": 404,
                    "errorMessage": "Document not found."}  # fmt: skip
        elif kind in ("merge", "mergeOrUpload") and held is not None:
            held.update(document)
        else:
            status = 200 if held is not None else 201
            index.documents[key] = {name: document.get(name) for name in index.fields}
        return {"key": key, "status": True, "statusCode": status, "errorMessage": None}

    # --- search --------------------------------------------------------------------

    def _search(self, index: Index, asked: dict[str, Any]) -> web.Response:
        unknown = set(asked) - SEARCH_OPTIONS
        if unknown:
            return error(400, f"The stand-in does not implement {sorted(unknown)}.")
        if asked.get("searchMode", "any") != "all" and asked.get("search") not in (None, "*"):
            return error(400, "The stand-in implements searchMode 'all' only.")
        if asked.get("queryType", "simple") != "simple":
            return error(400, "The stand-in implements the simple query syntax only.")
        fields = index.fields
        try:
            found = self._matches(index, asked, fields)
            found = order(found, asked.get("orderby") or "search.score() desc", fields)
        except Refused as refused:
            return error(400, str(refused))
        skip, top = int(asked.get("skip") or 0), int(asked.get("top") or 50)
        if skip > 100_000:
            return error(400, "The value of $skip must be at most 100000.")
        selected = _names(asked.get("select")) or [
            n for n, f in fields.items() if f.get("retrievable", True)
        ]
        for name in selected:
            if name not in fields or fields[name].get("retrievable") is False:
                return error(400, f"Invalid expression: '{name}' is not a retrievable field.")
        pre, post = asked.get("highlightPreTag", "<em>"), asked.get("highlightPostTag", "</em>")
        clauses = parse_simple(asked.get("search") or "*")
        value = []
        for found_score, document in found[skip : skip + top]:
            hit = {name: document.get(name) for name in selected} | {"@search.score": found_score}
            marks = {
                name: [text]
                for name in _names(asked.get("highlight"))
                if (text := highlighted(clauses, document.get(name) or "", pre, post))
            }
            if marks:
                hit["@search.highlights"] = marks
            value.append(hit)
        answer: dict[str, Any] = {"value": value}
        if asked.get("count"):
            answer["@odata.count"] = len(found)
        return web.json_response(answer)

    def _matches(
        self, index: Index, asked: dict[str, Any], fields: dict[str, dict[str, Any]]
    ) -> list[tuple[float, dict[str, Any]]]:
        wanted = parse_filter(asked["filter"], fields) if asked.get("filter") else lambda _: True
        text = (asked.get("search") or "*").strip()
        searched = _names(asked.get("searchFields")) or [
            n for n, f in fields.items() if f.get("searchable") and f["type"] == "Edm.String"
        ]
        for name in searched:
            if not fields.get(name, {}).get("searchable"):
                raise Refused(f"Invalid expression: '{name}' is not a searchable field.")
        clauses = [] if text == "*" else parse_simple(text)
        found = []
        for document in index.documents.values():
            if not wanted(document):
                continue
            words = [t for name in searched for t in tokenized(document.get(name))]
            if clauses and not all(c.matches(words) != c.negated for c in clauses):
                continue
            found.append((score(clauses, words) if clauses else 1.0, document))
        return found


def _names(listed: Any) -> list[str]:
    return [name.strip() for name in (listed or "").split(",") if name.strip()]


def _invalid_definition(definition: dict[str, Any]) -> str | None:
    fields = definition.get("fields") or []
    keys = [f for f in fields if f.get("key")]
    if len(keys) != 1 or keys[0].get("type") != "Edm.String":
        return "The index must have exactly one key field, of type Edm.String."
    vector = definition.get("vectorSearch") or {}
    profiles = {p["name"]: p for p in vector.get("profiles") or []}
    algorithms = {a["name"] for a in vector.get("algorithms") or []}
    vectorizers = {v["name"]: v for v in vector.get("vectorizers") or []}
    for found in fields:
        if not _FIELD_NAME.match(found.get("name", "")) or found.get("type") not in TYPES:
            return f"Field '{found.get('name')}' has an invalid name or type '{found.get('type')}'."
        if found["type"] == "Collection(Edm.Single)":
            profile = profiles.get(found.get("vectorSearchProfile", ""))
            if profile is None or not found.get("dimensions"):
                return (
                    f"Vector field '{found['name']}' needs dimensions and a vector search profile."
                )
    for profile in profiles.values():
        if profile.get("algorithm") not in algorithms:
            return f"Profile '{profile['name']}' names an algorithm the index does not define."
        named = profile.get("vectorizer")
        if named is not None and named not in vectorizers:
            return f"Profile '{profile['name']}' names a vectorizer the index does not define."
    for vectorizer in vectorizers.values():
        parameters = vectorizer.get("azureOpenAIParameters") or {}
        needed = ("resourceUri", "deploymentId", "modelName")
        if vectorizer.get("kind") != "azureOpenAI" or not all(parameters.get(n) for n in needed):
            return (
                f"Vectorizer '{vectorizer['name']}' needs resourceUri, deploymentId and modelName."
            )
    return None


def _changed(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    now = {f["name"]: f for f in after["fields"]}
    for old in before["fields"]:
        new = now.get(old["name"])
        if new is None or any(old.get(a) != new.get(a) for a in CHANGED_IF):
            return (
                f"Existing field '{old['name']}' cannot be changed or removed: the index "
                "update is not allowed. Delete and re-create the index instead."
            )
    return None


def _invalid_action(
    action: dict[str, Any], fields: dict[str, dict[str, Any]], key: str
) -> str | None:
    kind = action.get("@search.action", "upload")
    if kind not in ("upload", "merge", "mergeOrUpload", "delete"):
        return f"Invalid action '{kind}'."
    value = action.get(key)
    if not isinstance(value, str) or not value:
        return "Document key cannot be missing or empty."
    if not _KEY.match(value):
        return (
            f"Invalid document key: '{value}'. Keys can only contain letters, digits, "
            "underscore (_), dash (-), or equal sign (=)."
        )
    for name, given in action.items():
        if name == "@search.action":
            continue
        if name not in fields:
            return (
                f"The property '{name}' does not exist on type 'search.documentFields'. Make sure "
                "to only use property names that are defined by the type."
            )
        problem = _invalid_value(fields[name], given)
        if problem:
            return problem
    return None


def _invalid_value(found: dict[str, Any], given: Any) -> str | None:
    kind, name = found["type"], found["name"]
    if given is None:
        return None
    checks: dict[str, Callable[[Any], bool]] = {
        "Edm.String": lambda v: isinstance(v, str),
        "Edm.Int64": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "Edm.Int32": lambda v: (
            isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31
        ),
        "Edm.Boolean": lambda v: isinstance(v, bool),
        "Edm.DateTimeOffset": _is_moment,
        "Collection(Edm.String)": lambda v: (
            isinstance(v, list) and all(isinstance(s, str) for s in v)
        ),
        "Collection(Edm.Single)": lambda v: (
            isinstance(v, list)
            and len(v) == found.get("dimensions")
            and all(isinstance(x, int | float) for x in v)
        ),
    }
    if not checks.get(kind, lambda v: True)(given):
        return f"Cannot convert the value of field '{name}' to type '{kind}'."
    return None


def _is_moment(value: Any) -> bool:
    if not isinstance(value, str) or not re.search(r"(Z|[+-]\d\d:\d\d)$", value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True

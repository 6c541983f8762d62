"""The layering rules: the core decides without I/O; only adapters touch the SDKs."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import PROJECT

PACKAGE = PROJECT / "archiver"
# Pure and use-case modules: no Azure SDK, no HTTP framework, no environment.
CORE = [
    "archive",
    "envelopes",
    "errors",
    "events",
    "feed",
    "fields",
    "identifiers",
    "intake",
    "jsontext",
    "keys",
    "layout",
    "plan",
    "records",
    "settings",
    "versions",
    "webhook",
    "storage/ports",
    "storage/memory",
    "ledger",
    "threads",
    "threadrows",
    "turns",
    "transcript",
    "reading",
    "formats",
    "export",
    "readapi",
    "listing",
    "reconciliation",
    "spool",
    "exits",
    "transcripts",
    "deadletters",
    "replay",
    "options",
]
ALLOWED: dict[str, set[str]] = {}


def imports_of(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", CORE)
def test_core_modules_import_no_sdk_or_web_framework(module):
    foreign = {
        name for name in imports_of(module) if name.split(".")[0] in {"azure", "aiohttp"}
    } - ALLOWED.get(module, set())

    assert foreign == set()


@pytest.mark.parametrize("module", CORE)
def test_core_modules_never_read_the_environment(module):
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())

    reads = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}
    ]

    assert reads == []


def test_only_the_azure_adapter_and_the_composition_root_build_storage_clients():
    builders = {
        path.relative_to(PACKAGE).with_suffix("").as_posix()
        for path in PACKAGE.rglob("*.py")
        if "archiver.storage.azure"
        in imports_of(path.relative_to(PACKAGE).with_suffix("").as_posix())
    }

    assert builders <= {"bootstrap"}


def test_every_module_fits_on_a_few_screens():
    sizes = {path.name: len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}

    assert max(sizes.values()) <= 300, sizes

"""The layering rules: packages import only from the packages below them, the core
decides without I/O, and only adapters touch the SDKs.

The layers, lowest first (ARCHITECTURE.md draws them). A module may import from its
own package and from any lower layer; packages on the same layer never import each
other. function_app.py sits above the composition root; the hosts, the simulator and
the command line sit above it and never run in Azure.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT

PACKAGE = PROJECT / "archiver"
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core"}),
    frozenset({"storage", "access"}),
    frozenset({"capture", "governance"}),
    frozenset({"sealing"}),
    frozenset({"retrieval", "verification", "telemetry", "summaries"}),
    frozenset({"search", "erasure"}),
    frozenset({"acs", "deadletters"}),
    frozenset({"jobs"}),
    frozenset({"bootstrap", "functions"}),
    frozenset({"function_app"}),
    frozenset({"hosts"}),
    frozenset({"sim"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
TOOLING = frozenset({"hosts", "sim", "cli", "__main__"})
# Pure: no Azure SDK, no HTTP framework, no environment.
PURE = (
    "core", "capture", "governance", "retrieval", "verification", "deadletters", "jobs", "erasure"
)  # fmt: skip


def modules() -> dict[str, Path]:
    """Every module of the product, by dotted name, function_app included."""
    found = {
        ".".join(path.relative_to(PROJECT).with_suffix("").parts): path
        for path in PACKAGE.rglob("*.py")
    }
    found["function_app"] = PROJECT / "function_app.py"
    return found


def unit_of(module: str) -> str | None:
    """The layer unit a module belongs to: its package under archiver, or itself."""
    parts = module.split(".")
    if parts[0] == "function_app":
        return "function_app"
    if parts[0] != "archiver" or len(parts) == 1:
        return None
    return parts[1].removesuffix("__init__") or None


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


MODULES = modules()


def test_every_module_belongs_to_a_layer():
    units = {unit_of(name) for name in MODULES} - {None}

    assert units == set(RANK), units ^ set(RANK)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_from_a_layer_above_or_beside_its_own(module):
    unit = unit_of(module)
    upward = sorted(
        name
        for name in imports_of(MODULES[module])
        if (other := unit_of(name)) is not None
        and other in RANK
        and other != unit
        and unit is not None
        and RANK[other] >= RANK[unit]
    )

    assert upward == [], f"{module} ({unit}) imports {upward}"


@pytest.mark.parametrize("module", sorted(name for name in MODULES if unit_of(name) in PURE))
def test_pure_and_use_case_modules_import_no_sdk_or_web_framework(module):
    foreign = {
        name for name in imports_of(MODULES[module]) if name.split(".")[0] in {"azure", "aiohttp"}
    }

    assert foreign == set()


@pytest.mark.parametrize(
    "module", sorted(name for name in MODULES if unit_of(name) not in TOOLING | {None})
)
def test_no_library_module_reads_the_environment(module):
    reads = [
        node.attr
        for node in ast.walk(ast.parse(MODULES[module].read_text()))
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}
    ]

    assert module == "function_app" or reads == []


def test_only_the_summaries_adapter_touches_the_openai_sdk():
    touching = {
        name
        for name, path in MODULES.items()
        if any(n.split(".")[0] == "openai" for n in imports_of(path))
    }

    assert touching == {"archiver.summaries.azureopenai"}


def test_only_the_composition_root_and_the_benchmark_build_storage_clients():
    builders = {
        name
        for name, path in MODULES.items()
        if "archiver.storage.azure" in imports_of(path)
        or "archiver.storage.azure.AzureStorage" in imports_of(path)
    }

    assert builders <= {"archiver.bootstrap"}


def test_every_module_fits_on_a_few_screens():
    sizes = {name: len(path.read_text().splitlines()) for name, path in MODULES.items()}

    assert max(sizes.values()) <= 300, sorted(sizes.items(), key=lambda item: -item[1])[:3]


def test_every_package_says_what_it_owns_and_what_it_may_import():
    for init in PACKAGE.glob("*/__init__.py"):
        text = ast.get_docstring(ast.parse(init.read_text())) or ""

        assert "May import:" in text or (init.parent.name == "storage" and "May import" in text), (
            init
        )

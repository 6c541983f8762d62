"""The Bicep templates under infra/, parsed offline with pycep-parser into plain data.

pycep is a parser only: expressions stay unevaluated, and a bare name (a parameter, a
variable, a resource) reads as its name. `python -m tests.bicep` parses every template
and exits 1 on the first that does not parse; scripts/check-infra runs it.

`python -m tests.bicep --isolated DIR` writes the network-isolated variant of infra/ to
DIR, for checkov: checkov reads a module's parameter defaults but evaluates no condition,
so the variant gives each module parameter that main.bicep sets from `networkIsolation`
the value it gets with NETWORK_ISOLATION=true, and leaves out the suppressions that hold
only without it. scripts/check-infra then requires checkov to pass ISOLATION_CHECKS there.
"""

from __future__ import annotations

import argparse
import functools
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from lark.exceptions import LarkError
from pycep import BicepParser

INFRA = Path(__file__).resolve().parent.parent / "infra"


def bicep_files() -> list[Path]:
    """Every Bicep template in infra/, sorted."""
    return sorted(INFRA.rglob("*.bicep"))


@functools.cache
def template(name: str) -> dict[str, Any]:
    """The parsed template infra/`name`; raises if it does not parse."""
    text = (INFRA / name).read_text(encoding="utf-8")
    return dict(BicepParser().parse(text=text))


def resources(name: str) -> dict[str, dict[str, Any]]:
    """The declared (not `existing`) resources of a template, by symbolic name."""
    return {
        symbol: resource
        for symbol, resource in template(name).get("resources", {}).items()
        if not resource["existing"]
    }


def body(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's body, whether it is conditional (`= if (...) {...}`) or not."""
    config: dict[str, Any] = resource["config"]
    return config["config"] if "condition" in config else config


def default(name: str, parameter: str) -> Any:
    """The default value of a template parameter."""
    return template(name)["parameters"][parameter]["default"]


# The main.bicep parameter behind NETWORK_ISOLATION.
ISOLATION = "networkIsolation"
# How a suppression that holds only without network isolation begins its reason.
WITHOUT_ISOLATION = "without NETWORK_ISOLATION"
# What checkov must pass, unsuppressed, in the isolated variant: (check, file, resource).
ISOLATION_CHECKS = frozenset(
    {
        *(
            (check, "app/storage.bicep", f"Microsoft.Storage/storageAccounts.{account}")
            for check in ("CKV_AZURE_35", "CKV_AZURE_59")
            for account in ("host", "archive", "checkpoints")
        ),
        *(
            (check, "app/keyvault.bicep", "Microsoft.KeyVault/vaults.vault")
            for check in ("CKV_AZURE_109", "CKV_AZURE_189")
        ),
    }
)


def isolated_defaults() -> dict[str, dict[str, str]]:
    """Module file -> {parameter: Bicep literal} that main.bicep passes with isolation on."""
    # Parameters set as `networkIsolation ? value : other`, where value is a bool or one of
    # the module parameter's allowed values (so a literal, not a name).
    found: dict[str, dict[str, str]] = {"main.bicep": {ISOLATION: "true"}}
    for module in template("main.bicep")["modules"].values():
        path = module["detail"]["path"]
        declared = template(path)["parameters"]
        for name, value in body(module)["params"].items():
            if value_type(value) != "conditional":
                continue
            operands = value["operator"]["operands"]
            isolated = operands["true_value"]
            if operands["condition"] != ISOLATION:
                continue
            if isinstance(isolated, bool):
                found.setdefault(path, {})[name] = str(isolated).lower()
            elif isolated in allowed(declared[name]):
                found.setdefault(path, {})[name] = f"'{isolated}'"
    return found


def value_type(value: Any) -> str | None:
    """The operator of an expression (conditional, property_accessor, ...), if it is one."""
    if isinstance(value, dict) and "operator" in value:
        return str(value["operator"]["type"])
    return None


def allowed(parameter: dict[str, Any]) -> list[Any]:
    """A parameter's @allowed values (empty without the decorator)."""
    return next(
        (d["argument"] for d in parameter.get("decorators", []) if d["type"] == "allowed"), []
    )


def write_isolated(destination: Path) -> list[str]:
    """Write infra/ with isolation on to destination; return what was changed, per file."""
    changes: list[str] = []
    shutil.copytree(INFRA, destination, dirs_exist_ok=True)
    defaults = isolated_defaults()
    for path in bicep_files():
        name = str(path.relative_to(INFRA))
        text = path.read_text(encoding="utf-8")
        for parameter, literal in defaults.get(name, {}).items():
            text, count = re.subn(
                rf"^(param {parameter} \w+ = ).*$", rf"\g<1>{literal}", text, flags=re.M
            )
            if count != 1:
                raise ValueError(f"{name}: no default to set for parameter {parameter}")
            changes.append(f"{name}: {parameter} = {literal}")
        kept = [
            line
            for line in text.splitlines(keepends=True)
            if not re.match(rf"\s*// checkov:skip=\w+: {WITHOUT_ISOLATION}", line)
        ]
        dropped = text.count("\n") - "".join(kept).count("\n")
        if dropped:
            changes.append(f"{name}: {dropped} suppressions left out")
        (destination / name).write_text("".join(kept), encoding="utf-8")
    return changes


def main() -> int:
    """Parse every template; report the first that fails (or write the isolated variant)."""
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--isolated", type=Path, help="write the isolated variant here")
    options = arguments.parse_args()
    if options.isolated is not None:
        for change in write_isolated(options.isolated):
            print(f"isolated variant: {change}")
        return 0
    files = bicep_files()
    for path in files:
        try:
            template(str(path.relative_to(INFRA)))
        except (LarkError, ValueError) as exc:
            print(f"{path}: does not parse: {exc}", file=sys.stderr)
            return 1
    print(f"pycep-parser: all {len(files)} Bicep files in infra/ parse")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Bicep templates under infra/, parsed offline with pycep-parser into plain data.

pycep is a parser only: expressions stay unevaluated, and a bare name (a parameter, a
variable, a resource) reads as its name. `python -m tests.bicep` parses every template
and exits 1 on the first that does not parse; scripts/check-infra runs it.
"""

from __future__ import annotations

import functools
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


def main() -> int:
    """Parse every template; report the first that fails."""
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

"""What a check of the archive found, and how it is told: Findings, each a sentence a
person can act on, over a Snapshot of what storage holds. Pure.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from archiver.core.inventory import MessageBlob, ThreadBlob
from archiver.core.layout import LatestRow
from archiver.core.threads import ThreadRow


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """What storage holds: parsed blobs with their documents, strays and rows."""

    messages: dict[str, tuple[MessageBlob, dict[str, Any] | None]]
    threads: dict[str, tuple[ThreadBlob, dict[str, Any] | None]]
    quarantine: dict[str, str]  # name -> document text
    strays: list[str]
    rows: list[LatestRow]
    thread_rows: list[ThreadRow] = field(default_factory=list)


@dataclass
class Findings:
    """What is missing, extra, wrong, or outside the storage contract."""

    checked: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    # Worth knowing, not wrong: threads never checked against ACS, or found incomplete.
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing at all was found wrong."""
        return not (self.missing or self.extra or self.wrong or self.stray)


def report(findings: Findings, out: TextIO, *, limit: int = 20) -> None:
    """Print the findings, at most `limit` lines of each kind."""
    checked = ", ".join(f"{count} {what}" for what, count in sorted(findings.checked.items()))
    for title, items in (
        ("Missing", findings.missing),
        ("Extra", findings.extra),
        ("Wrong", findings.wrong),
        ("Outside the storage contract", findings.stray),
    ):
        if items:
            print(f"{title} ({len(items)}):", file=out)
            for item in sorted(items)[:limit]:
                print(f"  - {item}", file=out)
            if len(items) > limit:
                print(f"  ... and {len(items) - limit} more", file=out)
    for note in findings.notes:
        print(f"Note: {note}", file=out)
    verdict = "OK: the archive is complete and correct" if findings.ok else "FAILED"
    print(f"{verdict} (checked {checked or 'nothing'})", file=out)


def as_json(findings: Findings) -> str:
    """The findings as one JSON document (`--json`)."""
    return json.dumps(
        {
            "ok": findings.ok,
            "checked": dict(findings.checked),
            "missing": sorted(findings.missing),
            "extra": sorted(findings.extra),
            "wrong": sorted(findings.wrong),
            "stray": sorted(findings.stray),
            "notes": findings.notes,
        },
        ensure_ascii=False,
        indent=1,
    )


def compare(
    name: str, document: dict[str, Any] | None, fields: dict[str, Any], findings: Findings
) -> None:
    if document is None:
        findings.wrong.append(f"blob {name} is not a JSON object")
        return
    for field_name, expected in fields.items():
        if document.get(field_name) != expected:
            findings.wrong.append(
                f"blob {name}: {field_name} is {short(document.get(field_name))!r}, "
                f"expected {short(expected)!r}"
            )


def message_of(key: tuple[str, str]) -> str:
    """How a message is named in a finding."""
    return f"{key[1]} in {key[0]}"


def short(value: Any) -> Any:
    """A value cut to a readable length for a finding."""
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:57]}..."
    return value

"""The ground truth of a simulation: what the archive must hold afterwards.

It is derived from the conversations themselves, not from the events or the
archiver's rules: every message version that happened, every thread change, and
for each message the version that happened last, which must be its latest row.
The file is JSON, readable by people and by `python -m archiver verify`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from archiver.conversations import Changed, Happening, Said
from archiver.errors import ConfigurationError

FORMAT = "acs-chat-archiver/ground-truth@1"


@dataclass(frozen=True, kw_only=True)
class ExpectedVersion:
    """A message version the archive must hold, with what its blob must say."""

    thread_id: str
    message_id: str
    version: int
    action: str
    sender_id: str
    type: str
    body: str | None
    metadata: dict[str, str] | None


@dataclass(frozen=True, kw_only=True)
class ExpectedChange:
    """A thread or participant change the archive must hold."""

    thread_id: str
    version: int
    change: str
    participant_id: str | None


@dataclass(frozen=True, kw_only=True)
class GroundTruth:
    """Everything a run produced, and the latest version of each message."""

    seed: int
    threads: tuple[str, ...]
    versions: tuple[ExpectedVersion, ...]
    changes: tuple[ExpectedChange, ...]
    latest: tuple[ExpectedVersion, ...]

    @classmethod
    def of(cls, happenings: Sequence[Happening], *, seed: int) -> GroundTruth:
        """The truth of a run's happenings (given in time order)."""
        versions = [_version(h) for h in happenings if isinstance(h, Said)]
        newest: dict[tuple[str, str], ExpectedVersion] = {}
        for version in versions:  # time order: the last one seen happened last
            newest[(version.thread_id, version.message_id)] = version
        return cls(
            seed=seed,
            threads=tuple(dict.fromkeys(h.thread_id for h in happenings)),
            versions=tuple(versions),
            changes=tuple(_change(h) for h in happenings if isinstance(h, Changed)),
            latest=tuple(newest.values()),
        )

    def to_json(self) -> str:
        """The file's text."""
        document = {
            "format": FORMAT,
            "seed": self.seed,
            "threads": list(self.threads),
            "versions": [asdict(v) for v in self.versions],
            "changes": [asdict(c) for c in self.changes],
            "latest": [asdict(v) for v in self.latest],
        }
        return json.dumps(document, ensure_ascii=False, indent=1) + "\n"

    def write(self, path: Path) -> None:
        """Write the file, replacing any earlier one."""
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> GroundTruth:
        """Read a ground-truth file; raise ConfigurationError if it is not one."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if document.get("format") != FORMAT:
                raise ConfigurationError(f"{path} is not a ground-truth file ({FORMAT})")
            return cls(
                seed=int(document["seed"]),
                threads=tuple(document["threads"]),
                versions=tuple(ExpectedVersion(**v) for v in document["versions"]),
                changes=tuple(ExpectedChange(**c) for c in document["changes"]),
                latest=tuple(ExpectedVersion(**v) for v in document["latest"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(f"cannot read ground truth {path}: {exc}") from exc


def _version(said: Said) -> ExpectedVersion:
    return ExpectedVersion(
        thread_id=said.thread_id,
        message_id=said.message_id,
        version=said.version,
        action=str(said.action),
        sender_id=said.sender.raw_id,
        type=said.type.lower(),
        body=said.body,
        metadata=said.metadata,
    )


def _change(changed: Changed) -> ExpectedChange:
    return ExpectedChange(
        thread_id=changed.thread_id,
        version=changed.version,
        change=str(changed.change),
        participant_id=changed.participant.raw_id if changed.participant else None,
    )

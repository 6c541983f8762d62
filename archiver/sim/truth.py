"""The ground truth of a simulation: what the archive must hold afterwards.

It is derived from the conversations themselves, not from the events or the
archiver's rules: every message version that happened, every thread change, for
each message the version that happened last, which must be its latest row, and for
each thread what its `ChatThreads` row must say. The file is JSON, readable by people
and by `python -m archiver verify`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from archiver.core.errors import ConfigurationError
from archiver.core.fields import format_timestamp
from archiver.core.records import ThreadChange
from archiver.sim.conversations import Changed, Happening, Said

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
class ExpectedThread:
    """What a thread's row must say once every event of the run is archived."""

    thread_id: str
    topic: str | None
    created_by: str | None
    deleted: bool
    participants: tuple[str, ...]
    former_participants: tuple[str, ...]
    last_activity: str  # the newest change in the thread, ISO 8601


@dataclass(frozen=True, kw_only=True)
class GroundTruth:
    """Everything a run produced, and the latest version of each message."""

    seed: int
    threads: tuple[str, ...]
    versions: tuple[ExpectedVersion, ...]
    changes: tuple[ExpectedChange, ...]
    latest: tuple[ExpectedVersion, ...]
    thread_rows: tuple[ExpectedThread, ...] = ()

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
            thread_rows=_threads(happenings),
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
            "threadRows": [asdict(t) for t in self.thread_rows],
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
                thread_rows=tuple(
                    ExpectedThread(
                        **t
                        | {
                            "participants": tuple(t["participants"]),
                            "former_participants": tuple(t["former_participants"]),
                        }
                    )
                    for t in document.get("threadRows", [])
                ),
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


@dataclass
class _Replay:
    """One thread's row fields, as its happenings are replayed."""

    topic: str | None = None
    created_by: str | None = None
    deleted: bool = False
    last_activity: datetime | None = None
    present: dict[str, bool] = field(default_factory=dict)

    def expected(self, thread_id: str) -> ExpectedThread:
        return ExpectedThread(
            thread_id=thread_id,
            topic=self.topic,
            created_by=self.created_by,
            deleted=self.deleted,
            participants=tuple(sorted(p for p, here in self.present.items() if here)),
            former_participants=tuple(sorted(p for p, here in self.present.items() if not here)),
            last_activity=format_timestamp(self.last_activity) or "",
        )


def _threads(happenings: Sequence[Happening]) -> tuple[ExpectedThread, ...]:
    """Each thread's row, replayed from its happenings in time order."""
    replays: dict[str, _Replay] = {}
    for happening in happenings:
        replay = replays.setdefault(happening.thread_id, _Replay())
        replay.last_activity = happening.time
        if not isinstance(happening, Changed):
            continue
        if happening.topic is not None:
            replay.topic = happening.topic
        if happening.change is ThreadChange.CREATED:
            replay.created_by = happening.actor.raw_id
            replay.present.update({person.raw_id: True for person in happening.audience})
        elif happening.change is ThreadChange.DELETED:
            replay.deleted = True
        elif happening.participant is not None:
            added = happening.change is ThreadChange.PARTICIPANT_ADDED
            replay.present[happening.participant.raw_id] = added
    return tuple(replay.expected(thread_id) for thread_id, replay in replays.items())

"""The archive checked for internal consistency: every row points at a blob of its
version, no row is older than its message's newest blob, every thread has its row. Pure.
"""

from __future__ import annotations

from typing import Any

from archiver.core.inventory import MessageBlob
from archiver.core.versions import Stamp
from archiver.verification.findings import Findings, Snapshot, compare, message_of


def consistency(snapshot: Snapshot) -> Findings:
    """Every row points at a blob of its version, and no row is older than its newest blob."""
    findings = Findings(stray=[f"outside the storage contract: {n}" for n in snapshot.strays])
    newest: dict[tuple[str, str], MessageBlob] = {}
    for blob, document in snapshot.messages.values():
        findings.checked["versions"] += 1
        _document_matches_name(blob, document, findings)
        key = (blob.thread_id, blob.message_id)
        if key not in newest or _stamp(blob) > _stamp(newest[key]):
            newest[key] = blob
    rows = {(row.thread_id, row.message_id): row for row in snapshot.rows}
    for key, row in rows.items():
        findings.checked["rows"] += 1
        pointed = snapshot.messages.get(row.blob_name)
        if pointed is None:
            findings.wrong.append(f"row {message_of(key)} points at a missing blob {row.blob_name}")
            continue
        blob = pointed[0]
        if (blob.version, blob.action) != (row.version, row.action):
            findings.wrong.append(
                f"row {message_of(key)} has v{row.version} but its blob is v{blob.version}"
            )
        if key in newest and _stamp(newest[key]) > row.stamp:
            findings.wrong.append(
                f"row {message_of(key)} holds v{row.version} {row.action}, older than its newest "
                f"blob {newest[key].name}"
            )
    for key, blob in newest.items():
        if key not in rows:
            findings.missing.append(
                f"no row for message {message_of(key)} (newest blob {blob.name})"
            )
    threads = {row.thread_id for row in snapshot.thread_rows}
    if threads:
        findings.checked["thread rows"] += len(threads)
    for thread in sorted({key[0] for key in newest} - threads):
        findings.missing.append(f"no thread row for thread {thread}")
    return findings


def _document_matches_name(
    blob: MessageBlob, document: dict[str, Any] | None, findings: Findings
) -> None:
    fields = {
        "threadId": blob.thread_id,
        "messageId": blob.message_id,
        "version": blob.version,
        "action": str(blob.action),
    }
    compare(blob.name, document, fields, findings)


def _stamp(blob: MessageBlob) -> Stamp:
    return Stamp.of(blob.version, blob.action)

"""Citations for hits, read from the archive, never from the index: the index says which
blob matched; the archive's newest seal of the thread says whether, and how, it is
covered. Each seal covers its whole thread and every later seal covers what an earlier
one did (verify --seals checks it), so the newest seal is the one to cite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from archiver.core.errors import DamagedArchive
from archiver.core.evidence.seals import Seal, parse_seal
from archiver.core.layout import content_sha256
from archiver.core.search.citations import Hit, cite
from archiver.sealing.holdings import newest_seal_blob
from archiver.storage.ports import Storage


async def cited(storage: Storage, hits: Sequence[Hit]) -> list[Hit]:
    """The hits, each with its citation."""
    seals: dict[str, tuple[Seal | None, str]] = {}
    found = []
    for hit in hits:
        thread_key = hit.document.thread_key
        if thread_key not in seals:
            seals[thread_key] = await _newest(storage, thread_key)
        seal, sha256 = seals[thread_key]
        found.append(replace(hit, citation=cite(hit.document, seal, seal_sha256=sha256)))
    return found


async def _newest(storage: Storage, thread_key: str) -> tuple[Seal | None, str]:
    newest = await newest_seal_blob(storage, thread_key)
    if newest is None:
        return None, ""
    name, content = newest
    try:
        return parse_seal(content, name=name), content_sha256(content)
    except DamagedArchive:
        return None, ""  # not a seal: nothing to cite by; verify --seals names it

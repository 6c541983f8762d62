"""Search over the archive: the index port, the local SQLite FTS5 index and the Azure AI
Search index behind it, keeping an index up to date from the archive, and hits cited
and proved against the seals. The index is derived data, never evidence: every citation
is read from the archive, and proving one reads the blob and its seal again.

The only place that touches sqlite3 and the Azure AI Search service.
May import: archiver.core, archiver.storage, archiver.capture, archiver.governance,
archiver.sealing, archiver.retrieval and archiver.verification.
"""

"""The ACS Chat API: listing finished threads, and archiving them with repairs.

Owns the SDK client as the archiver's own ACS identity (client), ListMessages read
into records (listing), turning a newest-first listing around (spool), and
archive-thread: transcript plus every version ACS shows that the archive lacks, and its
summary when summaries are on (reconciliation).

May import: archiver.core, archiver.storage, archiver.capture, archiver.governance,
archiver.retrieval and archiver.summaries.
"""

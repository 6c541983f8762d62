"""The pure core: what the archiver decides, with no I/O.

Owns the records an event becomes (envelopes, events, identifiers, keys, fields,
records), the order of versions and the write plan (versions, plan, transactions), the storage
contract (layout: blob names, documents, the latest row; inventory: names read back),
the thread row and its join (threads), the one error tree (errors), HTTP as plain
values (http), the frozen settings (settings) and the progress port (progress).

May import: the standard library and pydantic only; nothing else of the archiver.
"""

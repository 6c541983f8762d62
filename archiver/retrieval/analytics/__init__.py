"""The analytics export: figures of each message and thread, written as Parquet tables.

Owns what the figures are, worked out from a thread's archived versions by pure
functions (figures), the two Parquet tables they are written as (tables: the only
module that imports pyarrow), and exporting them to a folder or to blobs of the
analytics container (export). No message text leaves through it: only its length.

Never deployed (.funcignore): nothing in Azure exports analytics, and pyarrow is a
development dependency (requirements-dev.txt), not one of the Function App's.

May import: archiver.core, archiver.storage and the rest of archiver.retrieval.
"""

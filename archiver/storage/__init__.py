"""Storage: the ports the archiver needs, and the adapters behind them.

Owns the ports (ports), the Azure adapter over the async Blob and Table SDKs (azure,
blobs, tables, entities, clients, translation: every Azure error is translated here)
and the in-memory adapter (memory, memoryblobs), both held to one contract suite; and
what the archive holds, read through the ports (catalog).

May import: archiver.core, and the Azure SDKs.
"""

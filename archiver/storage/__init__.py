"""Storage: the ports the archiver needs, and the adapters behind them.

Owns the ports (ports), the Azure adapter over the async Blob and Table SDKs (azure,
blobs, tables, entities, clients, translation: every Azure error is translated here)
and the in-memory adapter (memory), both held to one contract suite.

May import: archiver.core, and the Azure SDKs.
"""

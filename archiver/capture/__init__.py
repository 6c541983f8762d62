"""The write path: every event in, every version stored once, the latest row moved on.

Owns the archive use case (archive), what this process already knows storage holds
(ledger, turns), the message rows' writes, a transaction per thread (latestrows), the
thread rows' ETag-checked writes (threadwrites), the one intake
every event takes (intake), the Event Grid webhook (webhook) and the health route.

May import: archiver.core and archiver.storage.
"""

"""The daily jobs past one machine: which threads each visits (by the activity table,
not a walk of every thread), the batches the timers enqueue, and each batch done by the
queue-triggered function.

May import: archiver.core, archiver.storage, archiver.capture, archiver.governance,
archiver.sealing, archiver.retrieval, archiver.verification and archiver.acs.
"""

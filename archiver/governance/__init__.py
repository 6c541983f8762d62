"""Governance: who read the archive and who changed what (the audit trail), legal
holds, and retention with disposal.

Owns writing and listing audit records (trail), placing and releasing holds (holds),
and disposing of threads past retention that are not held (disposal). The records
and the hold rules themselves are pure, in archiver.core (audit, holds).

May import: archiver.core and archiver.storage.
"""

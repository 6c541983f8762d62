"""Governance: who read the archive and who changed what (the audit trail), legal
holds per matter and custodian, and retention with disposal.

Owns writing and listing audit records (trail), recording a change before it is made
(recorded), placing and releasing holds (holds), reading who holds a thread (custody),
a hold meeting a disposal's claim (claims), blob legal-hold flags that follow the holds
(flags), and disposing of threads past retention that no matter holds (disposal, with
what it may delete in deletion). The records and the rules themselves are pure, in
archiver.core (audit, holds, disposals).

May import: archiver.core and archiver.storage.
"""

"""Who did what, and what must be kept, pure: principals, audit records (audit), legal
holds per matter and custodian (holds), and a thread's disposal state (disposals).

May import: the rest of archiver.core.
"""

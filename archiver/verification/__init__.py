"""Checking the archive as it is: a snapshot of storage read back (snapshot), the
consistency rules (consistency), and findings a person can act on (findings).

May import: archiver.core and archiver.storage.
"""

"""RSMF 2.0 for review platforms: a thread as a manifest, checked, packed, exported, proved.

Owns what a thread says as RSMF events, participants and slices (manifest), the RSMF
rules every manifest is checked by (rules), the RFC 5322 message and zip that carry it
(file), the seal and scope a file carries (provenance), exporting a thread as checked
files (export), and proving a handed-over file against the sealed archive (proof).

May import: archiver.core, archiver.storage, archiver.sealing and the rest of
archiver.retrieval.
"""

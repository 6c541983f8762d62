"""Erasure, decided: a message version sealed in an envelope (envelopes) under a data key
of its own, the keys and how each is wrapped (keys), the pseudonymous ids a header and
the key table carry instead of personal data (pseudonyms), the salted commitment a
regulator checks without any key (commitments), and one version handed over to them
(disclosures) and proved with the seal's public key alone (disclosurecheck); the key only
two admins together open, that a restricted item's data key is kept under (restriction).
Pure: no I/O; the key table and Key Vault live in the adapters.

May import: the rest of archiver.core, rfc8785 and cryptography.
"""

"""Sealing: signed, chained seals over each thread's blobs, and checking them.

Owns the seal use case (sealer), what a thread's archive and seals are as storage lists
them (holdings), checking seals and blobs with only read access and a public key
(inspection, with its pure rules in judgement), and who signs (signers: a PEM key here,
or a Key Vault key through keyvault), and envelope mode's root key in Key Vault
(keywrapping: wraps and unwraps subject keys). The seal documents, the Merkle tree and the
signature checks themselves are pure, in archiver.core (seals, merkle, signatures).

May import: archiver.core, archiver.storage and archiver.capture (a thread row records
its newest seal), and the Key Vault SDK (keyvault and keywrapping only).
"""

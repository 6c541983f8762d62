"""What proves the archive, pure: the RFC 6962 Merkle tree (merkle), seals of a thread's
blobs (seals), public keys and signatures (signatures), checkpoints over every thread's
newest seal and the audit trail (checkpoints), the signed notes they are (notes), and
disposal receipts (receipts).

May import: the rest of archiver.core, rfc8785 and cryptography.
"""

"""Erasure and redaction over envelope mode's keys (issue 26): destroying the keys of
chosen versions (redact) or of everything a person sent (erase), by the precedence hold >
retention obligation > erasure, and writing the sealed receipts that say what was done.

Owns finding what a request affects and deciding each item (items), acting on each
decision: a key destroyed, re-wrapped under the restriction key, a plain blob deleted
(actions), rewriting the latest rows (rows), the receipts (receipts), and the requests
themselves (redaction). The rules and the receipts' format are pure, in
archiver.core.erasure.

May import: archiver.core, archiver.storage, archiver.governance and archiver.retrieval
(its audited answers, for the HTTP routes: api). The search index it purges is given.
"""

"""The write path: archive, ledger, thread rows, intake and webhook."""

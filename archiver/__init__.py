"""Archive every Azure Communication Services chat message version to Azure storage.

The packages, lowest first, each importing only from those before it (ARCHITECTURE.md):
core, storage, capture, sealing, retrieval and verification, acs and deadletters, then the
composition root (bootstrap) and function_app.py; hosts, sim and cli never run in Azure.
"""

__version__ = "0.9.0"

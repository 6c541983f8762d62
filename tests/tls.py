"""A certificate authority of the test session's own, trusted by its TLS clients.

The ACS stand-in (and any other local server that must look like an Azure service)
serves https with a certificate from this CA, so the archiver's code talks to it
exactly as to Azure: no plain-http switches in product code.

This module is a pytest plugin (`-p tests.tls` in pyproject.toml) so that it is loaded
before any conftest: importing it points OpenSSL's default verify paths
(SSL_CERT_FILE) at the CA for this process and its children, which must happen before
aiohttp is imported, since aiohttp builds its default TLS context at import.
"""

from __future__ import annotations

import atexit
import os
import shutil
import ssl
import tempfile
from pathlib import Path

import trustme

AUTHORITY = trustme.CA(organization_name="acs-chat-archiver tests")
# `vault.localhost`: the Key Vault stand-in, which the SDK wants on a subdomain of the
# resource its challenge names (tests/keyvault_standin.py resolves it to 127.0.0.1).
_SERVER = AUTHORITY.issue_cert("127.0.0.1", "localhost", "vault.localhost")
_FOLDER = Path(tempfile.mkdtemp(prefix="archiver-tls-"))
BUNDLE = _FOLDER / "authority.pem"
AUTHORITY.cert_pem.write_to_path(str(BUNDLE))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)


def trust() -> None:
    """Make this process and its children trust the test CA (and only it)."""
    os.environ["SSL_CERT_FILE"] = str(BUNDLE)


def server_context() -> ssl.SSLContext:
    """A server-side TLS context with a certificate for 127.0.0.1 and localhost."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    _SERVER.configure_cert(context)
    return context


trust()

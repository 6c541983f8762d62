"""The access settings: function keys by default, Entra ID only with a tenant and audience."""

from __future__ import annotations

import pytest

from archiver.core.accesssettings import AccessSettings
from archiver.core.errors import ConfigurationError
from archiver.core.settings import Settings

TENANT = "72F988BF-86F1-41AF-91AB-2D7CD011DB47"
ENTRA = {
    "ARCHIVE_READ_AUTH": "entra",
    "ARCHIVE_ENTRA_TENANT_ID": TENANT,
    "ARCHIVE_ENTRA_AUDIENCE": "api://chat-archiver",
}


def test_with_nothing_set_both_routes_take_the_function_key():
    access = Settings.from_mapping({}).access

    assert access == AccessSettings()
    assert (access.read_auth, access.webhook_auth, access.uses_entra) == ("key", "key", False)


def test_entra_reads_the_tenants_discovery_document_and_accepts_v1_and_v2_issuers():
    access = Settings.from_mapping(ENTRA).access
    tenant = TENANT.lower()

    assert (access.read_auth, access.webhook_auth) == ("entra", "key")
    assert access.metadata_url == (
        f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
    )
    assert access.issuers == (f"https://sts.windows.net/{tenant}/",)
    assert access.audiences == ("api://chat-archiver",)


def test_the_audience_may_name_the_application_id_uri_and_the_client_id():
    values = ENTRA | {
        "ARCHIVE_ENTRA_AUDIENCE": " api://chat-archiver , 0c8a3f5e-1b2d-4e6f-8a9b-0c1d2e3f4a5b "
    }

    assert Settings.from_mapping(values).access.audiences == (
        "api://chat-archiver",
        "0c8a3f5e-1b2d-4e6f-8a9b-0c1d2e3f4a5b",
    )


def test_the_metadata_url_can_point_at_another_openid_provider():
    values = ENTRA | {"ARCHIVE_ENTRA_METADATA_URL": "https://127.0.0.1:8443/t/.well-known/x"}

    assert Settings.from_mapping(values).access.metadata_url == (
        "https://127.0.0.1:8443/t/.well-known/x"
    )


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"ARCHIVE_READ_AUTH": "oauth"}, "ARCHIVE_READ_AUTH"),
        ({"ARCHIVE_WEBHOOK_AUTH": "aad"}, "ARCHIVE_WEBHOOK_AUTH"),
        ({"ARCHIVE_WEBHOOK_AUTH": "entra"}, "ARCHIVE_ENTRA_TENANT_ID"),
        (ENTRA | {"ARCHIVE_ENTRA_TENANT_ID": "contoso.onmicrosoft.com"}, "ARCHIVE_ENTRA_TENANT_ID"),
        (ENTRA | {"ARCHIVE_ENTRA_AUDIENCE": " , "}, "ARCHIVE_ENTRA_AUDIENCE"),
        (ENTRA | {"ARCHIVE_ENTRA_METADATA_URL": "http://login/x"}, "ARCHIVE_ENTRA_METADATA_URL"),
    ],
    ids=["read-mode", "webhook-mode", "no-tenant", "tenant-not-a-guid", "no-audience", "http"],
)
def test_a_bad_access_setting_fails_at_start_naming_it(values, named):
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_mapping(values)


def test_the_modes_are_read_case_insensitively():
    values = ENTRA | {"ARCHIVE_READ_AUTH": " Entra ", "ARCHIVE_WEBHOOK_AUTH": "KEY"}

    assert Settings.from_mapping(values).access.read_auth == "entra"

"""Settings are read once, validated, and a bad one is named when the app starts."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from archiver.core.erasure.restriction import RestrictionKey, create_restriction_key
from archiver.core.errors import ConfigurationError
from archiver.core.settings import (
    DEFAULT_MAX_BODY_BYTES,
    DEVELOPMENT_STORAGE,
    Settings,
    read_local_settings,
)


def test_with_nothing_set_the_archiver_uses_azurite_and_the_documented_defaults():
    settings = Settings.from_mapping({})

    assert settings.storage.connection_string == DEVELOPMENT_STORAGE
    assert (settings.container, settings.messages_table) == ("chat-archive", "ChatMessages")
    assert settings.allowed_topics == frozenset()
    assert settings.max_body_bytes == DEFAULT_MAX_BODY_BYTES > 1024 * 1024
    assert settings.allowed_rate == "*"
    assert settings.keys.table == "ChatKeys"


def test_identity_based_storage_uses_the_service_uris_and_client_id():
    settings = Settings.from_mapping(
        {
            "ARCHIVE_STORAGE__blobServiceUri": "https://starchive.blob.core.windows.net",
            "ARCHIVE_STORAGE__tableServiceUri": "https://starchive.table.core.windows.net",
            "ARCHIVE_STORAGE__clientId": "8e0f7b1c-0000-4000-8000-000000000001",
            "ARCHIVE_STORAGE": "ignored when identity-based settings are present",
        }
    )

    assert settings.storage.uses_identity
    assert settings.storage.blob_service_uri == "https://starchive.blob.core.windows.net"
    assert settings.storage.client_id == "8e0f7b1c-0000-4000-8000-000000000001"


def test_allowed_topics_are_a_trimmed_case_insensitive_list():
    settings = Settings.from_mapping(
        {"ARCHIVE_ALLOWED_TOPICS": " /subscriptions/A/x , ,/subscriptions/B/Y "}
    )

    assert settings.topic_allowed("/SUBSCRIPTIONS/a/X")
    assert settings.topic_allowed("/subscriptions/b/y")
    assert not settings.topic_allowed("/subscriptions/c/z")
    assert not settings.topic_allowed(None)
    assert Settings.from_mapping({}).topic_allowed(None)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"ARCHIVE_CONTAINER": "Chat_Archive"}, "ARCHIVE_CONTAINER"),
        ({"ARCHIVE_CONTAINER": "ab"}, "ARCHIVE_CONTAINER"),
        ({"ARCHIVE_MESSAGES_TABLE": "chat-messages"}, "ARCHIVE_MESSAGES_TABLE"),
        ({"ARCHIVE_MESSAGES_TABLE": "1Messages"}, "ARCHIVE_MESSAGES_TABLE"),
        ({"ARCHIVE_MAX_BODY_BYTES": "lots"}, "ARCHIVE_MAX_BODY_BYTES"),
        ({"ARCHIVE_MAX_BODY_BYTES": "10"}, "ARCHIVE_MAX_BODY_BYTES"),
        ({"ARCHIVE_STORAGE_CONCURRENCY": "0"}, "ARCHIVE_STORAGE_CONCURRENCY"),
        ({"ARCHIVE_REQUEST_TIMEOUT_SECONDS": "nan"}, "ARCHIVE_REQUEST_TIMEOUT_SECONDS"),
        ({"ARCHIVE_WEBHOOK_ALLOWED_RATE": "-5"}, "ARCHIVE_WEBHOOK_ALLOWED_RATE"),
        ({"ARCHIVE_STORAGE": "not a connection string"}, "ARCHIVE_STORAGE"),
        (
            {"ARCHIVE_STORAGE__blobServiceUri": "https://a.blob.core.windows.net"},
            "ARCHIVE_STORAGE__tableServiceUri",
        ),
        (
            {"ARCHIVE_STORAGE__tableServiceUri": "https://a.table.core.windows.net"},
            "ARCHIVE_STORAGE__blobServiceUri",
        ),
        (
            {
                "ARCHIVE_STORAGE__blobServiceUri": "starchive",
                "ARCHIVE_STORAGE__tableServiceUri": "https://a.table.core.windows.net",
            },
            "ARCHIVE_STORAGE__blobServiceUri",
        ),
        ({"ARCHIVE_THREADS_TABLE": "chat threads"}, "ARCHIVE_THREADS_TABLE"),
        ({"ARCHIVE_KEYS_TABLE": "chat-keys"}, "ARCHIVE_KEYS_TABLE"),
        ({"ARCHIVE_INACTIVE_DAYS": "-1"}, "ARCHIVE_INACTIVE_DAYS"),
        ({"ARCHIVE_INACTIVE_DAYS": "a week"}, "ARCHIVE_INACTIVE_DAYS"),
        ({"ACS_CONNECTION_STRING": "just-a-key"}, "ACS_CONNECTION_STRING"),
        ({"ACS_ENDPOINT": "http://contoso.communication.azure.com"}, "ACS_ENDPOINT"),
        ({"ACS_ENDPOINT": "http://127.0.0.1:8123"}, "ACS_ENDPOINT"),
        ({"ACS_ENDPOINT": "contoso.communication.azure.com"}, "ACS_ENDPOINT"),
        (
            {"ACS_ENDPOINT": "https://contoso.communication.azure.com", "ACS_ACCESS_KEY": "!!"},
            "ACS_ACCESS_KEY",
        ),
        (
            {"ACS_ENDPOINT": "https://contoso.communication.azure.com", "ACS_ARCHIVER_TOKEN": "t"},
            "ACS_ARCHIVER_USER_ID",
        ),
        ({"ACS_ARCHIVER_USER_ID": "8:acs:x"}, "ACS_ENDPOINT"),
    ],
)
def test_an_invalid_setting_fails_with_its_name(values, named):
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_mapping(values)


def test_settings_are_frozen():
    settings = Settings.from_mapping({})

    with pytest.raises(AttributeError):
        settings.container = "other"  # type: ignore[misc]


def test_local_settings_values_are_read_like_core_tools_reads_them(tmp_path):
    path = tmp_path / "local.settings.json"
    path.write_text(
        json.dumps(
            {
                "IsEncrypted": False,
                "Values": {
                    "ARCHIVE_CONTAINER": "from-file",
                    "ARCHIVE_MAX_BODY_BYTES": 4096,
                    "EMPTY": None,
                },
            }
        )
    )

    assert read_local_settings(path) == {
        "ARCHIVE_CONTAINER": "from-file",
        "ARCHIVE_MAX_BODY_BYTES": "4096",
        "EMPTY": "",
    }
    assert read_local_settings(tmp_path / "missing.json") == {}


@pytest.mark.parametrize("content", ["{", '{"Values": []}', "[]"])
def test_a_broken_local_settings_file_is_named(tmp_path, content):
    path = tmp_path / "local.settings.json"
    path.write_text(content)

    with pytest.raises(ConfigurationError, match=r"local\.settings\.json"):
        read_local_settings(path)


def test_the_committed_sample_settings_are_valid(tmp_path):
    from tests.conftest import PROJECT

    values = read_local_settings(PROJECT / "local.settings.sample.json")

    assert Settings.from_mapping(values) == Settings.from_mapping({})


def test_an_acs_connection_string_gives_the_endpoint_and_key():
    settings = Settings.from_mapping(
        {
            "ACS_CONNECTION_STRING": "endpoint=https://contoso.communication.azure.com/;"
            "accesskey=c2VjcmV0LWtleQ==",
            "ACS_ARCHIVER_USER_ID": "8:acs:5e7c_0001",
            "ARCHIVE_INACTIVE_DAYS": "30",
        }
    )

    assert settings.acs is not None
    assert settings.acs.endpoint == "https://contoso.communication.azure.com"
    assert settings.acs.access_key == "c2VjcmV0LWtleQ=="
    assert settings.acs.archiver_user_id == "8:acs:5e7c_0001"
    assert settings.inactive_days == 30
    assert "c2VjcmV0" not in repr(settings)  # the key never shows in a log line


def test_without_acs_settings_archiving_from_acs_is_off():
    settings = Settings.from_mapping({})

    assert settings.acs is None
    assert settings.inactive_days == 7


IDENTITY = {
    "ARCHIVE_STORAGE__blobServiceUri": "https://starchive.blob.core.windows.net",
    "ARCHIVE_STORAGE__tableServiceUri": "https://starchive.table.core.windows.net",
    "ARCHIVE_STORAGE__clientId": "4f1c0e44-0000-4000-8000-000000000001",
}


async def test_the_checkpoints_container_may_live_on_an_account_of_its_own():
    from archiver.storage.azure import AzureStorage

    settings = Settings.from_mapping(
        IDENTITY
        | {
            "ARCHIVE_CHECKPOINTS_CONTAINER": "chat-checkpoints",
            "ARCHIVE_CHECKPOINTS_STORAGE__blobServiceUri": "https://stckpt.blob.core.windows.net",
        }
    )
    storage = AzureStorage.from_settings(settings)  # no request until first use

    checkpoints = storage.container("chat-checkpoints")
    other = storage.container("elsewhere")

    assert checkpoints._container.url.startswith("https://stckpt.blob.core.windows.net/")
    assert other._container.url.startswith("https://starchive.blob.core.windows.net/")
    await storage.close()


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (
            {"ARCHIVE_CHECKPOINTS_STORAGE__blobServiceUri": "https://stckpt.blob.core.windows.net"},
            "is reached as the archive's identity",
        ),
        (IDENTITY | {"ARCHIVE_CHECKPOINTS_STORAGE__blobServiceUri": "ftp://x"}, "https URL"),
        ({"ARCHIVE_CHECKPOINTS_CONTAINER": "Checkpoints!"}, "ARCHIVE_CHECKPOINTS_CONTAINER"),
        ({"ARCHIVE_ANALYTICS_CONTAINER": "Analytics"}, "ARCHIVE_ANALYTICS_CONTAINER"),
    ],
)
def test_a_bad_container_setting_fails_with_its_name(values, named):
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_mapping(values)


def test_the_key_table_is_named_by_its_setting():
    settings = Settings.from_mapping({"ARCHIVE_KEYS_TABLE": " EnvelopeKeys "})

    assert settings.keys.table == "EnvelopeKeys"


@pytest.fixture(scope="module")
def restriction_key() -> tuple[str, str, str]:
    return create_restriction_key()


@pytest.mark.parametrize("form", ["text", "escaped", "file"])
def test_the_restriction_key_is_a_pem_public_key_as_text_escaped_text_or_a_file(
    tmp_path, restriction_key, form
):
    pem = restriction_key[0]
    (tmp_path / "restriction-public.pem").write_text(pem)
    given = {
        "text": pem,
        "escaped": pem.replace("\n", "\\n"),
        "file": str(tmp_path / "restriction-public.pem"),
    }[form]

    settings = Settings.from_mapping({"ARCHIVE_RESTRICTION_KEY": given})

    assert settings.keys.restriction_key == RestrictionKey.from_pem(pem)


def test_without_a_restriction_key_nothing_can_be_restricted():
    assert Settings.from_mapping({}).keys.restriction_key is None


@pytest.mark.parametrize("given", ["absent.pem", "share-1.txt", "private.pem"])
def test_a_restriction_key_that_is_no_public_key_is_named(tmp_path, restriction_key, given):
    (tmp_path / "share-1.txt").write_text(restriction_key[1])
    private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    (tmp_path / "private.pem").write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    with pytest.raises(ConfigurationError, match="ARCHIVE_RESTRICTION_KEY") as raised:
        Settings.from_mapping({"ARCHIVE_RESTRICTION_KEY": str(tmp_path / given)})

    assert "PRIVATE" not in str(raised.value)
    assert restriction_key[1].splitlines()[5] not in str(raised.value)

"""Envelope mode as deployed (ENVELOPE=on), checked offline like the rest of infra/: off by
default; with it, an RSA 3072 root key in the existing vault that may only wrap and
unwrap, rotated like the seal key; the app's identity may wrap, unwrap and read that key
and nothing more; and the app told the mode and the key's URI in the form the wrapper
takes. The key table is made whether the mode is on or not."""

from __future__ import annotations

from archiver.core.keysettings import DEFAULT_KEYS_TABLE
from archiver.sealing.keywrapping import KeyVaultKeyWrapper
from tests.bicep import body, default, resources, template
from tests.test_infra import ROLE_IDS, app_settings, declared, dotted, granted
from tests.test_infra_search import parameters_file

VAULT = "app/keyvault.bicep"
RBAC = "app/rbac.bicep"
# The built-in role that reads a key and wraps and unwraps with it (Microsoft's built-in
# roles, Security: Key Vault Crypto Service Encryption User).
CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"


def test_envelope_mode_is_off_by_default_and_switched_on_from_the_azd_environment():
    main = template("main.bicep")
    on = main["variables"]["envelopeOn"]["value"]["operator"]

    assert default("main.bicep", "envelope") == "off"
    assert {"type": "allowed", "argument": ["off", "on"]} in main["parameters"]["envelope"][
        "decorators"
    ]
    assert parameters_file()["envelope"] == "${ENVELOPE=off}"
    assert (on["type"], on["operands"]) == (
        "equals",
        {"operand_1": "envelope", "operand_2": "on"},
    )
    for module in ("keyVault", "rbac"):
        assert main["modules"][module]["config"]["params"]["envelope"] == "envelopeOn"
    assert default(VAULT, "envelope") is False
    assert default(RBAC, "envelope") is False


def test_with_envelope_mode_the_vault_holds_an_rsa_3072_key_that_only_wraps_and_unwraps():
    keys = {symbol: key for _, symbol, key in declared("Microsoft.KeyVault/vaults/keys")}
    root = resources(VAULT)["rootKey"]
    properties = keys["rootKey"]["properties"]

    assert root["config"]["condition"] == "envelope"
    assert (keys["rootKey"]["parent"], keys["rootKey"]["name"]) == ("vault", "rootKeyName")
    assert default(VAULT, "rootKeyName") == "archive-root"
    assert (properties["kty"], properties["keySize"]) == ("RSA", 3072)
    assert properties["keyOps"] == ["wrapKey", "unwrapKey"]
    assert properties["attributes"] == {"enabled": True}
    # Rotated yearly, each version expiring after two, as the seal key is.
    assert properties["rotationPolicy"]["attributes"] == {"expiryTime": "P2Y"}
    assert properties["rotationPolicy"] == keys["sealKey"]["properties"]["rotationPolicy"]


def test_the_app_may_only_wrap_unwrap_and_read_the_root_key_and_only_with_envelope_mode():
    rbac = template(RBAC)["resources"]
    assignment = resources(RBAC)["appRootKey"]
    wired = template("main.bicep")["modules"]["rbac"]["config"]["params"]
    on_root_key = {(who, role) for who, role, scope in granted() if scope == "rootKey"}

    assert ROLE_IDS["keyVaultCryptoServiceEncryptionUser"] == CRYPTO_SERVICE_ENCRYPTION_USER
    assert on_root_key == {("appPrincipalId", "keyVaultCryptoServiceEncryptionUser")}
    assert "vault" not in {scope for _, _, scope in granted()}  # never the whole vault
    assert assignment["config"]["condition"] == "envelope"
    assert body(assignment)["properties"]["principalType"] == "ServicePrincipal"
    assert (rbac["rootKey"]["existing"], rbac["rootKey"]["config"]) == (
        True,
        {"parent": "vault", "name": "rootKeyName"},
    )
    assert dotted(wired["rootKeyName"]) == "keyVault.outputs.rootKeyName"


def test_the_app_is_told_envelope_mode_and_the_root_keys_uri_without_a_version():
    outputs = template(VAULT)["outputs"]
    uri = outputs["rootKeyUri"]["value"]["operator"]
    wired = template("main.bicep")["modules"]["functions"]["config"]["params"]

    assert app_settings()["ARCHIVE_ENVELOPE"] == "envelope"
    assert app_settings()["ARCHIVE_ROOT_KEY"] == "rootKeyUri"
    assert default("app/functions.bicep", "envelope") == "off"
    assert default("app/functions.bicep", "rootKeyUri") == ""
    assert wired["envelope"] == "envelope"
    assert dotted(wired["rootKeyUri"]) == "keyVault.outputs.rootKeyUri"
    # Off: no key, so an empty setting; on: the key's keyUri, which carries no version.
    assert uri["type"] == "conditional"
    assert uri["operands"]["condition"] == "envelope"
    assert dotted(uri["operands"]["true_value"]) == "rootKey.properties.keyUri"
    assert uri["operands"]["false_value"] == ""
    # A versionless key URI as Key Vault gives it is what the wrapper is built from.
    KeyVaultKeyWrapper("https://kv-x.vault.azure.net/keys/archive-root", credential=None)


def test_the_key_table_is_made_by_the_deployment_with_envelope_mode_on_or_off():
    table = resources("app/storage.bicep")["keysTable"]

    assert "condition" not in table["config"]
    assert (body(table)["parent"], body(table)["name"]) == ("archiveTables", "keysTableName")
    assert default("app/storage.bicep", "keysTableName") == DEFAULT_KEYS_TABLE
    assert "ARCHIVE_KEYS_TABLE" not in app_settings()  # the app's default is that table

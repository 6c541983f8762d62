"""Search in Azure as deployed (SEARCH=aisearch), checked offline like the rest of
infra/: off by default; a search service that takes Microsoft Entra ID tokens only, with
exactly the roles the app, the operator and the service's own vectorizer need; a private
endpoint with network isolation; the app told where the service is."""

from __future__ import annotations

import json

from tests.bicep import INFRA, ISOLATION, body, default, resources, template
from tests.test_infra import app_settings, dotted, granted

SEARCH = "app/search.bicep"
ACCESS = "app/openai-access.bicep"
# Built-in role definition ids, as Azure documents them.
SEARCH_ROLES = {
    "searchIndexDataContributor": "8ebe5a00-799e-43f5-93ac-243d3dce84a7",
    "searchIndexDataReader": "1407120a-92aa-4202-b7e9-c0e197c71c8f",
    "searchServiceContributor": "7ca78c08-252a-4471-8644-bb5ff32d4ba0",
}
OPENAI_ROLES = {"cognitiveServicesOpenAIUser": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"}


def parameters_file() -> dict[str, str]:
    values = json.loads((INFRA / "main.parameters.json").read_text("utf-8"))
    return {name: entry["value"] for name, entry in values["parameters"].items()}


def test_search_is_off_by_default_and_switched_on_from_the_azd_environment():
    modules = template("main.bicep")["modules"]
    variables = template("main.bicep")["variables"]

    assert default("main.bicep", "search") == "off"
    assert default("main.bicep", "searchSku") == "basic"
    assert parameters_file()["search"] == "${SEARCH=off}"
    assert parameters_file()["openAiResourceId"] == "${AZURE_OPENAI_RESOURCE_ID}"
    assert variables["aiSearch"]["value"]["operator"]["operands"] == {
        "operand_1": "search",
        "operand_2": "aisearch",
    }
    assert modules["searchService"]["config"]["condition"] == "aiSearch"
    assert modules["openAiAccess"]["config"]["condition"] == "embeds"
    embeds = json.dumps(variables["embeds"]["value"])
    for needed in ("aiSearch", "openAiResourceId", "searchEmbeddingDeployment"):
        assert needed in embeds


def test_the_search_service_takes_entra_id_tokens_only_and_has_an_identity_of_its_own():
    service = body(resources(SEARCH)["searchService"])
    properties = service["properties"]

    assert properties["disableLocalAuth"] is True
    assert "authOptions" not in properties  # with local auth off, there is nothing to choose
    assert service["identity"] == {"type": "SystemAssigned"}
    assert service["sku"] == {"name": "sku"}
    assert properties["publicNetworkAccess"] == "publicNetworkAccess"
    assert default(SEARCH, "publicNetworkAccess") == "enabled"
    wired = template("main.bicep")["modules"]["searchService"]["config"]["config"]["params"]
    isolation = wired["publicNetworkAccess"]["operator"]["operands"]
    assert (isolation["condition"], isolation["true_value"]) == (ISOLATION, "disabled")


def test_search_role_ids_are_the_built_in_ones():
    assert template(SEARCH)["variables"]["roles"]["value"] == SEARCH_ROLES
    assert template(ACCESS)["variables"]["roles"]["value"] == OPENAI_ROLES


def test_the_app_writes_and_defines_indexes_the_operator_only_queries_and_only_when_named():
    on_service = {(who, role) for who, role, scope in granted() if scope == "searchService"}
    user = resources(SEARCH)["userIndexData"]

    assert on_service == {
        ("appPrincipalId", "searchIndexDataContributor"),
        ("appPrincipalId", "searchServiceContributor"),  # it prepares its two indexes
        ("userPrincipalId", "searchIndexDataReader"),
    }
    assert user["config"]["condition"]["operator"]["type"] == "not"
    assert body(user)["properties"]["principalType"] == "userPrincipalType"
    for symbol in ("appIndexData", "appIndexes"):
        assert body(resources(SEARCH)[symbol])["properties"]["principalType"] == "ServicePrincipal"


def test_only_the_search_service_and_the_app_may_embed_and_only_on_the_account_named():
    on_account = {(who, role) for who, role, scope in granted() if scope == "account"}
    module = template("main.bicep")["modules"]["openAiAccess"]["config"]["config"]
    account = template(ACCESS)["resources"]["account"]

    assert on_account == {
        ("searchPrincipalId", "cognitiveServicesOpenAIUser"),  # the vectorizer: queries
        ("appPrincipalId", "cognitiveServicesOpenAIUser"),  # the windows (app/openai.bicep)
    }
    assert account["existing"]
    assert account["type"] == "Microsoft.CognitiveServices/accounts"
    assert module["scope"]["function"]["type"] == "resource_group"  # the account's own group
    assert dotted(module["params"]["searchPrincipalId"]) == "searchService.outputs.principalId"


def test_with_network_isolation_the_app_reaches_search_through_a_private_endpoint():
    found = resources(SEARCH)
    endpoint = body(found["privateEndpoint"])["properties"]
    wired = template("main.bicep")["modules"]["searchService"]["config"]["config"]["params"]

    for symbol in ("zone", "zoneLink", "privateEndpoint", "endpointZone"):
        assert found[symbol]["config"]["condition"] == "isolated", symbol
    assert template(SEARCH)["variables"]["zoneName"]["value"] == "privatelink.search.windows.net"
    [connection] = endpoint["privateLinkServiceConnections"]
    assert connection["properties"]["groupIds"] == ["searchService"]
    assert dotted(connection["properties"]["privateLinkServiceId"]) == "searchService.id"
    assert endpoint["subnet"] == {"id": "privateEndpointSubnetId"}
    subnet = wired["privateEndpointSubnetId"]["operator"]["operands"]
    assert subnet["condition"] == ISOLATION
    assert dotted(subnet["true_value"]) == "network.outputs.privateEndpointSubnetId"


def test_the_services_operation_log_goes_to_the_workspace():
    log = body(resources(SEARCH)["operations"])

    assert log["scope"] == "searchService"
    assert log["properties"]["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]


def test_the_app_is_told_where_search_and_the_embedding_deployment_are():
    settings = app_settings()
    wired = template("main.bicep")["modules"]["functions"]["config"]["params"]

    assert settings["ARCHIVE_SEARCH"] == "search"
    assert settings["ARCHIVE_SEARCH_ENDPOINT"] == "searchEndpoint"
    assert settings["ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT"] == "searchEmbeddingDeployment"
    assert settings["AZURE_OPENAI_ENDPOINT"] == "openAiEndpoint"
    endpoint = wired["searchEndpoint"]["operator"]["operands"]
    assert endpoint["condition"] == "aiSearch"
    assert dotted(endpoint["true_value"]) == "searchService.outputs.endpoint"
    openai = wired["openAiEndpoint"]["operator"]["operands"]
    assert (openai["condition"], dotted(openai["true_value"])) == (
        "openAiUsed",  # summaries or embeddings: one account, one endpoint
        "openAi.outputs.endpoint",
    )
    assert default("app/functions.bicep", "search") == "off"

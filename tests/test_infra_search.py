"""Search in Azure as deployed (SEARCH=aisearch), checked offline like the rest of
infra/: off by default; a search service that takes Microsoft Entra ID tokens only, with
exactly the roles the app, the operator and the service's own vectorizer need; a private
endpoint with network isolation; the app told where the service is; and the push path:
the archive's new version blobs announced by Event Grid on the search queue, with the
topic's own identity, to the function that indexes them."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime

from archiver.core.blobevents import BLOB_CREATED
from archiver.core.envelopes import RawEvent
from archiver.core.events import classify
from archiver.core.layout import MESSAGES_PREFIX, message_blob_name, transcript_blob_name
from archiver.core.records import MessageVersion
from archiver.core.searchsettings import DEFAULT_QUEUE
from archiver.core.settings import DEFAULT_CONTAINER
from archiver.search.pushing import announced
from tests.bicep import INFRA, ISOLATION, body, default, resources, template
from tests.builders import message_event
from tests.deadletters.test_self_replay import blob_created
from tests.test_infra import HOOKS, PROJECT, app_settings, dotted, granted, hook_parameters

SEARCH = "app/search.bicep"
ACCESS = "app/openai-access.bicep"
# Built-in role definition ids, as Azure documents them.
SEARCH_ROLES = {
    "searchIndexDataContributor": "8ebe5a00-799e-43f5-93ac-243d3dce84a7",
    "searchIndexDataReader": "1407120a-92aa-4202-b7e9-c0e197c71c8f",
    "searchServiceContributor": "7ca78c08-252a-4471-8644-bb5ff32d4ba0",
}
OPENAI_ROLES = {"cognitiveServicesOpenAIUser": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"}
# The one role the archive account's system topic needs to put events on a queue.
PUSH_ROLES = {"storageQueueDataMessageSender": "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"}
PUSH = "subscription.bicep"


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
    assert template(PUSH)["variables"]["roles"]["value"] == PUSH_ROLES


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


# --- the push: Event Grid -> the search queue -> index_versions ------------------------


def search_push() -> dict[str, object]:
    properties: dict[str, object] = body(resources(PUSH)["searchPush"])["properties"]
    return properties


def test_the_archive_is_pushed_to_search_only_with_search_on_from_the_same_azd_value():
    found = resources(PUSH)
    provisioned = parameters_file()["search"]  # ${SEARCH=off}

    assert found["searchPush"]["config"]["condition"] == "aiSearch"
    assert found["topicSearchQueue"]["config"]["condition"] == "aiSearch"
    assert template(PUSH)["variables"]["aiSearch"]["value"]["operator"]["operands"] == {
        "operand_1": "search",
        "operand_2": "aisearch",
    }
    assert default(PUSH, "search") == default("main.bicep", "search") == "off"
    for hook in HOOKS:
        # The hook reads SEARCH with the fallback azd provision used for it.
        assert hook_parameters(hook)["search"] == ("SEARCH", "off"), hook.name
        assert provisioned == "${SEARCH=" + hook_parameters(hook)["search"][1] + "}"
    # An account has one system topic: the push is a subscription of the one that replays
    # dead letters, not a topic of its own.
    topics = [s for s, r in found.items() if r["type"] == "Microsoft.EventGrid/systemTopics"]
    assert topics == ["storageEvents"]
    assert body(found["searchPush"])["parent"] == "storageEvents"
    assert body(found["searchPush"])["name"] == "search-push"


def test_the_push_announces_the_archive_containers_new_versions_and_nothing_else():
    push_filter = search_push()["filter"]
    assert isinstance(push_filter, dict)
    prefix = push_filter["subjectBeginsWith"].replace("${archiveContainerName}", DEFAULT_CONTAINER)
    version = classify(RawEvent.from_value(message_event()))
    assert isinstance(version, MessageVersion)
    name = message_blob_name(version)
    transcript = transcript_blob_name(version.thread_key, datetime.now(UTC), "txt")
    subject = f"/blobServices/default/containers/{DEFAULT_CONTAINER}/blobs/{name}"

    assert push_filter["includedEventTypes"] == [BLOB_CREATED]
    assert "advancedFilters" not in push_filter
    assert push_filter["subjectBeginsWith"] == (
        "/blobServices/default/containers/${archiveContainerName}/blobs/" + MESSAGES_PREFIX
    )
    # What the filter lets through is what index_versions indexes; a transcript never gets in.
    assert subject.startswith(prefix)
    assert (
        not f"/blobServices/default/containers/{DEFAULT_CONTAINER}/blobs/{transcript}".startswith(
            prefix
        )
    )
    event = blob_created(DEFAULT_CONTAINER, name)
    assert event["subject"] == subject
    assert announced(json.dumps(event), DEFAULT_CONTAINER) == ([name], 0)
    for hook in HOOKS:
        assert hook_parameters(hook)["archiveContainerName"] == ("ARCHIVE_CONTAINER", ""), hook
    outputs = template("main.bicep")["outputs"]
    assert dotted(outputs["ARCHIVE_CONTAINER"]["value"]) == "storage.outputs.archiveContainerName"


def test_the_push_reaches_the_search_queue_with_the_topics_identity_and_never_a_key():
    delivery = search_push()["deliveryWithResourceIdentity"]
    assert isinstance(delivery, dict)
    destination = delivery["destination"]
    queue = template(PUSH)["resources"]["searchQueue"]
    queues = template(PUSH)["resources"]["archiveQueues"]

    # The archive account takes no shared key, so a plain destination could not deliver.
    assert body(resources("app/storage.bicep")["archive"])["properties"][
        "allowSharedKeyAccess"
    ] is (False)
    assert "destination" not in search_push()
    assert delivery["identity"] == {"type": "SystemAssigned"}
    assert body(resources(PUSH)["storageEvents"])["identity"] == {"type": "SystemAssigned"}
    assert destination["endpointType"] == "StorageQueue"
    assert dotted(destination["properties"]["resourceId"]) == "deadLetterAccount.id"
    assert dotted(destination["properties"]["queueName"]) == "searchQueue.name"
    assert (queue["existing"], queue["config"]) == (
        True,
        {"parent": "archiveQueues", "name": "searchQueueName"},
    )
    assert queues["config"] == {"parent": "deadLetterAccount", "name": "default"}
    # An announcement waits a week for index_versions; `jobs start index` writes the rest.
    assert destination["properties"]["queueMessageTimeToLiveInSeconds"] == (
        "searchQueueMessageSeconds"
    )
    assert default(PUSH, "searchQueueMessageSeconds") == 7 * 24 * 60 * 60
    assert search_push()["eventDeliverySchema"] == "EventGridSchema"
    assert search_push()["retryPolicy"] == {
        "maxDeliveryAttempts": 30,
        "eventTimeToLiveInMinutes": 1440,
    }
    # A dead letter would land where replay_dead_letter takes it for ACS events.
    assert "deadLetterWithResourceIdentity" not in search_push()
    assert "deadLetterDestination" not in search_push()


def test_the_topic_may_only_add_messages_to_the_search_queue_granted_before_it_delivers():
    assignment = body(resources(PUSH)["topicSearchQueue"])
    by_topic = {(role, scope) for who, role, scope in granted() if who.startswith("storageEvents")}

    assert by_topic == {("storageQueueDataMessageSender", "searchQueue")}
    assert assignment["properties"]["principalType"] == "ServicePrincipal"
    assert dotted(assignment["properties"]["principalId"]) == "storageEvents.identity.principalId"
    assert body(resources(PUSH)["searchPush"])["dependsOn"] == ["topicSearchQueue"]


def test_the_search_queue_is_always_made_and_always_named_to_the_app():
    storage = resources("app/storage.bicep")
    wired = template("main.bicep")["modules"]["functions"]["config"]["params"]
    outputs = template("main.bicep")["outputs"]
    triggers = {
        node.name: node.decorator_list
        for node in ast.walk(ast.parse((PROJECT / "function_app.py").read_text("utf-8")))
        if isinstance(node, ast.AsyncFunctionDef)
    }
    [trigger] = triggers["index_versions"]
    assert isinstance(trigger, ast.Call)
    binding = {word.arg: ast.literal_eval(word.value) for word in trigger.keywords}

    # The host resolves %ARCHIVE_SEARCH_QUEUE% whether search is on or not, and the app's
    # role on the queue alone cannot create it: both exist in every deployment.
    assert binding["queue_name"] == "%ARCHIVE_SEARCH_QUEUE%"
    assert binding["connection"] == "ARCHIVE_STORAGE"
    assert app_settings()["ARCHIVE_SEARCH_QUEUE"] == "searchQueueName"
    assert dotted(wired["searchQueueName"]) == "storage.outputs.searchQueueName"
    assert dotted(outputs["ARCHIVE_SEARCH_QUEUE"]["value"]) == "storage.outputs.searchQueueName"
    for symbol in ("searchQueue", "searchPoisonQueue"):
        assert "condition" not in storage[symbol]["config"], symbol
        assert body(storage[symbol])["parent"] == "archiveQueues"
    assert default("app/storage.bicep", "searchQueueName") == DEFAULT_QUEUE
    assert template("app/storage.bicep")["variables"]["searchPoisonQueueName"]["value"] == (
        "${searchQueueName}-poison"
    )
    for hook in HOOKS:
        assert hook_parameters(hook)["searchQueueName"] == ("ARCHIVE_SEARCH_QUEUE", ""), hook

"""The deployment (infra/, azure.yaml, the postdeploy hooks), checked offline.

checkov (scripts/check-infra) covers what its rules know; these specifications cover what
they do not: identity-only storage, dead-lettering, the subscribed event types and their
one source, least-privilege roles (the seal key's, the checkpoints' and the jobs queues'
included), the webhook's own key, network isolation, WORM checkpoints, the jobs queue and
its poison alert, and the app settings the code and the Functions host actually read.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from archiver.core.events import ARCHIVED_EVENT_TYPES, PER_USER_EVENT_TYPES, SUBSCRIBED_EVENT_TYPES
from archiver.core.settings import (
    DEFAULT_CONTAINER,
    DEFAULT_MESSAGES_TABLE,
    DEFAULT_THREADS_TABLE,
    Settings,
)
from tests.bicep import (
    INFRA,
    ISOLATION,
    ISOLATION_CHECKS,
    WITHOUT_ISOLATION,
    bicep_files,
    body,
    default,
    isolated_defaults,
    resources,
    template,
    write_isolated,
)

PROJECT = INFRA.parent
# Every module that reads settings: ARCHIVE_* and ACS_* names appear there as literals.
SETTINGS_MODULES = sorted((PROJECT / "archiver" / "core").glob("*settings.py"))
HOOKS = [INFRA / "hooks" / "postdeploy.sh", INFRA / "hooks" / "postdeploy.ps1"]
# What a user may set in the azd environment for the subscription (README, Deploy).
HOOK_OPTIONS = {
    "EVENT_GRID_DESTINATION",
    "EVENT_GRID_WEBHOOK_KEY",
    "EVENT_GRID_EVENT_LEVEL",
    "EVENT_GRID_VIEWER_URL",
    "EVENT_GRID_ENTRA_APPLICATION",
}
# What the hooks read as azd provision does (main.parameters.json), to match what it made.
READ_AS_PROVISIONED = {"SEARCH"}
# Built-in role definition ids, as Azure documents them.
ROLE_IDS = {
    "storageBlobDataOwner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "storageBlobDataContributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "storageBlobDataReader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "storageTableDataContributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "storageTableDataReader": "76199698-9eea-4c19-bc75-cec21354c6b6",
    "storageQueueDataContributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "monitoringMetricsPublisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "keyVaultCryptoServiceEncryptionUser": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
}
# The custom roles (rbac.bicep): no built-in Key Vault role is as narrow as the seal key's,
# no built-in storage role is create-only. Symbol -> (actions, data actions).
SIGN = "Microsoft.KeyVault/vaults/keys/sign/action"
READ_KEY = "Microsoft.KeyVault/vaults/keys/read"
BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers"
CREATE_BLOB = f"{BLOBS}/blobs/add/action"  # Put Blob of a new blob only
READ_BLOB = f"{BLOBS}/blobs/read"
CUSTOM_ROLES: dict[str, tuple[list[str], list[str]]] = {
    "sealSigner": ([], [SIGN, READ_KEY]),
    "sealKeyReader": ([], [READ_KEY]),
    "checkpointWriter": ([f"{BLOBS}/read"], [READ_BLOB, CREATE_BLOB]),
}
# The signed checkpoints' container: ARCHIVE_CHECKPOINTS_CONTAINER's default (issue 24).
CHECKPOINTS_CONTAINER = "chat-checkpoints"
# The jobs fan-out (issue 27): the queue the timers enqueue on and run_job takes, its
# poison queue (the Functions host's `{queue}-poison`), and the activity table.
JOBS_QUEUE = "chat-jobs"
POISON_QUEUE = "chat-jobs-poison"
ACTIVITY_TABLE = "ChatActivity"
# The Python versions Flex Consumption runs, generally available (Microsoft's Az.Functions
# help for Get-AzFunctionAppFlexConsumptionRuntime; docs: Deploy, The runtime).
FLEX_PYTHON = ("3.10", "3.11", "3.12", "3.13")
QUEUES = "Microsoft.Storage/storageAccounts/queueServices"
# What report_poisoned_job logs for a job the host gave up on (function_app.py).
POISONED = "Job poisoned:"
# App settings this deployment sets that archiver/core does not read yet (none now).
# Remove each once the settings module reads it.
NOT_YET_READ: set[str] = set()
# ARCHIVE_STORAGE settings only the Functions host reads, for the queue triggers'
# identity-based connection ARCHIVE_STORAGE: its credential kind (clientId names which).
READ_BY_THE_HOST = {"ARCHIVE_STORAGE__credential"}
# What the seal_threads timer logs for a thread it refuses to seal (function_app.py).
NOT_CHECKPOINTED = "Not checkpointed, altered since the last checkpoint"
ALTERED = "Not sealed, altered since its last seal"
# What a verify job logs for each alteration it finds (archiver/jobs/work.py).
VERIFIED_ALTERED = "Verified, altered since its last seal"


def declared(kind: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every declared resource of one type in infra/: (file, symbol, body)."""
    return [
        (name, symbol, body(resource))
        for name in (str(path.relative_to(INFRA)) for path in bicep_files())
        for symbol, resource in resources(name).items()
        if resource["type"] == kind
    ]


def dotted(value: Any) -> str:
    """An expression such as `keyVault.outputs.keyUri`, as the parser nests it, in one string."""
    if isinstance(value, dict) and value.get("operator", {}).get("type") == "property_accessor":
        operands = value["operator"]["operands"]
        return f"{dotted(operands['operand_1'])}.{dotted(operands['operand_2'])}"
    return str(value)


def archiver_subscription() -> dict[str, Any]:
    properties: dict[str, Any] = body(resources("subscription.bicep")["archiver"])["properties"]
    return properties


# --- parsing --------------------------------------------------------------------------


@pytest.mark.parametrize("path", bicep_files(), ids=lambda path: path.name)
def test_every_bicep_file_parses(path):
    assert template(str(path.relative_to(INFRA)))["globals"] is not None


def test_there_are_no_registry_modules_so_everything_can_be_read_offline():
    modules = [
        module
        for path in bicep_files()
        for module in template(str(path.relative_to(INFRA))).get("modules", {}).values()
    ]

    assert modules
    assert {module["type"] for module in modules} == {"local"}
    assert all((INFRA / module["detail"]["path"]).is_file() for module in modules)


# --- event types: one source of truth --------------------------------------------------


def test_the_event_types_file_lists_exactly_the_codes_event_types():
    listed = json.loads((INFRA / "app" / "event-types.json").read_text(encoding="utf-8"))

    assert listed["thread"] == list(SUBSCRIBED_EVENT_TYPES)
    assert listed["perUser"] == list(PER_USER_EVENT_TYPES)


def test_both_event_levels_are_archived_and_together_are_everything_archived():
    assert set(SUBSCRIBED_EVENT_TYPES) <= ARCHIVED_EVENT_TYPES
    assert set(PER_USER_EVENT_TYPES) <= ARCHIVED_EVENT_TYPES
    assert not set(SUBSCRIBED_EVENT_TYPES) & set(PER_USER_EVENT_TYPES)
    assert set(SUBSCRIBED_EVENT_TYPES) | set(PER_USER_EVENT_TYPES) == ARCHIVED_EVENT_TYPES


def test_the_subscription_takes_its_event_types_from_that_file():
    variables = template("subscription.bicep")["variables"]
    included = archiver_subscription()["filter"]["includedEventTypes"]["operator"]
    loaded = variables[included["operands"]["operand_1"]]["value"]["function"]
    level = template("subscription.bicep")["parameters"][included["operands"]["operand_2"]]

    assert included["type"] == "index_accessor"
    assert loaded["type"] == "load_json_content"
    assert loaded["parameters"]["file_path"] == "app/event-types.json"
    assert level["default"] == "thread"
    assert next(d for d in level["decorators"] if d["type"] == "allowed")["argument"] == [
        "thread",
        "perUser",
    ]


def test_the_viewer_subscription_gets_the_same_event_types():
    viewer = body(resources("subscription.bicep")["viewer"])["properties"]

    assert viewer["filter"] == archiver_subscription()["filter"]
    assert "deadLetterWithResourceIdentity" not in viewer


# --- alerts --------------------------------------------------------------------------------


def test_every_signal_the_operations_page_names_has_an_alert_that_pages():
    template_ = template("app/alerts.bicep")
    found = resources("app/alerts.bicep")
    topic = {a["metric"]: a for a in _array(template_["variables"]["topicAlerts"])}
    logs = {a["name"]: a for a in _array(template_["variables"]["logAlerts"])}
    failures = body(found["functionFailures"])["properties"]

    assert set(topic) == {"DeadLetteredCount", "DroppedEventCount", "DeliveryAttemptFailCount"}
    assert topic["DeadLetteredCount"]["threshold"] == 0
    assert topic["DroppedEventCount"]["threshold"] == 0
    assert topic["DeliveryAttemptFailCount"]["threshold"] == "deliveryFailuresIn30Minutes"
    assert set(logs) == {"quarantined", "lag", "altered", "job-poisoned"}
    assert '"archive.quarantined"' in logs["quarantined"]["query"]
    assert '"archive.lag"' in logs["lag"]["query"]
    assert logs["lag"]["threshold"] == "lagP95Seconds"
    assert failures["criteria"]["allOf"][0]["metricName"] == "requests/failed"
    pager = '{"operand_1": "pager", "operand_2": "id"}'
    for name in ("topicAlert", "functionFailures", "metricQuery"):
        assert pager in json.dumps(body(found[name])["properties"]["actions"]), name


def test_a_thread_altered_since_its_last_seal_pages_at_the_highest_severity():
    logs = {a["name"]: a for a in _array(template("app/alerts.bicep")["variables"]["logAlerts"])}
    altered = logs["altered"]
    rule = body(resources("app/alerts.bicep")["metricQuery"])["properties"]
    logged = (PROJECT / "archiver" / "sealing" / "rounds.py").read_text(encoding="utf-8")

    assert altered["query"] == (
        f'traces | where message startswith "{ALTERED}" or message startswith '
        f'"{NOT_CHECKPOINTED}" or message startswith "{VERIFIED_ALTERED}" '
        "| summarize measured = count()"
    )
    for watched in (ALTERED, NOT_CHECKPOINTED):
        assert re.search(rf'"{re.escape(watched)}: %s', logged), "the round logs what is watched"
    verifying = (PROJECT / "archiver" / "jobs" / "work.py").read_text(encoding="utf-8")
    assert re.search(rf'"{re.escape(VERIFIED_ALTERED)}: %s', verifying)
    assert (altered["severity"], altered["threshold"]) == (0, 0)
    assert altered["window"] == "PT1H"  # a trace ingested late is still in the window
    assert dotted(rule["windowSize"]) == "alert.window"
    assert rule["criteria"]["allOf"][0]["operator"] == "GreaterThan"
    assert rule["actions"] == {"actionGroups": [{"operator": _accessor("pager", "id")}]}


def test_a_job_given_up_on_pages_from_the_trace_report_poisoned_job_logs():
    logs = {a["name"]: a for a in _array(template("app/alerts.bicep")["variables"]["logAlerts"])}
    poisoned = logs["job-poisoned"]
    rule = body(resources("app/alerts.bicep")["metricQuery"])

    # The rule is named chat-archive-<name>, like every log alert.
    assert rule["name"] == "chat-archive-${alert.name}"
    assert poisoned["query"] == (
        f'traces | where message startswith "{POISONED}" | summarize measured = count()'
    )
    # Work was left undone (a batch of threads not sealed, disposed of or transcribed) and
    # nothing retries it: as grave as a dead-lettered event, below a lost one.
    assert (poisoned["severity"], poisoned["threshold"]) == (1, 0)
    assert poisoned["window"] == "PT1H"  # a trace ingested late is still in the window
    assert "Poisoned jobs" in poisoned["description"]
    assert "## Poisoned jobs" in (PROJECT / "docs" / "operations.md").read_text("utf-8")


def _accessor(symbol: str, member: str) -> dict[str, Any]:
    return {"type": "property_accessor", "operands": {"operand_1": symbol, "operand_2": member}}


def test_alerts_mail_the_address_azd_is_given():
    parameters = template("main.bicep")["parameters"]
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))

    assert "alertEmail" in parameters
    assert values["parameters"]["alertEmail"]["value"] == "${ALERT_EMAIL}"
    receivers = json.dumps(body(resources("app/alerts.bicep")["pager"])["properties"])
    assert "alertEmail" in receivers


def test_the_workbook_shows_deliveries_lag_and_outcomes():
    workbook = json.dumps(template("app/alerts.bicep")["variables"]["workbook"]["value"])

    for shown in ("DeliverySuccessCount", "DeadLetteredCount", "archive.lag", "archive.versions"):
        assert shown in workbook


def _array(variable: Any) -> list[dict[str, Any]]:
    """A Bicep variable holding an array of objects, as the parser gives it."""
    value = variable["value"] if isinstance(variable, dict) else variable
    return list(value)


# --- the subscription ------------------------------------------------------------------


def test_dead_letters_written_to_the_container_reach_the_replay_function_but_its_moves_do_not():
    found = resources("subscription.bicep")
    topic = body(found["storageEvents"])["properties"]
    replay = body(found["deadLetterReplay"])["properties"]
    container = "/blobServices/default/containers/${deadLetterContainerName}/blobs/"

    assert topic["topicType"] == "Microsoft.Storage.StorageAccounts"
    assert topic["source"]["operator"]["operands"] == {
        "operand_1": "deadLetterAccount",
        "operand_2": "id",
    }
    assert replay["destination"]["endpointType"] == "AzureFunction"
    assert replay["destination"]["properties"]["resourceId"] == (
        "${app.id}/functions/replay_dead_letter"
    )
    assert replay["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert replay["filter"]["subjectBeginsWith"] == container
    [skip] = replay["filter"]["advancedFilters"]
    assert (skip["operatorType"], skip["key"], skip["values"]) == (
        "StringNotBeginsWith",
        "subject",
        [container + "replayed/"],
    )
    assert "deadLetterWithResourceIdentity" not in replay


def test_undeliverable_events_are_dead_lettered_to_the_archive_with_the_topics_identity():
    dead_letter = archiver_subscription()["deadLetterWithResourceIdentity"]
    destination = dead_letter["deadLetterDestination"]
    account = template("subscription.bicep")["resources"]["deadLetterAccount"]

    assert dead_letter["identity"] == {"type": "SystemAssigned"}
    assert destination["endpointType"] == "StorageBlob"
    assert destination["properties"]["resourceId"]["operator"]["operands"] == {
        "operand_1": "deadLetterAccount",
        "operand_2": "id",
    }
    assert account["existing"]
    assert account["config"]["name"] == "deadLetterAccountName"
    assert destination["properties"]["blobContainerName"] == "deadLetterContainerName"
    assert default("app/storage.bicep", "deadLetterContainerName") == "eventgrid-deadletter"


def test_event_grid_retries_as_long_as_it_can_before_dead_lettering():
    assert archiver_subscription()["retryPolicy"] == {
        "maxDeliveryAttempts": 30,
        "eventTimeToLiveInMinutes": 1440,
    }


def test_deliveries_are_batched_within_event_grids_limits_and_the_body_limit():
    events = default("subscription.bicep", "maxEventsPerBatch")
    kilobytes = default("subscription.bicep", "preferredBatchSizeInKilobytes")

    assert 1 < events <= 5000
    assert 1 <= kilobytes <= 1024
    assert kilobytes * 1024 <= Settings().max_body_bytes


def test_the_default_destination_is_the_native_trigger_and_the_alternative_the_webhook():
    destination = archiver_subscription()["destination"]["operator"]["operands"]
    webhook, native = destination["true_value"], destination["false_value"]

    assert default("subscription.bicep", "destination") == "AzureFunction"
    assert native["endpointType"] == "AzureFunction"
    assert native["properties"]["resourceId"] == "${app.id}/functions/archive_event"
    assert webhook["endpointType"] == "WebHook"
    url = webhook["properties"]["endpointUrl"]["operator"]["operands"]
    assert url["condition"] == "entra"
    assert url["false_value"] == (
        "https://${app.properties.defaultHostName}/api/events"
        "?code=${events.listKeys()[webhookKeyName]}"
    )
    for kind in (webhook, native):
        assert kind["properties"]["maxEventsPerBatch"] == "maxEventsPerBatch"


def test_with_an_entra_application_the_webhook_carries_event_grids_token_and_no_key():
    webhook = archiver_subscription()["destination"]["operator"]["operands"]["true_value"]
    properties = webhook["properties"]
    entra = template("subscription.bicep")["variables"]["entra"]["value"]
    url = properties["endpointUrl"]["operator"]["operands"]
    application = properties["azureActiveDirectoryApplicationIdOrUri"]["operator"]["operands"]
    tenant = properties["azureActiveDirectoryTenantId"]["operator"]["operands"]

    assert default("subscription.bicep", "entraApplicationIdOrUri") == ""  # key by default
    assert "entraApplicationIdOrUri" in json.dumps(entra)
    assert url["true_value"] == "https://${app.properties.defaultHostName}/api/events"
    assert (application["condition"], application["true_value"]) == (
        "entra",
        "entraApplicationIdOrUri",
    )
    assert application["false_value"] is None
    assert tenant["condition"] == "entra"
    assert tenant["true_value"]["operator"]["operands"]["false_value"] == "entraTenantId"
    assert tenant["false_value"] is None


def test_attack_8_the_webhook_url_carries_a_key_of_the_events_function_never_a_host_key():
    found = template("subscription.bicep")["resources"]
    events, key = found["events"], found["webhookKey"]
    webhook = archiver_subscription()["destination"]["operator"]["operands"]["true_value"]
    url = webhook["properties"]["endpointUrl"]["operator"]["operands"]["false_value"]
    keyed = template("subscription.bicep")["variables"]["keyed"]["value"]["operator"]

    # The code in the URL is read from the events function, by the key's name.
    assert url.endswith("?code=${events.listKeys()[webhookKeyName]}")
    assert (events["type"], events["existing"]) == ("Microsoft.Web/sites/functions", True)
    assert events["config"] == {"parent": "app", "name": "events"}
    assert (key["type"], key["existing"]) == ("Microsoft.Web/sites/functions/keys", False)
    assert (body(key)["parent"], body(key)["name"]) == ("events", "webhookKeyName")
    assert key["config"]["condition"] == "keyed"  # only a webhook without Entra ID has one
    assert keyed["type"] == "and"
    assert '"webhook"' in json.dumps(keyed)
    assert '"entra"' in json.dumps(keyed)
    assert body(found["archiver"])["dependsOn"] == ["webhookKey"]
    assert default("subscription.bicep", "webhookKeyName") == "eventgrid"
    # Nothing reads or names a host-level key: host/default, its function, system or master keys.
    for path in bicep_files():
        text = path.read_text(encoding="utf-8")
        for host_key in ("Microsoft.Web/sites/host", "functionKeys", "systemKeys", "masterKey"):
            assert host_key not in text, (path.name, host_key)
        assert "/host/" not in text, path.name


def test_a_webhook_key_that_exists_keeps_its_value_and_a_missing_one_is_made_by_the_host():
    properties = body(template("subscription.bicep")["resources"]["webhookKey"])["properties"]
    choice = properties["operator"]["operands"]
    listed = {"operator": {"type": "function_accessor", "operands": {
        "operand_1": "events", "func_name": "listKeys"}}}  # fmt: skip

    assert properties["operator"]["type"] == "conditional"
    assert choice["condition"]["function"] == {
        "type": "contains",
        "parameters": {"container": listed, "item_to_find": "webhookKeyName"},
    }
    assert choice["true_value"] == {
        "name": "webhookKeyName",
        "value": {
            "operator": {
                "type": "index_accessor",
                "operands": {"operand_1": listed, "operand_2": "webhookKeyName"},
            }
        },
    }
    # No value: the Functions host generates one, which no parameter, hook or log sees.
    assert choice["false_value"] == {"name": "webhookKeyName"}


def test_no_page_hook_or_script_hands_out_a_host_key():
    places = [
        PROJECT / "README.md",
        *sorted((PROJECT / "docs").glob("*.md")),
        *HOOKS,
        *sorted((PROJECT / "scripts").iterdir()),
    ]

    for place in places:
        text = place.read_text(encoding="utf-8")
        # `az functionapp keys` lists and sets host keys; function keys are
        # `az functionapp function keys ... --function-name events`.
        assert not re.search(r"az functionapp keys\b", text), place.name
        assert "functionKeys" not in text, place.name
        for line in text.splitlines():  # readers with ARCHIVE_READ_AUTH=key may have one
            handed = re.search(r"(?<!never a )(?<!not a )host (function )?key", line)
            if handed:
                assert not re.search(r"webhook|subscription|Event Grid|/api/events", line), line


def test_the_functions_the_subscription_names_exist_in_function_app():
    tree = ast.parse((PROJECT / "function_app.py").read_text(encoding="utf-8"))
    triggers = {
        node.name: ast.unparse(decorator)
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        for decorator in node.decorator_list
    }

    assert triggers["archive_event"].startswith("app.event_grid_trigger(")
    assert triggers["replay_dead_letter"].startswith("app.event_grid_trigger(")
    assert "route='events'" in triggers["events"]


def test_the_system_topic_is_global_on_the_acs_resource_with_its_own_identity():
    topic = body(resources("app/eventgrid.bicep")["topic"])

    assert topic["location"] == "global"
    assert topic["identity"] == {"type": "SystemAssigned"}
    assert topic["properties"]["topicType"] == "Microsoft.Communication.CommunicationServices"
    assert topic["properties"]["source"] == "sourceId"


# --- storage ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "symbol", "account"),
    declared("Microsoft.Storage/storageAccounts"),
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_storage_accounts_take_only_entra_id_over_https(name, symbol, account):
    properties = account["properties"]

    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True
    assert properties["defaultToOAuthAuthentication"] is True
    assert properties["allowCrossTenantReplication"] is False


def test_there_are_exactly_three_storage_accounts_the_hosts_the_archives_the_checkpoints():
    assert [symbol for _, symbol, _ in declared("Microsoft.Storage/storageAccounts")] == [
        "host",
        "archive",
        "checkpoints",
    ]


@pytest.mark.parametrize(
    ("name", "symbol", "container"),
    declared("Microsoft.Storage/storageAccounts/blobServices/containers"),
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_no_container_is_public(name, symbol, container):
    assert container["properties"]["publicAccess"] == "None"


def test_the_archive_has_its_container_table_and_dead_letter_container():
    storage = resources("app/storage.bicep")

    assert body(storage["archiveContainer"])["parent"] == "archiveBlobs"
    assert body(storage["deadLetterContainer"])["parent"] == "archiveBlobs"
    assert body(storage["messagesTable"])["parent"] == "archiveTables"
    assert body(storage["threadsTable"])["parent"] == "archiveTables"
    assert default("app/storage.bicep", "threadsTableName") == DEFAULT_THREADS_TABLE
    assert default("app/storage.bicep", "archiveContainerName") == DEFAULT_CONTAINER
    assert default("app/storage.bicep", "messagesTableName") == DEFAULT_MESSAGES_TABLE


def test_the_archive_account_holds_the_jobs_queue_its_poison_queue_and_the_activity_table():
    storage = resources("app/storage.bicep")
    variables = template("app/storage.bicep")["variables"]
    outputs = template("app/storage.bicep")["outputs"]
    wired = template("main.bicep")["modules"]["storage"]["config"]["params"]

    assert body(storage["archiveQueues"])["parent"] == "archive"
    assert body(storage["archiveQueues"])["name"] == "default"
    assert (body(storage["jobsQueue"])["parent"], body(storage["jobsQueue"])["name"]) == (
        "archiveQueues",
        "jobsQueueName",
    )
    assert (body(storage["poisonQueue"])["parent"], body(storage["poisonQueue"])["name"]) == (
        "archiveQueues",
        "poisonQueueName",
    )
    assert default("app/storage.bicep", "jobsQueueName") == JOBS_QUEUE
    # Not a parameter: the poison queue is the Functions host's `{queue}-poison`, always.
    assert "poisonQueueName" not in template("app/storage.bicep")["parameters"]
    assert variables["poisonQueueName"]["value"] == "${jobsQueueName}-poison"
    assert JOBS_QUEUE + "-poison" == POISON_QUEUE
    assert body(storage["activityTable"])["parent"] == "archiveTables"
    assert body(storage["activityTable"])["name"] == "activityTableName"
    assert default("app/storage.bicep", "activityTableName") == ACTIVITY_TABLE
    # Every queue of the deployment is one of these, or search's two, in the archive account.
    assert [symbol for _, symbol, _ in declared(f"{QUEUES}/queues")] == [
        "jobsQueue",
        "poisonQueue",
        "searchQueue",
        "searchPoisonQueue",
    ]
    assert dotted(outputs["archiveQueueEndpoint"]["value"]) == (
        "archive.properties.primaryEndpoints.queue"
    )
    for name, symbol in (
        ("jobsQueueName", "jobsQueue"),
        ("poisonQueueName", "poisonQueue"),
        ("activityTableName", "activityTable"),
    ):
        assert dotted(outputs[name]["value"]) == f"{symbol}.name"
        assert name not in wired  # main.bicep keeps the defaults


def test_worm_is_off_by_default_and_sets_a_time_based_policy_when_on():
    worm = body(resources("app/storage.bicep")["archive"])["properties"][
        "immutableStorageWithVersioning"
    ]["operator"]

    assert default("main.bicep", "archiveImmutability") is False
    assert default("main.bicep", "archiveImmutabilityState") == "Unlocked"
    assert worm["type"] == "conditional"
    assert worm["operands"]["condition"] == "immutability"
    assert worm["operands"]["false_value"] is None
    assert worm["operands"]["true_value"] == {
        "enabled": True,
        "immutabilityPolicy": {
            "immutabilityPeriodSinceCreationInDays": "retentionDays",
            "allowProtectedAppendWrites": False,
            "state": "immutabilityState",
        },
    }
    archive_blobs = body(resources("app/storage.bicep")["archiveBlobs"])["properties"]
    assert archive_blobs["isVersioningEnabled"] is True


# --- checkpoints: outside the archive, WORM ------------------------------------------------


def test_checkpoints_live_in_an_account_of_their_own_under_version_level_worm_always():
    storage = resources("app/storage.bicep")
    account = body(storage["checkpoints"])["properties"]
    wired = template("main.bicep")["modules"]["storage"]["config"]["params"]
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))

    # Not conditional, unlike the archive's: on in every deployment, old ones included.
    assert account["immutableStorageWithVersioning"] == {
        "enabled": True,
        "immutabilityPolicy": {
            "immutabilityPeriodSinceCreationInDays": "checkpointRetentionDays",
            "allowProtectedAppendWrites": False,
            "state": "checkpointImmutabilityState",
        },
    }
    assert body(storage["checkpointBlobs"])["properties"]["isVersioningEnabled"] is True
    assert body(storage["checkpointContainer"])["parent"] == "checkpointBlobs"
    assert default("app/storage.bicep", "checkpointContainerName") == CHECKPOINTS_CONTAINER
    assert wired["checkpointAccountName"] == "stckpt${resourceToken}"
    assert wired["checkpointSku"] == "archiveStorageSku"  # geo-redundant like the archive
    assert default("main.bicep", "checkpointRetentionDays") == 2555  # 7 years
    # Azure creates a policy Unlocked only; Locked is one more provision (docs: Deploy).
    assert default("main.bicep", "checkpointImmutabilityState") == "Unlocked"
    parameter = template("main.bicep")["parameters"]["checkpointImmutabilityState"]
    assert next(d for d in parameter["decorators"] if d["type"] == "allowed")["argument"] == [
        "Unlocked",
        "Locked",
        "Disabled",
    ]
    assert values["parameters"]["checkpointRetentionDays"]["value"] == (
        "${ARCHIVE_CHECKPOINTS_RETENTION_DAYS=2555}"
    )
    assert values["parameters"]["checkpointImmutabilityState"]["value"] == (
        "${ARCHIVE_CHECKPOINTS_IMMUTABILITY_STATE=Unlocked}"
    )


def test_the_app_may_only_create_and_read_checkpoints_never_overwrite_or_delete_one():
    actions, data = CUSTOM_ROLES["checkpointWriter"]
    on_checkpoints = {
        (who, role) for who, role, scope in granted() if scope.startswith("checkpoint")
    }
    container = template("app/rbac.bicep")["resources"]["checkpointContainer"]

    assert data == [READ_BLOB, CREATE_BLOB]
    assert actions == [f"{BLOBS}/read"]
    # blobs/write would overwrite, delete and deleteBlobVersion would remove, move renames.
    for forbidden in ("write", "delete", "move", "deleteBlobVersion", "immutableStorage"):
        assert not any(f"/blobs/{forbidden}" in action for action in data + actions)
    assert on_checkpoints == {
        ("appPrincipalId", "checkpointWriter"),
        ("userPrincipalId", "storageBlobDataReader"),
    }
    assert container["existing"]
    assert container["config"] == {"parent": "checkpointBlobs", "name": "checkpointContainerName"}
    # No role on the archive account reaches the checkpoint account.
    assert {scope for _, _, scope in granted()} & {"checkpoints", "checkpointBlobs"} == set()


def test_the_app_is_told_where_the_checkpoints_are():
    settings = app_settings()
    wired = template("main.bicep")["modules"]["functions"]["config"]["params"]
    outputs = template("main.bicep")["outputs"]

    assert settings["ARCHIVE_CHECKPOINTS_CONTAINER"] == "checkpointContainerName"
    assert settings["ARCHIVE_CHECKPOINTS_STORAGE__blobServiceUri"] == "checkpointBlobEndpoint"
    assert dotted(wired["checkpointContainerName"]) == "storage.outputs.checkpointContainerName"
    assert dotted(wired["checkpointBlobEndpoint"]) == "storage.outputs.checkpointBlobEndpoint"
    assert dotted(outputs["ARCHIVE_CHECKPOINTS_STORAGE_ACCOUNT_NAME"]["value"]) == (
        "storage.outputs.checkpointAccountName"
    )
    assert dotted(outputs["ARCHIVE_CHECKPOINTS_CONTAINER"]["value"]) == (
        "storage.outputs.checkpointContainerName"
    )


# --- network isolation -------------------------------------------------------------------

NETWORK = "app/network.bicep"


def test_network_isolation_is_off_by_default_and_set_from_the_azd_environment():
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    network = template("main.bicep")["modules"]["network"]

    assert default("main.bicep", ISOLATION) is False
    assert values["parameters"][ISOLATION]["value"] == "${NETWORK_ISOLATION=false}"
    assert network["detail"]["path"] == NETWORK
    assert network["config"]["condition"] == ISOLATION


def test_with_network_isolation_the_accounts_and_the_vault_turn_public_access_off():
    closed = {"publicNetworkAccess": "'Disabled'", "networkDefaultAction": "'Deny'"}
    closeable = [
        *(resource for _, _, resource in declared("Microsoft.Storage/storageAccounts")),
        body(resources("app/keyvault.bicep")["vault"]),
    ]

    assert isolated_defaults() == {
        "main.bicep": {ISOLATION: "true"},
        "app/storage.bicep": closed,
        "app/keyvault.bicep": closed,
        "app/search.bicep": {"publicNetworkAccess": "'disabled'"},
    }
    for resource in closeable:
        assert resource["properties"]["publicNetworkAccess"] == "publicNetworkAccess"
        assert resource["properties"]["networkAcls"] == {
            "defaultAction": "networkDefaultAction",
            # Trusted services keep their access with public access off: Event Grid's
            # system topic writes the dead letters to the archive with its identity.
            "bypass": "AzureServices",
        }
    for name in ("app/storage.bicep", "app/keyvault.bicep"):  # default mode: as before
        assert default(name, "publicNetworkAccess") == "Enabled"
        assert default(name, "networkDefaultAction") == "Allow"


def test_with_network_isolation_every_data_endpoint_the_app_uses_has_a_private_endpoint():
    network = template(NETWORK)
    endpoints = {
        (dotted(e["resourceId"]), e["group"]) for e in network["variables"]["endpoints"]["value"]
    }
    declared_here = resources(NETWORK)
    endpoint = body(declared_here["privateEndpoints"])["properties"]
    zones = network["variables"]["zoneNames"]["value"]
    record = body(declared_here["endpointZones"])["properties"]["privateDnsZoneConfigs"]
    wired = template("main.bicep")["modules"]["network"]["config"]["config"]["params"]

    assert endpoints == {
        ("archive.id", "blob"),
        ("archive.id", "table"),
        ("archive.id", "queue"),
        ("host.id", "blob"),
        ("checkpoints.id", "blob"),
        ("vault.id", "vault"),
    }
    for symbol in ("host", "archive", "checkpoints", "vault"):
        assert network["resources"][symbol]["existing"], symbol
    assert network["resources"]["vault"]["type"] == "Microsoft.KeyVault/vaults"
    assert dotted(wired["hostAccountName"]) == "storage.outputs.hostAccountName"
    assert dotted(wired["archiveAccountName"]) == "storage.outputs.archiveAccountName"
    assert dotted(wired["checkpointAccountName"]) == "storage.outputs.checkpointAccountName"
    assert dotted(wired["vaultName"]) == "keyVault.outputs.vaultName"
    assert (wired["addressPrefix"], wired["appSubnetPrefix"]) == (
        "networkAddressPrefix",
        "appSubnetPrefix",
    )
    assert default("main.bicep", "networkAddressPrefix") == "10.0.0.0/16"
    assert endpoint["subnet"] == {"id": "${vnet.id}/subnets/${privateEndpointSubnetName}"}
    # Every group has its private DNS zone, linked to the network, holding the endpoint's
    # A record: the accounts' and the vault's usual names resolve to private addresses.
    assert set(zones) == {group for _, group in endpoints}
    assert network["variables"]["zoneGroups"]["value"] == ["blob", "table", "queue", "vault"]
    assert zones["blob"] == "privatelink.blob.${environment().suffixes.storage}"
    assert zones["table"] == "privatelink.table.${environment().suffixes.storage}"
    assert zones["queue"] == "privatelink.queue.${environment().suffixes.storage}"
    assert zones["vault"] == (
        "privatelink${replace(environment().suffixes.keyvaultDns, 'vault', 'vaultcore')}"
    )
    link = body(declared_here["zoneLinks"])
    assert link["properties"]["registrationEnabled"] is False
    assert dotted(link["properties"]["virtualNetwork"]["id"]) == "vnet.id"
    assert declared_here["zones"]["type"] == "Microsoft.Network/privateDnsZones"
    assert (
        record[0]["properties"]["privateDnsZoneId"]["function"]["parameters"]["resource_type"]
        == "Microsoft.Network/privateDnsZones"
    )


def test_with_network_isolation_the_jobs_queue_is_reached_through_its_private_endpoint():
    network = template(NETWORK)
    endpoints = network["variables"]["endpoints"]["value"]
    [queue] = [e for e in endpoints if e["group"] == "queue"]
    wired = template("main.bicep")["modules"]["functions"]["config"]["params"]

    # The app's queue endpoint is the archive account's usual name, which the linked
    # privatelink.queue zone resolves to the archive-queue endpoint's private address.
    assert (queue["name"], dotted(queue["resourceId"])) == ("archive-queue", "archive.id")
    assert network["variables"]["zoneNames"]["value"]["queue"] == (
        "privatelink.queue.${environment().suffixes.storage}"
    )
    assert "queue" in network["variables"]["zoneGroups"]["value"]
    assert app_settings()["ARCHIVE_STORAGE__queueServiceUri"] == "archiveQueueEndpoint"
    assert dotted(wired["archiveQueueEndpoint"]) == "storage.outputs.archiveQueueEndpoint"
    assert isolated_defaults()["app/storage.bicep"]["publicNetworkAccess"] == "'Disabled'"


def test_with_network_isolation_the_app_is_vnet_integrated_and_its_inbound_stays_public():
    network = template(NETWORK)
    [app_subnet, endpoint_subnet] = body(resources(NETWORK)["vnet"])["properties"]["subnets"]
    site = body(resources("app/functions.bicep")["app"])["properties"]
    wired = template("main.bicep")["modules"]["functions"]["config"]["params"]
    integration = site["virtualNetworkSubnetId"]["operator"]["operands"]
    subnet_id = wired["appSubnetId"]["operator"]["operands"]

    assert (app_subnet["name"], endpoint_subnet["name"]) == (
        "appSubnetName",
        "privateEndpointSubnetName",
    )
    assert network["variables"]["appSubnetName"]["value"] == "app"  # no underscores on Flex
    assert network["variables"]["privateEndpointSubnetName"]["value"] == "private-endpoints"
    assert app_subnet["properties"]["delegations"][0]["properties"] == {
        "serviceName": "Microsoft.App/environments"  # Flex Consumption's delegation
    }
    assert endpoint_subnet["properties"]["privateEndpointNetworkPolicies"] == "Disabled"
    assert integration["condition"]["function"]["parameters"] == {"item_to_test": "appSubnetId"}
    assert (integration["true_value"], integration["false_value"]) == (None, "appSubnetId")
    assert default("app/functions.bicep", "appSubnetId") == ""
    assert subnet_id["condition"] == ISOLATION
    assert dotted(subnet_id["true_value"]) == "network.outputs.appSubnetId"
    # Event Grid pushes events to the app's public endpoint: it stays open in both modes,
    # every route but the health probe behind a key or a token.
    assert site["publicNetworkAccess"] == "Enabled"


def suppressions() -> list[tuple[str, str, str, str]]:
    """Every checkov suppression in infra/: (file, type.symbol of its resource, check, reason)."""
    found = []
    for path in bicep_files():
        resource = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            declaration = re.match(r"resource (\w+) '([^@']+)@", line)
            if declaration:
                resource = f"{declaration[2]}.{declaration[1]}"
            skip = re.fullmatch(r"\s*// checkov:skip=(\w+): (.+)", line)
            if skip:
                found.append((str(path.relative_to(INFRA)), resource, skip[1], skip[2]))
    return found


def test_only_the_network_checks_are_suppressed_for_the_default_mode_alone():
    without = {
        (check, name, resource)
        for name, resource, check, reason in suppressions()
        if reason.startswith(WITHOUT_ISOLATION)
    }
    network_checks = {check for check, _, _ in ISOLATION_CHECKS}

    # What holds only without isolation is exactly what checkov must pass with it.
    assert without == ISOLATION_CHECKS
    for name, resource, check, reason in suppressions():
        if check in network_checks:
            assert reason.startswith(WITHOUT_ISOLATION), (name, resource, check)


def test_the_isolated_variant_checkov_reads_is_infra_with_isolation_on(tmp_path):
    changes = write_isolated(tmp_path)
    variant = tmp_path / "app" / "storage.bicep"
    text = variant.read_text(encoding="utf-8")

    assert "app/storage.bicep: publicNetworkAccess = 'Disabled'" in changes
    assert "param publicNetworkAccess string = 'Disabled'" in text
    assert "param networkDefaultAction string = 'Deny'" in text
    assert f"param {ISOLATION} bool = true" in (tmp_path / "main.bicep").read_text("utf-8")
    for path in tmp_path.rglob("*.bicep"):
        assert f": {WITHOUT_ISOLATION}" not in path.read_text(encoding="utf-8"), path
    # Nothing else differs: the other suppressions and every resource stay as they are.
    original = (INFRA / "app" / "storage.bicep").read_text(encoding="utf-8")
    kept = [line for line in original.splitlines() if f": {WITHOUT_ISOLATION}" not in line]
    assert len(text.splitlines()) == len(kept)
    assert {path.name for path in (tmp_path / "app").iterdir()} == {
        path.name for path in (INFRA / "app").iterdir()
    }
    assert "param publicNetworkAccess string = 'Enabled'" in original  # infra/ untouched


# --- identities and roles --------------------------------------------------------------


def test_role_ids_are_the_built_in_ones():
    assert template("app/rbac.bicep")["variables"]["roles"]["value"] == ROLE_IDS


def granted() -> set[tuple[str, str, str]]:
    """Every role assignment in infra/: (principal, role, scope). A role is a built-in one
    of `roles` (roles.X) or a custom role of rbac.bicep (its symbol), by its id either way."""
    found = set()
    for _, _, assignment in declared("Microsoft.Authorization/roleAssignments"):
        role = assignment["properties"]["roleDefinitionId"]["function"]
        assert role["type"] == "subscription_resource_id"
        assert role["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        role_id = dotted(role["parameters"]["resource_name_1"])
        named = re.fullmatch(r"roles\.(\w+)|(\w+)\.name", role_id)
        assert named, role_id
        named_in_guid = assignment["name"]["function"]["parameters"]["extra_string_2"]
        assert dotted(named_in_guid) == role_id  # one assignment per principal, role and scope
        role_name = named[1] or named[2]
        principal = dotted(assignment["properties"]["principalId"])  # or the topic's identity
        found.add((principal, role_name, assignment["scope"]))
    return found


def test_every_principal_gets_only_the_roles_it_needs_where_it_needs_them():
    assert granted() == {
        ("appPrincipalId", "storageBlobDataContributor", "archive"),
        ("appPrincipalId", "storageTableDataContributor", "archive"),
        ("appPrincipalId", "storageQueueDataContributor", "jobsQueue"),
        ("appPrincipalId", "storageQueueDataContributor", "poisonQueue"),
        ("appPrincipalId", "storageQueueDataContributor", "searchQueue"),
        ("appPrincipalId", "storageQueueDataContributor", "searchPoisonQueue"),
        ("appPrincipalId", "storageBlobDataOwner", "host"),
        ("appPrincipalId", "monitoringMetricsPublisher", "appInsights"),
        ("appPrincipalId", "sealSigner", "sealKey"),
        ("appPrincipalId", "checkpointWriter", "checkpointContainer"),
        # With envelope mode (ENVELOPE=on): wrap, unwrap and read, on the root key alone.
        ("appPrincipalId", "keyVaultCryptoServiceEncryptionUser", "rootKey"),
        # With summaries or the windows' embeddings: app/openai.bicep, once.
        ("appPrincipalId", "cognitiveServicesOpenAIUser", "account"),
        ("topicPrincipalId", "storageBlobDataContributor", "deadLetters"),
        ("userPrincipalId", "storageBlobDataReader", "archive"),
        ("userPrincipalId", "storageTableDataReader", "archive"),
        ("userPrincipalId", "sealKeyReader", "sealKey"),
        ("userPrincipalId", "storageBlobDataReader", "checkpointContainer"),
        # Search in Azure (SEARCH=aisearch): app/search.bicep and app/openai-access.bicep.
        ("appPrincipalId", "searchIndexDataContributor", "searchService"),
        ("appPrincipalId", "searchServiceContributor", "searchService"),
        ("userPrincipalId", "searchIndexDataReader", "searchService"),
        ("searchPrincipalId", "cognitiveServicesOpenAIUser", "account"),
        # Search's push (SEARCH=aisearch): subscription.bicep, the archive account's topic.
        ("storageEvents.identity.principalId", "storageQueueDataMessageSender", "searchQueue"),
    }


def test_the_only_custom_roles_are_the_seal_keys_and_the_checkpoint_writers_and_no_broader():
    roles = {
        symbol: role["properties"]
        for _, symbol, role in declared("Microsoft.Authorization/roleDefinitions")
    }

    assert {symbol: role["permissions"] for symbol, role in roles.items()} == {
        symbol: [{"actions": actions, "notActions": [], "dataActions": data, "notDataActions": []}]
        for symbol, (actions, data) in CUSTOM_ROLES.items()
    }
    assert set(roles) == set(resources("app/rbac.bicep")) & set(roles)
    for role in roles.values():
        assert role["type"] == "CustomRole"
        [scope] = role["assignableScopes"]
        assert dotted(scope).endswith(".id")
        assert '"resource_group"' in json.dumps(scope)  # resourceGroup().id: this group only
        # Role names are unique in a tenant, so each carries a hash of its group's id.
        assert role["roleName"].endswith(" ${uniqueString(resourceGroup().id)}")


def test_the_app_may_only_sign_with_the_seal_key_and_read_it_nothing_else_in_the_vault():
    rbac = template("app/rbac.bicep")["resources"]
    key, vault = rbac["sealKey"], rbac["vault"]
    in_vault = {(who, role) for who, role, scope in granted() if scope in {"sealKey", "vault"}}
    wired = template("main.bicep")["modules"]["rbac"]["config"]["params"]

    assert in_vault == {("appPrincipalId", "sealSigner"), ("userPrincipalId", "sealKeyReader")}
    assert CUSTOM_ROLES["sealSigner"] == ([], [SIGN, READ_KEY])
    assert (key["existing"], key["config"]) == (True, {"parent": "vault", "name": "sealKeyName"})
    assert (vault["existing"], vault["config"]) == (True, {"name": "vaultName"})
    assert dotted(wired["sealKeyName"]) == "keyVault.outputs.keyName"
    assert dotted(wired["vaultName"]) == "keyVault.outputs.vaultName"
    assert body(resources("app/rbac.bicep")["appSealKey"])["properties"]["principalType"] == (
        "ServicePrincipal"
    )


def test_the_person_who_ran_azd_may_only_read_the_seal_key_and_only_when_named():
    user = resources("app/rbac.bicep")["userSealKey"]
    condition = user["config"]["condition"]["operator"]

    assert CUSTOM_ROLES["sealKeyReader"] == ([], [READ_KEY])
    assert condition["type"] == "not"
    assert condition["operands"]["bool_value"]["function"]["parameters"] == {
        "item_to_test": "userPrincipalId"
    }
    assert body(user)["properties"]["principalType"] == "userPrincipalType"


def test_the_app_may_send_take_and_release_messages_on_its_four_queues_and_no_other():
    rbac = template("app/rbac.bicep")["resources"]
    on_queues = {
        (who, role, scope)
        for who, role, scope in granted()
        if role.startswith("storageQueue") and who == "appPrincipalId"
    }
    wired = template("main.bicep")["modules"]["rbac"]["config"]["params"]

    # The trigger's documented pair (Queue Data Reader, Message Processor) cannot put a
    # failed message back (Update Message), nor can it enqueue or move a message to the
    # poison queue (Put Message): Contributor is the one built-in role that can.
    assert on_queues == {
        ("appPrincipalId", "storageQueueDataContributor", queue)
        for queue in ("jobsQueue", "poisonQueue", "searchQueue", "searchPoisonQueue")
    }
    assert rbac["archiveQueues"]["existing"]
    assert rbac["archiveQueues"]["config"] == {"parent": "archive", "name": "default"}
    for symbol in ("jobsQueue", "poisonQueue", "searchQueue", "searchPoisonQueue"):
        name = f"{symbol}Name"
        assert rbac[symbol]["existing"], symbol
        assert rbac[symbol]["type"] == f"{QUEUES}/queues"
        assert rbac[symbol]["config"] == {"parent": "archiveQueues", "name": name}
        assert dotted(wired[name]) == f"storage.outputs.{name}"
    for symbol in ("appJobsQueue", "appPoisonQueue", "appSearchQueue", "appSearchPoisonQueue"):
        assert body(resources("app/rbac.bicep")[symbol])["properties"]["principalType"] == (
            "ServicePrincipal"
        )


def test_the_topic_may_write_only_to_the_dead_letter_container():
    dead_letters = template("app/rbac.bicep")["resources"]["deadLetters"]

    assert dead_letters["existing"]
    assert dead_letters["config"]["name"] == "deadLetterContainerName"
    assert dead_letters["config"]["parent"] == "archiveBlobs"


# --- the seal key ----------------------------------------------------------------------


def test_the_only_vault_authorizes_by_rbac_and_cannot_be_purged():
    [(name, symbol, vault)] = declared("Microsoft.KeyVault/vaults")
    properties = vault["properties"]

    assert (name, symbol) == ("app/keyvault.bicep", "vault")
    assert properties["enableRbacAuthorization"] is True
    assert properties["accessPolicies"] == []
    assert properties["enableSoftDelete"] is True
    assert properties["enablePurgeProtection"] is True
    assert properties["softDeleteRetentionInDays"] == "softDeleteRetentionInDays"
    assert default("app/keyvault.bicep", "softDeleteRetentionInDays") == 90
    assert not any(properties[f"enabledFor{use}"] for use in ("Deployment", "DiskEncryption"))
    assert properties["enabledForTemplateDeployment"] is False


def test_the_seal_key_is_ec_p256_allowed_to_sign_and_rotated_before_it_expires():
    keys = {symbol: (name, key) for name, symbol, key in declared("Microsoft.KeyVault/vaults/keys")}
    name, key = keys["sealKey"]
    properties = key["properties"]
    policy = properties["rotationPolicy"]

    assert set(keys) == {"sealKey", "rootKey"}  # the root key: tests/test_infra_envelope.py
    assert (name, key["parent"]) == ("app/keyvault.bicep", "vault")
    assert (properties["kty"], properties["curveName"]) == ("EC", "P-256")
    assert properties["keyOps"] == ["sign", "verify"]
    assert properties["attributes"]["enabled"] is True
    assert policy["attributes"]["expiryTime"] == "P2Y"
    assert policy["lifetimeActions"] == [
        {"trigger": {"timeAfterCreate": "P1Y"}, "action": {"type": "rotate"}}
    ]


def test_the_vaults_audit_log_goes_to_the_workspace():
    audit = body(resources("app/keyvault.bicep")["audit"])
    wired = template("main.bicep")["modules"]["keyVault"]["config"]["params"]

    assert audit["scope"] == "vault"
    assert audit["properties"]["logs"] == [{"categoryGroup": "audit", "enabled": True}]
    assert dotted(wired["workspaceId"]) == "monitoring.outputs.workspaceId"


def test_archive_seal_key_is_the_seal_keys_uri_without_a_version():
    outputs = template("app/keyvault.bicep")["outputs"]
    main = template("main.bicep")
    wired = main["modules"]["functions"]["config"]["params"]

    assert app_settings()["ARCHIVE_SEAL_KEY"] == "sealKeyUri"
    assert dotted(wired["sealKeyUri"]) == "keyVault.outputs.keyUri"
    assert dotted(outputs["keyUri"]["value"]) == "sealKey.properties.keyUri"
    assert dotted(main["outputs"]["ARCHIVE_SEAL_KEY_VAULT_NAME"]["value"]) == (
        "keyVault.outputs.vaultName"
    )
    assert dotted(main["outputs"]["ARCHIVE_SEAL_KEY_NAME"]["value"]) == "keyVault.outputs.keyName"
    assert dotted(outputs["keyName"]["value"]) == "sealKey.name"


# --- the Function App ------------------------------------------------------------------


def app_settings() -> dict[str, Any]:
    site = body(resources("app/functions.bicep")["app"])
    return {
        entry["name"]: entry["value"] for entry in site["properties"]["siteConfig"]["appSettings"]
    }


def test_the_app_settings_are_identity_based_and_what_the_settings_module_reads():
    settings_source = "".join(path.read_text(encoding="utf-8") for path in SETTINGS_MODULES)
    read_by_code = set(re.findall(r'"(ARCHIVE_[A-Za-z_]+)"', settings_source))
    archive_settings = {name for name in app_settings() if name.startswith("ARCHIVE_")}

    assert archive_settings - NOT_YET_READ - READ_BY_THE_HOST <= read_by_code
    assert not READ_BY_THE_HOST & read_by_code
    assert archive_settings == {
        "ARCHIVE_STORAGE__blobServiceUri",
        "ARCHIVE_STORAGE__tableServiceUri",
        "ARCHIVE_STORAGE__queueServiceUri",
        "ARCHIVE_STORAGE__clientId",
        "ARCHIVE_STORAGE__credential",
        "ARCHIVE_CONTAINER",
        "ARCHIVE_MESSAGES_TABLE",
        "ARCHIVE_THREADS_TABLE",
        "ARCHIVE_ACTIVITY_TABLE",
        "ARCHIVE_JOBS_QUEUE",
        "ARCHIVE_SEARCH_QUEUE",
        "ARCHIVE_ALLOWED_TOPICS",
        "ARCHIVE_INACTIVE_DAYS",
        "ARCHIVE_DEAD_LETTER_CONTAINER",
        "ARCHIVE_READ_AUTH",
        "ARCHIVE_WEBHOOK_AUTH",
        "ARCHIVE_ENTRA_TENANT_ID",
        "ARCHIVE_ENTRA_AUDIENCE",
        "ARCHIVE_SEAL_KEY",
        "ARCHIVE_CHECKPOINTS_STORAGE__blobServiceUri",
        "ARCHIVE_CHECKPOINTS_CONTAINER",
        "ARCHIVE_SUMMARY_DEPLOYMENT",
        "ARCHIVE_SUMMARY_HELD",
        "ARCHIVE_SEARCH",
        "ARCHIVE_SEARCH_ENDPOINT",
        "ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT",
        "ARCHIVE_SEARCH_EMBEDDING_MODEL",
        "ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS",
        "ARCHIVE_ENVELOPE",
        "ARCHIVE_ROOT_KEY",
    }
    assert app_settings()["ARCHIVE_ALLOWED_TOPICS"] == "acsResourceId"
    acs_settings = {name for name in app_settings() if name.startswith("ACS_")}
    assert acs_settings == {"ACS_ENDPOINT", "ACS_ARCHIVER_USER_ID"}
    assert acs_settings <= set(re.findall(r'"(ACS_[A-Z_]+)"', settings_source))
    assert {name for name in app_settings() if name.startswith("AZURE_OPENAI_")} == {
        "AZURE_OPENAI_ENDPOINT"
    }
    assert '"AZURE_OPENAI_ENDPOINT"' in settings_source


def test_the_app_settings_configure_the_archiver_as_deployed():
    example = {
        "archiveBlobEndpoint": "https://starchx.blob.core.windows.net/",
        "archiveTableEndpoint": "https://starchx.table.core.windows.net/",
        "archiveQueueEndpoint": "https://starchx.queue.core.windows.net/",
        "identityClientId": "00000000-0000-0000-0000-000000000001",
        "archiveContainerName": DEFAULT_CONTAINER,
        "messagesTableName": DEFAULT_MESSAGES_TABLE,
        "threadsTableName": DEFAULT_THREADS_TABLE,
        "activityTableName": ACTIVITY_TABLE,
        "jobsQueueName": JOBS_QUEUE,
        "searchQueueName": "chat-pushes",
        "acsResourceId": "/subscriptions/s/resourceGroups/g/providers/"
        "Microsoft.Communication/communicationServices/acs",
        "acsEndpoint": "https://acs.communication.azure.com",
        "acsArchiverUserId": "8:acs:5e7c1b0a_0001",
        "inactiveDays": "7",
        "deadLetterContainerName": "eventgrid-deadletter",
        "readAuth": "key",
        "webhookAuth": "key",
        "entraTenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "entraAudience": "",
        "sealKeyUri": "https://kv-x.vault.azure.net/keys/archive-seal",
        "checkpointBlobEndpoint": "https://stckptx.blob.core.windows.net/",
        "checkpointContainerName": CHECKPOINTS_CONTAINER,
        "summaryDeployment": "",
        "summaryHeld": "False",  # string() of a Bicep bool
        "search": "aisearch",
        "searchEndpoint": "https://srch-x.search.windows.net",
        "searchEmbeddingDeployment": "embeddings",
        "searchEmbeddingModel": "text-embedding-3-small",
        "searchEmbeddingDimensions": "1536",
        "openAiEndpoint": "https://oai-x.openai.azure.com/",
        "envelope": "on",
        "rootKeyUri": "https://kv-x.vault.azure.net/keys/archive-root",
    }
    values = {name: example.get(_named(value), value) for name, value in app_settings().items()}

    settings = Settings.from_mapping(values)
    entra = Settings.from_mapping(
        values | {"ARCHIVE_READ_AUTH": "entra", "ARCHIVE_ENTRA_AUDIENCE": "api://chat-archiver"}
    )

    assert settings.storage.uses_identity
    assert settings.storage.client_id == example["identityClientId"]
    assert settings.threads_table == DEFAULT_THREADS_TABLE
    assert settings.acs is not None
    assert (settings.acs.endpoint, settings.acs.archiver_user_id) == (
        "https://acs.communication.azure.com",
        "8:acs:5e7c1b0a_0001",
    )
    assert settings.acs.access_key is None  # the Identity API is asked with Entra ID
    assert settings.inactive_days == 7
    assert settings.topic_allowed(example["acsResourceId"].lower())
    assert not settings.topic_allowed("/subscriptions/s/other")
    assert settings.access.read_auth == settings.access.webhook_auth == "key"  # the default
    assert (entra.access.read_auth, entra.access.tenant_id) == ("entra", example["entraTenantId"])
    assert settings.seal_key is not None
    assert settings.seal_key.key_vault_uri == example["sealKeyUri"]
    assert settings.seal_key.pem is None  # signed inside Key Vault: no private key here
    assert settings.summary is None  # no chat text goes to a model unless asked
    summarised = Settings.from_mapping(
        values
        | {
            "AZURE_OPENAI_ENDPOINT": "https://contoso-ai.openai.azure.com/",
            "ARCHIVE_SUMMARY_DEPLOYMENT": "summaries",
            "ARCHIVE_SUMMARY_HELD": "True",
        }
    ).summary
    assert summarised is not None
    assert (summarised.endpoint, summarised.deployment, summarised.held) == (
        "https://contoso-ai.openai.azure.com",
        "summaries",
        True,
    )

    assert (settings.search.backend, settings.search.endpoint) == (
        "aisearch",
        "https://srch-x.search.windows.net",
    )
    assert settings.search.embedding is not None
    assert settings.search.embedding.endpoint == "https://oai-x.openai.azure.com"
    assert settings.search.queue == example["searchQueueName"]
    assert settings.keys.envelope
    assert settings.keys.root_key is not None
    assert settings.keys.root_key.key_vault_uri == example["rootKeyUri"]
    plain = Settings.from_mapping(values | {"ARCHIVE_ENVELOPE": "off", "ARCHIVE_ROOT_KEY": ""})
    assert (plain.keys.envelope, plain.keys.root_key) == (False, None)  # ENVELOPE off


# The built-in role that may call an Azure OpenAI account's deployments, and nothing else.
COGNITIVE_SERVICES_OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"


def test_summaries_deploy_a_role_on_the_openai_account_only_with_the_account_and_a_deployment():
    main = template("main.bicep")
    module = main["modules"]["openAi"]
    wired = main["modules"]["functions"]["config"]["params"]
    both = json.dumps(main["variables"]["summaries"]["value"])

    assert module["detail"]["path"] == "app/openai.bicep"
    assert module["config"]["condition"] == "openAiUsed"  # summaries or embeddings: once
    assert main["variables"]["openAiUsed"]["value"]["operator"] == {
        "type": "or",
        "operands": {"operand_1": "summaries", "operand_2": "embeds"},
    }
    assert json.loads(both)["operator"]["type"] == "and"
    assert '"openAiResourceId"' in both
    assert '"summaryDeployment"' in both
    for parameter in ("openAiResourceId", "summaryDeployment"):
        assert default("main.bicep", parameter) == ""  # off by default
    assert default("main.bicep", "summaryHeld") is False
    assert "openAiUsed" in json.dumps(wired["openAiEndpoint"])
    assert "summaries" in json.dumps(wired["summaryDeployment"])
    assert template("app/openai.bicep")["variables"]["roles"]["value"] == {
        "cognitiveServicesOpenAIUser": COGNITIVE_SERVICES_OPENAI_USER
    }
    assignment = body(resources("app/openai.bicep")["appOpenAI"])
    assert assignment["scope"] == "account"
    assert assignment["properties"]["principalType"] == "ServicePrincipal"


def test_the_app_is_told_the_openai_endpoint_and_deployment_and_never_a_key():
    settings = app_settings()

    assert (settings["AZURE_OPENAI_ENDPOINT"], settings["ARCHIVE_SUMMARY_DEPLOYMENT"]) == (
        "openAiEndpoint",
        "summaryDeployment",
    )
    assert not any("KEY" in name for name in settings if name.startswith("AZURE_OPENAI"))
    assert "listKeys" not in (INFRA / "app" / "openai.bicep").read_text(encoding="utf-8")


def _named(value: Any) -> str:
    """The parameter an app setting's value names, through a string() conversion."""
    if isinstance(value, dict):
        return str(value["function"]["parameters"]["value_to_convert"])
    return str(value)


def test_the_queue_triggers_reach_the_archives_queues_as_the_apps_identity():
    settings = app_settings()
    wired = template("main.bicep")["modules"]["functions"]["config"]["params"]

    # run_job and report_poisoned_job take ARCHIVE_STORAGE as their connection: the host
    # builds it from these, as a managed identity named by its client id, never a key.
    assert settings["ARCHIVE_STORAGE__queueServiceUri"] == "archiveQueueEndpoint"
    assert settings["ARCHIVE_STORAGE__credential"] == "managedidentity"
    assert settings["ARCHIVE_STORAGE__clientId"] == "identityClientId"
    assert "ARCHIVE_STORAGE" not in settings
    assert settings["ARCHIVE_JOBS_QUEUE"] == "jobsQueueName"
    assert settings["ARCHIVE_ACTIVITY_TABLE"] == "activityTableName"
    for parameter in ("archiveQueueEndpoint", "jobsQueueName", "activityTableName"):
        assert dotted(wired[parameter]) == f"storage.outputs.{parameter}"


def test_the_host_and_telemetry_sign_in_with_the_apps_identity_never_with_a_key():
    settings = app_settings()

    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identityClientId};Authorization=AAD"
    )
    assert "AzureWebJobsStorage" not in settings
    # Flex Consumption refuses these; the runtime is set in functionAppConfig.
    assert not {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"} & set(settings)
    assert "ARCHIVE_VIEWER" not in settings


def test_no_template_reads_a_storage_key_or_any_key_but_the_webhooks():
    for path in bicep_files():
        text = path.read_text(encoding="utf-8")
        assert "AccountKey" not in text, path
        assert not re.search(r"(?<![\w.])list\w*\(", text), path  # listKeys(id, ...) and kin
        keys_read = re.findall(r"(\w+)\.list\w*\(\)", text)
        assert set(keys_read) <= {"events"}, path


def test_the_app_runs_the_newest_python_flex_consumption_offers_as_its_identity():
    functions = resources("app/functions.bicep")
    site = body(functions["app"])
    text = (INFRA / "app" / "functions.bicep").read_text(encoding="utf-8")

    assert body(functions["plan"])["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert site["properties"]["functionAppConfig"]["runtime"] == {
        "name": "python",
        "version": max(FLEX_PYTHON, key=lambda version: tuple(map(int, version.split(".")))),
    }
    # The decision names its source, in the template and on the Deploy page.
    assert "Get-AzFunctionAppFlexConsumptionRuntime" in text
    assert "Get-AzFunctionAppFlexConsumptionRuntime" in (PROJECT / "docs" / "deploy.md").read_text(
        encoding="utf-8"
    )
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["httpsOnly"] is True
    assert site["tags"]["function"]["parameters"]["arg_2"] == {"'azd-service-name'": "archiver"}


def test_application_insights_accepts_only_entra_id():
    monitoring = resources("app/monitoring.bicep")

    assert body(monitoring["appInsights"])["properties"]["DisableLocalAuth"] is True
    assert body(monitoring["workspace"])["properties"]["features"] == {"disableLocalAuth": True}


# --- azd: azure.yaml, parameters, hooks --------------------------------------------------


def test_azure_yaml_deploys_the_project_as_a_python_function_and_runs_both_hooks():
    text = (PROJECT / "azure.yaml").read_text(encoding="utf-8")

    assert re.search(
        r"^  archiver:\n    project: \.\n    language: python\n    host: function$", text, re.M
    )
    for hook in HOOKS:
        assert f"run: ./{hook.relative_to(PROJECT).as_posix()}" in text
        assert hook.is_file()


def test_main_parameters_file_sets_only_declared_parameters_and_every_required_one():
    parameters = template("main.bicep")["parameters"]
    required = {name for name, parameter in parameters.items() if parameter["default"] is None}
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))

    assert set(values["parameters"]) <= set(parameters)
    assert required <= set(values["parameters"])


def test_main_parameters_file_falls_back_to_the_templates_own_defaults():
    # azd passes an unset ${NAME} as "", which would override a string default: so those
    # spell the default out as ${NAME=default}, and it must be the template's.
    parameters = template("main.bicep")["parameters"]
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))

    for name, value in values["parameters"].items():
        reference = re.fullmatch(r"\$\{(\w+)(?:=(.*))?\}", value["value"])
        assert reference, name
        fallback, expected = reference[2], parameters[name]["default"]
        if expected in (None, ""):
            assert fallback is None, name
        else:
            assert fallback == json.dumps(expected).strip('"'), name


def hook_parameters(hook: Path) -> dict[str, tuple[str, str]]:
    """subscription.bicep parameter -> (azd environment value, default), as a hook passes it."""
    text = hook.read_text(encoding="utf-8")
    found = re.findall(r'(\w+)="\$\(setting (\w+)(?: (\w+))?\)"', text, re.IGNORECASE)
    return {parameter: (name, fallback) for parameter, name, fallback in found}


def test_both_hooks_deploy_the_subscription_template_with_the_same_values():
    sh, ps1 = (hook_parameters(hook) for hook in HOOKS)

    for hook in HOOKS:
        assert "az deployment group create" in hook.read_text(encoding="utf-8")
        assert "--template-file infra/subscription.bicep" in hook.read_text(encoding="utf-8")
    assert sh == ps1
    assert len(sh) == 13


def test_the_hooks_pass_every_required_parameter_from_the_azd_environment():
    parameters = template("subscription.bicep")["parameters"]
    required = {name for name, parameter in parameters.items() if parameter["default"] is None}
    known = (
        set(template("main.bicep")["outputs"])
        | {"AZURE_SUBSCRIPTION_ID"}
        | HOOK_OPTIONS
        | READ_AS_PROVISIONED
    )

    for hook in HOOKS:
        passed = hook_parameters(hook)
        assert required <= set(passed) <= set(parameters), hook.name
        for parameter, (name, fallback) in passed.items():
            assert name in known, (hook.name, name)
            if parameter not in required:
                assert fallback == default("subscription.bicep", parameter), (hook.name, parameter)


# --- checkov suppressions ----------------------------------------------------------------


def test_every_checkov_suppression_gives_its_reason():
    suppressions = [
        line.strip()
        for path in bicep_files()
        for line in path.read_text(encoding="utf-8").splitlines()
        if "checkov:skip" in line
    ]

    assert suppressions
    for line in suppressions:
        match = re.fullmatch(r"// checkov:skip=CKV2?_AZURE_\d+: (?P<reason>.+)", line)
        assert match, line
        assert len(match["reason"].split()) >= 8, line

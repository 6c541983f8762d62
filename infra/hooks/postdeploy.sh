#!/bin/sh
# azd postdeploy hook: subscribe the archiver to the ACS resource's chat events, with
# dead-lettering, and with SEARCH=aisearch the search queue to new versions
# (infra/subscription.bicep). It runs after the code is deployed because Event Grid
# checks the endpoint when the subscription is created. Safe to run again:
#   azd hooks run postdeploy
# Options, each kept in the azd environment (azd env set NAME VALUE):
#   EVENT_GRID_DESTINATION  AzureFunction (the native trigger, default) or webhook
#   EVENT_GRID_WEBHOOK_KEY  with webhook: the key of the events function to use, created
#                           when missing (default: eventgrid); never a host key
#   EVENT_GRID_EVENT_LEVEL  thread (default) or perUser
#   EVENT_GRID_VIEWER_URL   also deliver to this URL, e.g. an Event Grid viewer
#   EVENT_GRID_ENTRA_APPLICATION  with webhook: the app registration's application id or
#                           URI; Event Grid then sends its Entra ID token, not a key
#                           (set ARCHIVE_WEBHOOK_AUTH=entra too; docs/access.md)
#   SEARCH                  aisearch: also subscribe the search queue to new versions
#                           (search-push); the value azd provision used (default: off)
# Keep infra/hooks/postdeploy.ps1 doing the same, step for step.
set -eu
cd "$(dirname "$0")/../.."

# A value of the azd environment: azd passes them to hooks; run by hand, ask azd.
setting() {
  value=$(printenv "$1" || azd env get-value "$1" 2>/dev/null || true)
  printf '%s' "${value:-${2-}}"
}

for name in AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME \
  EVENT_GRID_SYSTEM_TOPIC_NAME ARCHIVE_STORAGE_ACCOUNT_NAME ARCHIVE_DEAD_LETTER_CONTAINER \
  ARCHIVE_CONTAINER ARCHIVE_SEARCH_QUEUE; do
  if [ -z "$(setting "$name")" ]; then
    echo "postdeploy: $name is not in the azd environment; run 'azd provision' first" >&2
    exit 1
  fi
done

echo "Subscribing $(setting AZURE_FUNCTION_APP_NAME) to the ACS chat events..."
az deployment group create \
  --subscription "$(setting AZURE_SUBSCRIPTION_ID)" \
  --resource-group "$(setting AZURE_RESOURCE_GROUP)" \
  --name chat-archiver-subscription \
  --template-file infra/subscription.bicep \
  --parameters \
  systemTopicName="$(setting EVENT_GRID_SYSTEM_TOPIC_NAME)" \
  functionAppName="$(setting AZURE_FUNCTION_APP_NAME)" \
  deadLetterAccountName="$(setting ARCHIVE_STORAGE_ACCOUNT_NAME)" \
  deadLetterContainerName="$(setting ARCHIVE_DEAD_LETTER_CONTAINER)" \
  destination="$(setting EVENT_GRID_DESTINATION AzureFunction)" \
  webhookKeyName="$(setting EVENT_GRID_WEBHOOK_KEY eventgrid)" \
  eventLevel="$(setting EVENT_GRID_EVENT_LEVEL thread)" \
  viewerUrl="$(setting EVENT_GRID_VIEWER_URL)" \
  entraApplicationIdOrUri="$(setting EVENT_GRID_ENTRA_APPLICATION)" \
  entraTenantId="$(setting AZURE_TENANT_ID)" \
  search="$(setting SEARCH off)" \
  archiveContainerName="$(setting ARCHIVE_CONTAINER)" \
  searchQueueName="$(setting ARCHIVE_SEARCH_QUEUE)" \
  --query properties.provisioningState --output tsv

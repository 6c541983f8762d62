// The Event Grid subscription that feeds the archiver, on the ACS resource's system topic;
// the archive account's system topic, with its dead-letter replay and (SEARCH=aisearch)
// search's push to the search queue.
//
// Deployed by the azd postdeploy hook (infra/hooks/), after the code: Event Grid checks
// the endpoint when a subscription is created, so the function must already exist.
// Redeploying it is safe; it only updates the subscription.
targetScope = 'resourceGroup'

@description('Name of the Event Grid system topic on the ACS resource (main.bicep output EVENT_GRID_SYSTEM_TOPIC_NAME).')
param systemTopicName string

@description('Name of the Function App (AZURE_FUNCTION_APP_NAME).')
param functionAppName string

@description('Name of the archive storage account, which holds the dead letters (ARCHIVE_STORAGE_ACCOUNT_NAME).')
param deadLetterAccountName string

@description('Container of that account for the dead letters (ARCHIVE_DEAD_LETTER_CONTAINER).')
param deadLetterContainerName string

@description('AzureFunction: the native Event Grid trigger archive_event (no key to manage). webhook: POST /api/events with a key of the events function alone (webhookKeyName).')
@allowed(['AzureFunction', 'webhook'])
param destination string = 'AzureFunction'

@description('webhook: name of the key of the events function put in the URL; it opens that function and nothing else. Created when missing (the host generates its value), kept as it is when present. To rotate it without a gap, point this at a new name, deploy, then delete the old key.')
param webhookKeyName string = 'eventgrid'

@description('webhook with Microsoft Entra ID (the app setting ARCHIVE_WEBHOOK_AUTH=entra): application id or Application ID URI of the archiver\'s app registration, which Event Grid requests its token for. Empty: the function key in the URL.')
param entraApplicationIdOrUri string = ''

@description('Tenant of that app registration (AZURE_TENANT_ID). Empty: this deployment\'s tenant.')
param entraTenantId string = ''

@description('thread: one event per change (the ...InThread and ChatThread... events). perUser: the same changes once per recipient, which costs one delivery each.')
@allowed(['thread', 'perUser'])
param eventLevel string = 'thread'

@description('Most events in one delivery. Event Grid never exceeds it.')
@minValue(1)
@maxValue(5000)
param maxEventsPerBatch int = 100

@description('Preferred size of one delivery. A larger single event is still delivered, alone.')
@minValue(1)
@maxValue(1024)
param preferredBatchSizeInKilobytes int = 512

@description('Optional: also deliver every event to this HTTPS URL, such as an Event Grid viewer. Empty: no second subscription.')
param viewerUrl string = ''

@description('Search in Azure (SEARCH): aisearch subscribes the search queue to the archive\'s new versions (search-push). off: no such subscription.')
@allowed(['off', 'aisearch'])
param search string = 'off'

@description('Container of the archive in that account (ARCHIVE_CONTAINER): its new version blobs are what search-push announces.')
param archiveContainerName string

@description('Queue of that account the announcements go to, which index_versions is triggered by (ARCHIVE_SEARCH_QUEUE).')
param searchQueueName string

@description('How long an announcement waits on the search queue for index_versions, in seconds: 7 days, past which `archiver jobs start index` writes what it missed.')
@minValue(1)
param searchQueueMessageSeconds int = 604800

// With Entra ID, Event Grid sends a token for the app registration instead of a key in the URL.
var entra = !empty(entraApplicationIdOrUri)

// The URL carries a function key only for a webhook without Entra ID.
var keyed = (destination == 'webhook') && !entra

// The one list of event types, shared with the code (archiver/events.py; a test checks).
var eventTypes = loadJsonContent('app/event-types.json')

// Search's push is on only with an Azure AI Search service to push to.
var aiSearch = search == 'aisearch'

// Built-in role definition ids (the same in every tenant).
var roles = {
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource app 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

// The webhook's function (function_app.py: route 'events'). Its keys open it alone: a key
// of the host (any of its function keys, or the master key) would open every function,
// the read API and the hold routes included, to whoever can read the subscription's URL.
resource events 'Microsoft.Web/sites/functions@2024-04-01' existing = {
  parent: app
  name: 'events'
}

// The key the URL carries. A deployment that finds it keeps its value (passing it back
// unchanged); one that does not lets the Functions host generate it, so a new key never
// passes through a parameter, the hook or a log, and rerunning the hook rotates nothing.
// (Bicep's types miss `properties` on this resource; Azure requires it.)
resource webhookKey 'Microsoft.Web/sites/functions/keys@2024-04-01' = if (keyed) {
  parent: events
  name: webhookKeyName
  properties: contains(events.listKeys(), webhookKeyName) ? { name: webhookKeyName, value: events.listKeys()[webhookKeyName] } : { name: webhookKeyName }
}

resource deadLetterAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: deadLetterAccountName
}

resource archiveQueues 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: deadLetterAccount
  name: 'default'
}

// Made by azd provision (app/storage.bicep), search on or off.
resource searchQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: archiveQueues
  name: searchQueueName
}

resource archiver 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'chat-archiver'
  properties: {
    // The function key is read here, inside Azure Resource Manager: it never passes through
    // the hook, a shell variable or a log. Event Grid stores the URL encrypted. With Entra ID
    // there is no key: Event Grid gets a token for the app registration on every delivery.
    destination: (destination == 'webhook') ? {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: entra ? 'https://${app.properties.defaultHostName}/api/events' : 'https://${app.properties.defaultHostName}/api/events?code=${events.listKeys()[webhookKeyName]}'
        azureActiveDirectoryApplicationIdOrUri: entra ? entraApplicationIdOrUri : null
        azureActiveDirectoryTenantId: entra ? (empty(entraTenantId) ? tenant().tenantId : entraTenantId) : null
        maxEventsPerBatch: maxEventsPerBatch
        preferredBatchSizeInKilobytes: preferredBatchSizeInKilobytes
      }
    } : {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${app.id}/functions/archive_event'
        maxEventsPerBatch: maxEventsPerBatch
        preferredBatchSizeInKilobytes: preferredBatchSizeInKilobytes
      }
    }
    filter: {
      includedEventTypes: eventTypes[eventLevel]
    }
    eventDeliverySchema: 'EventGridSchema'
    // The most Event Grid allows: 30 attempts over 24 hours. The archiver answers 503 while
    // storage is down, so an outage of up to a day loses nothing.
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    // What Event Grid gives up on (expired, refused with 400/413) lands here as JSON,
    // written with the topic's own identity (no storage key).
    deadLetterWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterAccount.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
  // The URL reads the key: it must exist first.
  dependsOn: [webhookKey]
}

// Dead letters replay themselves: the archive account's own system topic tells the
// replay_dead_letter function of every blob Event Grid writes to the dead-letter container
// (not of the copies the replay moves under replayed/). The function archives that blob's
// events through the webhook's path and moves it aside; what it refuses stays, logged.
// An account has one system topic, so search's push (below) is a subscription of this one
// too. Its identity puts those events on the search queue: the account takes no shared key.
resource storageEvents 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: '${deadLetterAccountName}-events'
  location: deadLetterAccount.location
  identity: { type: 'SystemAssigned' }
  properties: {
    source: deadLetterAccount.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource deadLetterReplay 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: storageEvents
  name: 'dead-letter-replay'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${app.id}/functions/replay_dead_letter'
        maxEventsPerBatch: 1
      }
    }
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      subjectBeginsWith: '/blobServices/default/containers/${deadLetterContainerName}/blobs/'
      advancedFilters: [
        {
          operatorType: 'StringNotBeginsWith'
          key: 'subject'
          values: ['/blobServices/default/containers/${deadLetterContainerName}/blobs/replayed/']
        }
      ]
    }
    eventDeliverySchema: 'EventGridSchema'
    // While storage is down the function fails and Event Grid tries again for a day; after
    // that the blob is still there for `archiver replay-deadletters`. No dead-lettering
    // here: a dead letter of this subscription would land in the container it watches.
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

// With search on, the topic may add messages to the search queue, and to no other queue;
// it cannot read, change or delete one. Granted before the subscription delivers with it.
resource topicSearchQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (aiSearch) {
  name: guid(searchQueue.id, storageEvents.id, roles.storageQueueDataMessageSender)
  scope: searchQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageSender)
    principalId: storageEvents.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Search's push (SEARCH=aisearch): every version blob written to the archive container is
// announced, one event a message, on the search queue, and index_versions indexes it. Not
// the archive's other blobs (seals, transcripts, reports): only messages/ holds versions.
// Delivered with the topic's identity, since the account takes no shared key.
resource searchPush 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (aiSearch) {
  parent: storageEvents
  name: 'search-push'
  properties: {
    deliveryWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: deadLetterAccount.id
          queueName: searchQueue.name
          queueMessageTimeToLiveInSeconds: searchQueueMessageSeconds
        }
      }
    }
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      subjectBeginsWith: '/blobServices/default/containers/${archiveContainerName}/blobs/messages/'
    }
    eventDeliverySchema: 'EventGridSchema'
    // While the queue cannot be reached Event Grid tries again for a day. No dead-lettering:
    // a dead letter here would land in the container replay_dead_letter reads as ACS events.
    // A version the index missed is written again by `archiver jobs start index`.
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
  dependsOn: [topicSearchQueue]
}

// A second, optional copy of the stream for watching it live. It must never hold up the
// archive or fill its dead-letter container, so it gives up after a few quick attempts.
resource viewer 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (!empty(viewerUrl)) {
  parent: topic
  name: 'chat-viewer'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: viewerUrl
        maxEventsPerBatch: maxEventsPerBatch
        preferredBatchSizeInKilobytes: preferredBatchSizeInKilobytes
      }
    }
    filter: {
      includedEventTypes: eventTypes[eventLevel]
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: 3
      eventTimeToLiveInMinutes: 30
    }
  }
}

output subscriptionName string = archiver.name
output deadLetterReplaySubscriptionName string = deadLetterReplay.name
output searchPushSubscriptionName string = aiSearch ? searchPush.name : ''

// Who may do what, and nothing more:
// - the app's identity: read and write the archive (blobs, tables); send, receive and
//   release messages on the jobs queue, the search queue and their poison queues, those
//   four queues only; own
//   its host storage's blobs (the Functions host keeps keys and leases there); publish
//   telemetry; sign with the seal key and read it, and with envelope mode wrap and unwrap
//   with the root key and read it, and nothing else in the vault; create checkpoints and
//   read them, in their container only, never overwrite or delete one;
// - the system topic's identity: write dead letters, in their container only;
// - the person who ran azd: read the archive, the checkpoints, and the seal key's public
//   half.
//
// No built-in Key Vault role is that narrow (Key Vault Crypto User also encrypts, wraps,
// verifies and lists), so the seal key's two roles are custom roles of this resource
// group, assigned on the key alone. Nor is any built-in storage role create-only (Storage
// Blob Data Contributor also overwrites, deletes and moves), so the checkpoint writer is a
// custom role too, assigned on the checkpoint container alone. The root key's role is the
// built-in Key Vault Crypto Service Encryption User (read a key, wrap and unwrap with it,
// nothing else in the vault), on the key alone. It also carries Event Grid's
// eventSubscriptions read, write and delete, which reach nothing at a key's scope: a key
// is no Event Grid source (a vault's events are the vault's).

@description('Name of the Functions host storage account.')
param hostAccountName string

@description('Name of the archive storage account.')
param archiveAccountName string

@description('Container Event Grid writes dead letters to.')
param deadLetterContainerName string

@description('Queue the timers enqueue jobs on and run_job is triggered by.')
param jobsQueueName string

@description('Poison queue of that queue, which report_poisoned_job is triggered by.')
param poisonQueueName string

@description('Queue of the archive\'s BlobCreated events for new versions, which index_versions is triggered by.')
param searchQueueName string

@description('Poison queue of that queue, where the host moves a push that failed five times.')
param searchPoisonQueueName string

@description('Name of the checkpoint storage account.')
param checkpointAccountName string

@description('Container of the signed checkpoints in that account.')
param checkpointContainerName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Name of the Key Vault that holds the seal key.')
param vaultName string

@description('Name of the seal key.')
param sealKeyName string

@description('Envelope mode: the app may wrap and unwrap with the root key.')
param envelope bool = false

@description('Name of the root key (it exists with envelope mode only).')
param rootKeyName string = 'archive-root'

@description('Principal id of the app identity.')
param appPrincipalId string

@description('Principal id of the system topic identity.')
param topicPrincipalId string

@description('Object id of the person who ran azd. Empty: no read access is granted.')
param userPrincipalId string

@description('Kind of principal userPrincipalId is.')
@allowed(['User', 'ServicePrincipal'])
param userPrincipalType string

// Built-in role definition ids (the same in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageTableDataReader: '76199698-9eea-4c19-bc75-cec21354c6b6'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultCryptoServiceEncryptionUser: 'e147488a-f6f5-4113-8e2d-b22465e65bf6'
}

resource host 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostAccountName
}

resource archive 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: archiveAccountName
}

resource archiveBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: archive
  name: 'default'
}

resource deadLetters 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: archiveBlobs
  name: deadLetterContainerName
}

resource archiveQueues 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: archive
  name: 'default'
}

resource jobsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: archiveQueues
  name: jobsQueueName
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: archiveQueues
  name: poisonQueueName
}

resource searchQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: archiveQueues
  name: searchQueueName
}

resource searchPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: archiveQueues
  name: searchPoisonQueueName
}

resource checkpoints 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: checkpointAccountName
}

resource checkpointBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: checkpoints
  name: 'default'
}

resource checkpointContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: checkpointBlobs
  name: checkpointContainerName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource sealKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' existing = {
  parent: vault
  name: sealKeyName
}

resource rootKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' existing = {
  parent: vault
  name: rootKeyName
}

// Custom role names must be unique in the tenant, so each carries a hash of the group's id.
// Wherever a custom role is defined, it is addressed at subscription level.
resource sealSigner 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'chat-archive-seal-signer')
  properties: {
    roleName: 'Chat archive seal signer ${uniqueString(resourceGroup().id)}'
    description: 'Sign with a key and read it (its public half): what the archiver needs to seal threads.'
    type: 'CustomRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.KeyVault/vaults/keys/sign/action'
          'Microsoft.KeyVault/vaults/keys/read'
        ]
        notDataActions: []
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

resource sealKeyReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'chat-archive-seal-key-reader')
  properties: {
    roleName: 'Chat archive seal key reader ${uniqueString(resourceGroup().id)}'
    description: 'Read a key: its attributes and public half, to hand to auditors. No cryptographic operation.'
    type: 'CustomRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: ['Microsoft.KeyVault/vaults/keys/read']
        notDataActions: []
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

// Create a blob (add/action is Put Blob of a new blob only: blobs/write, which overwrites,
// is left out), read blobs and list them, read the container's properties. With the
// account's version-level WORM on top, a checkpoint once written stays as it was.
resource checkpointWriter 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'chat-archive-checkpoint-writer')
  properties: {
    roleName: 'Chat archive checkpoint writer ${uniqueString(resourceGroup().id)}'
    description: 'Create blobs and read them, never overwrite or delete one: what the archiver needs to write signed checkpoints.'
    type: 'CustomRole'
    permissions: [
      {
        actions: ['Microsoft.Storage/storageAccounts/blobServices/containers/read']
        notActions: []
        dataActions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'
        ]
        notDataActions: []
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

resource appArchiveBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(archive.id, appPrincipalId, roles.storageBlobDataContributor)
  scope: archive
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appArchiveTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(archive.id, appPrincipalId, roles.storageTableDataContributor)
  scope: archive
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The jobs fan-out (issue 27), on each of its two queues alone. The pair the Functions
// documentation names for a queue trigger (Storage Queue Data Reader and Message
// Processor) cannot do what the trigger does: the host puts a failed message back with
// Update Message (messages/write, MicrosoftDocs/azure-docs#120932) and moves one that
// failed maxDequeueCount times to the poison queue with Put Message (messages/add), which
// the timers need too, to enqueue. Adding Message Sender still leaves Update Message out.
// Storage Queue Data Contributor is the one built-in role with all of it. A custom role
// could withhold only creating, deleting and clearing a queue, but Get Messages' delete
// (which the trigger must have) already lets its holder empty a queue, so there is no
// custom role here. Neither role reaches any other queue: the queues are made by
// storage.bicep, never by the app or the host.
resource appJobsQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(jobsQueue.id, appPrincipalId, roles.storageQueueDataContributor)
  scope: jobsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appPoisonQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(poisonQueue.id, appPrincipalId, roles.storageQueueDataContributor)
  scope: poisonQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Search's push (index_versions): the same trigger, so the same role, for the same
// reasons, on the search queue and its poison queue alone. Event Grid puts the messages
// there with the archive account's system topic's identity (subscription.bicep).
resource appSearchQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(searchQueue.id, appPrincipalId, roles.storageQueueDataContributor)
  scope: searchQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appSearchPoisonQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(searchPoisonQueue.id, appPrincipalId, roles.storageQueueDataContributor)
  scope: searchPoisonQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Owner rather than Contributor: the Functions documentation requires it for an
// identity-based AzureWebJobsStorage (blob leases and key storage).
resource appHostBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(host.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: host
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appSealKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(sealKey.id, appPrincipalId, sealSigner.name)
  scope: sealKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', sealSigner.name)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Only with envelope mode, on the root key alone.
resource appRootKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (envelope) {
  name: guid(rootKey.id, appPrincipalId, roles.keyVaultCryptoServiceEncryptionUser)
  scope: rootKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoServiceEncryptionUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appCheckpoints 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(checkpointContainer.id, appPrincipalId, checkpointWriter.name)
  scope: checkpointContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', checkpointWriter.name)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource topicDeadLetters 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetters.id, topicPrincipalId, roles.storageBlobDataContributor)
  scope: deadLetters
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: topicPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource userArchiveBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(archive.id, userPrincipalId, roles.storageBlobDataReader)
  scope: archive
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userArchiveTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(archive.id, userPrincipalId, roles.storageTableDataReader)
  scope: archive
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataReader)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

// Auditors' read access to the checkpoints is this role too, given to them by hand.
resource userCheckpoints 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(checkpointContainer.id, userPrincipalId, roles.storageBlobDataReader)
  scope: checkpointContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userSealKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(sealKey.id, userPrincipalId, sealKeyReader.name)
  scope: sealKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', sealKeyReader.name)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

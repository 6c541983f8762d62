// Three storage accounts, all reachable only with Microsoft Entra ID (shared keys off):
// - host: what the Functions host needs (function keys, leases) and the deployment package;
// - archive: the chat archive (blobs + the latest-version table), Event Grid's dead
//   letters, the jobs queue the daily timers fan out over, and the search queue new
//   versions' BlobCreated events arrive on (each with its poison queue).
//   Kept apart so that its roles, replication and WORM settings concern nothing else;
// - checkpoints: the signed checkpoints, outside the archive. Version-level WORM with a
//   time-based retention policy, always on; the app may only create blobs there (rbac.bicep).
//
// By default all three have public endpoints: a Flex Consumption app without VNet
// integration reaches storage over them. Access is by identity and role only (see
// rbac.bicep). With network isolation (NETWORK_ISOLATION=true) main.bicep closes them
// (publicNetworkAccess Disabled, default action Deny) and network.bicep gives each a
// private endpoint. The trusted-services bypass stays in both modes: Event Grid's system
// topic writes dead letters to the archive with its own identity, over the public
// network, and trusted services keep their access when public network access is off.

@description('Name of the Functions host storage account.')
param hostAccountName string

@description('Name of the archive storage account.')
param archiveAccountName string

@description('Region of both accounts.')
param location string

@description('Tags for both accounts.')
param tags object

@description('Replication of the archive account (main.bicep offers the choices).')
param archiveSku string = 'Standard_GRS'

@description('Version-level immutability (WORM) on the archive account. Only takes effect when the account is created.')
param immutability bool

@description('With immutability: days each blob version is kept unchangeable.')
@minValue(1)
@maxValue(146000)
param retentionDays int

@description('With immutability: state of the account policy.')
@allowed(['Unlocked', 'Locked', 'Disabled'])
param immutabilityState string = 'Unlocked'

@description('Name of the checkpoint storage account.')
param checkpointAccountName string

@description('Blob container of the signed checkpoints (ARCHIVE_CHECKPOINTS_CONTAINER).')
param checkpointContainerName string = 'chat-checkpoints'

@description('Days each checkpoint blob version stays undeletable and unchangeable.')
@minValue(1)
@maxValue(146000)
param checkpointRetentionDays int = 2555

@description('State of the checkpoint account\'s policy: Unlocked (Azure creates a policy only so; an owner can still shorten or disable it), Locked (for good: the period can only grow) or Disabled (only from Unlocked).')
@allowed(['Unlocked', 'Locked', 'Disabled'])
param checkpointImmutabilityState string = 'Unlocked'

@description('Replication of the checkpoint account: the same as the archive\'s, so that a region the archive survives the checkpoints survive too.')
param checkpointSku string = 'Standard_GRS'

@description('Public network access of the three accounts: Disabled with network isolation (private endpoints only), Enabled otherwise.')
@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string = 'Enabled'

@description('What the accounts\' firewalls do with a request from a public address that no rule allows: Deny with network isolation, Allow otherwise.')
@allowed(['Allow', 'Deny'])
param networkDefaultAction string = 'Allow'

@description('Blob container of the archive (ARCHIVE_CONTAINER).')
param archiveContainerName string = 'chat-archive'

@description('Table of the latest version of every message (ARCHIVE_MESSAGES_TABLE).')
param messagesTableName string = 'ChatMessages'

@description('Table of one row per thread (ARCHIVE_THREADS_TABLE).')
param threadsTableName string = 'ChatThreads'

@description('Blob container Event Grid writes undeliverable events to.')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Table of one row per thread per UTC hour it was written to (ARCHIVE_ACTIVITY_TABLE): what the jobs read by key instead of scanning every thread.')
param activityTableName string = 'ChatActivity'

@description('Table of envelope mode\'s wrapped keys (ARCHIVE_KEYS_TABLE): mutable, outside WORM, so that erasure destroys a key and never a sealed blob.')
param keysTableName string = 'ChatKeys'

@description('Queue the timers enqueue batches of threads on and run_job is triggered by (ARCHIVE_JOBS_QUEUE).')
param jobsQueueName string = 'chat-jobs'

@description('Queue Event Grid delivers the archive\'s BlobCreated events for new versions to, and index_versions is triggered by (ARCHIVE_SEARCH_QUEUE). Made whether search is on or not: the trigger listens on it either way.')
param searchQueueName string = 'chat-index'

// The Functions host moves a message it failed maxDequeueCount times (host.json) to
// `<queue>-poison`, its fixed convention; report_poisoned_job is triggered from there.
var poisonQueueName = '${jobsQueueName}-poison'
// The same for the search queue: a push that failed five times waits there, untriggered.
var searchPoisonQueueName = '${searchQueueName}-poison'

var deploymentContainerName = 'app-package-${take(uniqueString(hostAccountName), 7)}'

resource host 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: without NETWORK_ISOLATION the Flex app has no VNet integration and reaches its host storage over the public endpoint; shared keys are off, so only identities with a role get in
  // checkov:skip=CKV_AZURE_59: without NETWORK_ISOLATION, same reason as CKV_AZURE_35: a public endpoint, closed to everything but Entra ID principals with a role
  // checkov:skip=CKV_AZURE_206: host storage holds only re-creatable state (function keys, leases, the deployment package), so locally redundant is enough
  // checkov:skip=CKV_AZURE_43: the name is 'sthost' + uniqueString(), always 19 lower-case letters and digits; checkov cannot evaluate the expression
  name: hostAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    isSftpEnabled: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: { defaultAction: networkDefaultAction, bypass: 'AzureServices' }
  }
}

resource hostBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: host
  name: 'default'
}

// Flex Consumption deploys from a package in this container (see functions.bicep).
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobs
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource archive 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: without NETWORK_ISOLATION the Flex app has no VNet integration and writes the archive over the public endpoint; shared keys are off, so only identities with a role get in
  // checkov:skip=CKV_AZURE_59: without NETWORK_ISOLATION, same reason as CKV_AZURE_35: a public endpoint, closed to everything but Entra ID principals with a role
  // checkov:skip=CKV_AZURE_43: the name is 'starch' + uniqueString(), always 19 lower-case letters and digits; checkov cannot evaluate the expression
  name: archiveAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: archiveSku }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    isSftpEnabled: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    // AzureServices lets Event Grid's system topic (a trusted service) write dead letters
    // with its system-assigned identity when the default action is Deny, and when public
    // network access is off: trusted services keep their access then (network isolation).
    networkAcls: { defaultAction: networkDefaultAction, bypass: 'AzureServices' }
    // Version-level WORM: every blob version is kept unchanged for retentionDays. The
    // archive only ever creates blobs, so it works as before. Unlocked (the default) lets
    // the period change or the policy be disabled; Locked is for good (README, Deploy).
    immutableStorageWithVersioning: immutability ? {
      enabled: true
      immutabilityPolicy: {
        immutabilityPeriodSinceCreationInDays: retentionDays
        allowProtectedAppendWrites: false
        state: immutabilityState
      }
    } : null
  }
}

resource archiveBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: archive
  name: 'default'
  properties: {
    // WORM needs versions. Without it they cost nothing here (blobs are never overwritten)
    // and a deleted blob stays recoverable as a previous version.
    isVersioningEnabled: true
    deleteRetentionPolicy: { enabled: true, days: 30 }
    containerDeleteRetentionPolicy: { enabled: true, days: 30 }
  }
}

resource archiveContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: archiveBlobs
  name: archiveContainerName
  properties: { publicAccess: 'None' }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: archiveBlobs
  name: deadLetterContainerName
  properties: { publicAccess: 'None' }
}

resource archiveTables 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: archive
  name: 'default'
}

resource messagesTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: archiveTables
  name: messagesTableName
}

resource threadsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: archiveTables
  name: threadsTableName
}

resource activityTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: archiveTables
  name: activityTableName
}

// Made whether envelope mode is on or not, as the app's own preparation makes it: the
// first event of a fresh deployment may come before anything has prepared the account.
resource keysTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: archiveTables
  name: keysTableName
}

// The jobs queue, the search queue and their poison queues, made here rather than by the
// app or the host: the app's queue role is on these four queues alone (rbac.bicep), which
// cannot create a queue.
resource archiveQueues 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: archive
  name: 'default'
}

resource jobsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: archiveQueues
  name: jobsQueueName
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: archiveQueues
  name: poisonQueueName
}

// Always there, search on or off: index_versions listens on it either way, and the app's
// role, on the queue alone, could not create it. Only with SEARCH=aisearch does Event
// Grid fill it (subscription.bicep, search-push); otherwise it stays empty.
resource searchQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: archiveQueues
  name: searchQueueName
}

resource searchPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: archiveQueues
  name: searchPoisonQueueName
}

// The signed checkpoints (issue 24), in an account of their own rather than a container of
// the archive account:
// - account-level version-level WORM can be declared Locked here (a container's time-based
//   policy can only be locked by an imperative call), and it is on whatever
//   ARCHIVE_IMMUTABILITY says: that one can only be set when the archive account is made,
//   this account is new to every deployment, old ones included;
// - nobody who may write to the archive may write here: the app's one role on this account
//   creates blobs and reads them (rbac.bicep), so a storage writer of the archive, or the
//   app's identity, can rewrite the archive's rows and seals but not the checkpoints that
//   vouch for them;
// - no Event Grid topic, dead letter or other service writes here.
resource checkpoints 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: without NETWORK_ISOLATION the Flex app has no VNet integration and writes checkpoints over the public endpoint; shared keys are off, so only identities with a role get in
  // checkov:skip=CKV_AZURE_59: without NETWORK_ISOLATION, same reason as CKV_AZURE_35: a public endpoint, closed to everything but Entra ID principals with a role
  // checkov:skip=CKV_AZURE_43: the name is 'stckpt' + uniqueString(), always 19 lower-case letters and digits; checkov cannot evaluate the expression
  name: checkpointAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: checkpointSku }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    isSftpEnabled: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: { defaultAction: networkDefaultAction, bypass: 'AzureServices' }
    // Every blob version is kept unchanged and undeletable for checkpointRetentionDays from
    // its creation, by anyone: the app, a Storage Blob Data Owner, an Owner of the account.
    // Azure creates a policy Unlocked only; lock it with one more provision (Deploy, WORM).
    immutableStorageWithVersioning: {
      enabled: true
      immutabilityPolicy: {
        immutabilityPeriodSinceCreationInDays: checkpointRetentionDays
        allowProtectedAppendWrites: false
        state: checkpointImmutabilityState
      }
    }
  }
}

resource checkpointBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: checkpoints
  name: 'default'
  properties: {
    // Version-level WORM needs versions (enabling it turns them on; said here too).
    isVersioningEnabled: true
    deleteRetentionPolicy: { enabled: true, days: 30 }
    containerDeleteRetentionPolicy: { enabled: true, days: 30 }
  }
}

resource checkpointContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: checkpointBlobs
  name: checkpointContainerName
  properties: { publicAccess: 'None' }
}

output hostAccountName string = host.name
output hostBlobEndpoint string = host.properties.primaryEndpoints.blob
output deploymentContainerName string = deploymentContainer.name
output archiveAccountName string = archive.name
output archiveBlobEndpoint string = archive.properties.primaryEndpoints.blob
output archiveTableEndpoint string = archive.properties.primaryEndpoints.table
output archiveQueueEndpoint string = archive.properties.primaryEndpoints.queue
output archiveContainerName string = archiveContainer.name
output messagesTableName string = messagesTable.name
output threadsTableName string = threadsTable.name
output activityTableName string = activityTable.name
output jobsQueueName string = jobsQueue.name
output poisonQueueName string = poisonQueue.name
output searchQueueName string = searchQueue.name
output searchPoisonQueueName string = searchPoisonQueue.name
output deadLetterContainerName string = deadLetterContainer.name
output checkpointAccountName string = checkpoints.name
output checkpointBlobEndpoint string = checkpoints.properties.primaryEndpoints.blob
output checkpointContainerName string = checkpointContainer.name

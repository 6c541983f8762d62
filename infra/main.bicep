// The ACS chat archiver: everything `azd provision` creates, in one resource group.
//
// The Event Grid subscription is not here. Event Grid checks its endpoint when a
// subscription is created, so the endpoint (the function) must be deployed first: the
// azd postdeploy hook (infra/hooks/) deploys infra/subscription.bicep after the code.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment. Names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of the resource group and of every regional resource. It must offer the Flex Consumption plan.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the person (or principal) running azd. It gets read access to the archive and to the seal key\'s public half. Empty: no access is granted.')
param principalId string = ''

@description('Kind of principal that principalId names.')
@allowed(['User', 'ServicePrincipal'])
param principalType string = 'User'

@description('Resource id of an existing Azure Communication Services resource to archive, in this subscription. Empty: a new one is created.')
param acsResourceId string = ''

@description('Data location of a new Communication Services resource. Ignored when acsResourceId is set.')
param acsDataLocation string = 'United States'

@description('Replication of the archive account. Geo-redundant by default: the archive may be the only copy once ACS has deleted a thread.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_RAGRS', 'Standard_GZRS', 'Standard_RAGZRS'])
param archiveStorageSku string = 'Standard_GRS'

@description('Version-level immutability (WORM) for the archive account. Can only be turned on when the account is created.')
param archiveImmutability bool = false

@description('With archiveImmutability: days each blob version stays undeletable and unchangeable.')
@minValue(1)
@maxValue(146000)
param archiveRetentionDays int = 365

@description('With archiveImmutability: Unlocked (the period can still change), Locked (for good: it can only grow) or Disabled (off, only from Unlocked).')
@allowed(['Unlocked', 'Locked', 'Disabled'])
param archiveImmutabilityState string = 'Unlocked'

@description('Days each signed checkpoint stays undeletable and unchangeable (version-level WORM of the checkpoint account, always on). 7 years by default: a checkpoint must outlive the archive records it vouches for.')
@minValue(1)
@maxValue(146000)
param checkpointRetentionDays int = 2555

@description('State of the checkpoint account\'s WORM policy: Unlocked (how Azure creates it; an owner can still shorten or disable it), Locked (for good: nobody can delete a checkpoint before its retention ends) or Disabled (only from Unlocked).')
@allowed(['Unlocked', 'Locked', 'Disabled'])
param checkpointImmutabilityState string = 'Unlocked'

@description('Network isolation: the storage accounts and the Key Vault behind private endpoints with public network access off, the app VNet-integrated. The app\'s inbound endpoint stays public: Event Grid delivers there.')
param networkIsolation bool = false

@description('With network isolation: address space of the virtual network. Pick one that does not overlap a network you will peer it with.')
param networkAddressPrefix string = '10.0.0.0/16'

@description('With network isolation: subnet of the app\'s VNet integration, within that space (Flex Consumption takes up to 40 addresses per app).')
param appSubnetPrefix string = '10.0.1.0/24'

@description('With network isolation: subnet of the private endpoints, within that space.')
param privateEndpointSubnetPrefix string = '10.0.2.0/24'

@description('Memory of each Flex Consumption instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Most instances the app scales out to: a ceiling on cost and on concurrent storage writes.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('ACS identity (8:acs:...) the daily timer archives finished threads as; it must be a participant of them (archiver create-identity). Empty: the timer is off.')
param acsArchiverUserId string = ''

@description('Days without activity after which the daily timer archives a thread from ACS (0: off).')
@minValue(0)
param inactiveDays int = 7

@description('Where alerts are mailed (dead-lettered or dropped events, failing deliveries, quarantined events, lag, function failures). Empty: the action group has no receiver.')
param alertEmail string = ''

@description('Archive lag, 95th percentile over 15 minutes in seconds, above which an alert fires.')
@minValue(1)
param lagP95Seconds int = 300

@description('Who may call the read API: key (a function key, the default) or entra (a Microsoft Entra ID token with the app role Archive.Read; docs/access.md).')
@allowed(['key', 'entra'])
param readAuth string = 'key'

@description('Who may post to the webhook: key (a function key, the default) or entra (Event Grid\'s Microsoft Entra ID token; docs/access.md).')
@allowed(['key', 'entra'])
param webhookAuth string = 'key'

@description('Tenant of the archiver\'s app registration. Empty: this deployment\'s tenant.')
param entraTenantId string = ''

@description('Application id or Application ID URI of the archiver\'s app registration (comma-separated for both): the audience tokens must be for. Required with entra.')
param entraAudience string = ''

@description('Resource id of an existing Azure OpenAI (or Azure AI Services) account, for end-of-conversation summaries (with summaryDeployment; docs: Summaries) and for the search windows\' embeddings (with aisearch and searchEmbeddingDeployment; docs: Search in Azure). Either sends chat text to that account. Empty: neither.')
param openAiResourceId string = ''

@description('With openAiResourceId: the model deployment on that account that writes the summaries (ARCHIVE_SUMMARY_DEPLOYMENT). Empty: summaries are off.')
param summaryDeployment string = ''

@description('With summaries on: summarise threads under legal hold too (ARCHIVE_SUMMARY_HELD). Off: a held thread\'s text is never sent to the model.')
param summaryHeld bool = false

@description('Search in Azure (docs: Search in Azure): off (the default) or aisearch, an Azure AI Search service the app pushes every archived message version to, with no API keys.')
@allowed(['off', 'aisearch'])
param search string = 'off'

@description('With aisearch: the search service\'s pricing tier.')
@allowed(['free', 'basic', 'standard', 'standard2', 'standard3'])
param searchSku string = 'basic'

@description('With aisearch: replicas of the search service (2 for the read SLA, 3 for read-write).')
@minValue(1)
@maxValue(12)
param searchReplicas int = 1

@description('With aisearch and openAiResourceId: name of the embedding deployment on that account. Empty: windows without vectors.')
param searchEmbeddingDeployment string = ''

@description('With searchEmbeddingDeployment: the model that deployment runs.')
@allowed(['text-embedding-3-small', 'text-embedding-3-large', 'text-embedding-ada-002'])
param searchEmbeddingModel string = 'text-embedding-3-small'

@description('With searchEmbeddingDeployment: dimensions of the windows\' vectors, at most the model\'s (1536 for text-embedding-3-small and ada-002, 3072 for text-embedding-3-large).')
@minValue(1)
@maxValue(3072)
param searchEmbeddingDimensions int = 1536

@description('Envelope mode (docs: Deploy, Root key in Key Vault): off (the default) or on, each message version encrypted under a key of its own, wrapped by its sender\'s key, wrapped in turn by an RSA key in the vault, so that erasing a person destroys keys, never a sealed blob.')
@allowed(['off', 'on'])
param envelope string = 'off'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var aiSearch = search == 'aisearch'
var envelopeOn = envelope == 'on'
var embeds = aiSearch && (!empty(openAiResourceId)) && (!empty(searchEmbeddingDeployment))
// A module's scope is evaluated even when the module is not deployed: an account id to
// split when none is given.
var openAiId = split(empty(openAiResourceId) ? '${group.id}/providers/Microsoft.CognitiveServices/accounts/none' : openAiResourceId, '/')

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

// Summaries are on only with both the account and its deployment.
var summaries = (!empty(openAiResourceId)) && (!empty(summaryDeployment))
// The account is used by summaries, by the windows' embeddings, or by both: the app's
// role on it is granted once.
var openAiUsed = summaries || embeds

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: group
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: group
  params: {
    workspaceName: 'log-${resourceToken}'
    appInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: group
  params: {
    hostAccountName: 'sthost${resourceToken}'
    archiveAccountName: 'starch${resourceToken}'
    location: location
    tags: tags
    archiveSku: archiveStorageSku
    immutability: archiveImmutability
    retentionDays: archiveRetentionDays
    immutabilityState: archiveImmutabilityState
    checkpointAccountName: 'stckpt${resourceToken}'
    checkpointSku: archiveStorageSku
    checkpointRetentionDays: checkpointRetentionDays
    checkpointImmutabilityState: checkpointImmutabilityState
    publicNetworkAccess: networkIsolation ? 'Disabled' : 'Enabled'
    networkDefaultAction: networkIsolation ? 'Deny' : 'Allow'
  }
}

// The seal key is always there: a deployment that cannot seal would leave the archive
// unable to prove itself (docs: Seals and proof). It costs cents a month. With envelope
// mode, the root key beside it.
module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: group
  params: {
    vaultName: 'kv-${resourceToken}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    publicNetworkAccess: networkIsolation ? 'Disabled' : 'Enabled'
    networkDefaultAction: networkIsolation ? 'Deny' : 'Allow'
    envelope: envelopeOn
  }
}

// Only with network isolation: the VNet the app is integrated with, and the private
// endpoints of the three accounts and the vault (app/network.bicep).
module network 'app/network.bicep' = if (networkIsolation) {
  name: 'network'
  scope: group
  params: {
    vnetName: 'vnet-${resourceToken}'
    location: location
    tags: tags
    addressPrefix: networkAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
    hostAccountName: storage.outputs.hostAccountName
    archiveAccountName: storage.outputs.archiveAccountName
    checkpointAccountName: storage.outputs.checkpointAccountName
    vaultName: keyVault.outputs.vaultName
  }
}

// Only with SEARCH=aisearch: the search service, its roles, and with network isolation its
// private endpoint (app/search.bicep). The app creates its two indexes itself.
module searchService 'app/search.bicep' = if (aiSearch) {
  name: 'search'
  scope: group
  params: {
    serviceName: 'srch-${resourceToken}'
    location: location
    tags: tags
    sku: searchSku
    replicaCount: searchReplicas
    publicNetworkAccess: networkIsolation ? 'disabled' : 'enabled'
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
    workspaceId: monitoring.outputs.workspaceId
    vnetId: networkIsolation ? network.outputs.vnetId : ''
    privateEndpointSubnetId: networkIsolation ? network.outputs.privateEndpointSubnetId : ''
  }
}

// Only with an embedding deployment: its account lets the search service embed each query
// with its identity, in the account's own resource group (the app's role: module openAi).
module openAiAccess 'app/openai-access.bicep' = if (embeds) {
  name: 'openai-access'
  scope: resourceGroup(openAiId[2], openAiId[4])
  params: {
    accountName: last(openAiId)
    searchPrincipalId: searchService.outputs.principalId
  }
}

module eventGrid 'app/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: group
  params: {
    acsResourceId: acsResourceId
    acsName: 'acs-${resourceToken}'
    acsDataLocation: acsDataLocation
    topicName: 'evgt-acs-${resourceToken}'
    tags: tags
  }
}

// Only with summaries or embeddings: the app's identity may call the account's deployments.
module openAi 'app/openai.bicep' = if (openAiUsed) {
  name: 'openai'
  scope: resourceGroup(openAiId[2], openAiId[4])
  params: {
    accountName: last(openAiId)
    appPrincipalId: identity.outputs.principalId
  }
}

module functions 'app/functions.bicep' = {
  name: 'functions'
  scope: group
  params: {
    planName: 'plan-${resourceToken}'
    appName: 'func-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    hostBlobEndpoint: storage.outputs.hostBlobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    archiveBlobEndpoint: storage.outputs.archiveBlobEndpoint
    archiveTableEndpoint: storage.outputs.archiveTableEndpoint
    archiveQueueEndpoint: storage.outputs.archiveQueueEndpoint
    archiveContainerName: storage.outputs.archiveContainerName
    messagesTableName: storage.outputs.messagesTableName
    threadsTableName: storage.outputs.threadsTableName
    activityTableName: storage.outputs.activityTableName
    jobsQueueName: storage.outputs.jobsQueueName
    searchQueueName: storage.outputs.searchQueueName
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    checkpointBlobEndpoint: storage.outputs.checkpointBlobEndpoint
    checkpointContainerName: storage.outputs.checkpointContainerName
    acsResourceId: eventGrid.outputs.acsResourceId
    acsEndpoint: eventGrid.outputs.acsEndpoint
    acsArchiverUserId: acsArchiverUserId
    inactiveDays: inactiveDays
    appInsightsConnectionString: monitoring.outputs.connectionString
    sealKeyUri: keyVault.outputs.keyUri
    readAuth: readAuth
    webhookAuth: webhookAuth
    entraTenantId: empty(entraTenantId) ? tenant().tenantId : entraTenantId
    entraAudience: entraAudience
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSubnetId: networkIsolation ? network.outputs.appSubnetId : ''
    openAiEndpoint: openAiUsed ? openAi.outputs.endpoint : ''
    summaryDeployment: summaries ? summaryDeployment : ''
    summaryHeld: summaryHeld
    search: search
    searchEndpoint: aiSearch ? searchService.outputs.endpoint : ''
    searchEmbeddingDeployment: embeds ? searchEmbeddingDeployment : ''
    searchEmbeddingModel: searchEmbeddingModel
    searchEmbeddingDimensions: searchEmbeddingDimensions
    envelope: envelope
    rootKeyUri: keyVault.outputs.rootKeyUri
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: group
  params: {
    location: location
    tags: tags
    alertEmail: alertEmail
    systemTopicId: eventGrid.outputs.topicId
    appInsightsId: monitoring.outputs.appInsightsId
    lagP95Seconds: lagP95Seconds
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: group
  params: {
    hostAccountName: storage.outputs.hostAccountName
    archiveAccountName: storage.outputs.archiveAccountName
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    jobsQueueName: storage.outputs.jobsQueueName
    poisonQueueName: storage.outputs.poisonQueueName
    searchQueueName: storage.outputs.searchQueueName
    searchPoisonQueueName: storage.outputs.searchPoisonQueueName
    checkpointAccountName: storage.outputs.checkpointAccountName
    checkpointContainerName: storage.outputs.checkpointContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    vaultName: keyVault.outputs.vaultName
    sealKeyName: keyVault.outputs.keyName
    envelope: envelopeOn
    rootKeyName: keyVault.outputs.rootKeyName
    appPrincipalId: identity.outputs.principalId
    topicPrincipalId: eventGrid.outputs.topicPrincipalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

// azd stores these in the environment (.azure/<env>/.env); the postdeploy hook reads them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_FUNCTION_APP_NAME string = functions.outputs.appName
output ARCHIVE_STORAGE_ACCOUNT_NAME string = storage.outputs.archiveAccountName
output ARCHIVE_DEAD_LETTER_CONTAINER string = storage.outputs.deadLetterContainerName
// With SEARCH=aisearch the hook subscribes the search queue to the archive container's
// new versions (subscription.bicep, search-push).
output ARCHIVE_CONTAINER string = storage.outputs.archiveContainerName
output ARCHIVE_SEARCH_QUEUE string = storage.outputs.searchQueueName
// Where the signed checkpoints are, for auditors and external witnesses (docs: Deploy).
output ARCHIVE_CHECKPOINTS_STORAGE_ACCOUNT_NAME string = storage.outputs.checkpointAccountName
output ARCHIVE_CHECKPOINTS_CONTAINER string = storage.outputs.checkpointContainerName
output ACS_RESOURCE_ID string = eventGrid.outputs.acsResourceId
output ACS_ENDPOINT string = eventGrid.outputs.acsEndpoint
output EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.topicName
output EVENT_GRID_SYSTEM_TOPIC_ID string = eventGrid.outputs.topicId
output AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
// Where the seal key is, to download its public half for auditors (docs: Deploy).
output ARCHIVE_SEAL_KEY_VAULT_NAME string = keyVault.outputs.vaultName
output ARCHIVE_SEAL_KEY_NAME string = keyVault.outputs.keyName
// With network isolation, the virtual network to peer or connect to for reaching the
// archive, the checkpoints and the vault (docs: Deploy). Empty without.
output AZURE_VNET_NAME string = networkIsolation ? network.outputs.vnetName : ''
// With SEARCH=aisearch, the search service (docs: Search in Azure). Empty without.
output ARCHIVE_SEARCH_SERVICE_NAME string = aiSearch ? searchService.outputs.serviceName : ''
output ARCHIVE_SEARCH_ENDPOINT string = aiSearch ? searchService.outputs.endpoint : ''

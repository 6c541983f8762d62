// The Function App on a Flex Consumption plan (Python 3.13, Linux). It holds no secret:
// every connection (host storage, archive, jobs queue, telemetry, the seal key) signs in
// with the user-assigned identity, and the app settings are exactly those
// archiver/core/settings.py reads, and the few the Functions host reads for the triggers.

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the Function App.')
param appName string

@description('Region of the plan and the app.')
param location string

@description('Tags for the plan and the app.')
param tags object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Blob endpoint of the host storage account.')
param hostBlobEndpoint string

@description('Container of the host account that holds the deployment package.')
param deploymentContainerName string

@description('Blob endpoint of the archive account.')
param archiveBlobEndpoint string

@description('Table endpoint of the archive account.')
param archiveTableEndpoint string

@description('Queue endpoint of the archive account, where the jobs queue is.')
param archiveQueueEndpoint string

@description('Archive blob container.')
param archiveContainerName string

@description('Latest-version table.')
param messagesTableName string

@description('One row per thread.')
param threadsTableName string

@description('One row per thread per UTC hour it was written to, read by the jobs by key.')
param activityTableName string

@description('Queue the timers enqueue jobs on; run_job is triggered by it (and report_poisoned_job by its poison queue).')
param jobsQueueName string

@description('Queue of the archive\'s BlobCreated events for new versions; index_versions is triggered by it (ARCHIVE_SEARCH_QUEUE).')
param searchQueueName string

@description('Container Event Grid dead-letters into; the replay_dead_letter function replays what lands there.')
param deadLetterContainerName string

@description('Blob endpoint of the checkpoint account (ARCHIVE_CHECKPOINTS_STORAGE__blobServiceUri).')
param checkpointBlobEndpoint string

@description('Container of the signed checkpoints in that account (ARCHIVE_CHECKPOINTS_CONTAINER).')
param checkpointContainerName string

@description('Resource id of the ACS resource: the only topic whose events are accepted.')
param acsResourceId string

@description('Endpoint of the ACS resource, for archiving finished threads.')
param acsEndpoint string

@description('ACS identity the archiver lists finished threads as. Empty: the daily timer is off.')
param acsArchiverUserId string

@description('Days without activity after which the timer archives a thread from ACS.')
@minValue(0)
param inactiveDays int

@description('Who may call the read API: key (a function key) or entra (a Microsoft Entra ID token with the app role Archive.Read).')
@allowed(['key', 'entra'])
param readAuth string

@description('Who may post to the webhook: key (a function key) or entra (Event Grid\'s Microsoft Entra ID token).')
@allowed(['key', 'entra'])
param webhookAuth string

@description('Tenant the tokens are issued by (used when readAuth or webhookAuth is entra).')
param entraTenantId string

@description('Application id or Application ID URI of the archiver\'s app registration, the tokens\' audience (comma-separated for both). Required with entra.')
param entraAudience string

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('Versionless URI of the Key Vault key seals are signed with (ARCHIVE_SEAL_KEY).')
param sealKeyUri string

@description('Envelope mode (ARCHIVE_ENVELOPE): on or off.')
@allowed(['off', 'on'])
param envelope string = 'off'

@description('With envelope mode: versionless URI of the Key Vault RSA key that wraps the subject keys (ARCHIVE_ROOT_KEY). Empty: none.')
param rootKeyUri string = ''

@description('Memory of each instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Network isolation: resource id of the subnet the app is VNet-integrated with (network.bicep). Empty: no VNet integration.')
param appSubnetId string = ''

@description('Summaries and the search windows\' embeddings: endpoint of the Azure OpenAI account (AZURE_OPENAI_ENDPOINT). Empty: neither.')
param openAiEndpoint string = ''

@description('Summaries: the model deployment that writes them (ARCHIVE_SUMMARY_DEPLOYMENT). Empty: summaries are off.')
param summaryDeployment string = ''

@description('Summaries: threads under legal hold are summarised too (ARCHIVE_SUMMARY_HELD).')
param summaryHeld bool = false

@description('Which search index the app keeps (ARCHIVE_SEARCH): off or aisearch.')
@allowed(['off', 'aisearch'])
param search string = 'off'

@description('With aisearch: the search service\'s endpoint (ARCHIVE_SEARCH_ENDPOINT). Empty: none.')
param searchEndpoint string = ''

@description('With aisearch: the Azure OpenAI embedding deployment of the conversation windows (ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT). Empty: windows without vectors.')
param searchEmbeddingDeployment string = ''

@description('The model that deployment runs (ARCHIVE_SEARCH_EMBEDDING_MODEL).')
param searchEmbeddingModel string = 'text-embedding-3-small'

@description('Dimensions of the windows\' vectors (ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS).')
param searchEmbeddingDimensions int = 1536

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy on Flex Consumption needs always-ready instances, which end scale-to-zero; Event Grid retries for 24 hours through a zone outage
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true } // Linux
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17: Event Grid cannot present a client certificate; deliveries are authenticated by a function key (webhook) or the Event Grid extension's system key
  // checkov:skip=CKV_AZURE_222: Event Grid delivers over the public endpoint, with NETWORK_ISOLATION too (push delivery has no private path); every function but the anonymous health probe needs a key
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero by itself; Event Grid redelivers whatever an instance fails to answer
  // checkov:skip=CKV_AZURE_213: a health check would take instances out of rotation whenever storage is down; /api/health stays available to external probes instead
  name: appName
  location: location
  // azd finds the app to deploy to by this tag (the service name in azure.yaml).
  tags: union(tags, { 'azd-service-name': 'archiver' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Inbound stays public in both modes: Event Grid pushes events to this endpoint.
    publicNetworkAccess: 'Enabled'
    // With network isolation, everything the app sends goes through the VNet, where the
    // storage accounts and the vault have their private endpoints (network.bicep).
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        // The Functions host's own storage, by identity (no AzureWebJobsStorage connection string).
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        { name: 'AzureWebJobsStorage__blobServiceUri', value: hostBlobEndpoint }
        // Telemetry with the app's identity: local authentication is off in Application Insights.
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
        // The archiver's settings (README, Settings). The others keep their defaults.
        { name: 'ARCHIVE_STORAGE__blobServiceUri', value: archiveBlobEndpoint }
        { name: 'ARCHIVE_STORAGE__tableServiceUri', value: archiveTableEndpoint }
        { name: 'ARCHIVE_STORAGE__clientId', value: identityClientId }
        // The queue triggers (run_job on the jobs queue, report_poisoned_job on its poison
        // queue) take ARCHIVE_STORAGE as their connection: the host reads the queue
        // endpoint, and needs credential beside clientId to sign in as this identity.
        { name: 'ARCHIVE_STORAGE__queueServiceUri', value: archiveQueueEndpoint }
        { name: 'ARCHIVE_STORAGE__credential', value: 'managedidentity' }
        { name: 'ARCHIVE_CONTAINER', value: archiveContainerName }
        { name: 'ARCHIVE_MESSAGES_TABLE', value: messagesTableName }
        { name: 'ARCHIVE_THREADS_TABLE', value: threadsTableName }
        { name: 'ARCHIVE_ACTIVITY_TABLE', value: activityTableName }
        { name: 'ARCHIVE_JOBS_QUEUE', value: jobsQueueName }
        { name: 'ARCHIVE_DEAD_LETTER_CONTAINER', value: deadLetterContainerName }
        // Signed checkpoints, in an account of their own (storage.bicep), reached with the
        // same identity as the archive (ARCHIVE_STORAGE__clientId). The app may only create
        // blobs there and read them: it never overwrites or deletes a checkpoint.
        { name: 'ARCHIVE_CHECKPOINTS_STORAGE__blobServiceUri', value: checkpointBlobEndpoint }
        { name: 'ARCHIVE_CHECKPOINTS_CONTAINER', value: checkpointContainerName }
        // Archiving finished threads from ACS (the daily timer). The Identity API is asked
        // for the archiver's chat token with the app's identity (Microsoft Entra ID):
        // DefaultAzureCredential takes the user-assigned identity from AZURE_CLIENT_ID.
        { name: 'ACS_ENDPOINT', value: acsEndpoint }
        { name: 'ACS_ARCHIVER_USER_ID', value: acsArchiverUserId }
        { name: 'ARCHIVE_INACTIVE_DAYS', value: string(inactiveDays) }
        { name: 'AZURE_CLIENT_ID', value: identityClientId }
        // Events from any other topic get 403, even with a valid key.
        { name: 'ARCHIVE_ALLOWED_TOPICS', value: acsResourceId }
        // Seals are signed inside Key Vault, with the app's identity (ARCHIVE_STORAGE__clientId).
        // Without a version, so that after a rotation new seals use the new version.
        { name: 'ARCHIVE_SEAL_KEY', value: sealKeyUri }
        // Envelope mode (docs: Deploy, Root key in Key Vault): subject keys wrapped by the
        // root key with the app's identity (ARCHIVE_STORAGE__clientId); without a version,
        // so that after a rotation new subject keys are wrapped by the new version.
        { name: 'ARCHIVE_ENVELOPE', value: envelope }
        { name: 'ARCHIVE_ROOT_KEY', value: rootKeyUri }
        // Function keys, or Microsoft Entra ID tokens the app checks (docs/access.md).
        { name: 'ARCHIVE_READ_AUTH', value: readAuth }
        { name: 'ARCHIVE_WEBHOOK_AUTH', value: webhookAuth }
        { name: 'ARCHIVE_ENTRA_TENANT_ID', value: entraTenantId }
        { name: 'ARCHIVE_ENTRA_AUDIENCE', value: entraAudience }
        // End-of-conversation summaries (docs: Summaries), off unless both are set, and the
        // windows' embeddings: the app calls the account as its identity (openai.bicep).
        { name: 'AZURE_OPENAI_ENDPOINT', value: openAiEndpoint }
        { name: 'ARCHIVE_SUMMARY_DEPLOYMENT', value: summaryDeployment }
        { name: 'ARCHIVE_SUMMARY_HELD', value: string(summaryHeld) }
        // Search in Azure (docs: Search in Azure), with the app's identity: no API key.
        { name: 'ARCHIVE_SEARCH', value: search }
        // Always set, search on or off: index_versions names its queue as
        // %ARCHIVE_SEARCH_QUEUE%, and the host cannot start a trigger whose name it cannot
        // resolve. With search off, the function ignores whatever arrives there.
        { name: 'ARCHIVE_SEARCH_QUEUE', value: searchQueueName }
        { name: 'ARCHIVE_SEARCH_ENDPOINT', value: searchEndpoint }
        { name: 'ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT', value: searchEmbeddingDeployment }
        { name: 'ARCHIVE_SEARCH_EMBEDDING_MODEL', value: searchEmbeddingModel }
        { name: 'ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS', value: string(searchEmbeddingDimensions) }
      ]
    }
    // Flex Consumption: runtime and scale live here, not in FUNCTIONS_* app settings.
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      // The newest Python Flex Consumption offers (3.10 to 3.13; 3.13 until 2029-10-30), as
      // Get-AzFunctionAppFlexConsumptionRuntime -Runtime Python lists them in Microsoft's
      // Az.Functions help (Azure/azure-powershell); 3.14 is not generally available. Why,
      // and what 3.13 changes for the app: docs, Deploy, The runtime.
      runtime: { name: 'python', version: '3.13' }
    }
  }
}

// No publishing with user names and passwords: azd deploys with Entra ID.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: { allow: false }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: { allow: false }
}

output appName string = app.name

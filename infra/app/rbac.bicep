// Who may do what, and nothing more:
// - the app's identity: read and write the archive (blobs, table); own its host storage's
//   blobs (the Functions host keeps keys and leases there); publish telemetry;
// - the system topic's identity: write dead letters, in their container only;
// - the person who ran azd: read the archive.

@description('Name of the Functions host storage account.')
param hostAccountName string

@description('Name of the archive storage account.')
param archiveAccountName string

@description('Container Event Grid writes dead letters to.')
param deadLetterContainerName string

@description('Name of the Application Insights component.')
param appInsightsName string

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
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
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

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
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

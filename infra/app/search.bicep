// Search in Azure (SEARCH=aisearch; main.bicep deploys this module only then): an Azure
// AI Search service the app pushes every archived message version to, and the
// conversation windows an Azure OpenAI or Foundry agent grounds its answers on
// (docs: Search in Azure).
//
// No API keys: local authentication is off (disableLocalAuth), so the service takes
// Microsoft Entra ID tokens only, and who may do what is a role on the service:
// - the app: Search Index Data Contributor (write and read documents) and Search Service
//   Contributor (create and update its two indexes: the app prepares them itself, so an
//   index definition lives in one place, archiver/search/aisearchschema.py, and a new
//   field arrives with the code that writes it);
// - the person who ran azd: Search Index Data Reader (query; the index holds chat text,
//   so this is granted like read access to the archive).
// The service has a system identity of its own: its azureOpenAI vectorizer embeds queries
// with it (openai-access.bicep grants it Cognitive Services OpenAI User on the account).
// Like the archive, the service has a public endpoint by default, closed to everything
// but Entra ID principals with a role; with NETWORK_ISOLATION=true public network access is
// off and the app reaches it through a private endpoint in the private-endpoints subnet.

@description('Name of the search service (2-60 lower-case letters, digits and dashes).')
@minLength(2)
@maxLength(60)
param serviceName string

@description('Region of the service.')
param location string

@description('Tags for everything this module creates.')
param tags object

@description('Pricing tier. Basic (the default) holds 15 indexes and 2 GB a partition; Free cannot take private endpoints or the semantic ranker.')
@allowed(['free', 'basic', 'standard', 'standard2', 'standard3'])
param sku string = 'basic'

@description('Replicas: 2 for the read SLA, 3 for the read-write SLA (each is billed as another unit).')
@minValue(1)
@maxValue(12)
param replicaCount int = 1

@description('Public network access: disabled with network isolation (private endpoint only), enabled otherwise.')
@allowed(['enabled', 'disabled'])
param publicNetworkAccess string = 'enabled'

@description('Principal id of the app identity.')
param appPrincipalId string

@description('Object id of the person who ran azd. Empty: no query access is granted.')
param userPrincipalId string

@description('Kind of principal userPrincipalId is.')
@allowed(['User', 'ServicePrincipal'])
param userPrincipalType string

@description('Resource id of the Log Analytics workspace that keeps the service\'s operation log (every query and write, by whom).')
param workspaceId string

@description('With network isolation: resource id of the virtual network (network.bicep). Empty: no private endpoint.')
param vnetId string = ''

@description('With network isolation: resource id of the private endpoints\' subnet.')
param privateEndpointSubnetId string = ''

// Built-in role definition ids (the same in every tenant).
var roles = {
  searchIndexDataContributor: '8ebe5a00-799e-43f5-93ac-243d3dce84a7'
  searchIndexDataReader: '1407120a-92aa-4202-b7e9-c0e197c71c8f'
  searchServiceContributor: '7ca78c08-252a-4471-8644-bb5ff32d4ba0'
}
var isolated = !empty(privateEndpointSubnetId)
var zoneName = 'privatelink.search.windows.net'

resource searchService 'Microsoft.Search/searchServices@2023-11-01' = {
  // checkov:skip=CKV_AZURE_208: one replica by default keeps Basic at its lowest price; the index is derived data the app can rebuild from the archive, so a write outage delays search but loses nothing
  // checkov:skip=CKV_AZURE_209: one replica by default keeps Basic at its lowest price; set SEARCH_REPLICAS=2 for the read SLA, the archive itself stays readable through the read API meanwhile
  name: serviceName
  location: location
  tags: tags
  sku: { name: sku }
  identity: { type: 'SystemAssigned' }
  properties: {
    replicaCount: replicaCount
    partitionCount: 1
    hostingMode: 'default'
    publicNetworkAccess: publicNetworkAccess
    // Entra ID only: no admin or query keys are accepted (and so none to leak).
    disableLocalAuth: true
    semanticSearch: (sku == 'free') ? 'disabled' : 'free'
  }
}

resource appIndexData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(searchService.id, appPrincipalId, roles.searchIndexDataContributor)
  scope: searchService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.searchIndexDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appIndexes 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(searchService.id, appPrincipalId, roles.searchServiceContributor)
  scope: searchService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.searchServiceContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource userIndexData 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(searchService.id, userPrincipalId, roles.searchIndexDataReader)
  scope: searchService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.searchIndexDataReader)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

// The operation log: every query and indexing request, with the caller's identity.
resource operations 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'operations'
  scope: searchService
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
  }
}

resource zone 'Microsoft.Network/privateDnsZones@2020-06-01' = if (isolated) {
  name: zoneName
  location: 'global'
  tags: tags
}

resource zoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = if (isolated) {
  parent: zone
  name: 'search'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnetId }
  }
}

resource privateEndpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = if (isolated) {
  name: 'pe-search'
  location: location
  tags: tags
  properties: {
    subnet: { id: privateEndpointSubnetId }
    privateLinkServiceConnections: [
      {
        name: 'search'
        properties: {
          privateLinkServiceId: searchService.id
          groupIds: ['searchService']
        }
      }
    ]
  }
}

resource endpointZone 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = if (isolated) {
  parent: privateEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'search'
        properties: { privateDnsZoneId: zone.id }
      }
    ]
  }
}

// ARCHIVE_SEARCH_ENDPOINT: the usual name, which the linked zone resolves privately.
output endpoint string = 'https://${searchService.name}.search.windows.net'
output serviceName string = searchService.name
output principalId string = searchService.identity.principalId

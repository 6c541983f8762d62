// Network isolation (NETWORK_ISOLATION=true; main.bicep deploys this module only then).
//
// A virtual network with two subnets: `app`, delegated to Flex Consumption (the Function
// App's VNet integration: everything it sends goes through it), and `private-endpoints`.
// Each data endpoint the app uses gets a private endpoint there, and a private DNS zone
// linked to the network resolves the endpoint's usual name to its private address, so
// the app's settings and code are the same in both modes. The accounts and the vault
// then turn public network access off (main.bicep passes Disabled and Deny).
//
// What stays public, and why:
// - the app's own inbound endpoint: Event Grid delivers events over the internet (push
//   delivery has no private path), so it must reach https://<app>.azurewebsites.net.
//   Every route but the health probe still needs a key or a token;
// - Event Grid's dead letters into the archive: the system topic writes them over the
//   public network with its own identity, as a trusted service (bypass AzureServices),
//   which Azure Storage admits even with public network access off;
// - the app's outbound calls to Application Insights, Microsoft Entra ID and
//   Communication Services, which have no private endpoint here: they leave through the
//   `app` subnet's default outbound access. A tenant that routes egress through its own
//   firewall or NAT gateway attaches it to that subnet instead.

@description('Name of the virtual network.')
param vnetName string

@description('Region of the network and the private endpoints (the app\'s).')
param location string

@description('Tags for everything this module creates.')
param tags object

@description('Address space of the virtual network.')
param addressPrefix string

@description('Subnet of the app\'s VNet integration, delegated to Flex Consumption, which takes up to 40 addresses per app.')
param appSubnetPrefix string

@description('Subnet of the private endpoints.')
param privateEndpointSubnetPrefix string

@description('Name of the Functions host storage account.')
param hostAccountName string

@description('Name of the archive storage account.')
param archiveAccountName string

@description('Name of the checkpoint storage account.')
param checkpointAccountName string

@description('Name of the Key Vault that holds the seal key.')
param vaultName string

// Flex Consumption refuses subnet names with underscores.
var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

// Private DNS zones by private endpoint group (the sub-resource a private endpoint opens).
var zoneNames = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  table: 'privatelink.table.${environment().suffixes.storage}'
  queue: 'privatelink.queue.${environment().suffixes.storage}'
  vault: 'privatelink${replace(environment().suffixes.keyvaultDns, 'vault', 'vaultcore')}'
}
var zoneGroups = ['blob', 'table', 'queue', 'vault']

resource host 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostAccountName
}

resource archive 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: archiveAccountName
}

resource checkpoints 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: checkpointAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

// Every data endpoint the app reaches: the archive's three services (blobs and tables for
// the archive, the queue for the jobs the timers fan out and the queue triggers take),
// the host's blobs (keys, leases, the deployment package: the host is configured with its
// blob service only), the checkpoints' blobs, and the vault.
var endpoints = [
  { name: 'archive-blob', resourceId: archive.id, group: 'blob' }
  { name: 'archive-table', resourceId: archive.id, group: 'table' }
  { name: 'archive-queue', resourceId: archive.id, group: 'queue' }
  { name: 'host-blob', resourceId: host.id, group: 'blob' }
  { name: 'checkpoints-blob', resourceId: checkpoints.id, group: 'blob' }
  { name: 'vault', resourceId: vault.id, group: 'vault' }
]

// The default rules only (traffic within the network, outbound to the internet), on both
// subnets: policies of regulated tenants commonly require a subnet to have a group.
resource nsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-${vnetName}'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  // checkov:skip=CKV_AZURE_182: the network uses Azure-provided DNS on purpose: it is what resolves the private DNS zones linked below; no DNS servers of its own to list
  // checkov:skip=CKV_AZURE_183: same reason as CKV_AZURE_182: Azure-provided DNS resolves the private endpoints' names, custom DNS servers would have to forward to it
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: appSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: { serviceName: 'Microsoft.App/environments' }
            }
          ]
          networkSecurityGroup: { id: nsg.id }
          // The app's outbound calls to public services leave this way (see above).
          defaultOutboundAccess: true
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
          networkSecurityGroup: { id: nsg.id }
          defaultOutboundAccess: false
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [
  for group in zoneGroups: {
    name: zoneNames[group]
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [
  for (group, index) in zoneGroups: {
    parent: zones[index]
    name: vnetName
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: { id: vnet.id }
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for endpoint in endpoints: {
    name: 'pe-${endpoint.name}'
    location: location
    tags: tags
    properties: {
      subnet: { id: '${vnet.id}/subnets/${privateEndpointSubnetName}' }
      privateLinkServiceConnections: [
        {
          name: endpoint.name
          properties: {
            privateLinkServiceId: endpoint.resourceId
            groupIds: [endpoint.group]
          }
        }
      ]
    }
  }
]

// Each endpoint's A record, in its group's zone.
resource endpointZones 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (endpoint, index) in endpoints: {
    parent: privateEndpoints[index]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: endpoint.group
          properties: {
            privateDnsZoneId: resourceId('Microsoft.Network/privateDnsZones', zoneNames[endpoint.group])
          }
        }
      ]
    }
    dependsOn: [zones]
  }
]

// The app's VNet integration (functions.bicep: virtualNetworkSubnetId).
output appSubnetId string = '${vnet.id}/subnets/${appSubnetName}'
output vnetName string = vnet.name
// Search in Azure puts its private endpoint here too (search.bicep).
output vnetId string = vnet.id
output privateEndpointSubnetId string = '${vnet.id}/subnets/${privateEndpointSubnetName}'

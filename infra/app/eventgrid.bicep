// The source of the events: the Communication Services resource (an existing one, or a new
// one) and its Event Grid system topic. The subscription to the archiver is made later,
// after the code is deployed (subscription.bicep).

@description('Resource id of an existing Communication Services resource. Empty: create one.')
param acsResourceId string

@description('Name of the Communication Services resource to create when acsResourceId is empty.')
param acsName string

@description('Data location of a new Communication Services resource.')
param acsDataLocation string

@description('Name of the system topic.')
param topicName string

@description('Tags for what this module creates.')
param tags object

resource acs 'Microsoft.Communication/communicationServices@2023-04-01' = if (empty(acsResourceId)) {
  name: acsName
  location: 'global' // Communication Services resources are global; dataLocation says where data rests
  tags: tags
  properties: { dataLocation: acsDataLocation }
}

var sourceId = empty(acsResourceId) ? acs.id : acsResourceId

// An Azure resource can have only one system topic. If the ACS resource already has one,
// this fails: see "Use an existing ACS resource" in the README.
resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: topicName
  location: 'global' // a system topic takes its source's location, and ACS resources are global
  tags: tags
  // Its own identity writes dead letters to the archive account (rbac.bicep grants it).
  identity: { type: 'SystemAssigned' }
  properties: {
    source: sourceId
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

output acsResourceId string = sourceId
// The ACS endpoint the archiver lists finished threads from (ACS_ENDPOINT).
output acsEndpoint string = 'https://${reference(sourceId, '2023-04-01').hostName}'
output topicName string = topic.name
output topicId string = topic.id
output topicPrincipalId string = topic.identity.principalId

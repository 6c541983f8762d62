// Search in Azure with an embedding deployment (SEARCH_EMBEDDING_DEPLOYMENT set): deployed
// in the Azure OpenAI account's own resource group, it grants Cognitive Services OpenAI
// User on that account, and nothing else, to the search service's identity (its
// azureOpenAI vectorizer embeds each query). The app's own role on the account (it embeds
// each conversation window it pushes: the service embeds documents only through an
// indexer's skillset) is openai.bicep's, granted once for summaries and embeddings alike.
// Neither uses an API key.

@description('Name of the existing Azure OpenAI (or AI Services) account.')
param accountName string

@description('Principal id of the search service\'s system identity.')
param searchPrincipalId string

var roles = {
  cognitiveServicesOpenAIUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
}

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: accountName
}

resource searchEmbeds 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, searchPrincipalId, roles.cognitiveServicesOpenAIUser)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.cognitiveServicesOpenAIUser)
    principalId: searchPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// AZURE_OPENAI_ENDPOINT: https://{account}.openai.azure.com/ (or the AI Services one).
output endpoint string = account.properties.endpoint

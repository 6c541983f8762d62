// Optional: end-of-conversation summaries, written by a model deployment on an Azure
// OpenAI (or Azure AI Services) account that already exists (docs: Summaries). Deployed
// into that account's resource group, and only when main.bicep is given the account and
// a deployment. The app's identity may call the account's deployments and nothing more:
// Cognitive Services OpenAI User is inference only (no keys, no deployments, no
// management), on this one account.

@description('Name of the Azure OpenAI account, in this module\'s resource group.')
param accountName string

@description('Principal id of the app identity.')
param appPrincipalId string

// Built-in role definition id (the same in every tenant).
var roles = {
  cognitiveServicesOpenAIUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
}

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: accountName
}

resource appOpenAI 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, roles.cognitiveServicesOpenAIUser)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.cognitiveServicesOpenAIUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// https://<account>.openai.azure.com/ (or .cognitiveservices.azure.com/): AZURE_OPENAI_ENDPOINT.
output endpoint string = account.properties.endpoint

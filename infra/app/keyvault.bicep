// The seal key: what the app signs each thread's seal with (docs: Seals and proof). An EC
// P-256 key (Key Vault has no Ed25519), so seals made here are ES256. Its private half
// never leaves Key Vault: the app asks Key Vault to sign a digest, with its identity. Who
// may do that, and who may read the public half, is in rbac.bicep.
//
// With envelope mode (ENVELOPE=on), the root key too: an RSA key that wraps the key of
// each participant (docs: Deploy, Root key in Key Vault). RSA because a standard vault
// has no AES key wrap (Managed HSM's only); the app wraps with its public half and asks
// Key Vault to unwrap, with its identity, which may do nothing else with it (rbac.bicep).
//
// Like the storage accounts, by default the vault has a public endpoint (the Flex app has
// no VNet integration) and is closed to everything but Entra ID principals with a role:
// RBAC authorization, no access policies. With network isolation (NETWORK_ISOLATION=true)
// public network access is off and the app signs through a private endpoint
// (network.bicep). Key Vault only speaks HTTPS (TLS 1.2 or later) and has no setting to
// weaken that.

@description('Name of the Key Vault.')
@minLength(3)
@maxLength(24)
param vaultName string

@description('Name of the seal key in the vault.')
param keyName string = 'archive-seal'

@description('Envelope mode: make the root key as well, which wraps each participant\'s key.')
param envelope bool = false

@description('Name of the root key in the vault (with envelope mode).')
param rootKeyName string = 'archive-root'

@description('Region of the vault.')
param location string

@description('Tags for the vault and the key.')
param tags object

@description('Resource id of the Log Analytics workspace that keeps the vault\'s audit log (every sign and read, by whom).')
param workspaceId string

@description('Public network access: Disabled with network isolation (private endpoint only), Enabled otherwise.')
@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string = 'Enabled'

@description('What the firewall does with a request from a public address that no rule allows: Deny with network isolation, Allow otherwise.')
@allowed(['Allow', 'Deny'])
param networkDefaultAction string = 'Allow'

@description('Days a deleted vault (and its key) stays recoverable. Purge protection holds it that long.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: without NETWORK_ISOLATION the Flex app has no VNet integration and signs over the public endpoint; RBAC only, so only identities with a role on the key get in
  // checkov:skip=CKV_AZURE_189: without NETWORK_ISOLATION, same reason as CKV_AZURE_109: a public endpoint, closed to everything but Entra ID principals with a role
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    accessPolicies: []
    // A deleted seal key would leave the archive unable to seal; with purge protection
    // nobody, not even an Owner, can destroy it (or the vault) before the retention ends.
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: { defaultAction: networkDefaultAction, bypass: 'AzureServices' }
  }
}

// Rotation makes a new version once a year; the app names the key without a version, so
// it signs with the newest. Each version expires two years after it is made: an expired
// version no longer signs, but its public half stays readable (and verifies), and every
// seal names its key by JWK thumbprint, whose public key the app publishes in the
// archive under seals/keys/ before its first seal. So no seal ever becomes unverifiable.
// ARM creates the key once: a new deployment neither makes a version nor changes it.
resource sealKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  // checkov:skip=CKV_AZURE_112: an HSM-backed key needs the premium tier; a software key already never leaves Key Vault and only the app identity may sign with it
  parent: vault
  name: keyName
  tags: tags
  properties: {
    kty: 'EC'
    curveName: 'P-256'
    keyOps: ['sign', 'verify']
    attributes: { enabled: true }
    rotationPolicy: {
      attributes: { expiryTime: 'P2Y' }
      lifetimeActions: [
        {
          trigger: { timeAfterCreate: 'P1Y' }
          action: { type: 'rotate' }
        }
      ]
    }
  }
}

// Only with envelope mode. The same yearly rotation and two-year expiry as the seal key:
// new subject keys are wrapped by the newest version once an instance restarts, and an
// expired version no longer wraps but still unwraps (Key Vault allows unwrap outside a
// key's validity window), as every older version does, so rotation never makes a wrapped
// key unreadable. Deleting or purging the key would make every participant's messages
// unreadable at once: purge protection (above) keeps it for the retention days at least.
resource rootKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' = if (envelope) {
  // checkov:skip=CKV_AZURE_112: an HSM-backed key needs the premium tier; a software key already never leaves Key Vault and only the app identity may unwrap with it
  // checkov:skip=CKV_AZURE_40: a false failure: checkov reads no property of a conditional resource (this key passes without `if`); its rotation policy below sets expiryTime P2Y, which tests/test_infra_envelope.py checks
  parent: vault
  name: rootKeyName
  tags: tags
  properties: {
    kty: 'RSA'
    keySize: 3072
    keyOps: ['wrapKey', 'unwrapKey']
    attributes: { enabled: true }
    rotationPolicy: {
      attributes: { expiryTime: 'P2Y' }
      lifetimeActions: [
        {
          trigger: { timeAfterCreate: 'P1Y' }
          action: { type: 'rotate' }
        }
      ]
    }
  }
}

// Key Vault's audit log: every sign, unwrap, read and rotation, with the caller's identity.
resource audit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'audit', enabled: true }]
  }
}

output vaultName string = vault.name
output keyName string = sealKey.name
// Without a version: the app signs with whichever version is current.
output keyUri string = sealKey.properties.keyUri
output rootKeyName string = rootKeyName
// Without a version (ARCHIVE_ROOT_KEY), empty without envelope mode.
output rootKeyUri string = envelope ? rootKey.properties.keyUri : ''

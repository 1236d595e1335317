'use strict';
// Scenarios for credentials without secrets (certificates, managed identities, workload identity
// federation), run like every scenario in a fresh node child (see emulator.js#runScenario).
const fs = require('node:fs');

function describeError(err) {
  return require('./scenarios').describeError(err);
}

async function tokenOrError(credential, scope) {
  const identity = require('@azure/identity');
  try {
    const token = await credential.getToken(scope);
    return { error: null, token: token.token, expiresOnTimestamp: token.expiresOnTimestamp };
  } catch (err) {
    return {
      error: describeError(err),
      instanceOf: {
        AuthenticationRequiredError: err instanceof identity.AuthenticationRequiredError,
        AuthenticationError: err instanceof identity.AuthenticationError,
        CredentialUnavailableError: err instanceof identity.CredentialUnavailableError,
      },
    };
  }
}

/** @azure/identity ClientCertificateCredential(tenantId, clientId, {certificatePath}, options). */
async function identityClientCertificate({ tenantId, clientId, certificatePath, options, scope }) {
  const { ClientCertificateCredential } = require('@azure/identity');
  return tokenOrError(new ClientCertificateCredential(tenantId, clientId, { certificatePath }, options), scope);
}

/** @azure/identity ManagedIdentityCredential, configured by the environment (plus an optional clientId). */
async function identityManagedIdentity({ clientId, scope }) {
  const { ManagedIdentityCredential } = require('@azure/identity');
  const credential = clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  return tokenOrError(credential, scope);
}

/** @azure/identity WorkloadIdentityCredential, configured by the environment. */
async function identityWorkloadIdentity({ options, scope }) {
  const { WorkloadIdentityCredential } = require('@azure/identity');
  return tokenOrError(new WorkloadIdentityCredential(options), scope);
}

/** @azure/msal-node ConfidentialClientApplication with auth.clientCertificate. */
async function msalClientCertificate({ authority, knownAuthorities, clientId, certificatePath, sha256, scopes }) {
  const msal = require('@azure/msal-node');
  const crypto = require('node:crypto');
  const pem = fs.readFileSync(certificatePath, 'utf8');
  const privateKey = pem.slice(0, pem.indexOf('-----BEGIN CERTIFICATE-----'));
  const der = new crypto.X509Certificate(pem.slice(pem.indexOf('-----BEGIN CERTIFICATE-----'))).raw;
  const clientCertificate = sha256
    ? { thumbprintSha256: crypto.createHash('sha256').update(der).digest('hex'), privateKey }
    : { thumbprint: crypto.createHash('sha1').update(der).digest('hex'), privateKey };
  const app = new msal.ConfidentialClientApplication({ auth: { clientId, authority, knownAuthorities, clientCertificate } });
  try {
    const result = await app.acquireTokenByClientCredential({ scopes });
    return { error: null, token: result.accessToken };
  } catch (err) {
    return { error: describeError(err), serverError: err instanceof msal.ServerError };
  }
}

module.exports = {
  identityClientCertificate,
  identityManagedIdentity,
  identityWorkloadIdentity,
  msalClientCertificate,
};

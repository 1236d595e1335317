'use strict';
// SDK scenarios, each run in its own node process (see emulator.js#runScenario) so that
// NODE_EXTRA_CA_CERTS is in place when node starts. Each returns plain JSON: SDK results are
// flattened with their runtime types (Date, number, ...) so the tests can assert on them.

/** An Error as JSON: name, class chain (for instanceof-style checks), message, own props. */
function describeError(err) {
  if (!(err instanceof Object)) return { message: String(err), classes: [] };
  const classes = [];
  for (let p = Object.getPrototypeOf(err); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    classes.push(p.constructor && p.constructor.name);
  }
  const out = { name: err.name, classes, message: err.message };
  for (const key of Object.keys(err)) {
    if (key === 'stack') continue;
    try {
      out[key] = JSON.parse(JSON.stringify(err[key]));
    } catch {
      out[key] = String(err[key]);
    }
  }
  if (err.cause) out.cause = describeError(err.cause);
  return out;
}

/** { fields, types }: the object's own fields (Dates as ISO strings) and each one's runtime type. */
function typed(obj) {
  const fields = {};
  const types = {};
  for (const [key, value] of Object.entries(obj || {})) {
    if (value instanceof Date) {
      types[key] = 'Date';
      fields[key] = value.toISOString();
    } else {
      types[key] = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
      fields[key] = value;
    }
  }
  return { fields, types };
}

/** adal-node: AuthenticationContext(authority, validateAuthority=false).acquireTokenWithClientCredentials */
function adalClientCredentials({ authority, resource, clientId, clientSecret, calls = 1 }) {
  const { AuthenticationContext } = require('adal-node');
  const ctx = new AuthenticationContext(authority, false);
  const once = () => new Promise((resolve) => {
    ctx.acquireTokenWithClientCredentials(resource, clientId, clientSecret, (err, response) => {
      resolve(err
        ? { error: describeError(err), response: response === undefined ? null : response }
        : { error: null, response: typed(response) });
    });
  });
  return (async () => {
    const results = [];
    for (let i = 0; i < calls; i++) results.push(await once());
    return results;
  })();
}

/** @azure/msal-node: ConfidentialClientApplication(...).acquireTokenByClientCredential */
async function msalClientCredentials({ authority, knownAuthorities, clientId, clientSecret, scopes, calls = 1 }) {
  const msal = require('@azure/msal-node');
  const auth = { clientId, clientSecret, authority };
  // Only set knownAuthorities when given: an explicit `undefined` overrides msal's default []
  // and breaks its authority resolution in a way no real caller would hit.
  if (knownAuthorities !== undefined) auth.knownAuthorities = knownAuthorities;
  const app = new msal.ConfidentialClientApplication({ auth });
  const results = [];
  for (let i = 0; i < calls; i++) {
    try {
      const result = await app.acquireTokenByClientCredential({ scopes });
      results.push({ error: null, result: typed(result) });
    } catch (err) {
      results.push({ error: describeError(err), serverErrorInstance: err instanceof msal.ServerError });
    }
  }
  return results;
}

async function getTokenResult(credential, scope) {
  try {
    const token = await credential.getToken(scope);
    return { error: null, token: typed(token) };
  } catch (err) {
    const identity = require('@azure/identity');
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

/** @azure/identity ClientSecretCredential(tenantId, clientId, secret, options).getToken(scope) */
async function identityClientSecret({ tenantId, clientId, clientSecret, options, scope, calls = 1 }) {
  const { ClientSecretCredential } = require('@azure/identity');
  const credential = new ClientSecretCredential(tenantId, clientId, clientSecret, options || {});
  const results = [];
  for (let i = 0; i < calls; i++) results.push(await getTokenResult(credential, scope));
  return results;
}

/** @azure/identity EnvironmentCredential(options).getToken(scope), configured by the env only. */
async function identityEnvironment({ options, scope }) {
  const { EnvironmentCredential } = require('@azure/identity');
  return [await getTokenResult(new EnvironmentCredential(options || {}), scope)];
}

/**
 * A Node client that validates tokens itself: it fetches the authority's JWKS (fetch, trusting the
 * CA through NODE_EXTRA_CA_CERTS), looks up the token's kid and verifies RS256 with node:crypto;
 * then presents the token to ARM. Returns what it saw.
 */
async function validateWithJwks({ url, tenantId, token, armPath }) {
  const crypto = require('node:crypto');
  const [h, c, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  const jwks = await (await fetch(`${url}/${tenantId}/discovery/v2.0/keys`)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  let verified = false;
  let error = null;
  if (!jwk) {
    error = `unknown kid ${header.kid}: the key set has ${jwks.keys.map((k) => k.kid).join(', ')}`;
  } else {
    const key = crypto.createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' });
    verified = crypto.verify('RSA-SHA256', Buffer.from(`${h}.${c}`), key, Buffer.from(s, 'base64url'));
  }
  const arm = await fetch(`${url}${armPath}`, { headers: { authorization: `Bearer ${token}` } });
  return { kid: header.kid, verified, error, armStatus: arm.status, armBody: await arm.json() };
}

module.exports = {
  ...require('./user-scenarios'),
  describeError,
  validateWithJwks,
  adalClientCredentials,
  msalClientCredentials,
  identityClientSecret,
  identityEnvironment,
};

// Credentials without secrets: certificates, managed identities, workload identity federation.
Object.assign(module.exports, require('./credential-scenarios'));

'use strict';
// @azure/identity 4.13.1 ClientSecretCredential / EnvironmentCredential against the emulator.
const { after, before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const emu = require('../lib/emulator');

describe('@azure/identity ClientSecretCredential', () => {
  let emulator;
  let ready;
  before(async () => {
    emulator = await emu.startEmulator();
    ready = emulator.ready;
  });
  after(async () => {
    if (emulator) await emulator.stop();
  });

  const secretParams = (overrides = {}) => ({
    tenantId: ready.tenant_id,
    clientId: ready.service_principal.clientId,
    clientSecret: ready.service_principal.clientSecret,
    options: { authorityHost: ready.url, disableInstanceDiscovery: true },
    scope: emu.ARM_SCOPE,
    ...overrides,
  });

  const run = async (name, p, env) => {
    const out = await emu.runScenario(ready, name, p, { env });
    assert.equal(out.ok, true, JSON.stringify(out));
    return out;
  };

  function assertAccessToken(token) {
    const { fields, types } = token;
    assert.equal(types.expiresOnTimestamp, 'number');
    const remaining = (fields.expiresOnTimestamp - Date.now()) / 1000;
    assert.ok(remaining > 3500 && remaining <= 3600, `expiresOnTimestamp ${fields.expiresOnTimestamp}`);
    assert.equal(fields.tokenType, 'Bearer');
    const claims = emu.decodeJwt(fields.token);
    assert.equal(claims.aud, emu.ARM_AUDIENCE);
    assert.equal(claims.tid, ready.tenant_id);
    assert.equal(claims.appid, ready.service_principal.clientId);
    assert.equal(claims.iss, `https://sts.windows.net/${ready.tenant_id}/`);
  }

  for (const kind of ['guid', 'domain']) {
    test(`authorityHost + disableInstanceDiscovery, ${kind} tenant`, async () => {
      const tenantId = kind === 'guid' ? ready.tenant_id : ready.tenant_domain;
      const out = await run('identityClientSecret', secretParams({ tenantId, calls: 2 }));
      assert.deepEqual(out.blockedLookups, []);
      const [first, second] = out.value;
      assert.equal(first.error, null, JSON.stringify(first));
      assertAccessToken(first.token);
      assert.equal(second.error, null, JSON.stringify(second));
      assert.equal(second.token.fields.token, first.token.fields.token); // msal cache
    });
  }

  test('env-only AZURE_AUTHORITY_HOST=<url>/adfs without disableInstanceDiscovery', async () => {
    // Unlike msal for Python, msal-node does not skip instance discovery for an /adfs/<tenant>
    // authority, and @azure/identity only adds knownAuthorities when disableInstanceDiscovery is
    // set or the tenant id is literally "adfs". So the env var alone is NOT enough in Node: the
    // credential goes to login.microsoftonline.com (blocked here) and fails.
    const out = await run(
      'identityClientSecret',
      secretParams({ options: {} }),
      { AZURE_AUTHORITY_HOST: `${ready.url}/adfs` },
    );
    const [r] = out.value;
    assert.ok(r.error, `expected a failure, got ${JSON.stringify(r)}`);
    assert.equal(r.error.name, 'CredentialUnavailableError');
    assert.match(r.error.message, /endpoints_resolution_error/);
    assert.ok(out.blockedLookups.includes('login.microsoftonline.com'), JSON.stringify(out.blockedLookups));
  });

  test('env-only AZURE_AUTHORITY_HOST=<url>/adfs with disableInstanceDiscovery', async () => {
    const out = await run(
      'identityClientSecret',
      secretParams({ options: { disableInstanceDiscovery: true } }),
      { AZURE_AUTHORITY_HOST: `${ready.url}/adfs` },
    );
    assert.deepEqual(out.blockedLookups, []);
    const [r] = out.value;
    assert.equal(r.error, null, JSON.stringify(r));
    assertAccessToken(r.token);
  });

  test('EnvironmentCredential with the printed env and disableInstanceDiscovery', async () => {
    const out = await run(
      'identityEnvironment',
      { options: { disableInstanceDiscovery: true }, scope: emu.ARM_SCOPE },
      ready.env,
    );
    assert.deepEqual(out.blockedLookups, []);
    const [r] = out.value;
    assert.equal(r.error, null, JSON.stringify(r));
    assertAccessToken(r.token);
  });

  const errorCases = [
    { name: 'wrong secret', code: 7000215, overrides: () => ({ clientSecret: 'not-the-secret' }) },
    { name: 'expired secret', code: 7000222, overrides: () => ({ ...emu.WORLD.expiredApp }) },
    { name: 'disabled app', code: 7000112, overrides: () => ({ ...emu.WORLD.disabledApp }) },
    { name: 'unknown scope', code: 500011, overrides: () => ({ scope: emu.UNKNOWN_SCOPE }) },
  ];
  for (const c of errorCases) {
    test(`error: ${c.name} -> AuthenticationRequiredError with AADSTS${c.code}`, async () => {
      const out = await run('identityClientSecret', secretParams(c.overrides()));
      const [r] = out.value;
      assert.ok(r.error, JSON.stringify(r));
      // @azure/identity wraps msal's ServerError as AuthenticationRequiredError.
      assert.equal(r.error.name, 'AuthenticationRequiredError', JSON.stringify(r.error));
      assert.equal(r.instanceOf.AuthenticationRequiredError, true);
      assert.match(r.error.message, new RegExp(`Error\\(s\\): ${c.code} `));
      assert.match(r.error.message, new RegExp(`AADSTS${c.code}: `));
    });
  }
});

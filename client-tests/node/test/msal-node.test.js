'use strict';
// @azure/msal-node 7.2.3 ConfidentialClientApplication client credentials against the emulator.
const { after, before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const emu = require('../lib/emulator');

describe('msal-node acquireTokenByClientCredential', () => {
  let emulator;
  let ready;
  before(async () => {
    emulator = await emu.startEmulator();
    ready = emulator.ready;
  });
  after(async () => {
    if (emulator) await emulator.stop();
  });

  const params = (overrides = {}) => ({
    authority: `${ready.url}/${ready.tenant_id}`,
    // knownAuthorities (host:port) is what stops msal-node's instance discovery.
    knownAuthorities: [`127.0.0.1:${ready.port}`],
    clientId: ready.service_principal.clientId,
    clientSecret: ready.service_principal.clientSecret,
    scopes: [emu.ARM_SCOPE],
    ...overrides,
  });

  const run = async (p) => {
    const out = await emu.runScenario(ready, 'msalClientCredentials', p);
    assert.equal(out.ok, true, JSON.stringify(out));
    return out;
  };

  function assertArmToken(result, audience = emu.ARM_AUDIENCE) {
    const { fields, types } = result;
    assert.equal(fields.tokenType, 'Bearer');
    assert.equal(types.expiresOn, 'Date');
    const remaining = (Date.parse(fields.expiresOn) - Date.now()) / 1000;
    assert.ok(remaining > 3500 && remaining <= 3600, `expiresOn ${fields.expiresOn}`);
    assert.deepEqual(fields.scopes, [emu.ARM_SCOPE]);
    const claims = emu.decodeJwt(fields.accessToken);
    assert.equal(claims.aud, audience);
    assert.equal(claims.tid, ready.tenant_id);
    assert.equal(claims.appid, ready.service_principal.clientId);
    assert.equal(claims.iss, `https://sts.windows.net/${ready.tenant_id}/`);
    assert.equal(claims.oid, emu.WORLD.defaultAppObjectId);
    return claims;
  }

  test('token, then the same token from the msal cache', async () => {
    const out = await run(params({ calls: 2 }));
    assert.deepEqual(out.blockedLookups, []);
    const [first, second] = out.value;
    assert.equal(first.error, null, JSON.stringify(first));
    assertArmToken(first.result);
    assert.equal(first.result.fields.fromCache, false);
    assert.equal(second.error, null, JSON.stringify(second));
    assert.equal(second.result.fields.fromCache, true);
    assert.equal(second.result.fields.accessToken, first.result.fields.accessToken);
  });

  test('domain authority', async () => {
    const out = await run(params({ authority: `${ready.url}/${ready.tenant_domain}` }));
    const [r] = out.value;
    assert.equal(r.error, null, JSON.stringify(r));
    assertArmToken(r.result);
  });

  test('without knownAuthorities msal-node tries instance discovery at login.microsoftonline.com', async () => {
    const out = await run(params({ knownAuthorities: undefined }));
    const [r] = out.value;
    assert.ok(r.error, JSON.stringify(r));
    assert.equal(r.error.errorCode, 'endpoints_resolution_error');
    assert.ok(out.blockedLookups.includes('login.microsoftonline.com'), JSON.stringify(out.blockedLookups));
  });

  const errorCases = [
    { name: 'wrong secret', status: 401, error: 'invalid_client', code: 7000215,
      overrides: () => ({ clientSecret: 'not-the-secret' }) },
    { name: 'expired secret', status: 401, error: 'invalid_client', code: 7000222,
      overrides: () => ({ ...emu.WORLD.expiredApp }) },
    { name: 'disabled app', status: 400, error: 'unauthorized_client', code: 7000112,
      overrides: () => ({ ...emu.WORLD.disabledApp }) },
    { name: 'unknown client id', status: 400, error: 'unauthorized_client', code: 700016,
      overrides: () => ({ clientId: '00000000-1111-4222-8333-444444444444', clientSecret: 'x' }) },
    { name: 'unknown scope', status: 400, error: 'invalid_resource', code: 500011,
      overrides: () => ({ scopes: [emu.UNKNOWN_SCOPE] }) },
  ];
  for (const c of errorCases) {
    test(`error: ${c.name} -> ServerError ${c.error} ${c.code}`, async () => {
      const out = await run(params(c.overrides()));
      const [r] = out.value;
      assert.ok(r.error, JSON.stringify(r));
      assert.equal(r.serverErrorInstance, true, JSON.stringify(r.error));
      assert.equal(r.error.name, 'ServerError');
      assert.equal(r.error.errorCode, c.error);
      assert.equal(r.error.errorNo, c.code); // error_codes[0] as-is (a number)
      assert.equal(r.error.status, c.status);
      assert.match(r.error.errorMessage, new RegExp(`Description: AADSTS${c.code}: `));
    });
  }

  test('error: unknown tenant -> AADSTS90002 from OIDC discovery', async () => {
    const out = await run(params({ authority: `${ready.url}/00000000-1111-4222-8333-555555555555` }));
    const [r] = out.value;
    assert.ok(r.error, JSON.stringify(r));
    // msal-node does not surface the OIDC error body: a failed discovery GET becomes a
    // ClientAuthError endpoints_resolution_error.
    assert.equal(r.error.errorCode, 'endpoints_resolution_error');
    assert.deepEqual(out.blockedLookups, []);
  });

  test('clock: advancing the emulator clock moves iat/exp of new tokens', async () => {
    const before = emu.decodeJwt((await run(params())).value[0].result.fields.accessToken);
    try {
      await emu.clock(ready, { advance_seconds: 3600 });
      const after = emu.decodeJwt((await run(params())).value[0].result.fields.accessToken);
      const diff = after.iat - before.iat;
      assert.ok(diff >= 3600 && diff <= 3600 + 60, `iat moved by ${diff}s`);
      assert.ok(after.exp - before.exp >= 3600 && after.exp - before.exp <= 3600 + 60);
    } finally {
      await emu.clock(ready, { resume: true });
      await emu.reset(ready);
    }
    const state = await emu.getClock(ready);
    assert.ok(Math.abs(state.offset_seconds) < 2, JSON.stringify(state));
  });
});

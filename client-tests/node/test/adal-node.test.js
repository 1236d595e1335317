'use strict';
// adal-node 0.2.4 (legacy, v1 endpoint, resource=) client credentials against the emulator.
const { after, before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const emu = require('../lib/emulator');

describe('adal-node acquireTokenWithClientCredentials', () => {
  let emulator;
  let ready;
  before(async () => {
    emulator = await emu.startEmulator();
    ready = emulator.ready;
  });
  after(async () => {
    if (emulator) await emulator.stop();
  });

  const run = async (params) => {
    const out = await emu.runScenario(ready, 'adalClientCredentials', params);
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.deepEqual(out.blockedLookups, []);
    return out.value;
  };

  function assertToken(response, resource) {
    const { fields, types } = response;
    assert.equal(fields.tokenType, 'Bearer');
    assert.equal(fields.expiresIn, 3599);
    assert.equal(types.expiresIn, 'number');
    assert.equal(types.expiresOn, 'Date'); // client clock + expires_in
    const remaining = (Date.parse(fields.expiresOn) - Date.now()) / 1000;
    assert.ok(remaining > 3500 && remaining <= 3600, `expiresOn ${fields.expiresOn}`);
    assert.equal(fields.resource, resource);
    assert.equal(fields.isMRRT, true); // only when the server echoes `resource`
    const claims = emu.decodeJwt(fields.accessToken);
    assert.equal(claims.aud, resource); // v1: the resource exactly as requested
    assert.equal(claims.tid, ready.tenant_id);
    assert.equal(claims.appid, ready.service_principal.clientId);
    assert.equal(claims.iss, `https://sts.windows.net/${ready.tenant_id}/`);
    return claims;
  }

  for (const kind of ['guid', 'domain']) {
    test(`token with ${kind} authority`, async () => {
      const tenant = kind === 'guid' ? ready.tenant_id : ready.tenant_domain;
      const [r] = await run({
        authority: `${ready.url}/${tenant}`,
        resource: emu.ARM_RESOURCE,
        clientId: ready.service_principal.clientId,
        clientSecret: ready.service_principal.clientSecret,
      });
      assert.equal(r.error, null, JSON.stringify(r));
      assertToken(r.response, emu.ARM_RESOURCE);
    });
  }

  test('second call is served from the adal cache', async () => {
    const [first, second] = await run({
      authority: `${ready.url}/${ready.tenant_id}`,
      resource: emu.ARM_RESOURCE,
      clientId: ready.service_principal.clientId,
      clientSecret: ready.service_principal.clientSecret,
      calls: 2,
    });
    assert.equal(first.error, null, JSON.stringify(first));
    assert.equal(second.error, null, JSON.stringify(second));
    assert.equal(second.response.fields.accessToken, first.response.fields.accessToken);
  });

  const errorCases = [
    { name: 'wrong secret', status: 401, error: 'invalid_client', code: 7000215,
      creds: (r) => ({ clientId: r.service_principal.clientId, clientSecret: 'not-the-secret' }) },
    { name: 'expired secret', status: 401, error: 'invalid_client', code: 7000222,
      creds: () => emu.WORLD.expiredApp },
    { name: 'disabled app', status: 400, error: 'unauthorized_client', code: 7000112,
      creds: () => emu.WORLD.disabledApp },
    { name: 'unknown client id', status: 400, error: 'unauthorized_client', code: 700016,
      creds: () => ({ clientId: '00000000-1111-4222-8333-444444444444', clientSecret: 'x' }) },
    { name: 'unknown resource', status: 400, error: 'invalid_resource', code: 500011,
      resource: 'https://unknown.example.com/', creds: (r) => r.service_principal },
    { name: 'unknown tenant', status: 400, error: 'invalid_request', code: 90002,
      tenant: '00000000-1111-4222-8333-555555555555', creds: (r) => r.service_principal },
  ];
  for (const c of errorCases) {
    test(`error: ${c.name} -> AADSTS${c.code}`, async () => {
      const creds = c.creds(ready);
      const [r] = await run({
        authority: `${ready.url}/${c.tenant || ready.tenant_id}`,
        resource: c.resource || emu.ARM_RESOURCE,
        clientId: creds.clientId,
        clientSecret: creds.clientSecret,
      });
      assert.ok(r.error, JSON.stringify(r));
      assert.match(r.error.message, new RegExp(`http error: ${c.status}`));
      assert.match(r.error.message, new RegExp(`AADSTS${c.code}`));
      // The second callback argument is the parsed AAD error body.
      assert.equal(r.response.error, c.error);
      assert.deepEqual(r.response.error_codes, [c.code]);
      assert.match(r.response.error_description, new RegExp(`^AADSTS${c.code}: `));
    });
  }
});

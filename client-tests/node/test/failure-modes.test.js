'use strict';
// The failure-mode toolkit from Node: a client validating tokens against the JWKS sees the unknown
// kid after the signing key is rotated and the old key retired (and ARM refuses the token).
const { after, before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const emu = require('../lib/emulator');

describe('key rotation and retirement seen by Node clients', () => {
  let emulator;
  let ready;
  before(async () => {
    emulator = await emu.startEmulator();
    ready = emulator.ready;
  });
  after(async () => {
    if (emulator) await emulator.stop();
  });

  const armPath = '/subscriptions?api-version=2022-12-01';

  async function token() {
    const out = await emu.runScenario(ready, 'identityClientSecret', {
      tenantId: ready.tenant_id,
      clientId: ready.service_principal.clientId,
      clientSecret: ready.service_principal.clientSecret,
      options: { authorityHost: ready.url, disableInstanceDiscovery: true },
      scope: emu.ARM_SCOPE,
    });
    assert.equal(out.ok, true, JSON.stringify(out));
    return out.value[0].token.fields.token;
  }

  async function validate(t) {
    const out = await emu.runScenario(ready, 'validateWithJwks', { url: ready.url, tenantId: ready.tenant_id, token: t, armPath });
    assert.equal(out.ok, true, JSON.stringify(out));
    return out.value;
  }

  test('a token of the old key verifies during the overlap and fails with an unknown kid after retire', async () => {
    const old = await token();
    const before = await validate(old);
    assert.equal(before.verified, true, JSON.stringify(before));
    assert.equal(before.armStatus, 200);

    const rotated = await emu.request(ready, 'POST', '/_emulator/keys/rotate', { json: {} });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.json));
    assert.equal(rotated.json.previous, before.kid);
    const overlap = await validate(old);
    assert.equal(overlap.verified, true, 'still published until retired');

    const retired = await emu.request(ready, 'POST', `/_emulator/keys/${before.kid}/retire`, { json: {} });
    assert.equal(retired.status, 200, JSON.stringify(retired.json));
    const after = await validate(old);
    assert.equal(after.verified, false);
    assert.match(after.error, new RegExp(`^unknown kid ${before.kid}`));
    assert.equal(after.armStatus, 401);
    assert.equal(after.armBody.error.code, 'InvalidAuthenticationToken');

    const fresh = await validate(await token());
    assert.equal(fresh.kid, rotated.json.kid);
    assert.equal(fresh.verified, true);
  });
});

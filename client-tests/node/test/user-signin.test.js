'use strict';
// Users signing in with @azure/msal-node 7.2.3 (device code, interactive with form_post, auth-code
// URL + acquireTokenByCode) and @azure/identity 4.13.1 (InteractiveBrowserCredential in query mode
// through the BROWSER hook, DeviceCodeCredential), the browser being headless Chromium.
const { after, afterEach, before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const emu = require('../lib/emulator');

const CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
const ARM_USER = 'https://management.core.windows.net//.default';
const OWNER = 'owner@contoso.onmicrosoft.com';
const READER = { user: 'reader@contoso.onmicrosoft.com', password: 'Reader-Passw0rd!' };
const CONTRIBUTOR = { user: 'contributor@contoso.onmicrosoft.com', password: 'Contributor-Passw0rd!' };
const HOOK = path.join(__dirname, '..', 'lib', 'browser-hook.sh');

describe('users signing in (msal-node, @azure/identity)', () => {
  let emulator;
  let ready;
  before(async () => {
    emulator = await emu.startEmulator({ inMemory: true });
    ready = emulator.ready;
  });
  after(async () => {
    if (emulator) await emulator.stop();
  });
  afterEach(async () => {
    await emu.request(ready, 'PUT', '/_emulator/interactive', { json: { auto_sign_in: null } });
  });

  const base = (extra = {}) => ({ url: ready.url, tenant: ready.tenant_id, clientId: CLI, scopes: [ARM_USER], ...extra });
  const run = async (name, params, env = {}) => {
    const out = await emu.runScenario(ready, name, params, { env });
    assert.equal(out.ok, true, JSON.stringify(out.error || out, null, 2) + out.stderr);
    assert.deepEqual(out.blockedLookups, []);
    return out.value;
  };

  test('msal-node acquireTokenByDeviceCode, approved through the control API', async () => {
    const v = await run('msalNodeDeviceCode', base({ user: OWNER }));
    assert.equal(v.prompts.length, 1);
    assert.equal(v.prompts[0].verificationUri, `${ready.url}/devicelogin`);
    assert.equal(v.prompts[0].userCode.length, 9);
    assert.equal(emu.decodeJwt(v.result.accessToken).upn, OWNER);
    assert.equal(v.result.account.homeAccountId, `a1d0e5f2-0c3b-4d7a-9e1f-000000000001.${ready.tenant_id}`);
    assert.equal(v.result.account.username, OWNER);
  });

  test('msal-node acquireTokenInteractive: Chromium signs in, form_post reaches its listener; then a silent refresh', async () => {
    const v = await run('msalNodeInteractive', base({ browserEnv: { BROWSER_USER: READER.user, BROWSER_PASSWORD: READER.password } }));
    const opened = new URL(v.opened[0]);
    assert.equal(opened.searchParams.get('response_mode'), 'form_post');
    assert.equal(opened.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(v.browser.ok, true, JSON.stringify(v.browser));
    assert.equal(v.browser.loopbackMethod, 'POST');
    assert.equal(emu.decodeJwt(v.result.accessToken).upn, READER.user);
    assert.equal(v.silent.fromCache, false);
    assert.notEqual(v.silent.accessToken, v.result.accessToken);
  });

  test('msal-node getAuthCodeUrl + acquireTokenByCode (auto sign-in answers the redirect at once); a replay fails', async () => {
    const set = await emu.request(ready, 'PUT', '/_emulator/interactive', { json: { auto_sign_in: CONTRIBUTOR.user } });
    assert.equal(set.status, 200, set.text);
    const v = await run('msalNodeAuthCodeUrl', base({
      redirectUri: 'http://localhost:9999',
      verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
      challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    }));
    assert.equal(v.status, 302);
    assert.equal(v.state, 'st-1');
    assert.equal(emu.decodeJwt(v.result.accessToken).upn, CONTRIBUTOR.user);
    assert.equal(v.replay.errorCode, 'invalid_grant');
    assert.equal(Number(v.replay.errorNo), 54005);
  });

  test('@azure/identity InteractiveBrowserCredential through the BROWSER hook (query mode)', async () => {
    const v = await run('identityInteractiveBrowser', { url: ready.url, tenant: ready.tenant_id, scope: emu.ARM_SCOPE },
      { BROWSER: HOOK, BROWSER_USER: CONTRIBUTOR.user, BROWSER_PASSWORD: CONTRIBUTOR.password });
    const claims = emu.decodeJwt(v.token);
    assert.equal(claims.upn, CONTRIBUTOR.user);
    assert.equal(claims.aud, emu.ARM_AUDIENCE);
  });

  test('@azure/identity DeviceCodeCredential, approved through the control API', async () => {
    const v = await run('identityDeviceCode', { url: ready.url, tenant: ready.tenant_id, scope: emu.ARM_SCOPE, user: READER.user });
    assert.deepEqual(v.prompts, [`${ready.url}/devicelogin`]);
    assert.equal(emu.decodeJwt(v.token).upn, READER.user);
  });
});

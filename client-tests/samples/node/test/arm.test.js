// A user's node --test file: the azureml-emulator helper starts the emulator; @azure/identity gets a
// token from it; the token opens ARM; a clock move expires it on both sides.
import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { ClientSecretCredential } from '@azure/identity';
import { startEmulator } from 'azureml-emulator';

const ARM_SCOPE = 'https://management.azure.com/.default';
const SUBSCRIPTIONS = '/subscriptions?api-version=2022-12-01';

let emu;
before(async () => { emu = await startEmulator(); });
after(async () => { await emu?.stop(); });

// This process started before the emulator made its CA, so NODE_EXTRA_CA_CERTS cannot help here:
// each client gets the CA explicitly (tlsOptions for Azure SDK clients, an https.Agent for the rest).
function credential() {
  const { tenantId, clientId, clientSecret } = emu.credentials;
  return new ClientSecretCredential(tenantId, clientId, clientSecret, {
    authorityHost: emu.url,
    disableInstanceDiscovery: true,
    tlsOptions: emu.tlsOptions,
  });
}

function armGet(path, token) {
  return new Promise((resolve, reject) => {
    const req = https.get(`${emu.url}${path}`, {
      agent: emu.httpsAgent(),
      headers: { authorization: `Bearer ${token}` },
    }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(body) }));
    });
    req.on('error', reject);
  });
}

test('@azure/identity token opens ARM', async () => {
  const { token } = await credential().getToken(ARM_SCOPE);
  const res = await armGet(SUBSCRIPTIONS, token);
  assert.equal(res.status, 200);
  assert.ok(res.json.value.some((s) => s.subscriptionId === emu.credentials.subscriptionId));
});

test('a clock move expires the token on both sides', async () => {
  const cred = credential();
  const first = (await cred.getToken(ARM_SCOPE)).token;
  const state = await emu.clock.advance(3600);               // the emulator's clock...
  mock.timers.enable({ apis: ['Date'], now: Date.parse(state.now) }); // ...and this process's
  try {
    const expired = await armGet(SUBSCRIPTIONS, first);
    assert.equal(expired.status, 401);
    assert.equal(expired.json.error.code, 'ExpiredAuthenticationToken');
    const second = (await cred.getToken(ARM_SCOPE)).token;    // msal's cache saw the expiry too
    assert.notEqual(second, first);
    assert.equal((await armGet(SUBSCRIPTIONS, second)).status, 200);
  } finally {
    mock.timers.reset();
    await emu.reset();                                         // real time, world as loaded
  }
});

test('a child process started with the env trusts the emulator through NODE_EXTRA_CA_CERTS', async () => {
  // No tlsOptions, no agent: the child reads AZURE_* and NODE_EXTRA_CA_CERTS at its start.
  const out = await emu.execNode({
    module: true,
    code: `
      import { EnvironmentCredential } from '@azure/identity';
      const { token } = await new EnvironmentCredential({ disableInstanceDiscovery: true })
        .getToken('${ARM_SCOPE}');
      const res = await fetch(process.env.AZUREML_EMULATOR_URL + '${SUBSCRIPTIONS}',
        { headers: { authorization: 'Bearer ' + token } });
      console.log(res.status);
    `,
    cwd: process.cwd(),
  });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout.trim(), '200');
});

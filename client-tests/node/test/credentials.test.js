'use strict';
// Credentials without secrets against the emulator, env exports only: @azure/identity
// ClientCertificateCredential, ManagedIdentityCredential (App Service and Azure ML),
// WorkloadIdentityCredential; @azure/msal-node with clientCertificate. Each with a failure case.
const { after, before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const emu = require('../lib/emulator');

const COMPUTE_CLIENT = '7c3d2e1f-4a5b-4c6d-8e7f-00000000c001';
const UAMI_CLIENT = '7c3d2e1f-4a5b-4c6d-8e7f-00000000aa01';

describe('credentials without secrets', () => {
  let emulator;
  let ready;
  let home;
  const cli = (...args) => JSON.parse(execFileSync(emu.binaryPath(), [args[0], '--data-dir', ready.data_dir, ...args.slice(1)], {
    env: { ...process.env, HOME: home, AZUREML_EMULATOR_URL: '' },
    encoding: 'utf8',
  }));
  before(async () => {
    emulator = await emu.startEmulator();
    ready = emulator.ready;
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'emulator-home-'));
  });
  after(async () => {
    if (emulator) await emulator.stop();
  });

  const run = async (name, params, env = {}) => {
    const out = await emu.runScenario(ready, name, params, { env });
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.deepEqual(out.blockedLookups, []);
    return out.value;
  };
  const identityOptions = () => ({ authorityHost: ready.url, disableInstanceDiscovery: true });

  test('ClientCertificateCredential with the PEM of sp create-for-rbac --create-cert (PS256, x5t#S256), and a certificate of another app', async () => {
    const made = cli('sp', 'create-for-rbac', '--name', 'node-cert-app', '--create-cert');
    const other = cli('sp', 'create-for-rbac', '--name', 'node-other-app', '--create-cert');
    const params = { tenantId: ready.tenant_id, clientId: made.appId, certificatePath: made.fileWithCertAndPrivateKey, scope: emu.ARM_SCOPE };
    for (const sendCertificateChain of [false, true]) {
      const ok = await run('identityClientCertificate', { ...params, options: { ...identityOptions(), sendCertificateChain } });
      assert.equal(ok.error, null, JSON.stringify(ok));
      const claims = emu.decodeJwt(ok.token);
      assert.equal(claims.appid, made.appId);
      assert.equal(claims.appidacr, '2');
    }
    const bad = await run('identityClientCertificate', { ...params, certificatePath: other.fileWithCertAndPrivateKey, options: identityOptions() });
    assert.equal(bad.instanceOf.AuthenticationRequiredError, true, JSON.stringify(bad));
    assert.match(bad.error.message, /700027/);
  });

  test('msal-node clientCertificate with a SHA-1 thumbprint (RS256) and a SHA-256 one (PS256); a wrong certificate fails', async () => {
    const made = cli('sp', 'create-for-rbac', '--name', 'node-msal-cert', '--create-cert');
    const base = {
      authority: `${ready.url}/${ready.tenant_id}`,
      knownAuthorities: [new URL(ready.url).host],
      clientId: made.appId,
      certificatePath: made.fileWithCertAndPrivateKey,
      scopes: [emu.ARM_SCOPE],
    };
    for (const sha256 of [false, true]) {
      const ok = await run('msalClientCertificate', { ...base, sha256 });
      assert.equal(ok.error, null, JSON.stringify(ok));
      assert.equal(emu.decodeJwt(ok.token).appid, made.appId);
    }
    const other = cli('sp', 'create-for-rbac', '--name', 'node-msal-other', '--create-cert');
    const bad = await run('msalClientCertificate', { ...base, certificatePath: other.fileWithCertAndPrivateKey });
    assert.equal(bad.serverError, true, JSON.stringify(bad));
    assert.equal(bad.error.errorCode, 'invalid_client');
    assert.match(bad.error.errorMessage, /700027/);
  });

  test('ManagedIdentityCredential through the App Service and Azure ML endpoints, system- and user-assigned', async () => {
    for (const endpoint of ['app-service', 'azure-ml']) {
      const env = cli('env', '--managed-identity', 'cpu-cluster', '--endpoint', endpoint, '--format', 'json');
      const system = await run('identityManagedIdentity', { scope: emu.ARM_SCOPE }, env);
      assert.equal(system.error, null, `${endpoint}: ${JSON.stringify(system)}`);
      assert.equal(emu.decodeJwt(system.token).appid, COMPUTE_CLIENT);
      // The emulator clock drives expiry: @azure/identity trusts expires_on (24 h).
      assert.ok(system.expiresOnTimestamp - Date.now() > 23 * 3600 * 1000, `${system.expiresOnTimestamp}`);
      const user = await run('identityManagedIdentity', { scope: 'https://ml.azure.com/.default', clientId: UAMI_CLIENT }, env);
      assert.equal(user.error, null, JSON.stringify(user));
      assert.equal(emu.decodeJwt(user.token).oid, '5e2f1a0b-6c7d-4e8f-9a0b-00000000aa01');
      const bad = await run('identityManagedIdentity', { scope: emu.ARM_SCOPE, clientId: '00000000-0000-4000-8000-000000000000' }, env);
      assert.equal(bad.instanceOf.CredentialUnavailableError, true, JSON.stringify(bad));
      assert.match(bad.error.message, /Identity not found/);
    }
  });

  test('WorkloadIdentityCredential with env --workload-identity; a token for another subject fails with 70021', async () => {
    const env = cli('env', '--workload-identity', 'ml-auth', '--format', 'json');
    const ok = await run('identityWorkloadIdentity', { options: identityOptions(), scope: emu.ARM_SCOPE }, env);
    assert.equal(ok.error, null, JSON.stringify(ok));
    assert.equal(emu.decodeJwt(ok.token).appid, ready.service_principal.clientId);
    const wrong = path.join(home, 'wrong-subject.jwt');
    const token = execFileSync(emu.binaryPath(), ['federation', '--data-dir', ready.data_dir, 'token', '--sub', 'repo:contoso/other:ref:refs/heads/main'], { encoding: 'utf8', env: { ...process.env, AZUREML_EMULATOR_URL: '' } });
    fs.writeFileSync(wrong, token.trim());
    const bad = await run('identityWorkloadIdentity', { options: identityOptions(), scope: emu.ARM_SCOPE }, { ...env, AZURE_FEDERATED_TOKEN_FILE: wrong });
    assert.equal(bad.instanceOf.AuthenticationRequiredError, true, JSON.stringify(bad));
    assert.match(bad.error.message, /70021/);
  });
});

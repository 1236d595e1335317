'use strict';
// The azureml-emulator Node helper (emulator/node) itself: start/stop, failures, env for children,
// the clock and reset, attachEmulator, and the register preload.
const { after, before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const helper = require('azureml-emulator');
const emu = require('../lib/emulator');

const bin = emu.binaryPath();

/** True while `pid` runs; an exited process that nobody reaped yet (a zombie) does not count. */
function running(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('azureml-emulator helper', () => {
  let emulator;
  before(async () => { emulator = await helper.startEmulator({ bin }); });
  after(async () => { if (emulator) await emulator.stop(); });

  test('exposes url, env, CA files and the default credentials', () => {
    assert.match(emulator.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(emulator.env.AZURE_AUTHORITY_HOST, `${emulator.url}/adfs`);
    assert.equal(emulator.env.NODE_EXTRA_CA_CERTS, emulator.caCert);
    assert.ok(path.isAbsolute(emulator.caBundle) && fs.existsSync(emulator.caBundle));
    assert.deepEqual(emulator.credentials, {
      tenantId: emulator.ready.service_principal.tenantId,
      clientId: emulator.ready.service_principal.clientId,
      clientSecret: emulator.ready.service_principal.clientSecret,
      subscriptionId: emulator.ready.service_principal.subscriptionId,
    });
  });

  test('clock: advance, freeze, set a Date; reset brings real time and the world back', async () => {
    assert.ok((await emulator.clock.advance(7200)).offset_seconds >= 7199);
    assert.equal((await emulator.clock.freeze()).frozen, true);
    const set = await emulator.clock.set(new Date(Date.UTC(2030, 0, 2, 3, 4, 5)));
    assert.match(set.now, /^2030-01-02T03:04:05/);
    const created = await emulator.api('POST', '/service-principals', { displayName: 'helper-bot' });
    await emulator.reset();
    const state = await emulator.clock.show();
    assert.equal(state.frozen, false);
    assert.ok(Math.abs(state.offset_seconds) <= 1, JSON.stringify(state));
    await assert.rejects(emulator.api('GET', `/service-principals/${created.appId}`), (err) => {
      assert.ok(err instanceof helper.EmulatorError);
      assert.match(err.message, /-> 404 /);
      return true;
    });
  });

  test('applyEnv sets the variables, drops conflicting ones and restores everything', () => {
    const target = { REQUESTS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt', AZURE_USERNAME: 'x@example.com' };
    const restore = emulator.applyEnv(target);
    assert.equal(target.REQUESTS_CA_BUNDLE, emulator.caBundle);
    assert.equal(target.AZURE_CLIENT_ID, emulator.credentials.clientId);
    assert.equal(target.AZURE_USERNAME, undefined);
    restore();
    assert.deepEqual(target, { REQUESTS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt', AZURE_USERNAME: 'x@example.com' });
  });

  test('execNode: a child with the env trusts the emulator CA through NODE_EXTRA_CA_CERTS', async () => {
    const code = 'fetch(process.env.AZUREML_EMULATOR_URL + "/_emulator/health").then(async (r) => ' +
      'console.log(r.status, process.env.AZURE_CLIENT_ID, await r.text()))';
    const out = await emulator.execNode({ code }, { base: { PATH: process.env.PATH } });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), `200 ${emulator.credentials.clientId} {"status":"Healthy"}`);

    const only = await emulator.execNode({ code: 'console.log(JSON.stringify(process.env))' },
      { only: ['NODE_EXTRA_CA_CERTS'], base: {} });
    assert.deepEqual(JSON.parse(only.stdout), { NODE_EXTRA_CA_CERTS: emulator.caCert });
  });

  test('execNode: without the env the same child fails on the certificate', async () => {
    const out = await emulator.execNode({
      code: `fetch('${emulator.url}/_emulator/health').then(() => process.exit(0), (e) => { console.log(e.cause && e.cause.code); process.exit(3); })`,
    }, { base: { PATH: process.env.PATH }, only: [] });
    assert.equal(out.code, 3, out.stderr);
    assert.match(out.stdout, /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/);
  });

  test('attachEmulator reads a ready file and cannot stop the server', async () => {
    const attached = helper.attachEmulator({ readyFile: path.join(emulator.dataDir, 'ready.json') });
    assert.equal(attached.url, emulator.url);
    assert.equal((await attached.api('GET', '/health')).status, 'Healthy');
    await assert.rejects(attached.stop(), /attached emulator/);
    assert.throws(() => helper.attachEmulator({ readyFile: path.join(os.tmpdir(), 'no-such-ready.json') }), /no complete ready file/);
  });
});

describe('azureml-emulator helper failures and lifecycle', () => {
  test('a missing binary is a clear error', async () => {
    await assert.rejects(helper.startEmulator({ bin: '/nonexistent/azureml-emulator' }),
      /not found or not executable: \/nonexistent\/azureml-emulator/);
  });

  test('a server that exits early reports its stderr', async () => {
    const world = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'helper-test-')), 'bad.toml');
    fs.writeFileSync(world, 'this is = not [valid toml\n');
    await assert.rejects(helper.startEmulator({ bin, fixtures: world }), (err) => {
      assert.ok(err instanceof helper.EmulatorError);
      assert.match(err.message, /exited .* before it was ready[\s\S]*--fixtures[\s\S]*stderr:\n.+/);
      return true;
    });
  });

  test('stop: exit 0, temp dir removed, a second stop is harmless', async () => {
    const e = await helper.startEmulator({ bin, inMemory: true, rbac: 'log-only' });
    assert.equal((await e.api('GET', '/journal')).rbac_mode, 'log-only');
    const dir = e.workdir;
    assert.match(e.stdout(), /azureml-emulator listening on https:/);
    assert.ok(fs.existsSync(path.join(dir, 'ready.json')));
    assert.deepEqual(await e.stop(), { code: 0, signal: null });
    assert.deepEqual(await e.stop(), { code: 0, signal: null });
    assert.equal(fs.existsSync(dir), false);
  });

  test('register: the first process starts one emulator, children inherit it, exit stops it', () => {
    const script = `
      const { attachEmulator } = require('azureml-emulator');
      const { execFileSync } = require('node:child_process');
      const e = attachEmulator();
      const child = execFileSync(process.execPath, ['-e',
        'fetch(process.env.AZUREML_EMULATOR_URL + "/_emulator/health").then((r) => console.log(r.status, process.env.AZUREML_EMULATOR_READY_FILE))'],
        { encoding: 'utf8' });
      console.log(JSON.stringify({ pid: e.pid, ready: process.env.AZUREML_EMULATOR_READY_FILE, child: child.trim() }));`;
    const env = { ...process.env, AZUREML_EMULATOR_BIN: bin };
    delete env.AZUREML_EMULATOR_READY_FILE;
    const out = spawnSync(process.execPath, ['--require', 'azureml-emulator/register', '-e', script],
      { env, encoding: 'utf8', cwd: path.join(__dirname, '..') });
    assert.equal(out.status, 0, out.stderr);
    const seen = JSON.parse(out.stdout.trim().split('\n').pop());
    assert.equal(seen.child, `200 ${seen.ready}`); // same emulator, CA trusted in the grandchild
    assert.equal(running(seen.pid), false); // stopped with the first process
    assert.equal(fs.existsSync(seen.ready), false);
  });

  test('register: a failed start exits 1 with the reason', () => {
    const env = { ...process.env, AZUREML_EMULATOR_BIN: bin, AZUREML_EMULATOR_FIXTURES: '/nonexistent/world.toml' };
    delete env.AZUREML_EMULATOR_READY_FILE;
    const out = spawnSync(process.execPath, ['--require', 'azureml-emulator/register', '-e', 'console.log("ran")'],
      { env, encoding: 'utf8', cwd: path.join(__dirname, '..') });
    assert.equal(out.status, 1);
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /azureml-emulator\/register: azureml-emulator exited before it was ready/);
  });

  test('with-azureml-emulator: the command runs with the env, its status is forwarded, the emulator stops', () => {
    const wrapper = path.join(path.dirname(require.resolve('azureml-emulator')), 'with-emulator.js');
    const script = 'fetch(process.env.AZUREML_EMULATOR_URL + "/_emulator/health").then((r) => {' +
      ' console.log(JSON.stringify({ status: r.status, ready: process.env.AZUREML_EMULATOR_READY_FILE,' +
      ' pid: require("azureml-emulator").attachEmulator().pid })); process.exit(5); })';
    const env = { ...process.env, AZUREML_EMULATOR_BIN: bin };
    delete env.AZUREML_EMULATOR_READY_FILE;
    const out = spawnSync(process.execPath, [wrapper, process.execPath, '-e', script],
      { env, encoding: 'utf8', cwd: path.join(__dirname, '..') });
    assert.equal(out.status, 5, out.stderr);
    const seen = JSON.parse(out.stdout.trim());
    assert.equal(seen.status, 200); // NODE_EXTRA_CA_CERTS held for the command from its start
    assert.equal(running(seen.pid), false);
    assert.equal(fs.existsSync(seen.ready), false);

    const usage = spawnSync(process.execPath, [wrapper], { env, encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage: with-azureml-emulator COMMAND/);
  });
});

'use strict';
// The node:test harness, built on the azureml-emulator helper package (emulator/node, installed by path
// with npm ci), so the suite starts and drives the emulator the way users do.
//
// Why scenarios run in child processes: Node reads NODE_EXTRA_CA_CERTS only at process start,
// and the emulator creates its CA when it starts. So the test process starts the emulator in
// before(), and runs each SDK scenario (lib/scenarios.js) in a fresh `node` child whose environment
// has NODE_EXTRA_CA_CERTS from the ready file's printed env: exactly how a user would run their own
// program against the emulator. Every other SDK variable is removed, so each scenario configures the
// SDKs itself and the tests assert what that configuration does.

const { spawn } = require('node:child_process');
const path = require('node:path');
const helper = require('azureml-emulator');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const READY_TIMEOUT_MS = Number(process.env.AZUREML_EMULATOR_READY_TIMEOUT || 20) * 1000;
const SCENARIO_TIMEOUT_MS = 90_000;
const RESULT_MARKER = '@@SCENARIO_RESULT@@';

const ARM_SCOPE = 'https://management.azure.com/.default';
const ARM_RESOURCE = 'https://management.azure.com/';
const ARM_AUDIENCE = 'https://management.azure.com';
const UNKNOWN_SCOPE = 'https://unknown.example.com/.default';

// Outer-environment variables that would change how the SDKs behave.
const SDK_ENV_VARS = [
  'AZURE_AUTHORITY_HOST', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_CLIENT_CERTIFICATE_PASSWORD', 'AZURE_USERNAME',
  'AZURE_PASSWORD', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_REGIONAL_AUTHORITY_NAME',
  'AZURE_CORE_INSTANCE_DISCOVERY', 'ARM_CLOUD_METADATA_URL', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER',
  'MSI_ENDPOINT', 'MSI_SECRET', 'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'DEFAULT_IDENTITY_CLIENT_ID',
  'IDENTITY_SERVER_THUMBPRINT', 'IMDS_ENDPOINT', 'AZURE_CLIENT_SEND_CERTIFICATE_CHAIN', 'NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'NODE_TEST_CONTEXT',
  'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy',
];

function binaryPath() {
  return process.env.AZUREML_EMULATOR_BIN || path.join(REPO_ROOT, 'target', 'release', 'azureml-emulator');
}

/**
 * Start `azureml-emulator serve --port 0` through the helper (temp data dir, or --in-memory).
 * Resolves to the helper's Emulator: `.ready` (the ready file), `.stop()`, `.stderr()`, ...
 */
function startEmulator({ inMemory = false } = {}) {
  return helper.startEmulator({ inMemory, bin: binaryPath(), readyTimeoutMs: READY_TIMEOUT_MS });
}

// The helper's view of a ready file, for the functions below that take the ready dict.
const attached = new WeakMap();
function emulatorOf(ready) {
  if (!attached.has(ready)) attached.set(ready, new helper.Emulator(ready, null));
  return attached.get(ready);
}

/** Environment for a scenario child: outer Azure/CA vars removed, emulator CA trusted. */
function scenarioEnv(ready, extraEnv = {}) {
  const base = { ...process.env };
  for (const name of SDK_ENV_VARS) delete base[name];
  return helper.envFor(emulatorOf(ready).env, { base, only: ['NODE_EXTRA_CA_CERTS'], env: extraEnv });
}

/**
 * Run the named scenario from lib/scenarios.js in a fresh node process.
 * Resolves with { ok, value | error, blockedLookups, stderr }.
 */
function runScenario(ready, name, params = {}, { env = {} } = {}) {
  const runner = path.join(__dirname, 'scenario-runner.js');
  const guard = path.join(__dirname, 'offline-guard.js');
  const childEnv = scenarioEnv(ready, env);
  childEnv.EMULATOR_SCENARIO_PARAMS = JSON.stringify(params);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', guard, runner, name], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), SCENARIO_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      if (!line) {
        reject(new Error(`scenario ${name} produced no result (exit ${code}, signal ${signal}).\n` +
          `stdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      resolve({ ...JSON.parse(line.slice(RESULT_MARKER.length)), stderr });
    });
  });
}

/** JSON request to the emulator from the test process itself (admin API, raw wire checks). */
function request(ready, method, urlPath, options = {}) {
  return emulatorOf(ready).request(method, urlPath, options);
}

/** POST /_emulator/clock, e.g. clock(ready, { advance_seconds: 3600 }). */
function clock(ready, payload) {
  return emulatorOf(ready).api('POST', '/clock', payload);
}

function getClock(ready) {
  return emulatorOf(ready).clock.show();
}

/** POST /_emulator/reset (the world only; the clock is left as it is). */
function reset(ready) {
  return emulatorOf(ready).reset({ clock: false });
}

/** Decode a JWT's claims without verifying it. */
function decodeJwt(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new Error(`not a JWT: ${token}`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

/** The failure-mode apps of the default world (fixtures/default.toml). */
const WORLD = {
  expiredApp: { clientId: '6a1b7c2d-3e4f-4a5b-8c6d-000000000e01', clientSecret: 'expired-dev-secret~emulator.0000' },
  disabledApp: { clientId: '6a1b7c2d-3e4f-4a5b-8c6d-000000000d01', clientSecret: 'disabled-dev-secret~emulator.0000' },
  defaultAppObjectId: '5e2f1a0b-6c7d-4e8f-9a0b-1c2d3e4f5a6b',
};

module.exports = {
  ARM_AUDIENCE,
  ARM_RESOURCE,
  ARM_SCOPE,
  UNKNOWN_SCOPE,
  WORLD,
  binaryPath,
  clock,
  decodeJwt,
  getClock,
  request,
  reset,
  runScenario,
  startEmulator,
};

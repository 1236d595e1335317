'use strict';
// Starts the azureml-emulator binary for a node:test file and runs SDK scenarios against it.
//
// Why scenarios run in child processes: Node reads NODE_EXTRA_CA_CERTS only at process start,
// and the emulator creates its CA when it starts. So the test process starts the emulator in
// before(), reads the ready file, and runs each SDK scenario (lib/scenarios.js) in a fresh
// `node` child whose environment has NODE_EXTRA_CA_CERTS from the ready file's printed env:
// exactly how a user would run their own program against the emulator.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const READY_TIMEOUT_MS = Number(process.env.AZUREML_EMULATOR_READY_TIMEOUT || 20) * 1000;
const STOP_TIMEOUT_MS = 10_000;
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

function requireBinary() {
  const bin = binaryPath();
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`azureml-emulator binary not found or not executable at ${bin}. ` +
      'Build it first (cargo build --release) or set AZUREML_EMULATOR_BIN.');
  }
  return bin;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Start `azureml-emulator serve --port 0` in a temp dir; resolves once the ready file exists.
 * Returns { ready, dir, child, stderr(), stop() }.
 */
async function startEmulator({ inMemory = false } = {}) {
  const bin = requireBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'azureml-emulator-node-'));
  const stderrFile = path.join(dir, 'emulator.stderr.log');
  const stdoutFile = path.join(dir, 'emulator.stdout.log');
  const args = ['serve', '--port', '0'];
  let readyFile;
  if (inMemory) {
    // --in-memory and --data-dir are mutually exclusive.
    readyFile = path.join(dir, 'ready.json');
    args.push('--in-memory');
  } else {
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir);
    readyFile = path.join(dataDir, 'ready.json');
    args.push('--data-dir', dataDir);
  }
  args.push('--ready-file', readyFile);
  const out = fs.openSync(stdoutFile, 'w');
  const err = fs.openSync(stderrFile, 'w');
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', out, err] });
  fs.closeSync(out);
  fs.closeSync(err);
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  child.on('error', (e) => { exited = { code: null, signal: null, error: e }; });

  const emulator = {
    dir,
    child,
    ready: null,
    stderr: () => readText(stderrFile),
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        const deadline = Date.now() + STOP_TIMEOUT_MS;
        while (exited === null && Date.now() < deadline) await sleep(50);
        if (exited === null) {
          child.kill('SIGKILL');
          while (exited === null) await sleep(50);
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
      return exited;
    },
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited !== null) {
      throw new Error(`azureml-emulator exited (${JSON.stringify(exited)}) before writing ${readyFile}.\n` +
        `command: ${bin} ${args.join(' ')}\nstderr:\n${readText(stderrFile)}`);
    }
    if (fs.existsSync(readyFile)) {
      try {
        emulator.ready = JSON.parse(fs.readFileSync(readyFile, 'utf8'));
        return emulator;
      } catch {
        // being written; retry
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`azureml-emulator did not write ${readyFile} within ${READY_TIMEOUT_MS / 1000}s.\n` +
        `command: ${bin} ${args.join(' ')}\nstderr:\n${readText(stderrFile)}`);
    }
    await sleep(50);
  }
}

/** Environment for a scenario child: outer Azure/CA vars removed, emulator CA trusted. */
function scenarioEnv(ready, extraEnv = {}) {
  const env = { ...process.env };
  for (const name of SDK_ENV_VARS) delete env[name];
  env.NODE_EXTRA_CA_CERTS = (ready.env && ready.env.NODE_EXTRA_CA_CERTS) || ready.ca_cert;
  return { ...env, ...extraEnv };
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
function request(ready, method, urlPath, { json, form } = {}) {
  const url = new URL(urlPath, ready.url);
  let body;
  const headers = {};
  if (json !== undefined) {
    body = JSON.stringify(json);
    headers['content-type'] = 'application/json';
  } else if (form !== undefined) {
    body = new URLSearchParams(form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
  const ca = fs.readFileSync(ready.ca_cert);
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca, timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let parsed;
        try { parsed = JSON.parse(text); } catch { parsed = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json: parsed });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** POST /_emulator/clock, e.g. clock(ready, { advance_seconds: 3600 }). */
async function clock(ready, payload) {
  const res = await request(ready, 'POST', '/_emulator/clock', { json: payload });
  if (res.status !== 200) throw new Error(`POST /_emulator/clock ${JSON.stringify(payload)} -> ${res.status} ${res.text}`);
  return res.json;
}

async function getClock(ready) {
  const res = await request(ready, 'GET', '/_emulator/clock');
  if (res.status !== 200) throw new Error(`GET /_emulator/clock -> ${res.status} ${res.text}`);
  return res.json;
}

async function reset(ready) {
  const res = await request(ready, 'POST', '/_emulator/reset');
  if (res.status !== 200 && res.status !== 204) throw new Error(`POST /_emulator/reset -> ${res.status} ${res.text}`);
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

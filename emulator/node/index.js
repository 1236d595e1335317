'use strict';
// azureml-emulator for Node tests: start `azureml-emulator serve` on a free port, read its ready file,
// and hand out what SDKs need to reach it (URL, env, CA, credentials), its clock and reset.
// No dependencies; plain CommonJS (import it from ESM too). Types: index.d.ts. Docs: README.md.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');

const BINARY_NAME = 'azureml-emulator';
const DEFAULT_READY_TIMEOUT_MS = Number(process.env.AZUREML_EMULATOR_READY_TIMEOUT || 30) * 1000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;

// Outer variables that would send an SDK elsewhere or make it pick another credential; removed from
// the environment of children started with spawnWithEnv/execNode, and by applyEnv.
const CONFLICTING_ENV_VARS = [
  'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_CLIENT_CERTIFICATE_PASSWORD', 'AZURE_CLIENT_SEND_CERTIFICATE_CHAIN',
  'AZURE_USERNAME', 'AZURE_PASSWORD', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_REGIONAL_AUTHORITY_NAME',
  'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET',
];

class EmulatorError extends Error {
  constructor(message) {
    super(message);
    this.name = 'EmulatorError';
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The binary: `bin`, else AZUREML_EMULATOR_BIN, else `azureml-emulator` on PATH. */
function findBinary(bin) {
  const explicit = bin || process.env.AZUREML_EMULATOR_BIN;
  if (explicit) {
    const file = path.resolve(explicit);
    if (isExecutable(file)) return file;
    throw new EmulatorError(`${BINARY_NAME} not found or not executable: ${file}`);
  }
  for (const dir of (process.env.PATH || '').split(path.delimiter).filter(Boolean)) {
    const file = path.resolve(dir, BINARY_NAME);
    if (isExecutable(file)) return file;
  }
  throw new EmulatorError(`${BINARY_NAME} is not on PATH and AZUREML_EMULATOR_BIN is not set. Install it ` +
    '(cargo install --path emulator, or the azureml-emulator wheel) or set AZUREML_EMULATOR_BIN.');
}

/** `serve` arguments for the options of startEmulator; creates the data dir and the ready-file dir. */
function serveCommand(options) {
  const bin = findBinary(options.bin);
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'azureml-emulator-'));
  const readyFile = path.join(workdir, 'ready.json');
  const args = ['serve', '--host', options.host || '127.0.0.1', '--port', String(options.port ?? 0)];
  if (options.inMemory) {
    args.push('--in-memory');
  } else {
    const dataDir = options.dataDir ? path.resolve(options.dataDir) : path.join(workdir, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    args.push('--data-dir', dataDir);
  }
  if (options.fixtures) args.push('--fixtures', path.resolve(options.fixtures));
  if (options.rbac) args.push('--rbac', options.rbac);
  if (options.adminKey) args.push('--admin-key', options.adminKey);
  if (options.workers) args.push('--workers', String(options.workers));
  if (options.cert || options.key) args.push('--cert', path.resolve(options.cert), '--key', path.resolve(options.key));
  args.push('--ready-file', readyFile, ...(options.args || []));
  return { bin, args, workdir, readyFile };
}

function launch({ bin, args, workdir }) {
  const out = fs.openSync(path.join(workdir, 'serve.stdout.log'), 'w');
  const err = fs.openSync(path.join(workdir, 'serve.stderr.log'), 'w');
  try {
    return spawn(bin, args, {
      cwd: workdir,
      stdio: ['ignore', out, err],
      env: { NO_COLOR: '1', ...process.env },
    });
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
  }
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The ready file if it is complete and written by `pid`, else null. */
function readReady(file, pid) {
  try {
    const ready = JSON.parse(fs.readFileSync(file, 'utf8'));
    return pid === undefined || ready.pid === pid ? ready : null;
  } catch {
    return null;
  }
}

function startFailure(what, cmd) {
  return new EmulatorError(`${BINARY_NAME} ${what}.\ncommand: ${cmd.bin} ${cmd.args.join(' ')}\n` +
    `stderr:\n${readText(path.join(cmd.workdir, 'serve.stderr.log'))}`);
}

/**
 * Start `azureml-emulator serve` on a free port and resolve once its ready file is written.
 * @param {import('./index').StartOptions} [options]
 * @returns {Promise<Emulator>}
 */
async function startEmulator(options = {}) {
  const cmd = serveCommand(options);
  const child = launch(cmd);
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  child.on('error', (error) => { exited = { code: null, signal: null, error }; });
  const deadline = Date.now() + (options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  for (;;) {
    if (exited !== null) {
      const failure = startFailure(`exited (${JSON.stringify(exited)}) before it was ready`, cmd);
      fs.rmSync(cmd.workdir, { recursive: true, force: true });
      throw failure;
    }
    const ready = readReady(cmd.readyFile, child.pid);
    if (ready) return new Emulator(ready, { child, cmd, isExited: () => exited !== null });
    if (Date.now() > deadline) {
      const failure = startFailure('wrote no ready file in time', cmd);
      child.kill('SIGKILL');
      fs.rmSync(cmd.workdir, { recursive: true, force: true });
      throw failure;
    }
    await sleep(50);
  }
}

/**
 * An emulator started elsewhere (a CI step, `--require azureml-emulator/register`), from its ready file:
 * `readyFile`, else AZUREML_EMULATOR_READY_FILE. It cannot be stopped from here.
 */
function attachEmulator({ readyFile } = {}) {
  const file = readyFile || process.env.AZUREML_EMULATOR_READY_FILE;
  if (!file) throw new EmulatorError('attachEmulator needs readyFile or AZUREML_EMULATOR_READY_FILE');
  const ready = readReady(path.resolve(file));
  if (!ready) throw new EmulatorError(`no complete ready file at ${path.resolve(file)}`);
  return new Emulator(ready, null);
}

/** process.env (or `base`) minus outer Azure credentials, with the emulator's variables (or only `only`). */
function envFor(emulatorEnv, { base = process.env, only, env = {} } = {}) {
  const merged = { ...base };
  for (const name of CONFLICTING_ENV_VARS) delete merged[name];
  const names = only || Object.keys(emulatorEnv);
  for (const name of names) {
    if (emulatorEnv[name] !== undefined) merged[name] = emulatorEnv[name];
  }
  return { ...merged, ...env };
}

class Emulator {
  constructor(ready, owned) {
    this.ready = ready;
    this.url = String(ready.url).replace(/\/+$/, '');
    this.port = ready.port;
    this.pid = ready.pid;
    this.env = Object.fromEntries(Object.entries(ready.env || {}).map(([k, v]) => [k, String(v)]));
    this.caBundle = ready.ca_bundle;
    this.caCert = ready.ca_cert;
    this.dataDir = ready.data_dir;
    this.tenantId = ready.tenant_id;
    this.tenantDomain = ready.tenant_domain;
    this.subscriptionId = ready.subscription_id;
    const sp = ready.service_principal || {};
    this.credentials = Object.freeze({
      tenantId: sp.tenantId || ready.tenant_id,
      clientId: sp.clientId,
      clientSecret: sp.clientSecret,
      subscriptionId: sp.subscriptionId || ready.subscription_id,
    });
    const caPem = fs.readFileSync(this.caCert, 'utf8');
    /** For @azure/identity and other Azure SDK clients: `{ tlsOptions: emulator.tlsOptions }`. */
    this.tlsOptions = Object.freeze({ ca: [...tls.rootCertificates, caPem] });
    this._agent = new https.Agent({ ca: this.tlsOptions.ca, keepAlive: false });
    /** The temporary dir holding the ready file and the server's logs (null when attached); stop() removes it. */
    this.workdir = owned ? owned.cmd.workdir : null;
    this._owned = owned;
    this._onExit = null;
    if (owned) {
      // A test run that forgets stop() must not leave a server behind.
      this._onExit = () => { if (!owned.isExited()) owned.child.kill('SIGKILL'); };
      process.once('exit', this._onExit);
    }
    const call = (body) => this.api('POST', '/clock', body);
    /** The emulator clock; each method resolves to `{now, frozen, offset_seconds}`. */
    this.clock = Object.freeze({
      show: () => this.api('GET', '/clock'),
      advance: (seconds) => call({ advance_seconds: Math.round(Number(seconds)) }),
      freeze: () => call({ freeze: true }),
      resume: () => call({ resume: true }),
      set: (when) => call({ set: when instanceof Date ? when.toISOString().replace(/\.\d{3}Z$/, 'Z') : String(when) }),
    });
  }

  /** An https.Agent that trusts the system CAs and the emulator's (for node:https, axios, ...). */
  httpsAgent() {
    return this._agent;
  }

  /** A request to the emulator: resolves `{status, headers, text, json}` (json undefined if not JSON). */
  request(method, urlPath, { json, form, headers = {}, timeoutMs = 30_000 } = {}) {
    const url = new URL(urlPath, `${this.url}/`);
    let body;
    const all = { ...headers };
    if (json !== undefined) {
      body = JSON.stringify(json);
      all['content-type'] = 'application/json';
    } else if (form !== undefined) {
      body = new URLSearchParams(form).toString();
      all['content-type'] = 'application/x-www-form-urlencoded';
    }
    if (body !== undefined) all['content-length'] = Buffer.byteLength(body);
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, headers: all, agent: this._agent, timeout: timeoutMs }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { text += d; });
        res.on('end', () => {
          let parsed;
          try { parsed = JSON.parse(text); } catch { parsed = undefined; }
          resolve({ status: res.statusCode, headers: res.headers, text, json: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new EmulatorError(`timeout: ${method} ${url}`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** The control API `/_emulator{path}`: resolves its JSON; rejects with EmulatorError on non-2xx. */
  async api(method, apiPath, body) {
    const res = await this.request(method, `/_emulator${apiPath}`, body === undefined ? {} : { json: body });
    if (res.status < 200 || res.status > 299) {
      throw new EmulatorError(`${method} /_emulator${apiPath} -> ${res.status} ${res.text}`);
    }
    return res.json;
  }

  /** Back to the world loaded at start; with `clock: true` (default) the clock returns to real time first. */
  async reset({ clock = true } = {}) {
    if (clock) await this.clock.resume();
    await this.api('POST', '/reset');
  }

  /** Environment for a child process: see envFor. */
  childEnv(options = {}) {
    return envFor(this.env, options);
  }

  /**
   * Set the emulator's variables in `target` (process.env by default); returns a function that restores it.
   * NODE_EXTRA_CA_CERTS is set too but THIS process ignores it (Node reads it only at start): pass
   * `tlsOptions`/`httpsAgent()` to SDKs here, or start children with spawnWithEnv/execNode.
   */
  applyEnv(target = process.env) {
    const names = [...Object.keys(this.env), ...CONFLICTING_ENV_VARS];
    const saved = Object.fromEntries(names.map((n) => [n, target[n]]));
    for (const name of CONFLICTING_ENV_VARS) delete target[name];
    Object.assign(target, this.env);
    return () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete target[name];
        else target[name] = value;
      }
    };
  }

  /** child_process.spawn with childEnv(options) as the environment; `only`/`env`/`base` go to childEnv. */
  spawnWithEnv(command, args = [], options = {}) {
    const { only, env, base, ...spawnOptions } = options;
    return spawn(command, args, { ...spawnOptions, env: this.childEnv({ only, env, base }) });
  }

  /**
   * Run a Node script in a fresh process with the emulator's env (so NODE_EXTRA_CA_CERTS takes effect).
   * `script`: a file path, or `{code}` (CommonJS; `{code, module: true}` for ESM).
   * Resolves `{code, signal, stdout, stderr}`; rejects after `timeoutMs` (default 60 s).
   */
  execNode(script, { args = [], nodeArgs = [], timeoutMs = 60_000, ...options } = {}) {
    const argv = typeof script === 'object' && script !== null
      ? [...nodeArgs, ...(script.module ? ['--input-type=module'] : []), '-e', script.code, '--', ...args]
      : [...nodeArgs, path.resolve(script), ...args];
    return new Promise((resolve, reject) => {
      const child = this.spawnWithEnv(process.execPath, argv, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new EmulatorError(`node script did not finish within ${timeoutMs} ms\nstderr:\n${stderr}`));
      }, timeoutMs);
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    });
  }

  /** What the server logged (stderr) and its banner (stdout); empty for an attached emulator. */
  stderr() {
    return this._owned ? readText(path.join(this._owned.cmd.workdir, 'serve.stderr.log')) : '';
  }

  stdout() {
    return this._owned ? readText(path.join(this._owned.cmd.workdir, 'serve.stdout.log')) : '';
  }

  /**
   * SIGTERM, then SIGKILL after `timeoutMs`; removes the temporary directory startEmulator made.
   * Resolves `{code, signal}` of the server process. Safe to call twice.
   */
  async stop({ timeoutMs = DEFAULT_STOP_TIMEOUT_MS } = {}) {
    const owned = this._owned;
    if (!owned) throw new EmulatorError('an attached emulator is stopped by whoever started it');
    if (this._onExit) {
      process.removeListener('exit', this._onExit);
      this._onExit = null;
    }
    this._agent.destroy();
    const { child, cmd } = owned;
    if (!owned.isExited()) {
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      let timer;
      const timedOut = await Promise.race([
        done.then(() => false),
        new Promise((resolve) => { timer = setTimeout(resolve, timeoutMs, true); }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        child.kill('SIGKILL');
        await done;
      }
    }
    fs.rmSync(cmd.workdir, { recursive: true, force: true });
    return { code: child.exitCode, signal: child.signalCode };
  }
}

module.exports = {
  CONFLICTING_ENV_VARS,
  Emulator,
  EmulatorError,
  attachEmulator,
  envFor,
  findBinary,
  startEmulator,
  // for register.js
  _internal: { launch, readReady, serveCommand, startFailure },
};

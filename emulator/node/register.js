'use strict';
// `node --require azureml-emulator/register --test` (or NODE_OPTIONS="--require azureml-emulator/register"):
// starts one emulator in the first process that loads this file, before any test code runs, and puts
// its variables in process.env. Every process started after that inherits them, NODE_EXTRA_CA_CERTS
// included, which Node reads only at start: so the test files that `node --test` runs in child
// processes trust the emulator with no code change. Children see AZUREML_EMULATOR_READY_FILE already
// set and start nothing; `attachEmulator()` gives them the clock and reset. The emulator stops when
// the first process exits.
//
// Options come from the environment: AZUREML_EMULATOR_BIN, AZUREML_EMULATOR_FIXTURES,
// AZUREML_EMULATOR_RBAC (enforce | log-only), AZUREML_EMULATOR_READY_TIMEOUT (seconds).
//
// The start is synchronous (a preload cannot make node wait for a promise): the ready file is polled
// with Atomics.wait between reads.

const fs = require('node:fs');
const { EmulatorError, _internal } = require('./index');

const pause = new Int32Array(new SharedArrayBuffer(4));
const sleepSync = (ms) => Atomics.wait(pause, 0, 0, ms);

/** True while `pid` runs (a zombie, i.e. exited but not reaped, counts as gone). */
function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

function register() {
  if (process.env.AZUREML_EMULATOR_READY_FILE) return; // started by a parent process
  const cmd = _internal.serveCommand({
    fixtures: process.env.AZUREML_EMULATOR_FIXTURES || undefined,
    rbac: process.env.AZUREML_EMULATOR_RBAC || undefined,
  });
  const child = _internal.launch(cmd);
  const timeoutMs = Number(process.env.AZUREML_EMULATOR_READY_TIMEOUT || 30) * 1000;
  const deadline = Date.now() + timeoutMs;
  let ready = null;
  while (!ready) {
    ready = _internal.readReady(cmd.readyFile, child.pid);
    if (ready) break;
    const failure = !alive(child.pid) ? 'exited before it was ready'
      : Date.now() > deadline ? 'wrote no ready file in time' : null;
    if (failure) {
      child.kill('SIGKILL');
      const error = _internal.startFailure(failure, cmd);
      fs.rmSync(cmd.workdir, { recursive: true, force: true });
      throw error;
    }
    sleepSync(50);
  }
  for (const [name, value] of Object.entries(ready.env || {})) process.env[name] = String(value);
  process.env.AZUREML_EMULATOR_READY_FILE = cmd.readyFile;
  // The server must not keep this process's event loop alive, and must stop with it.
  child.unref();
  const stop = () => {
    if (!alive(child.pid)) return;
    child.kill('SIGTERM');
    const until = Date.now() + 10_000;
    while (alive(child.pid) && Date.now() < until) sleepSync(20);
    if (alive(child.pid)) child.kill('SIGKILL');
    fs.rmSync(cmd.workdir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      stop();
      process.kill(process.pid, signal);
    });
  }
}

try {
  register();
} catch (err) {
  const message = err instanceof EmulatorError ? err.message : err.stack;
  process.stderr.write(`azureml-emulator/register: ${message}\n`);
  process.exit(1);
}

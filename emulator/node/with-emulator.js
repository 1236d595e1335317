#!/usr/bin/env node
'use strict';
// with-azureml-emulator COMMAND [ARGS...]: start an emulator, run COMMAND with its variables, stop the
// emulator, exit with COMMAND's status. COMMAND starts after the emulator made its CA, so
// NODE_EXTRA_CA_CERTS holds for it and for every process it starts: the reliable way for test runners
// that may run tests in their own process (Jest runs small suites in band; Vitest's threads pool).
// Children find the emulator with attachEmulator() (AZUREML_EMULATOR_READY_FILE).
//
// Options come from the environment: AZUREML_EMULATOR_BIN, AZUREML_EMULATOR_FIXTURES,
// AZUREML_EMULATOR_RBAC (enforce | log-only).

const path = require('node:path');
const { startEmulator } = require('./index');

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    process.stderr.write('usage: with-azureml-emulator COMMAND [ARGS...]\n');
    return 2;
  }
  const emulator = await startEmulator({
    fixtures: process.env.AZUREML_EMULATOR_FIXTURES || undefined,
    rbac: process.env.AZUREML_EMULATOR_RBAC || undefined,
  });
  try {
    const child = emulator.spawnWithEnv(command, args, {
      stdio: 'inherit',
      env: { AZUREML_EMULATOR_READY_FILE: path.join(emulator.workdir, 'ready.json') },
    });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const { code, signal } = await new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve({ code: c, signal: s }));
    });
    process.removeListener('SIGINT', forward);
    process.removeListener('SIGTERM', forward);
    return code ?? 128 + (require('node:os').constants.signals[signal] || 0);
  } finally {
    await emulator.stop();
  }
}

main().then((status) => { process.exitCode = status; }, (err) => {
  process.stderr.write(`with-azureml-emulator: ${err.message}\n`);
  process.exitCode = 1;
});

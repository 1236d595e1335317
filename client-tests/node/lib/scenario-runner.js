'use strict';
// Child-process entry point: `node --require offline-guard.js scenario-runner.js <name>`.
// Runs one scenario from scenarios.js with the JSON params in EMULATOR_SCENARIO_PARAMS and prints
// a single result line (marker + JSON) for lib/emulator.js#runScenario to parse.
const scenarios = require('./scenarios');
const { describeError } = scenarios;

const RESULT_MARKER = '@@SCENARIO_RESULT@@';

async function main() {
  const name = process.argv[2];
  const fn = scenarios[name];
  let result;
  if (typeof fn !== 'function' || name === 'describeError') {
    result = { ok: false, error: { message: `unknown scenario ${name}` } };
  } else {
    try {
      const params = JSON.parse(process.env.EMULATOR_SCENARIO_PARAMS || '{}');
      result = { ok: true, value: await fn(params) };
    } catch (err) {
      result = { ok: false, error: describeError(err) };
    }
  }
  result.blockedLookups = globalThis.__emulatorBlockedLookups || [];
  process.stdout.write(`\n${RESULT_MARKER}${JSON.stringify(result)}\n`, () => process.exit(0));
}

main();

// Run with `node --require azureml-emulator/register --test register/`: the emulator was started
// before this process, which therefore inherited NODE_EXTRA_CA_CERTS and the AZURE_* variables, so
// @azure/identity and fetch need no option at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvironmentCredential } from '@azure/identity';
import { attachEmulator } from 'azureml-emulator';

test('the registered emulator is trusted process-wide', async () => {
  const emu = attachEmulator(); // from AZUREML_EMULATOR_READY_FILE
  const { token } = await new EnvironmentCredential({ disableInstanceDiscovery: true })
    .getToken('https://management.azure.com/.default');
  const res = await fetch(`${process.env.AZUREML_EMULATOR_URL}/subscriptions?api-version=2022-12-01`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  assert.equal((await emu.clock.show()).offset_seconds, 0);
});

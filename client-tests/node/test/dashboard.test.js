'use strict';
// The dashboard in a real headless Chromium (Debian's chromium, driven by playwright-core): press
// "+1 h" and see the next request's denial arrive in the live journal with its reason; add a 429
// fault from the page and see it fire. Screenshots go to client-tests/node/screenshots/.
const { after, before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const emu = require('../lib/emulator');

const SHOTS = path.join(__dirname, '..', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

describe('dashboard', () => {
  let emulator;
  let ready;
  let context;
  let profile;
  before(async () => {
    emulator = await emu.startEmulator();
    ready = emulator.ready;
    fs.mkdirSync(SHOTS, { recursive: true });
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'azureml-emulator-chromium-'));
    // A fresh profile (--user-data-dir) for each run.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      ignoreHTTPSErrors: true,
      viewport: { width: 1400, height: 1200 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    if (context) await context.close();
    if (emulator) await emulator.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  const tokenForm = {
    grant_type: 'client_credentials',
    client_id: '6a1b7c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d',
    client_secret: 'ml-auth-dev-secret~emulator.0000',
    resource: 'https://management.azure.com/',
  };

  test('+1 h makes the next ARM request a denial shown with its reason; a 429 fault added from the page fires', async () => {
    const page = await context.newPage();
    await page.goto(`${ready.url}/_emulator/ui`);
    await page.locator('#clock-now').filter({ hasText: /^\d{4}-/ }).waitFor();

    const issued = await emu.request(ready, 'POST', `/${ready.tenant_id}/oauth2/token`, { form: tokenForm });
    assert.equal(issued.status, 200, issued.text);
    const token = issued.json.access_token;
    const arm = `/subscriptions/${ready.subscription_id}?api-version=2022-12-01`;
    assert.equal((await emu.request(ready, 'GET', arm, { headers: { authorization: `Bearer ${token}` } })).status, 200);

    // Keyboard: focus the "+1 h" button and press Enter.
    await page.getByRole('button', { name: '+1 h' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#clock-mode').filter({ hasText: '3600 s from system time' }).waitFor();
    const denied = await emu.request(ready, 'GET', arm, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(denied.json.error.code, 'ExpiredAuthenticationToken');
    const row = page.locator('#journal tbody tr.deny', { hasText: 'the token expired at' }).first();
    await row.waitFor();
    assert.match(await row.locator('td.reason').innerText(), /^the token expired at .*, emulator clock /);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-expired-token.png'), fullPage: true });

    // Filter to denials of ARM only.
    await page.locator('#filter-surface').selectOption('arm');
    await page.locator('#filter-deny').check();
    assert.ok((await page.locator('#journal tbody tr').count()) >= 1);
    assert.equal(await page.locator('#journal tbody tr.allow').count(), 0);
    await page.locator('#filter-deny').uncheck();
    await page.locator('#filter-surface').selectOption('');

    // A 429 fault from the page, then a token request.
    await page.locator('#fault-surface').selectOption('aad');
    await page.locator('#fault-kind').selectOption('throttle');
    await page.locator('#fault-count').fill('1');
    await page.locator('#fault-retry').fill('5');
    await page.getByRole('button', { name: 'Add fault' }).click();
    await page.locator('#faults tbody tr', { hasText: 'throttle' }).waitFor();
    const throttled = await emu.request(ready, 'POST', `/${ready.tenant_id}/oauth2/token`, { form: tokenForm });
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers['retry-after'], '5');
    const fired = page.locator('#journal tbody tr.deny[data-kind="fault"]').first();
    await fired.waitFor();
    assert.match(await fired.innerText(), /429 with Retry-After 5/);
    await page.locator('#faults tbody tr', { hasText: 'throttle' }).locator('td').nth(4).filter({ hasText: '1' }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-fault-fired.png'), fullPage: true });
    await page.close();
    await emu.clock(ready, { resume: true });
  });
});

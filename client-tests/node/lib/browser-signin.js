'use strict';
// A real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) that signs in on
// the emulator's pages, as a person would. Used as the "browser" of interactive SDK flows:
//
//   node browser-signin.js URL                 # /authorize: fill the sign-in page, submit, wait for
//                                              # the application's loopback redirect to be answered
//   node browser-signin.js --device URL CODE   # /devicelogin: enter the code, sign in, approve
//
// Environment: BROWSER_USER / BROWSER_PASSWORD (who signs in), SCREENSHOT_DIR (save a PNG of each
// page before submitting it), CHROMIUM (default /usr/bin/chromium). Prints one JSON line.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const LOOPBACK = /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?(\/|\?|#|$)/;

async function shot(page, name) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return null;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

async function signIn(page, url, user, password) {
  // The application's loopback listener answers the form post (or the query redirect).
  const answered = page.waitForResponse((r) => LOOPBACK.test(r.url()), { timeout: 60_000 });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  let screenshot = null;
  if (await page.locator('#username').count()) {
    await page.fill('#username', user);
    await page.fill('#password', password);
    screenshot = await shot(page, 'sign-in-page');
    await page.click('#submit');
  }
  const response = await answered;
  return { loopbackStatus: response.status(), loopbackMethod: response.request().method(), screenshot };
}

async function approveDevice(page, url, code, user, password) {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.fill('#code', code);
  await page.fill('#username', user);
  await page.fill('#password', password);
  const screenshot = await shot(page, 'device-code-page');
  await page.click('#approve');
  await page.waitForSelector('#done', { timeout: 30_000 });
  return { done: (await page.textContent('#done')).trim(), screenshot };
}

async function main() {
  const argv = process.argv.slice(2);
  const user = process.env.BROWSER_USER || 'owner@contoso.onmicrosoft.com';
  const password = process.env.BROWSER_PASSWORD || 'Owner-Passw0rd!';
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'emulator-chromium-'));
  // A fresh profile (--user-data-dir) per run: no cookies or cache from an earlier sign-in.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    ignoreHTTPSErrors: true,
  });
  try {
    const page = await browser.newPage();
    const result = argv[0] === '--device'
      ? await approveDevice(page, argv[1], argv[2], user, password)
      : await signIn(page, argv[0], user, password);
    console.log(JSON.stringify({ ok: true, ...result }));
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.log(JSON.stringify({ ok: false, error: String(err && err.stack || err) }));
  process.exit(1);
});

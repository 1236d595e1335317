'use strict';
// User sign-in scenarios (each runs in its own node process, see emulator.js#runScenario): msal-node
// device code, interactive (form_post to its loopback listener) and auth-code URL + redemption;
// @azure/identity InteractiveBrowserCredential (query mode, through the BROWSER hook) and
// DeviceCodeCredential. The browser is headless Chromium (browser-signin.js).
const { execFileSync, spawn } = require('node:child_process');
const path = require('node:path');

const SIGNIN_JS = path.join(__dirname, 'browser-signin.js');

/** Approves a device code through the control API, synchronously (SDK prompt callbacks are sync). */
function approveSync(url, userCode, user) {
  const script = 'fetch(process.argv[1], {method: "POST", headers: {"content-type": "application/json"}, ' +
    'body: process.argv[2]}).then(async (r) => { if (r.status !== 200) { console.error(await r.text()); process.exit(1); } })';
  execFileSync(process.execPath, ['-e', script, `${url}/_emulator/device-codes/${userCode}`,
    JSON.stringify({ action: 'approve', user })], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Starts headless Chromium on `url`; resolves with its result line once it is done. */
function openInChromium(url, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SIGNIN_JS, url], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('close', () => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      resolve(line ? JSON.parse(line) : { ok: false, error: out });
    });
  });
}

function pca({ url, tenant, clientId }) {
  const { PublicClientApplication } = require('@azure/msal-node');
  return new PublicClientApplication({
    auth: { clientId, authority: `${url}/${tenant}`, knownAuthorities: [new URL(url).host] },
  });
}

function summary(r) {
  return {
    accessToken: r.accessToken,
    idTokenClaims: r.idTokenClaims,
    fromCache: r.fromCache,
    account: r.account && { homeAccountId: r.account.homeAccountId, username: r.account.username, tenantId: r.account.tenantId },
  };
}

async function msalNodeDeviceCode(p) {
  const app = pca(p);
  const prompts = [];
  const result = await app.acquireTokenByDeviceCode({
    scopes: p.scopes,
    deviceCodeCallback: (info) => {
      prompts.push({ verificationUri: info.verificationUri, userCode: info.userCode, interval: info.interval });
      approveSync(p.url, info.userCode, p.user);
    },
  });
  return { prompts, result: summary(result) };
}

async function msalNodeInteractive(p) {
  const app = pca(p);
  const opened = [];
  let browser;
  const result = await app.acquireTokenInteractive({
    scopes: p.scopes,
    openBrowser: async (url) => { opened.push(url); browser = openInChromium(url, p.browserEnv); },
    successTemplate: 'Signed in.',
    errorTemplate: 'Sign-in failed.',
  });
  const silent = await app.acquireTokenSilent({ account: result.account, scopes: p.scopes, forceRefresh: true });
  return { opened, browser: await browser, result: summary(result), silent: summary(silent) };
}

async function msalNodeAuthCodeUrl(p) {
  const app = pca(p);
  const url = await app.getAuthCodeUrl({
    scopes: p.scopes, redirectUri: p.redirectUri, codeChallenge: p.challenge, codeChallengeMethod: 'S256',
    state: 'st-1', responseMode: 'query',
  });
  const answer = await fetch(url, { redirect: 'manual' });
  const location = new URL(answer.headers.get('location'));
  const code = location.searchParams.get('code');
  const tokens = await app.acquireTokenByCode({ code, scopes: p.scopes, redirectUri: p.redirectUri, codeVerifier: p.verifier });
  let replay;
  try {
    await app.acquireTokenByCode({ code, scopes: p.scopes, redirectUri: p.redirectUri, codeVerifier: p.verifier });
    replay = null;
  } catch (err) {
    replay = { name: err.name, errorCode: err.errorCode, errorNo: err.errorNo, message: err.message };
  }
  return { status: answer.status, state: location.searchParams.get('state'), result: summary(tokens), replay };
}

async function identityInteractiveBrowser(p) {
  const { InteractiveBrowserCredential } = require('@azure/identity');
  const cred = new InteractiveBrowserCredential({ tenantId: p.tenant, authorityHost: p.url, disableInstanceDiscovery: true });
  const token = await cred.getToken(p.scope);
  return { token: token.token };
}

async function identityDeviceCode(p) {
  const { DeviceCodeCredential } = require('@azure/identity');
  const prompts = [];
  const cred = new DeviceCodeCredential({
    tenantId: p.tenant,
    authorityHost: p.url,
    disableInstanceDiscovery: true,
    userPromptCallback: (info) => {
      prompts.push(info.verificationUri);
      approveSync(p.url, info.userCode, p.user);
    },
  });
  const token = await cred.getToken(p.scope);
  return { prompts, token: token.token };
}

module.exports = {
  msalNodeDeviceCode,
  msalNodeInteractive,
  msalNodeAuthCodeUrl,
  identityInteractiveBrowser,
  identityDeviceCode,
};

// The azureml-emulator dashboard: plain JavaScript over the control API (/_emulator/...), no
// external assets. Loopback clients use it as is; others are asked for the admin key once (kept in
// this tab's sessionStorage) and then poll the journal, since EventSource cannot send a header.
'use strict';

const API = '/_emulator';
const $ = (sel) => document.querySelector(sel);
let adminKey = sessionStorage.getItem('azureml-emulator-admin-key') || '';

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c === null || c === undefined ? '' : c);
  return node;
}

function status(text) { $('#status').textContent = text; }

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (adminKey) headers['x-emulator-admin-key'] = adminKey;
  const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 403 && !adminKey) {
    adminKey = window.prompt('The control API needs the admin key (x-emulator-admin-key):') || '';
    sessionStorage.setItem('azureml-emulator-admin-key', adminKey);
    if (adminKey) return api(method, path, body);
  }
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((json.error && json.error.message) || res.statusText);
  return json;
}

async function run(what, fn) {
  try { await fn(); status(''); } catch (e) { status(what + ': ' + e.message); }
}

// Clock.
async function refreshClock() {
  const c = await api('GET', '/clock');
  $('#clock-now').textContent = c.now;
  $('#clock-mode').textContent = (c.frozen ? 'frozen' : 'running') + (c.offset_seconds ? `, ${c.offset_seconds} s from system time` : '');
}
document.querySelectorAll('[data-clock]').forEach((b) => b.addEventListener('click', () =>
  run('clock', async () => { await api('POST', '/clock', JSON.parse(b.dataset.clock)); await refreshClock(); })));

// Faults.
function describeMatch(m) { return Object.entries(m || {}).map(([k, v]) => `${k}=${v}`).join(' ') || 'any'; }
async function refreshFaults() {
  const { faults } = await api('GET', '/faults');
  const body = $('#faults tbody');
  body.replaceChildren(...faults.map((f) => {
    const remove = el('button', { type: 'button', 'aria-label': `Remove fault ${f.id}` }, 'Remove');
    remove.addEventListener('click', () => run('remove fault', async () => { await api('DELETE', `/faults/${encodeURIComponent(f.id)}`); await refreshFaults(); }));
    return el('tr', {}, el('td', { class: 'mono' }, f.id), el('td', {}, f.surface), el('td', {}, f.kind),
      el('td', {}, describeMatch(f.match)), el('td', {}, String(f.fired)), el('td', {}, f.remaining === null ? '∞' : String(f.remaining)), el('td', {}, remove));
  }));
}
$('#fault-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  run('add fault', async () => {
    const rule = { surface: $('#fault-surface').value, kind: $('#fault-kind').value, match: {}, when: {} };
    const num = (id) => ($(id).value === '' ? undefined : Number($(id).value));
    if (num('#fault-count') !== undefined) rule.when.count = num('#fault-count');
    if (num('#fault-retry') !== undefined) rule.retry_after = num('#fault-retry');
    if (num('#fault-latency') !== undefined) rule.latency_ms = num('#fault-latency');
    if ($('#fault-principal').value) rule.match.principal = $('#fault-principal').value;
    const added = await api('POST', '/faults', rule);
    status(`fault ${added.id} added`);
    await refreshFaults();
  });
});
$('#fault-clear').addEventListener('click', () => run('clear faults', async () => { await api('DELETE', '/faults'); await refreshFaults(); }));

// Keys.
async function refreshKeys() {
  const k = await api('GET', '/keys');
  const items = [el('li', {}, 'authority: ', el('code', {}, k.authority.active), ' signs')];
  for (const kid of k.authority.published) {
    const retire = el('button', { type: 'button' }, 'Retire');
    retire.addEventListener('click', () => run('retire', async () => { await api('POST', `/keys/${encodeURIComponent(kid)}/retire`, {}); await refreshKeys(); }));
    items.push(el('li', {}, 'authority: ', el('code', {}, kid), ' published (rotated out) ', retire));
  }
  for (const r of k.authority.retired) items.push(el('li', {}, 'authority: ', el('code', {}, r.kid), ` retired ${r.retired}`));
  for (const w of k.workspaces) items.push(el('li', {}, `workspace ${w.workspace}: `, el('code', {}, w.active), ' signs Azure ML tokens'));
  $('#keys').replaceChildren(...items);
}
$('#rotate').addEventListener('click', () => run('rotate', async () => {
  const r = await api('POST', '/keys/rotate', {});
  status(`rotated: ${r.previous} → ${r.kid}`);
  await refreshKeys();
}));

// Journal.
const rows = [];
function passes(e) {
  const p = $('#filter-principal').value.trim().toLowerCase();
  const s = $('#filter-surface').value;
  const names = [e.principal, e.principal_name, e.principal_display_name, e.app_id].filter(Boolean).map((x) => x.toLowerCase());
  return (!p || names.includes(p)) && (!s || e.surface === s) && (!$('#filter-deny').checked || e.decision === 'deny');
}
function journalRow(e) {
  const who = e.principal_display_name || e.principal_name || '—';
  const what = e.action ? `${e.action}${e.scope ? ' at ' + e.scope : ''}` : e.route;
  return el('tr', { class: e.decision, 'data-id': String(e.id), 'data-kind': e.kind },
    el('td', { class: 'mono' }, e.time), el('td', {}, e.surface), el('td', { class: 'decision' }, e.decision),
    el('td', {}, e.kind + (e.fault ? ` ${e.fault}` : '')), el('td', {}, who), el('td', { class: 'mono' }, what), el('td', { class: 'reason' }, e.reason));
}
function renderJournal() {
  $('#journal tbody').replaceChildren(...rows.filter(passes).slice(-200).reverse().map(journalRow));
}
function addEntry(e) {
  if (rows.length && rows[rows.length - 1].id >= e.id) return;
  rows.push(e);
  if (rows.length > 1000) rows.shift();
  renderJournal();
}
['#filter-principal', '#filter-surface', '#filter-deny'].forEach((id) => $(id).addEventListener('input', renderJournal));
$('#journal-clear').addEventListener('click', () => run('clear journal', async () => { await api('DELETE', '/journal'); rows.length = 0; renderJournal(); }));
async function poll() {
  const since = rows.length ? rows[rows.length - 1].id : 0;
  const { entries } = await api('GET', `/journal?since=${since}`);
  entries.forEach(addEntry);
}
function follow() {
  if (adminKey || !window.EventSource) {
    setInterval(() => run('journal', poll), 1000);
    return run('journal', poll);
  }
  const source = new EventSource(`${API}/journal/stream?limit=200`);
  source.addEventListener('entry', (m) => addEntry(JSON.parse(m.data)));
  source.onopen = () => status('');
  source.onerror = () => status('journal stream interrupted; reconnecting…');
  return Promise.resolve();
}

// World.
const BUILTIN_ROLES = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner', 'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  'acdd72a7-3385-48ef-bd42-f606fba81ae7': 'Reader', '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  'f58310d9-a9f6-439a-9e8d-f62e7b41a168': 'Role Based Access Control Administrator',
  'f6c7c914-8db3-469d-8ca1-694a8f32e121': 'AzureML Data Scientist', 'e503ece1-11d0-4e8e-8e2c-7a6c3bf38815': 'AzureML Compute Operator',
};
function mask(s) { return s ? s.slice(0, 3) + '…' : ''; }
async function refreshWorld() {
  const [w, ra, sv] = await Promise.all([api('GET', '/world'), api('GET', '/role-assignments'), api('GET', '/services')]);
  const table = (heads, data) => el('table', {}, el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...data.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))));
  const names = new Map();
  (w.users || []).forEach((u) => names.set(u.object_id, u.upn));
  (w.applications || []).forEach((a) => names.set(a.object_id, a.display_name));
  $('#world').replaceChildren(
    el('h3', {}, 'Tenants'), table(['id', 'name', 'domains'], w.tenants.map((t) => [t.id, t.display_name, (t.domains || []).join(', ')])),
    el('h3', {}, 'Principals'), table(['kind', 'name', 'object id', 'client id', 'enabled', 'secrets'], [
      ...(w.users || []).map((u) => ['user', u.upn, u.object_id, '', String(u.enabled), '']),
      ...(w.applications || []).map((a) => ['service principal', a.display_name, a.object_id, a.client_id, String(a.enabled),
        (a.secrets || []).map((s) => `${s.hint}… ${s.expires ? 'expires ' + s.expires : ''}`).join('; ')]),
      ...(w.groups || []).map((g) => ['group', g.display_name, g.object_id, '', '', '']),
    ]),
    el('h3', {}, 'Role assignments'), table(['principal', 'role', 'scope'], ra.value.map((a) => [
      names.get(a.properties.principalId) || a.properties.principalId, BUILTIN_ROLES[a.properties.roleDefinitionId.split('/').pop()] || a.properties.roleDefinitionId.split('/').pop(), a.properties.scope])),
    el('h3', {}, 'Workspaces'), table(['name', 'resource group', 'region'], w.workspaces.map((x) => [x.name, x.resource_group, x.location])),
    el('h3', {}, 'Services and endpoints'), table(['name', 'kind', 'auth', 'keys', 'scoring URI'], await Promise.all(sv.value.map(async (s) => {
      const keys = await api('GET', `/services/${encodeURIComponent(s.name)}/keys`).catch(() => ({}));
      const auth = s.authMode || [s.authEnabled ? 'key' : '', s.tokenAuthEnabled ? 'token' : ''].filter(Boolean).join('+') || 'none';
      return [s.name, s.kind + (s.computeType ? ` (${s.computeType})` : ''), auth, `${mask(keys.primaryKey)} / ${mask(keys.secondaryKey)}`, s.scoringUri];
    }))),
  );
}

$('#origin').textContent = location.origin;
Promise.all([run('clock', refreshClock), run('faults', refreshFaults), run('keys', refreshKeys), run('world', refreshWorld), follow()]);
setInterval(() => run('clock', refreshClock), 1000);
setInterval(() => run('faults', refreshFaults), 2000);

// The dashboard in headless Chromium, end to end against a real `dec control`:
// an admin seeds departments, a leader and an operator through the API, the
// operator files enrol requests; then the leader logs in through the login
// page with the code the file sender wrote to login-codes.txt, approves a
// request in the queue while a second tab shows the equipment list, and that
// list turns the node available through the event stream; a request decided
// behind the page's back answers 409, shown on its row; the statistics page
// draws its charts. No page may log a console error. Screenshots go to --out.
//
// Usage: node dashboard_test.mjs --dec build/dec --web web --out DIR
// Exit 0 passed, 1 failed, 77 skipped (no /usr/bin/chromium). A watchdog ends
// the run, the server and the browser after 50 s whatever happens.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const kChromium = '/usr/bin/chromium';
const kWait = 10000; // every wait in the browser, ms
const kBulk = 120; // nodes seeded before the named ones

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['dec', 'web', 'out']) {
  if (!args[k]) {
    console.error(`usage: node dashboard_test.mjs --dec DEC --web WEB_DIR --out OUT_DIR (missing --${k})`);
    process.exit(2);
  }
}
if (!existsSync(kChromium)) {
  console.log(`skipped: ${kChromium} is missing (install the Debian package chromium)`);
  process.exit(77);
}
const require = createRequire(join(resolve(args.web), 'package.json'));
const puppeteer = require('puppeteer-core');

const out = resolve(args.out);
mkdirSync(out, { recursive: true });
const data = mkdtempSync(join(tmpdir(), 'dec-dashboard-'));
let server = null;
let browser = null;
let passed = 0;

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  browser = null;
  if (server && server.exitCode === null) {
    const gone = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    const late = setTimeout(() => server.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(late);
  }
  rmSync(data, { recursive: true, force: true });
}
// Whatever fails, the server and the browser go with the test.
process.on('uncaughtException', (e) => fail(e));
process.on('unhandledRejection', (e) => fail(e));
const watchdog = setTimeout(() => {
  console.error('FAILED: the test took longer than 50 s');
  if (server) server.kill('SIGKILL');
  if (browser) browser.process()?.kill('SIGKILL');
  process.exit(1);
}, 50000);

const started = Date.now();
function ok(what) {
  passed++;
  console.log(`ok ${passed} - ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
function check(cond, what) {
  if (!cond) throw new Error(what);
}

// --- the server --------------------------------------------------------------
// The server's defaults: two browser contexts (each up to 6 kept-alive
// connections) and their event streams must not queue calls behind idle
// connections (dec control's --threads and keep-alive timeout see to it).
function startServer() {
  return new Promise((resolvePort, reject) => {
    server = spawn(resolve(args.dec), ['control', '--data-dir', data, '--listen', '127.0.0.1:0',
                                       '--admin', 'admin@example.org'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    server.stderr.on('data', (b) => {
      log += b;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (m) resolvePort(Number(m[1]));
    });
    server.on('exit', (code) => reject(new Error(`dec control exited (${code}): ${log}`)));
  });
}

let base = '';
async function call(method, path, token, body) {
  const res = await fetch(base + '/api/v1' + path, {
    method,
    headers: { Authorization: token ? 'Bearer ' + token : '', 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return json;
}

// The newest code the file sender wrote for address: "<address> <code> <expiry>".
function codeFor(address) {
  const lines = readFileSync(join(data, 'login-codes.txt'), 'utf8').trim().split('\n');
  const line = lines.reverse().find((l) => l.startsWith(address + ' '));
  check(line, `no code for ${address} in login-codes.txt`);
  return line.split(' ')[1];
}

async function apiLogin(address) {
  await call('POST', '/auth/code', null, { address });
  return (await call('POST', '/auth/session', null, { address, code: codeFor(address) })).token;
}

async function seed() {
  const admin = await apiLogin('admin@example.org');
  for (const name of ['Robotics', 'Vision']) await call('POST', '/departments', admin, { name });
  await call('POST', '/users', admin, { address: 'lead@example.org', name: 'Lena Lead', role: 'leader', department: 'Robotics' });
  await call('POST', '/users', admin, { address: 'op@example.org', name: 'Otto Operator', role: 'operator', department: 'Robotics' });
  const op = await apiLogin('op@example.org');
  // A fleet older than the named nodes below, in every state, so that the
  // equipment list has pages to scroll through and the charts have shapes.
  const kinds = ['sensor', 'camera', 'gateway', 'server', 'phone'];
  for (let i = 0; i < kBulk; i++) {
    const r = await call('POST', '/requests', op, { kind: 'enrol', node: {
      name: `fleet-${String(i).padStart(3, '0')}`, tier: ['device', 'device', 'edge', 'cloud'][i % 4],
      category: kinds[i % kinds.length], department: i % 4 ? 'Robotics' : 'Vision', hardware: { cores: 2 << (i % 4) } } });
    if (i % 10 === 9) continue;  // left pending
    if (i % 10 === 8) {
      await call('POST', `/requests/${r.id}/reject`, admin, { reason: 'not on the inventory' });
      continue;
    }
    await call('POST', `/requests/${r.id}/approve`, admin, {});
    const follow = i % 10 < 3 ? { kind: 'assign', project: 'slam' } : i % 10 === 3 ? { kind: 'fault', description: 'fan' } : null;
    if (follow) {
      const f = await call('POST', '/requests', op, { ...follow, node_id: r.node_id });
      await call('POST', `/requests/${f.id}/approve`, admin, {});
    }
  }
  const nodes = [
    ['jetson-01', 'device', 'jetson', 'Robotics', { cores: 6, memory_gb: 8, gpu: 'orin' }],
    ['edge-07', 'edge', 'server', 'Robotics', { cores: 16, memory_gb: 64 }],
    ['cam-12', 'device', 'camera', 'Vision', { cores: 2, memory_gb: 1 }],
    ['cloud-a1', 'cloud', 'vm', 'Vision', { cores: 32, memory_gb: 128, gpu: 'a100' }],
  ];
  const filed = {};
  for (const [name, tier, category, department, hardware] of nodes) {
    filed[name] = await call('POST', '/requests', op, { kind: 'enrol', node: { name, tier, category, department, hardware },
                                                        note: `please enrol ${name}` });
  }
  // History for the charts: one node approved and one rejected before the browser comes.
  await call('POST', `/requests/${filed['cloud-a1'].id}/approve`, admin, {});
  await call('POST', `/requests/${filed['cam-12'].id}/reject`, admin, { reason: 'duplicate of cam-11' });
  return { admin, filed };
}

// --- the browser -------------------------------------------------------------
const consoleErrors = [];
async function newPage(context = browser) {
  const page = await context.newPage();
  await page.setViewport({ width: 1360, height: 860 });
  page.setDefaultTimeout(kWait);
  page.on('console', (m) => {
    // A 409 the test provokes on purpose is logged by Chromium as a failed fetch.
    if (m.type() === 'error' && !/status of 409/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push('page error: ' + e.message));
  return page;
}
async function shot(page, name) {
  const path = join(out, name + '.png');
  await page.screenshot({ path, fullPage: false });
  console.log(`screenshot: ${path}`);
}

async function main() {
  const port = await startServer();
  base = `http://127.0.0.1:${port}`;
  const { admin, filed } = await seed();
  ok(`seeded through the API (2 departments, a leader, an operator, ${kBulk + 4} enrol requests, most decided)`);

  browser = await puppeteer.launch({
    executablePath: kChromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--hide-scrollbars'],
    userDataDir: join(data, 'chromium-profile'),
    protocolTimeout: kWait * 2,
  });
  const page = await newPage();

  // Login: address, then the code from login-codes.txt.
  await page.goto(base + '/', { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#address');
  await page.type('#address', 'lead@example.org');
  await page.click('#send-code');
  await page.waitForSelector('#code');
  await page.type('#code', codeFor('lead@example.org'));
  await shot(page, 'login');
  await page.click('#log-in');
  await page.waitForSelector('#approvals tbody tr');
  check(page.url().endsWith('/approvals'), 'a leader lands on the approval queue, not ' + page.url());
  const session = (await page.cookies()).find((c) => c.name === 'dec_session');
  check(session && session.httpOnly, 'the session is an HttpOnly cookie');
  const stored = await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie);
  check(!stored.includes(session.value), 'the token is nowhere a script can read it');
  ok('logged in with the code from login-codes.txt (an HttpOnly cookie; no token in storage)');

  const queued = await page.$$eval('#approvals tbody tr', (rows) => rows.map((r) => r.textContent));
  check(queued.length === kBulk / 10 + 2 && queued.some((t) => t.includes('jetson-01')) && queued.some((t) => t.includes('edge-07')),
        `the queue shows the ${kBulk / 10 + 2} pending requests: ` + JSON.stringify(queued));
  await page.waitForSelector('.live-live');
  await shot(page, 'queue');
  ok('the approval queue lists the pending requests; the event stream is live');

  // A second tab on the equipment list, which must follow the approval live.
  const list = await newPage();
  await list.goto(base + '/equipment', { waitUntil: 'domcontentloaded' });
  const node = filed['jetson-01'].node_id;
  await list.waitForSelector(`#equipment tr[data-id="${node}"][data-state="pending"]`);
  await list.waitForSelector('.live-live');

  await page.bringToFront();
  await page.click(`#approvals tr[data-id="${filed['jetson-01'].id}"] button.approve`);
  await page.waitForSelector(`#approvals tr[data-id="${filed['jetson-01'].id}"].decided`);
  ok('approved jetson-01 in the queue');
  await list.bringToFront();
  await list.waitForSelector(`#equipment tr[data-id="${node}"][data-state="available"]`);
  await shot(list, 'equipment-after-approval');
  ok('the equipment list turned jetson-01 available without a reload (server-sent events)');

  // The filters: state=available shows the two available nodes only.
  const available = (await call('GET', '/nodes?state=available&per_page=200', admin)).items.length;
  await list.select('#f-state', 'available');
  await list.waitForFunction((n, node) => {
    const rows = [...document.querySelectorAll('#equipment tbody tr')];
    return rows.length === n && rows.every((r) => r.dataset.state === 'available') &&
           rows.some((r) => r.dataset.id === String(node));
  }, {}, Math.min(50, available), node);
  ok('the state filter narrows the list');

  // Infinite scroll: clear the filters, scroll to the end; page 1 by number,
  // then every page by the API's cursor, each node once.
  const cursors = [];
  list.on('request', (r) => r.url().includes('/api/v1/nodes?') && r.url().includes('cursor=') && cursors.push(r.url()));
  await list.select('#f-state', '');
  await list.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#equipment tbody tr')];
    return rows.length === 50 && rows.some((r) => r.dataset.state !== 'available');
  });
  for (let i = 0; i < 5; i++) {
    await list.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    const done = await list.waitForFunction(
      (n) => document.querySelectorAll('#equipment tbody tr').length > n || /End of list/.test(document.querySelector('.sentinel').textContent),
      {}, 50 * (i + 1)).then((h) => h.evaluate(() => /End of list/.test(document.querySelector('.sentinel').textContent)));
    if (done) break;
  }
  await list.waitForFunction(() => /End of list/.test(document.querySelector('.sentinel').textContent));
  const ids = await list.$$eval('#equipment tbody tr', (rows) => rows.map((r) => Number(r.dataset.id)));
  check(ids.length === kBulk + 4 && new Set(ids).size === ids.length, `every node once: ${ids.length} rows, ${new Set(ids).size} distinct`);
  check(ids.every((id, i) => i === 0 || ids[i - 1] > id), 'newest first');
  check(cursors.length >= 2, 'the later pages came by cursor: ' + cursors.length);
  ok(`infinite scroll: ${ids.length} nodes in ${cursors.length + 1} pages, pages after the first by cursor`);
  await list.evaluate(() => window.scrollTo(0, 0));

  // 409: edge-07 decided through the API behind the page's back. The page's
  // event stream is held (an empty stream that asks to retry in a minute), so
  // the queue still offers it.
  await page.bringToFront();
  await page.setRequestInterception(true);
  const hold = (r) => {
    if (r.isInterceptResolutionHandled()) return;
    if (r.url().endsWith('/api/v1/events')) r.respond({ status: 200, contentType: 'text/event-stream', body: 'retry: 60000\n\n' });
    else r.continue();
  };
  page.on('request', hold);
  await page.reload({ waitUntil: 'domcontentloaded' });
  const edge = filed['edge-07'].id;
  await page.waitForSelector(`#approvals tr[data-id="${edge}"] button.approve`);
  await call('POST', `/requests/${edge}/reject`, admin, { reason: 'no rack space' });
  await page.click(`#approvals tr[data-id="${edge}"] button.approve`);
  await page.waitForSelector(`#approvals tr[data-id="${edge}"] .error`);
  const text = await page.$eval(`#approvals tr[data-id="${edge}"] .error`, (e) => e.textContent);
  check(/Conflict/.test(text) && /already decided/.test(text), "the 409 is shown with the API's message: " + text);
  await shot(page, 'queue-409');
  ok('a request decided elsewhere answers 409, shown on its row: ' + text.trim());
  page.off('request', hold);
  await page.setRequestInterception(false);

  // Statistics: five charts drawn on canvas.
  await page.goto(base + '/stats', { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 5);
  const fig = await page.$eval('#fig-approvals .value', (e) => e.textContent);
  check(Number(fig) > 2, 'the approvals are counted, got ' + fig);
  await shot(page, 'stats');
  ok('the statistics page draws 5 charts');

  for (const [path, sel] of [['/people', '#users tbody tr'], ['/audit', '#audit tbody tr'], ['/requests', '#requests tbody tr']]) {
    await page.goto(base + path, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(sel);
    await shot(page, path.slice(1));
  }
  ok('personnel, audit log and requests pages render');

  // An operator, in a browser context of their own: only their pages, and a
  // fault report filed through the form shows in their requests.
  const context = await browser.createBrowserContext();
  const op = await newPage(context);
  await op.goto(base + '/', { waitUntil: 'domcontentloaded' });
  await op.waitForSelector('#address');
  await op.type('#address', 'op@example.org');
  await op.click('#send-code');
  await op.waitForSelector('#code');
  await op.type('#code', codeFor('op@example.org'));
  await op.click('#log-in');
  await op.waitForSelector('#file-request');
  const nav = await op.$$eval('header nav a', (as) => as.map((a) => a.textContent));
  check(JSON.stringify(nav) === '["Requests","Statistics"]', 'an operator sees Requests and Statistics only: ' + nav);
  await op.click('label.chip:has(input[value="fault"])');
  await op.waitForSelector('#r-node option[value]:not([value=""])');
  const choice = await op.$eval('#r-node option[value]:not([value=""])', (o) => o.value);
  await op.select('#r-node', choice);
  await op.type('#r-description', 'fan stopped, runs hot');
  await op.click('#r-submit');
  await op.waitForSelector('form .ok');
  await op.waitForFunction((id) => [...document.querySelectorAll('#requests tbody tr')].some(
    (r) => r.textContent.includes('fault') && r.textContent.includes('#' + id) && r.textContent.includes('pending')), {}, choice);
  await shot(op, 'operator-requests');
  ok('an operator sees their pages only and files a fault report through the form');
  await context.close();

  check(consoleErrors.length === 0, 'console errors: ' + consoleErrors.join(' | '));
  ok('no console errors');
}

async function fail(e) {
  console.error('FAILED: ' + (e && (e.stack || e.message)));
  console.log(`${passed} passed, 1 failed`);
  await cleanup();
  process.exit(1);
}

try {
  await main();
  console.log(`${passed} passed, 0 failed`);
  await cleanup();
  clearTimeout(watchdog);
  process.exit(0);
} catch (e) {
  await fail(e);
}

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

function ok(what) {
  passed++;
  console.log(`ok ${passed} - ${what}`);
}
function check(cond, what) {
  if (!cond) throw new Error(what);
}

// --- the server --------------------------------------------------------------
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
async function newPage() {
  const page = await browser.newPage();
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
  ok('seeded through the API (2 departments, a leader, an operator, 4 enrol requests, 2 decided)');

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
  check(queued.length === 2 && queued.some((t) => t.includes('jetson-01')) && queued.some((t) => t.includes('edge-07')),
        'the queue shows the 2 pending requests: ' + JSON.stringify(queued));
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
  await list.select('#f-state', 'available');
  await list.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#equipment tbody tr')];
    return rows.length === 2 && rows.every((r) => r.dataset.state === 'available');
  });
  ok('the state filter narrows the list');

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
  check(fig === '2', 'two approvals counted, got ' + fig);
  await shot(page, 'stats');
  ok('the statistics page draws 5 charts');

  for (const [path, sel] of [['/people', '#users tbody tr'], ['/audit', '#audit tbody tr'], ['/requests', '#requests tbody tr']]) {
    await page.goto(base + path, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector(sel);
    await shot(page, path.slice(1));
  }
  ok('personnel, audit log and requests pages render');

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

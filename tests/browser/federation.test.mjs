// Browser journey of 跨域通办 between two nodes: the demo server under test (node A) and a
// second `yiwang serve --demo` started here on its own data directory (node B, the
// competent region). B's administrator offers an item; A's administrator proposes an
// agreement asking for 原件核验权; B's administrator compares A's key fingerprint and
// approves; A's 跨域通办专区 lists B's item; A's window clerk takes an application for it
// (异地代收代办) and forwards it; B makes it a case and its status comes back to A; a person
// applies online for B's item at A; a licence B issued is recognised at A (互认). Each
// new page passes axe-core; screenshots of both nodes. B's pages are used with its admin
// token (a bearer header on the browser context), A's with the demo logins.
//
// Environment: as cases.test.mjs (YIWANG_URL, YIWANG_SERVER_LOG, YIWANG_ARTIFACTS, CHROMIUM);
// YIWANG_BIN (default target/debug/yiwang) is the binary node B runs.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEMO_PASSWORD, byTestId, expectAccessible, journey, open, screenshot, submit, text } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.YIWANG_BIN || path.resolve(here, '../../target/debug/yiwang');
const B_TOKEN = 'federation-node-b-token-0123456789';
const j = journey({ timeout: 180_000, failedPrefix: 'failed-federation-' });
const { stepTest, expectPresent, staff } = j;
const b = { url: null, child: null, dir: null, code: null, session: null };

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

before(async () => {
  b.dir = mkdtempSync(path.join(os.tmpdir(), 'yiwang-node-b-'));
  const port = await freePort();
  b.url = `http://127.0.0.1:${port}`;
  b.child = spawn(BIN, ['--data-dir', b.dir, 'serve', '--demo', '--listen', `127.0.0.1:${port}`], {
    env: { ...process.env, YIWANG_ADMIN_TOKEN: B_TOKEN, YIWANG_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const until = Date.now() + 120_000;
  for (;;) {
    try {
      const r = await fetch(`${b.url}/healthz`);
      if (r.ok) break;
    } catch {
      // not yet listening
    }
    assert.ok(Date.now() < until, `node B (${BIN}) did not answer ${b.url}/healthz within 120 s`);
    assert.equal(b.child.exitCode, null, 'node B exited before it answered');
    await new Promise((r) => setTimeout(r, 300));
  }
  const found = await (await fetch(`${b.url}/api/v1/services?q=${encodeURIComponent('食品经营许可')}`)).json();
  b.code = found.hits[0].code;
});

after(() => {
  b.child?.kill('SIGKILL');
  if (b.dir) rmSync(b.dir, { recursive: true, force: true });
});

async function press(page, locator) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
}

// B's administrator: a browser context sending B's admin token.
async function nodeB(use) {
  if (b.session) return use(b.session);
  const s = use(await j.newSession());
  await s.context.setExtraHTTPHeaders({ authorization: `Bearer ${B_TOKEN}` });
  b.session = s;
  return s;
}

async function openB(page, p) {
  const res = await page.goto(b.url + p, { waitUntil: 'load' });
  assert.equal(res.status(), 200, `GET ${p} on node B`);
}

// Reloads until `locator` is attached (what the other node sends arrives in a moment).
async function reloadUntil(page, locator, what) {
  const until = Date.now() + 30_000;
  while ((await locator.count()) === 0) {
    assert.ok(Date.now() < until, `expected ${what} on ${page.url()}`);
    await new Promise((r) => setTimeout(r, 500));
    await page.reload({ waitUntil: 'load' });
  }
}

stepTest('1 node B offers an item for 异地代收代办', async (use) => {
  const { page } = await nodeB(use);
  await openB(page, '/work/federation');
  const form = byTestId(page, 'offer-form');
  await expectPresent(page, form, 'the offer form');
  await form.locator('input[name="item_code"]').fill(b.code);
  await form.locator('input[name="mode"][value="proxy"]').check();
  await form.locator('input[name="mode"][value="online"]').check();
  await press(page, byTestId(form, 'offer-submit'));
  await expectPresent(page, page.locator(`[data-offer="${b.code}"]`), 'the item offered');
  await expectAccessible(page, "node B's federation page");
  await screenshot(page, 'federation-b-offer.png');
});

stepTest("2 node A's administrator proposes an agreement to node B", async (use) => {
  const { page } = await staff(use, 'hn.admin', 'admin');
  await open(page, '/work/federation');
  await expectPresent(page, byTestId(page, 'node-fingerprint'), "this node's key fingerprint");
  const form = byTestId(page, 'propose-form');
  await form.locator('input[name="partner_endpoint"]').fill(b.url);
  await form.locator('input[name="ask"][value="verify_originals"]').check();
  await form.locator('input[name="valid_until"]').fill('2099-12-31');
  await press(page, byTestId(form, 'propose'));
  await expectPresent(page, page.locator('[data-agreement][data-state="proposed"]'), 'the agreement proposed');
  await expectAccessible(page, "node A's federation page");
  await screenshot(page, 'federation-a-proposed.png');
});

stepTest("3 node B's administrator compares the fingerprint and approves", async (use) => {
  const { page } = await nodeB(use);
  await openB(page, '/work/federation');
  const pending = page.locator('[data-agreement][data-state="pending"]');
  await reloadUntil(page, pending, "A's proposal");
  assert.match(await text(pending), /[0-9a-f]{4} [0-9a-f]{4}/, 'the fingerprint is shown to compare');
  await screenshot(page, 'federation-b-pending.png');
  await press(page, byTestId(pending, 'approve'));
  await expectPresent(page, page.locator('[data-agreement][data-state="active"]'), 'the agreement in force');
});

stepTest("4 node A's 跨域通办专区 lists node B's item", async (use) => {
  const { page } = await staff(use, 'hn.admin', 'admin');
  await open(page, '/work/federation');
  await reloadUntil(page, page.locator('[data-agreement][data-state="active"]'), 'the approval');
  await screenshot(page, 'federation-a-active.png');
  const s = use(await j.newSession({ viewport: { width: 390, height: 844 }, isMobile: true }));
  await open(s.page, '/kuayu');
  await reloadUntil(s.page, s.page.locator(`[data-testid="zone-partners"] [data-item="${b.code}"]`), "B's item");
  await expectAccessible(s.page, 'the 跨域通办 area');
  await screenshot(s.page, 'federation-a-zone-phone.png');
});

stepTest("5 node A's window takes an application for B's item and B's answer comes back", async (use) => {
  const { page } = await staff(use, 'hk.clerk', 'window_clerk');
  await open(page, '/work/federation/forward');
  const pick = byTestId(page, 'forward-pick').locator(`a[href*="item=${b.code}"]`);
  await expectPresent(page, pick, "B's item to pick");
  await expectAccessible(page, 'the forwarding picker');
  await press(page, pick);
  const form = byTestId(page, 'forward-form');
  await expectPresent(page, form, 'the forwarding form');
  await form.locator('input[name="name"]').fill('赵异地');
  await form.locator('input[name="id_number"]').fill('11010519491231002X');
  await form.locator('input[name="phone"]').fill('13900000099');
  await form.locator('input[name="originals_checked"]').check();
  await expectAccessible(page, 'the forwarding form');
  await screenshot(page, 'federation-a-forward.png');
  await press(page, byTestId(form, 'forward-submit'));
  const row = byTestId(page, 'origin-cases').locator('[data-crossing]').first();
  await expectPresent(page, row, 'the forwarded application');
  await reloadUntil(page, byTestId(page, 'origin-cases').locator('[data-crossing]:not([data-state="forwarded"])'), "B's answer");
  assert.notEqual(await row.getAttribute('data-state'), 'refused', await text(row));
  await expectAccessible(page, 'the cases across nodes');
  await screenshot(page, 'federation-a-cases.png');
});

stepTest('6 node B holds the case it made', async (use) => {
  const { page } = await nodeB(use);
  await openB(page, '/work/federation/cases');
  await expectPresent(page, byTestId(page, 'competent-cases').locator('[data-crossing] a'), 'the case made at B');
  await screenshot(page, 'federation-b-cases.png');
});

const PDF = Buffer.from('%PDF-1.4\n% yiwang browser test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

stepTest("7 a person logged in at node A applies online for B's item and follows it at A", async (use) => {
  const s = await j.citizen(use, '13800138000');
  const { page } = s;
  await open(page, '/kuayu');
  const link = byTestId(page, 'zone-partners').locator(`[data-item="${b.code}"] [data-testid="kuayu-apply"]`);
  await expectPresent(page, link, 'the online application link');
  await press(page, link);
  const form = byTestId(page, 'kuayu-apply-form');
  await expectPresent(page, form, "the partner item's form");
  await expectAccessible(page, 'the 跨域通办 application form');
  for (const input of await form.locator('input[name^="form."]').all()) {
    const example = (await input.getAttribute('placeholder')) || '示例';
    await input.fill(example);
  }
  for (const input of await form.locator('input[type="file"]').all()) {
    const name = (await input.getAttribute('name')).slice('file.'.length);
    await input.setInputFiles({ name: `${name}.pdf`, mimeType: 'application/pdf', buffer: PDF });
  }
  await screenshot(page, 'federation-a-apply-online.png');
  await press(page, byTestId(form, 'kuayu-apply-submit'));
  const rows = byTestId(page, 'my-crossings').locator('[data-crossing]');
  await expectPresent(page, rows, 'the application among mine');
  // B's answer: the case it made, or everything its pre-check found, told at once.
  await reloadUntil(page, byTestId(page, 'my-crossings').locator('[data-crossing]:not([data-state="forwarded"])'), "B's answer");
  await expectAccessible(page, 'my applications to other regions');
  await screenshot(page, 'federation-a-mine.png');
});

stepTest('8 a licence issued at node B is recognised at node A (互认)', async (use) => {
  // Both demo nodes share the demo's departments, so their first certificates share an
  // identifier: B issues 王小明 a new one (the next serial, unknown at A).
  const auth = { authorization: `Bearer ${B_TOKEN}`, 'content-type': 'application/json' };
  const issued = await (await fetch(`${b.url}/api/v1/licences`, { headers: auth })).json();
  const demo = issued.find((l) => l.type_name === '食品从业人员健康证明');
  assert.ok(demo, "the demo's health certificate at B");
  const made = await fetch(`${b.url}/api/v1/licences`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      type_code: demo.type_code,
      department_id: demo.issuer_department_id,
      holder_name: '王小明',
      holder_code: '11010519491231002X',
      face: { gender: '男' },
    }),
  });
  assert.equal(made.status, 201, await made.text());
  // At B: 王小明 downloads his licence file from his wallet there.
  const sb = use(await j.newSession());
  await openB(sb.page, '/login');
  const login = byTestId(sb.page, 'login-form');
  await login.locator('input[name="login"]').fill('13800138000');
  await login.locator('input[name="password"]').fill(DEMO_PASSWORD);
  await Promise.all([sb.page.waitForNavigation({ waitUntil: 'load' }), submit(login)]);
  await openB(sb.page, '/wallet');
  const card = byTestId(sb.page, 'wallet-card').filter({ hasText: '食品从业人员健康证明' }).first();
  await expectPresent(sb.page, card, 'the health certificate in his wallet at B');
  await press(sb.page, card);
  const [download] = await Promise.all([sb.page.waitForEvent('download'), byTestId(sb.page, 'file-link').click()]);
  const file = path.join(b.dir, 'licence.json');
  await download.saveAs(file);
  // At A: he presents it; A checks it against B's trust list and asks B for its status.
  const { page } = await j.citizen(use, '13800138000');
  await open(page, '/wallet');
  await press(page, byTestId(page, 'recognise-link'));
  const form = byTestId(page, 'recognise-form');
  await expectPresent(page, form, 'the form to present a licence');
  await form.locator('input[name="file"]').setInputFiles(file);
  await press(page, byTestId(form, 'recognise-submit'));
  const outcome = byTestId(page, 'recognition');
  await expectPresent(page, outcome, 'the checks of the licence presented');
  assert.equal(await outcome.getAttribute('data-valid'), 'true', await text(outcome));
  await expectPresent(page, byTestId(page, 'recognised').locator('[data-licence][data-status="valid"]'), 'the recognised licence');
  await expectAccessible(page, 'the recognition page');
  await screenshot(page, 'federation-a-recognised.png');
  await open(page, '/wallet');
  await screenshot(page, 'federation-a-wallet.png');
});

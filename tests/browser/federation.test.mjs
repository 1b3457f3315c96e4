// Browser journey of 跨域通办 between two nodes: the demo server under test (node A) and a
// second `yiwang serve --demo` started here on its own data directory (node B, the
// competent region). B's administrator offers an item; A's administrator proposes an
// agreement asking for 原件核验权; B's administrator compares A's key fingerprint and
// approves; A's 跨域通办专区 lists B's item; A's window clerk takes an application for it
// (异地代收代办) and forwards it; B makes it a case and its status comes back to A; a person
// applies online for B's item at A; a licence B issued is recognised at A (互认); a 一件事
// of A with a member B decides (多地联办) is applied for once at A and reaches B. Each
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
import {
  BASE_URL,
  DEMO_PASSWORD,
  byTestId,
  expectAccessible,
  fillForm,
  journey,
  open,
  screenshot,
  submit,
  text,
} from './helpers.mjs';

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
  // 结果送达权: node A delivers the results of B's members of its 一件事 (step 9).
  await form.locator('input[name="ask"][value="deliver"]').check();
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

async function json(url, init) {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.json().catch(() => null) };
}

stepTest("9 a 一件事 at node A joins an item node B decides (多地联办), applied for once at A", async (use) => {
  // B offers its 医保参保 item for 多地联办; A's 新生儿 bundle joins it with A's own 预防接种证.
  const birth = (await json(`${BASE_URL}/api/v1/bundles/460100YJS0002`)).body;
  const code = (key) => birth.doc.members.find((m) => m.key === key).item_code;
  const [mine, theirs] = [code('yfjz'), code('ybcb')];
  const offered = await json(`${b.url}/api/v1/federation/offers/${theirs}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${B_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ modes: ['joint'] }),
  });
  assert.equal(offered.status, 200, JSON.stringify(offered.body));
  const idB = (await json(`${b.url}/federation/v1/node`)).body.id;
  const until = Date.now() + 30_000;
  for (;;) {
    const o = (await json(`${BASE_URL}/api/v1/federation/offers`)).body;
    if (o.partners.some((p) => p.offer.item_code === theirs && p.offer.modes.includes('joint'))) break;
    assert.ok(Date.now() < until, "node B's joint offer did not reach node A");
    await new Promise((r) => setTimeout(r, 500));
  }
  const lead = (await json(`${BASE_URL}/api/v1/departments`)).body.find((d) => d.name === '海口市市场监督管理局').id;
  const doc = {
    code: '460100YJS0032',
    name: '新生儿出生（异地医保）',
    audience: 'person',
    theme: '出生',
    region_code: '460100',
    level: 'municipal',
    lead_department_id: lead,
    members: [
      { key: 'yfjz', item_code: mine },
      { key: 'ybcb', item_code: theirs, node: idB },
    ],
    promised_days: 10,
    channels: ['online', 'window'],
  };
  // A's catalogue editor saves it (the API, in their session) and submits it for review.
  const ed = await staff(use, 'hk.scjg', 'catalog_editor');
  await open(ed.page, '/catalog/bundles');
  const csrf = await ed.page.locator('input[name="_csrf"]').first().inputValue();
  const saved = await ed.page.evaluate(
    async ([d, token]) => {
      const r = await fetch('/api/v1/catalog/bundles', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': token },
        body: JSON.stringify({ doc: d }),
      });
      return { status: r.status, body: await r.json() };
    },
    [doc, csrf],
  );
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  const id = saved.body.bundle.id;
  await open(ed.page, `/catalog/bundles/${id}`);
  await press(ed.page, byTestId(ed.page, 'submit'));
  // The region's catalogue manager reviews it (the member at node B named) and publishes.
  const mgr = await staff(use, 'hk.catalog', 'catalog_manager');
  await open(mgr.page, `/catalog/bundles/${id}`);
  await expectAccessible(mgr.page, 'a bundle with a member decided at a partner node, for review');
  await screenshot(mgr.page, 'federation-a-joint-bundle.png');
  await press(mgr.page, byTestId(mgr.page, 'publish'));
  // A person applies once at A: one form, one set of materials.
  const s = await j.citizen(use, '13800138000');
  const { page } = s;
  await open(page, '/bundles/460100YJS0032');
  const q = byTestId(page, 'bundle-questions');
  if ((await q.count()) > 0 && (await q.locator('fieldset[data-question]').count()) > 0) {
    for (const fs of await q.locator('fieldset[data-question]').all()) await fs.locator('input[type="radio"]').first().check();
    await submit(q);
  }
  await byTestId(page, 'bundle-apply').click();
  const form = byTestId(page, 'bundle-apply-form');
  await expectPresent(page, form, 'the one application form');
  await fillForm(form, { number: '1', phone: '13800138000', address: '海口市龙华区滨海大道 1 号', text: '王小宝' });
  for (const key of await form.locator('tr[data-material]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-material')))) {
    await form.locator(`input[name="upload.${key.replace(/"/g, '')}"]`).setInputFiles({ name: `${key}.pdf`, mimeType: 'application/pdf', buffer: PDF });
  }
  s.allow(422, '/bundles/460100YJS0032/apply');
  await press(page, byTestId(page, 'bundle-apply-submit'));
  await expectPresent(page, byTestId(page, 'bundle-status'), 'the bundle case page');
  // B's member reached B: its case number there comes back, the member marked 多地联办.
  await reloadUntil(page, byTestId(page, 'remote-member'), "node B's case for its member");
  await expectAccessible(page, 'a bundle case with a member decided at a partner node');
  await screenshot(page, 'federation-a-joint-case.png');
  const bs = await nodeB(use);
  await openB(bs.page, '/work/federation/cases');
  await screenshot(bs.page, 'federation-b-joint-case.png');
});

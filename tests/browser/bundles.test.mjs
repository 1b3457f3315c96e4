// Browser journeys of 一件事一次办 (bundles): the agent of 海口椰风食品有限公司 searches
// "开饭店", finds the 开办餐饮店 bundle first, reads its merged guide and applies once (one
// form, one set of materials); the business licence member is granted by the market
// regulator, which starts the food licence, the fire-safety check and the sewage permit in
// three departments at once (the follower moves the bundle on); each is granted; the
// window clerk delivers every result at once; the applicant finds the bundle concluded and
// the licence in the wallet. Then a window clerk takes a 新生儿出生 bundle for 李四 on paper
// (一窗受理). Screenshots of each page; new pages pass axe-core. Drives Debian's chromium
// through playwright-core against a running `yiwang serve --demo`.
//
// Environment: as cases.test.mjs (YIWANG_URL, YIWANG_SERVER_LOG, YIWANG_ARTIFACTS, CHROMIUM).
// The steps run in order and share state (the bundle case made in step 1).

import assert from 'node:assert/strict';
import { byTestId, expectAccessible, fillForm as fill, journey, open, screenshot, submit, text } from './helpers.mjs';

const TEST_TIMEOUT_MS = 240_000;
const CITIZEN = '13800138000'; // 王小明, agent of 海口椰风食品有限公司
const COMPANY = '海口椰风食品有限公司';
const PDF = Buffer.from('%PDF-1.4\n% yiwang bundle test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
// The departments' back offices (demo logins) by bundle member.
const OFFICE = { yyzz: 'hk.scjg', spjy: 'hk.scjg', xfjc: 'hk.xf', psxk: 'hk.sw', hwzp: 'hk.zf' };

const shared = { bundleCase: null };
const j = journey({
  timeout: TEST_TIMEOUT_MS,
  failedPrefix: 'failed-bundles-',
  stateIds: ['bundle-state', 'case-state'],
});
const { stepTest, expectPresent, staff } = j;
const citizen = (use) => j.citizen(use, CITIZEN, COMPANY);

const fillForm = (form) => fill(form, { number: '60', phone: '13800138000', address: '海口市龙华区滨海大道 1 号', text: '椰风小馆' });

// The member rows of a bundle case page: key → { state, caseId }.
async function members(page) {
  const rows = byTestId(page, 'bundle-members').locator('tr[data-member]');
  await expectPresent(page, rows, 'the members of the bundle case');
  const out = {};
  for (const r of await rows.all()) {
    const link = r.locator('a[href*="/cases/"]');
    out[await r.getAttribute('data-member')] = {
      state: await r.getAttribute('data-state'),
      caseId: (await link.count()) > 0 ? (await link.getAttribute('href')).split('/').pop() : null,
    };
  }
  return out;
}

// Reloads the page until every listed member has the state (the follower moves the bundle on).
async function waitMembers(page, keys, state) {
  for (let i = 0; i < 40; i += 1) {
    const m = await members(page);
    if (keys.every((k) => m[k]?.state === state)) return m;
    await new Promise((r) => setTimeout(r, 500));
    await page.reload();
  }
  assert.fail(`members ${keys} did not all become ${state}: ${JSON.stringify(await members(page))}`);
}

// Clicks a button that submits a form and waits for the answer page.
async function press(page, locator) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
}

async function caseState(page) {
  const st = byTestId(page, 'case-state');
  await expectPresent(page, st, 'the case state');
  return st.getAttribute('data-state');
}

// A sub-case through its department: the window clerk accepts (受审分离), the department's
// reviewer passes it on, its approver grants it (confirmed).
async function grant(use, caseId, office) {
  const clerk = await staff(use, 'hk.clerk', 'window_clerk');
  await open(clerk.page, `/work/cases/${caseId}`);
  if ((await byTestId(clerk.page, 'act-accept').count()) > 0) await press(clerk.page, byTestId(clerk.page, 'act-accept'));
  assert.equal(await caseState(clerk.page), 'accepted', `case ${caseId} accepted`);
  const rev = await staff(use, `${office}.reviewer`, 'reviewer');
  for (let i = 0; i < 3; i += 1) {
    await open(rev.page, `/work/cases/${caseId}`);
    const cf = byTestId(rev.page, 'complete-form');
    if ((await cf.count()) === 0) break;
    await cf.locator('textarea[name="opinion"]').fill('材料齐全，符合法定条件');
    await press(rev.page, byTestId(cf, 'act-complete'));
  }
  const dec = await staff(use, `${office}.approver`, 'approver');
  await open(dec.page, `/work/cases/${caseId}`);
  await press(dec.page, byTestId(dec.page, 'act-approve'));
  await press(dec.page, byTestId(dec.page, 'confirm-yes'));
  assert.equal(await caseState(dec.page), 'decided', `case ${caseId} granted`);
}

stepTest('1 search 开饭店, read the merged guide, apply once', async (use) => {
  const s = await citizen(use);
  const { page } = s;
  await open(page, '/services?q=' + encodeURIComponent('开饭店'));
  const hit = byTestId(page, 'bundle-hit').first();
  await expectPresent(page, hit, 'the 开办餐饮店 bundle first');
  await hit.click();
  const q = byTestId(page, 'bundle-questions');
  await expectPresent(page, q, 'the guide questions');
  // No outdoor sign: four members; the others' own questions answered here once.
  for (const fs of await q.locator('fieldset[data-question]').all()) {
    const key = await fs.getAttribute('data-question');
    const choice = key === 'outdoor_sign' ? 'no' : key === 'proxy' ? 'self' : null;
    const radio = choice ? fs.locator(`input[value="${choice}"]`) : fs.locator('input[type="radio"]').first();
    await radio.check();
  }
  await submit(q);
  await screenshot(page, 'bundles-guide.png');
  await byTestId(page, 'bundle-apply').click();
  const form = byTestId(page, 'bundle-apply-form');
  await expectPresent(page, form, 'the one application form');
  await expectAccessible(page, 'the bundle application page');
  // Prefilled from the enterprise's profile: asked once, never again.
  const name = form.locator('input[name="form.enterprise_name"]');
  if ((await name.count()) > 0) assert.equal(await name.inputValue(), COMPANY);
  await fillForm(form);
  // 容缺: a material every member asking for it may take later is offered as such.
  assert.ok((await form.locator('[data-testid^="tolerate-"] input[value="tolerated"]').count()) > 0, 'a 容缺 option');
  for (const key of await form.locator('tr[data-material]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-material')))) {
    if ((await form.locator(`input[name="how.${key}"][value="licence"]`).count()) > 0) continue;
    await form.locator(`input[name="upload.${key.replace(/"/g, '')}"]`).setInputFiles({ name: `${key}.pdf`, mimeType: 'application/pdf', buffer: PDF });
  }
  await expectPresent(page, byTestId(page, 'apply-produced'), 'the business licence produced on the way (not brought)');
  await screenshot(page, 'bundles-apply.png');
  s.allow(422, '/bundles/460100YJS0001/apply');
  await press(page, byTestId(page, 'bundle-apply-submit'));
  await expectPresent(page, byTestId(page, 'bundle-status'), 'the bundle case page');
  shared.bundleCase = (await text(byTestId(page, 'bundle-status').locator('code'))).trim();
  const m = await members(page);
  assert.equal(m.yyzz.state, 'started', 'the business licence starts at once');
  for (const k of ['spjy', 'xfjc', 'psxk']) assert.equal(m[k].state, 'waiting', `${k} waits for the business licence`);
  assert.ok(!m.hwzp, 'no outdoor sign: that member does not apply');
  await expectAccessible(page, "the applicant's bundle case page");
  await screenshot(page, 'bundles-submitted.png');
});

stepTest('2 the business licence is granted: three departments start in parallel', async (use) => {
  assert.ok(shared.bundleCase, 'step 1 made a bundle case');
  const c = await citizen(use);
  await open(c.page, `/me/bundle-cases/${shared.bundleCase}`);
  const { yyzz } = await members(c.page);
  await grant(use, yyzz.caseId, OFFICE.yyzz);
  await open(c.page, `/me/bundle-cases/${shared.bundleCase}`);
  const m = await waitMembers(c.page, ['spjy', 'xfjc', 'psxk'], 'started');
  assert.equal(m.yyzz.state, 'granted');
  // Every member started at filing is accepted: one acceptance notice for the bundle.
  const acceptance = byTestId(c.page, 'bundle-notices').locator('a[data-kind="acceptance"]');
  await expectPresent(c.page, acceptance, 'the one acceptance notice');
  const pdf = await c.page.request.get(new URL(await acceptance.getAttribute('href'), c.page.url()).href);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  await screenshot(c.page, 'bundles-parallel.png');
  // The lead department sees the whole bundle and each member's clock.
  const clerk = await staff(use, 'hk.clerk', 'window_clerk');
  await open(clerk.page, '/work/bundle-cases');
  await expectAccessible(clerk.page, 'the bundle cases the department leads');
  await open(clerk.page, `/work/bundle-cases/${shared.bundleCase}`);
  await expectAccessible(clerk.page, "the lead department's bundle view");
  await screenshot(clerk.page, 'bundles-lead-view.png');
  for (const k of ['spjy', 'xfjc', 'psxk']) await grant(use, m[k].caseId, OFFICE[k]);
});

stepTest('3 one delivery of every result; the bundle concludes; the licence is in the wallet', async (use) => {
  const clerk = await staff(use, 'hk.clerk', 'window_clerk');
  const { page } = clerk;
  for (let i = 0; i < 40; i += 1) {
    await open(page, `/work/bundle-cases/${shared.bundleCase}`);
    if ((await byTestId(page, 'bundle-deliver').count()) > 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const df = byTestId(page, 'bundle-deliver');
  await expectPresent(page, df, 'the one delivery form');
  await df.locator('input[name="method"][value="electronic"]').check();
  await press(page, df.locator('button[type="submit"]'));
  await expectPresent(page, byTestId(page, 'done'), 'every result handed over');
  const c = await citizen(use);
  for (let i = 0; i < 40; i += 1) {
    await open(c.page, `/me/bundle-cases/${shared.bundleCase}`);
    if ((await byTestId(c.page, 'bundle-state').getAttribute('data-state')) === 'concluded') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(await byTestId(c.page, 'bundle-state').getAttribute('data-state'), 'concluded');
  const m = await members(c.page);
  for (const k of ['yyzz', 'spjy', 'xfjc', 'psxk']) assert.equal(m[k].state, 'granted', `${k} granted`);
  await screenshot(c.page, 'bundles-concluded.png');
  await open(c.page, '/me/cases');
  await expectPresent(c.page, byTestId(c.page, 'my-bundle-cases'), 'the bundle case among my cases');
  await open(c.page, '/wallet');
  assert.match(await c.page.locator('main').innerText(), /食品经营许可证/);
  await screenshot(c.page, 'bundles-wallet.png');
});

stepTest('4 a window clerk takes a 新生儿出生 bundle on paper (一窗受理)', async (use) => {
  const s = await staff(use, 'hk.clerk', 'window_clerk');
  const { page } = s;
  await open(page, '/work/window');
  await byTestId(page, 'window-bundles').locator('a', { hasText: '新生儿出生' }).click();
  const lookup = byTestId(page, 'bundle-window-lookup');
  await expectPresent(page, lookup, 'the applicant lookup');
  await expectAccessible(page, 'the window bundle lookup');
  // 李四: 460100 + 19900101 + 123 + the GB 11643 check character.
  const body = '46010019900101123';
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const id = body + '10X98765432'[[...body].reduce((a, c, i) => a + Number(c) * w[i], 0) % 11];
  await lookup.locator('input[name="id_number"]').fill(id);
  await submit(lookup);
  await expectPresent(page, byTestId(page, 'window-applicant'), 'the applicant at the window');
  assert.match(await text(byTestId(page, 'window-applicant')), /李四/);
  const form = byTestId(page, 'bundle-apply-form');
  for (const fs of await form.locator('fieldset[data-question]').all()) {
    const key = await fs.getAttribute('data-question');
    const choice = key === 'proxy' ? 'self' : null;
    await (choice ? fs.locator(`input[value="${choice}"]`) : fs.locator('input[type="radio"]').first()).check();
  }
  await fillForm(form);
  await expectAccessible(page, 'the window bundle application');
  await screenshot(page, 'bundles-window-form.png');
  s.allow(422, '/work/window/bundles/460100YJS0002');
  await press(page, byTestId(page, 'bundle-apply-submit'));
  await expectPresent(page, byTestId(page, 'bundle-status'), 'the bundle case taken at the window');
  const m = await members(page);
  assert.equal(m.csyxzm.state, 'started', 'the birth certificate starts at once');
  assert.equal(m.hkdj.state, 'waiting', 'the household registration waits for it');
  // One receipt for the whole bundle, listing every sub-case, sealed by the lead department.
  const receipt = byTestId(page, 'bundle-notices').locator('a[data-kind="receipt"]');
  await expectPresent(page, receipt, 'the one receipt');
  const pdf = await page.request.get(new URL(await receipt.getAttribute('href'), page.url()).href);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  await screenshot(page, 'bundles-window-taken.png');
});

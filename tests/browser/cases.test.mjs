// Browser journeys of yiwang's case handling (办件): the demo citizen 王小明, acting for
// 海口椰风食品有限公司, applies online for 食品经营许可 from the guide (the form comes
// prefilled from the enterprise's profile; the pre-check names a mistake beside its field);
// the window clerk asks once for a correction (一次性告知); the applicant corrects; the
// clerk accepts; the market regulator's reviewer passes it on and the approver grants it;
// the clerk delivers; the applicant downloads the sealed decision (PDF) and finds the
// licence in the wallet; and a window clerk takes a paper application for 李四 at the
// comprehensive window with the originals checked. Screenshots of each page. Drives Debian's chromium through
// playwright-core against a running `yiwang serve --demo`.
//
// Environment:
//   YIWANG_URL         base URL of the running server (required), e.g. http://127.0.0.1:8080
//   YIWANG_SERVER_LOG  file with the server's captured stdout (required: staff TOTP secrets
//                      are printed there as "demo account: <role> <login> totp …")
//   YIWANG_ARTIFACTS   directory for full-page PNG screenshots (default: tests/browser/artifacts/)
//   CHROMIUM           chromium executable (default: /usr/bin/chromium)
//
// The steps run in order and share state (the case made in step 1). Steps 1–6 make new
// cases, so their runs do not depend on one another; step 7 assigns the demo's overdue
// migrated case, so it runs once per fresh `serve --demo`. No timing assertions.

import assert from 'node:assert/strict';
import { BASE_URL, byTestId, expectAccessible, journey, open, screenshot, submit, text } from './helpers.mjs';

const TEST_TIMEOUT_MS = 120_000;
const CITIZEN = '13800138000'; // 王小明, agent of 海口椰风食品有限公司
const COMPANY = '海口椰风食品有限公司';
const PDF = Buffer.from('%PDF-1.4\n% yiwang browser test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

const shared = { code: null, caseId: null };
const j = journey({ timeout: TEST_TIMEOUT_MS, failedPrefix: 'failed-cases-' });
const { stepTest, expectPresent, staff } = j;
const citizen = (use) => j.citizen(use, CITIZEN, COMPANY);

async function caseState(page) {
  const st = byTestId(page, 'case-state');
  await expectPresent(page, st, 'the case state [data-testid="case-state"]');
  return st.getAttribute('data-state');
}

// Opens the case from the staff inbox and takes the action whose button is `button`.
async function staffCase(s) {
  await open(s.page, '/work/inbox');
  const link = byTestId(s.page, 'inbox').locator(`a[href="/work/cases/${shared.caseId}"]`);
  await expectPresent(s.page, link, `case ${shared.caseId} in the inbox`);
  await link.click();
  await expectPresent(s.page, byTestId(s.page, 'case-actions'), 'the case actions');
}

stepTest('1 the agent applies online from the guide; the pre-check names a mistake', async (use) => {
  const s = await citizen(use);
  const { page } = s;
  await open(page, '/services?q=' + encodeURIComponent('食品经营许可'));
  const hit = page.locator('a', { hasText: '食品经营许可' }).filter({ has: page.locator('b') });
  // The 海口 item: open results until the guide names 海口市市场监督管理局.
  const links = await page.locator('a[href^="/services/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  let found = null;
  for (const href of links) {
    if (!/^\/services\/[0-9A-Z]{31}$/.test(href)) continue;
    await open(page, href);
    const body = await page.content();
    if (body.includes('海口市市场监督管理局') && (await text(byTestId(page, 'guide-name'))) === '食品经营许可') {
      found = href;
      break;
    }
  }
  assert.ok(found, `the 海口 food business guide among ${links.join(', ')} (${await hit.count()} highlighted)`);
  shared.code = found.split('/').pop();
  await byTestId(page, 'apply-online').click();
  // The situation first: it decides which materials are asked for.
  const situation = byTestId(page, 'situation');
  await expectPresent(page, situation, 'the situation questions');
  await situation.locator('select[name="q.proxy"]').selectOption('self');
  await situation.locator('select[name="q.zhuanjian"]').selectOption('no');
  await submit(situation);
  const form = byTestId(page, 'apply-form');
  await expectPresent(page, form, 'the application form');
  // Prefilled from the enterprise's profile: asked once, never again.
  assert.equal(await form.locator('input[name="form.enterprise_name"]').inputValue(), COMPANY);
  assert.match(await form.locator('input[name="form.enterprise_uscc"]').inputValue(), /^[0-9A-Z]{18}$/);
  await form.locator('input[name="form.business_address"]').fill('海口市龙华区滨海大道 1 号');
  await form.locator('select[name="form.food_business_type"]').selectOption('餐饮服务经营者');
  await form.locator('input[name="form.business_area"]').fill('80');
  await form.locator('input[name="form.applicant_phone"]').fill('138-abc'); // not a phone number
  for (const key of ['sqs', 'bjt', 'zd', 'aqy', 'zjsm', 'wtsh', 'dlrsfz']) {
    const input = form.locator(`input[name="upload.${key}"]`);
    if ((await input.count()) === 0) continue;
    await input.setInputFiles({ name: `${key}.pdf`, mimeType: 'application/pdf', buffer: PDF });
  }
  // The business licence comes from the wallet (免提交).
  const how = form.locator('select[name="how.yyzz"]');
  if ((await how.count()) > 0) await how.selectOption('licence');
  s.allow(422, `/services/${shared.code}/apply`);
  await byTestId(page, 'apply-submit').click();
  const err = page.locator('[data-error-for="form.applicant_phone"]');
  await expectPresent(page, err, 'the phone error beside its field');
  await screenshot(page, 'cases-apply-error.png');
  // The uploads were kept: the corrected form goes without choosing the files again.
  const again = byTestId(page, 'apply-form');
  assert.ok((await byTestId(page, 'kept-sqs').count()) > 0, 'the uploaded application form is kept');
  await again.locator('input[name="form.applicant_phone"]').fill('13800138000');
  await screenshot(page, 'cases-apply-form.png');
  await byTestId(page, 'apply-submit').click();
  await expectPresent(page, byTestId(page, 'case-done'), 'the submitted case page');
  shared.caseId = await text(byTestId(page, 'case-id'));
  assert.match(shared.caseId, /^460100000000\d{8}\d{6}$/);
  assert.equal(await caseState(page), 'submitted');
  await expectPresent(page, byTestId(page, 'notices').locator('a[data-kind="receipt"]'), 'the receipt');
  await screenshot(page, 'cases-submitted.png');
});

stepTest('2 the window clerk asks once for a correction', async (use) => {
  assert.ok(shared.caseId, 'step 1 made a case');
  const s = await staff(use, 'hk.clerk', 'window_clerk');
  await staffCase(s);
  await screenshot(s.page, 'cases-clerk-case.png');
  // The correction form sits behind its disclosure; the keyboard opens it.
  await byTestId(s.page, 'correction-details').locator('summary').focus();
  await s.page.keyboard.press('Enter');
  const form = byTestId(s.page, 'correction-form');
  await form.locator('textarea[name="items"]').fill('食品经营许可申请书：缺法定代表人签字\n经营场所平面布局图：未标明专间位置');
  await byTestId(form, 'act-request-correction').click();
  assert.equal(await caseState(s.page), 'correcting');
});

stepTest('3 the applicant sees every correction at once and corrects', async (use) => {
  const s = await citizen(use);
  const { page } = s;
  await open(page, '/me/cases');
  const row = byTestId(page, 'my-cases').locator(`tr[data-case="${shared.caseId}"]`);
  await expectPresent(page, row.locator('[data-testid="waiting-on-me"]'), 'the case waiting on me');
  await screenshot(page, 'cases-my-cases.png');
  await row.locator('a').first().click();
  const box = byTestId(page, 'correction');
  await expectPresent(page, box, 'the correction request');
  assert.equal(await box.locator('li').count(), 2, 'both corrections are listed');
  await box.locator('input[name="upload.sqs"]').setInputFiles({ name: 'sqs-signed.pdf', mimeType: 'application/pdf', buffer: Buffer.concat([PDF, Buffer.from('% signed\n')]) });
  await screenshot(page, 'cases-correction.png');
  await byTestId(page, 'correct-submit').click();
  assert.equal(await caseState(page), 'submitted');
});

stepTest('4 the clerk accepts; the regulator reviews and grants; the clerk delivers', async (use) => {
  const clerk = await staff(use, 'hk.clerk', 'window_clerk');
  await staffCase(clerk);
  await byTestId(clerk.page, 'act-accept').click();
  assert.equal(await caseState(clerk.page), 'accepted');
  await expectPresent(clerk.page, byTestId(clerk.page, 'due-on'), 'the due date');
  await clerk.page.locator('[data-testid="deadline-arithmetic"] summary').click();
  await screenshot(clerk.page, 'cases-accepted.png');

  const rev = await staff(use, 'hk.scjg.reviewer', 'reviewer');
  await staffCase(rev);
  const cf = byTestId(rev.page, 'complete-form');
  await cf.locator('textarea[name="opinion"]').fill('材料齐全，符合法定条件');
  await byTestId(cf, 'act-complete').click();
  await expectPresent(rev.page, byTestId(rev.page, 'case-done'), 'the review done');

  const dec = await staff(use, 'hk.scjg.approver', 'approver');
  await staffCase(dec);
  await screenshot(dec.page, 'cases-decide.png');
  await byTestId(dec.page, 'act-approve').click();
  // A decision is confirmed before it is made: nothing happens until then.
  await expectPresent(dec.page, byTestId(dec.page, 'confirm'), 'the question to confirm the decision');
  assert.equal(await caseState(dec.page), 'accepted');
  await screenshot(dec.page, 'cases-decide-confirm.png');
  await byTestId(dec.page, 'confirm-yes').click();
  assert.equal(await caseState(dec.page), 'decided');
  await expectPresent(dec.page, byTestId(dec.page, 'case-licence'), 'the licence issued with the decision');

  await staffCase(clerk);
  const df = byTestId(clerk.page, 'deliver-form');
  await df.locator('select[name="method"]').selectOption('electronic');
  await byTestId(df, 'act-deliver').click();
  assert.equal(await caseState(clerk.page), 'concluded');
});

stepTest('5 the applicant downloads the sealed decision and finds the licence in the wallet', async (use) => {
  const s = await citizen(use);
  const { page } = s;
  await open(page, `/me/cases/${shared.caseId}`);
  assert.equal(await caseState(page), 'concluded');
  const approval = byTestId(page, 'notices').locator('a[data-kind="approval"]');
  await expectPresent(page, approval, 'the decision notice');
  const pdf = await page.request.get(BASE_URL + (await approval.getAttribute('href')));
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');
  const timeline = await byTestId(page, 'timeline').locator('li').evaluateAll((l) => l.map((x) => x.getAttribute('data-event')));
  assert.deepEqual(timeline, ['submitted', 'correction_requested', 'corrected', 'accepted', 'step_completed', 'decided', 'delivered', 'concluded']);
  await screenshot(page, 'cases-concluded.png');
  await byTestId(page, 'case-licence').click();
  await expectPresent(page, byTestId(page, 'licence-face').locator('svg'), 'the licence in the wallet');
  await screenshot(page, 'cases-wallet-licence.png');
});

stepTest('6 the window clerk takes an application on paper for a registered citizen (一窗受理)', async (use) => {
  assert.ok(shared.code, 'step 1 found the item');
  const s = await staff(use, 'hk.clerk', 'window_clerk');
  const { page } = s;
  await byTestId(page, 'nav-window').click();
  const lookup = byTestId(page, 'window-lookup');
  await expectPresent(page, lookup, 'the window lookup form');
  // 李四: 460100 + 19900101 + 123 + the GB 11643 check character.
  const body = '46010019900101123';
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const id = body + '10X98765432'[[...body].reduce((a, c, i) => a + Number(c) * w[i], 0) % 11];
  await lookup.locator('input[name="id_number"]').fill(id);
  // The clerk names the item in words, not by its 31-character code; where several items
  // of that name may be taken here, the window offers them to pick from.
  await lookup.locator('input[name="item"]').fill('食品经营许可');
  await byTestId(lookup, 'window-start').click();
  await expectPresent(
    page,
    byTestId(page, 'window-applicant').or(byTestId(page, 'item-choices')),
    'the applicant at the window, or the items to pick from',
  );
  if ((await byTestId(page, 'item-choices').count()) > 0) {
    await screenshot(page, 'cases-window-pick.png');
    await byTestId(page, 'item-choices').locator(`a[href*="item=${shared.code}"]`).click();
  }
  await expectPresent(page, byTestId(page, 'window-applicant'), 'the applicant at the window');
  assert.match(await text(byTestId(page, 'window-applicant')), /李四/);
  const situation = byTestId(page, 'situation');
  await situation.locator('select[name="q.proxy"]').selectOption('self');
  await situation.locator('select[name="q.zhuanjian"]').selectOption('no');
  await submit(situation);
  const form = byTestId(page, 'apply-form');
  await expectPresent(page, form, 'the window application form');
  const fill = async (name, value) => {
    const f = form.locator(`[name="form.${name}"]`);
    if ((await f.evaluate((e) => e.tagName)) === 'SELECT') await f.selectOption(value);
    else await f.fill(value);
  };
  await fill('enterprise_name', '海口李四小吃店');
  await fill('enterprise_uscc', '91460100MA5T00001L');
  await fill('legal_representative', '李四');
  await fill('business_address', '海口市美兰区海甸岛 2 号');
  await fill('food_business_type', '餐饮服务经营者');
  await fill('business_area', '30');
  await fill('applicant_phone', '13900139000');
  for (const key of await form.locator('tr[data-material]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-material')))) {
    await form.locator(`select[name="how.${key}"]`).selectOption('paper');
    await form.locator(`input[name="originals.${key}"]`).check();
  }
  await screenshot(page, 'cases-window-form.png');
  await byTestId(page, 'apply-submit').click();
  assert.equal(await caseState(page), 'submitted');
  assert.match(await page.locator('main').innerText(), /窗口申报/);
  await expectPresent(page, byTestId(page, 'notices').locator('a[data-kind="receipt"]'), 'the receipt to hand over');
  const checked = await byTestId(page, 'originals').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-checked')));
  assert.ok(checked.length > 0 && checked.every((c) => c === 'yes'), `every original recorded as checked: ${checked}`);
  await screenshot(page, 'cases-window-taken.png');
});

stepTest('7 an overdue case turns red; the reviewer assigns it to a named colleague (分办)', async (use) => {
  // The demo takes over cases from the previous platform with their real dates
  // (历史办件迁移): one is past its promised limit.
  const rev = await staff(use, 'hk.scjg.reviewer', 'reviewer');
  const { page } = rev;
  await open(page, '/work/inbox');
  const red = byTestId(page, 'inbox').locator('tr[data-light="red"]');
  await expectPresent(page, red.first(), 'an overdue (red) case in the inbox');
  const lights = await byTestId(page, 'inbox').locator('tr[data-light]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-light')));
  assert.equal(lights[0], 'red', `the overdue case comes first: ${lights}`);
  assert.ok(lights.includes('yellow') && lights.includes('green'), `every light is shown: ${lights}`);
  const color = await red.first().locator('.light').evaluate((e) => getComputedStyle(e).backgroundColor);
  assert.notEqual(color, 'rgba(0, 0, 0, 0)', 'the red light is painted');
  await screenshot(page, 'cases-inbox-lights.png');
  // A page at a time: one row a page, 下一页 to the next, 第一页 back.
  await open(page, '/work/inbox?limit=1');
  const rows = () => byTestId(page, 'inbox').locator('tr[data-case]');
  assert.equal(await rows().count(), 1, 'one case on a page of one');
  const firstCase = await rows().first().getAttribute('data-case');
  await expectPresent(page, byTestId(page, 'next-page'), 'the link to the next page');
  await byTestId(page, 'next-page').click();
  await expectPresent(page, byTestId(page, 'first-page'), 'the link back to the first page');
  assert.equal(await rows().count(), 1);
  assert.notEqual(await rows().first().getAttribute('data-case'), firstCase, 'the next page shows the next case');
  await expectAccessible(page, 'the second page of the inbox');
  await screenshot(page, 'cases-inbox-paged.png');
  await open(page, '/work/inbox');
  await red.first().locator('a').click();
  await expectPresent(page, byTestId(page, 'case-light'), 'the case light');
  assert.equal(await byTestId(page, 'case-light').getAttribute('data-light'), 'red');
  assert.match(await text(byTestId(page, 'timeline')), /历史办件迁移/);
  const af = byTestId(page, 'assign-form');
  await expectPresent(page, af, 'the assign form');
  await af.locator('select[name="to"]').selectOption({ label: '市场监管审查员二' });
  await byTestId(af, 'act-assign').click();
  await expectPresent(page, byTestId(page, 'case-handler'), 'the officer in charge');
  assert.match(await text(byTestId(page, 'case-handler')), /市场监管审查员二/);
  // 首问负责: now it is the colleague's; the reviewer is no longer offered its actions.
  await expectPresent(page, byTestId(page, 'handled-by-other'), 'the note that the officer in charge acts');
  assert.equal(await byTestId(page, 'complete-form').count(), 0, 'no pass-on form for the reviewer who gave the case away');
  assert.equal(await byTestId(page, 'act-claim').count(), 0, 'no claim button on a case in hand');
  await screenshot(page, 'cases-overdue-assigned.png');
});

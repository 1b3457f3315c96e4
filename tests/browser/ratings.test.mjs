// Browser journey of 好差评 (ratings): a window clerk takes a paper application for 李四 for
// an instant item (即办件: decided on acceptance) and delivers it; 李四 finds the invitation to
// rate on the concluded case and rates it 2 stars (差评) with a reason; the handling
// department's officer sees the bad rating (never who gave it), records the call-back and a
// fix with a deadline, then the fix; 李四 sees the outcome under 我的评价 and answers that he
// is satisfied; the public board shows the figures and the fix; the clerk asks for a rating at
// the counter (tablet and phone sizes, no login, once). Screenshots of each page;
// new pages pass axe-core. Drives Debian's chromium
// through playwright-core against a running `yiwang serve --demo`.
//
// Environment: as cases.test.mjs (YIWANG_URL, YIWANG_SERVER_LOG, YIWANG_ARTIFACTS, CHROMIUM).
// The steps run in order and share state (the case made in step 1).

import assert from 'node:assert/strict';
import { BASE_URL, byTestId, expectAccessible, fillForm as fill, journey, open, screenshot, submit, text } from './helpers.mjs';

const TEST_TIMEOUT_MS = 120_000;
const CITIZEN = '13900139000'; // 李四
// 城乡居民基本医疗保险参保登记 of 海口市医疗保障局: a 即办件 whose approver follows up its ratings.
const ITEM = '城乡居民基本医疗保险参保登记';
const OFFICER = 'hk.yb.approver';

const shared = { caseId: null, hall: null };
const j = journey({ timeout: TEST_TIMEOUT_MS, failedPrefix: 'failed-ratings-', stateIds: ['case-state', 'task-state'] });
const { stepTest, expectPresent, staff } = j;
const citizen = (use) => j.citizen(use, CITIZEN);

// Clicks a button that submits a form and waits for the answer page.
async function press(page, locator) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
}

async function caseState(page) {
  const st = byTestId(page, 'case-state');
  await expectPresent(page, st, 'the case state');
  return st.getAttribute('data-state');
}

const fillForm = (form) => fill(form, { number: '1', phone: '13900139000', address: '海口市美兰区海甸岛 2 号', text: '李四' });

stepTest('1 a window clerk takes and concludes an instant case for 李四', async (use) => {
  const s = await staff(use, 'hk.clerk', 'window_clerk');
  const { page } = s;
  await open(page, '/work/window');
  const lookup = byTestId(page, 'window-lookup');
  await expectPresent(page, lookup, 'the window lookup form');
  // 李四: 460100 + 19900101 + 123 + the GB 11643 check character.
  const body = '46010019900101123';
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const id = body + '10X98765432'[[...body].reduce((a, c, i) => a + Number(c) * w[i], 0) % 11];
  await lookup.locator('input[name="id_number"]').fill(id);
  await lookup.locator('input[name="item"]').fill(ITEM);
  await byTestId(lookup, 'window-start').click();
  await expectPresent(page, byTestId(page, 'window-applicant').or(byTestId(page, 'item-choices')), 'the applicant or the items');
  if ((await byTestId(page, 'item-choices').count()) > 0) {
    await byTestId(page, 'item-choices').locator('a').first().click();
  }
  await expectPresent(page, byTestId(page, 'window-applicant'), 'the applicant at the window');
  const situation = byTestId(page, 'situation');
  if ((await situation.count()) > 0) {
    for (const sel of await situation.locator('select[name^="q."]').all()) {
      const opts = await sel.locator('option').evaluateAll((os) => os.map((o) => o.value).filter((v) => v));
      await sel.selectOption(opts[0]);
    }
    await submit(situation);
  }
  const form = byTestId(page, 'apply-form');
  await expectPresent(page, form, 'the window application form');
  await fillForm(form);
  for (const key of await form.locator('tr[data-material]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-material')))) {
    await form.locator(`select[name="how.${key}"]`).selectOption('paper');
    await form.locator(`input[name="originals.${key}"]`).check();
  }
  await press(page, byTestId(page, 'apply-submit'));
  assert.equal(await caseState(page), 'submitted');
  shared.caseId = (await text(byTestId(page, 'case-id'))).trim();
  // 即办件: accepted and decided at once; then handed over, and the case ends.
  await press(page, byTestId(page, 'act-accept'));
  assert.equal(await caseState(page), 'decided');
  await press(page, byTestId(page, 'act-deliver'));
  assert.equal(await caseState(page), 'concluded');
});

stepTest('2 李四 rates the concluded case 2 stars with a reason', async (use) => {
  assert.ok(shared.caseId, 'step 1 made a case');
  const c = await citizen(use);
  const { page } = c;
  await open(page, `/me/cases/${shared.caseId}`);
  await expectPresent(page, byTestId(page, 'rate-invite'), 'the invitation to rate');
  await byTestId(page, 'rate-link').click();
  const form = byTestId(page, 'rating-form');
  await expectPresent(page, form, 'the rating form');
  await expectAccessible(page, 'the rating page');
  await screenshot(page, 'ratings-form.png');
  // A bad rating without a reason is refused, the level kept.
  await form.locator('input[name="level"][value="2"]').check();
  c.allow(422, `/me/cases/${shared.caseId}/rate`);
  await press(page, byTestId(form, 'rating-submit'));
  await expectPresent(page, byTestId(page, 'errors').locator('[data-rule="rating.reason_required"]'), 'the reason asked for');
  const again = byTestId(page, 'rating-form');
  assert.equal(await again.locator('input[name="level"][value="2"]').isChecked(), true, 'the level kept');
  await again.locator('input[name="option"][value="many_trips"]').check();
  await again.locator('select[name="dim.efficiency"]').selectOption('2');
  await again.locator('textarea[name="text"]').fill('材料要求没有说清楚，跑了两趟');
  await press(page, byTestId(again, 'rating-submit'));
  const mine = byTestId(page, 'my-rating').filter({ has: page.locator(`a[href="/me/cases/${shared.caseId}"]`) });
  await expectPresent(page, mine, 'the rating among mine');
  assert.equal(await byTestId(mine, 'my-rating-level').getAttribute('data-level'), '2');
  assert.equal(await byTestId(mine, 'my-rating-task').getAttribute('data-state'), 'calling_back');
  await expectAccessible(page, 'my ratings');
  await screenshot(page, 'ratings-mine.png');
  // Rated once: the case no longer invites a rating.
  await open(page, `/me/cases/${shared.caseId}`);
  assert.equal(await byTestId(page, 'rate-invite').count(), 0);
});

stepTest('3 the department calls back and fixes by a deadline; the rater is not named', async (use) => {
  const s = await staff(use, OFFICER, 'approver');
  const { page } = s;
  await open(page, '/work/rating-tasks');
  const row = byTestId(page, 'rating-tasks').locator('tr', { hasText: shared.caseId });
  await expectPresent(page, row, 'the bad rating among the department\'s tasks');
  await expectAccessible(page, 'the follow-up tasks');
  await screenshot(page, 'ratings-tasks.png');
  await row.locator('a').first().click();
  await expectPresent(page, byTestId(page, 'task-facts'), 'the task');
  assert.doesNotMatch(await text(byTestId(page, 'task-facts')), /李四/, 'staff never see who rated');
  // For the call-back the officer asks how to reach the rater (recorded in 李四's data-use log).
  await press(page, byTestId(page, 'contact-show'));
  assert.match(await text(byTestId(page, 'contact-shown')), /李四.*13900139000/);
  const cb = byTestId(page, 'call-back-form');
  await cb.locator('textarea[name="note"]').fill('电话回访：申请人反映材料说明不清');
  await press(page, byTestId(cb, 'call-back-submit'));
  assert.equal(await byTestId(page, 'task-state').getAttribute('data-state'), 'resolving');
  const rs = byTestId(page, 'resolve-form');
  await rs.locator('input[name="outcome"][value="deadline"]').check();
  const due = new Date(Date.now() + 10 * 86400_000).toISOString().slice(0, 10);
  await rs.locator('input[name="due_on"]').fill(due);
  await rs.locator('textarea[name="note"]').fill('将修订办事指南的材料说明');
  await press(page, byTestId(rs, 'resolve-submit'));
  assert.equal(await byTestId(page, 'task-state').getAttribute('data-state'), 'fixing');
  await expectAccessible(page, 'a follow-up task');
  await screenshot(page, 'ratings-task-fixing.png');
  const fx = byTestId(page, 'fixed-form');
  await fx.locator('textarea[name="note"]').fill('办事指南已修订发布');
  await press(page, byTestId(fx, 'fixed-submit'));
  assert.equal(await byTestId(page, 'task-state').getAttribute('data-state'), 'closed');
  assert.equal(await byTestId(page, 'task-history').locator('li').count(), 3);
});

stepTest('4 李四 sees the outcome and answers that he is satisfied', async (use) => {
  const { page } = await citizen(use);
  await open(page, '/me/ratings');
  const mine = byTestId(page, 'my-rating').filter({ has: page.locator(`a[href="/me/cases/${shared.caseId}"]`) });
  await expectPresent(page, mine, 'the rating');
  assert.equal(await byTestId(mine, 'my-rating-task').getAttribute('data-state'), 'closed');
  assert.match(await text(mine), /办事指南已修订发布/);
  await press(page, byTestId(mine, 'feedback-submit'));
  const after = byTestId(page, 'my-rating').filter({ has: page.locator(`a[href="/me/cases/${shared.caseId}"]`) });
  assert.equal(await byTestId(after, 'feedback-form').count(), 0, 'answered once');
  assert.match(await text(after), /满意/);
  await screenshot(page, 'ratings-answered.png');
});

stepTest('5 the public board shows the department, its figures and the fix, never the rater', async (use) => {
  const s = use(await j.newSession());
  const { page } = s;
  await open(page, '/ratings/board?region=460100');
  const total = byTestId(page, 'board-total');
  await expectPresent(page, total, 'the overall figures');
  assert.ok(Number(await text(byTestId(page, 'board-count'))) >= 1, 'the rating is counted');
  const row = byTestId(page, 'board-rows').locator('tr', { hasText: '海口市医疗保障局' });
  await expectPresent(page, row, 'the department that served');
  const fixes = byTestId(page, 'board-fixes');
  await expectPresent(page, fixes, 'the recent fixes');
  assert.match(await text(fixes), /办事指南已修订发布/);
  assert.doesNotMatch(await page.locator('main').innerText(), /李四/, 'raters are never published');
  await expectAccessible(page, 'the ratings board');
  await screenshot(page, 'ratings-board.png');
  // A department's items.
  await row.locator('a').first().click();
  await expectPresent(page, byTestId(page, 'board-rows').locator('tr', { hasText: '城乡居民基本医疗保险参保登记' }), 'the item');
});

stepTest('6 the clerk asks for a rating at the counter: the tablet and the phone (一次一评)', async (use) => {
  const s = await staff(use, 'hk.clerk', 'window_clerk');
  await open(s.page, `/work/cases/${shared.caseId}`);
  const form = byTestId(s.page, 'pad-open-form');
  await expectPresent(s.page, form, 'the counter rating button');
  // On the counter the form opens the rating in a window of its own; here, in the same page.
  await form.evaluate((f) => f.removeAttribute('target'));
  // The clerk names the window they serve at: the hall and the window are rated with them.
  const win = byTestId(form, 'pad-window');
  await expectPresent(s.page, win, 'the window choice');
  const windows = await win.locator('option').evaluateAll((os) => os.map((o) => ({ v: o.value, t: o.textContent })));
  const a01 = windows.find((o) => o.v && /海口市政务服务中心/.test(o.t) && /A01/.test(o.t)) || windows.find((o) => o.v);
  assert.ok(a01, `a window to choose: ${JSON.stringify(windows)}`);
  shared.hall = a01.t.split(' ')[0];
  await win.selectOption(a01.v);
  await press(s.page, byTestId(form, 'pad-open'));
  await expectPresent(s.page, byTestId(s.page, 'pad-form'), 'the counter rating');
  const padPath = new URL(s.page.url()).pathname;
  // The person's phone and the counter tablet, neither logged in.
  const phone = use(await j.newSession({ viewport: { width: 390, height: 844 }, isMobile: true }));
  await open(phone.page, padPath);
  await expectPresent(phone.page, byTestId(phone.page, 'pad-levels'), 'the levels on a phone');
  await expectAccessible(phone.page, 'the counter rating on a phone');
  await screenshot(phone.page, 'ratings-pad-phone.png');
  const tablet = use(await j.newSession({ viewport: { width: 1024, height: 768 }, isMobile: true }));
  await open(tablet.page, padPath);
  const pf = byTestId(tablet.page, 'pad-form');
  await expectPresent(tablet.page, pf, 'the counter rating on the tablet');
  await expectAccessible(tablet.page, 'the counter rating on a tablet');
  await screenshot(tablet.page, 'ratings-pad-tablet.png');
  await pf.locator('input[name="level"][value="5"]').check();
  await pf.locator('input[name="option"][value="friendly"]').check();
  await pf.locator('select[name="dim.attitude"]').selectOption('5');
  await press(tablet.page, byTestId(pf, 'pad-submit'));
  await expectPresent(tablet.page, byTestId(tablet.page, 'pad-done'), 'thanks');
  // Once: the phone's page now says so.
  phone.allow(410, padPath);
  assert.equal((await phone.page.goto(BASE_URL + padPath)).status(), 410, 'gone once used');
  await expectPresent(phone.page, byTestId(phone.page, 'errors').locator('[data-rule="rating.pad_used"]'), 'rated already');
  // The clerk's case page no longer offers it; the rating names the window.
  await open(s.page, `/work/cases/${shared.caseId}`);
  assert.equal(await byTestId(s.page, 'pad-open-form').count(), 0);
  assert.match(await text(byTestId(s.page, 'case-ratings')), /5\/5/);
});

stepTest('7 the board by hall and by window clerk shows the counter rating', async (use) => {
  const s = use(await j.newSession());
  const { page } = s;
  await open(page, '/ratings/board?region=460100&by=hall');
  const row = byTestId(page, 'board-rows').locator('tr', { hasText: shared.hall });
  await expectPresent(page, row, 'the hall the rating was given at');
  await expectAccessible(page, 'the ratings board by hall');
  await screenshot(page, 'ratings-board-hall.png');
  await byTestId(page, 'board-by').selectOption('clerk');
  await press(page, byTestId(page, 'board-filters').locator('button[type="submit"]'));
  // hk.clerk, 陈小窗, served 李四 at the counter.
  const clerk = byTestId(page, 'board-rows').locator('tr', { hasText: '陈小窗' });
  await expectPresent(page, clerk, 'the window clerk who served');
  assert.doesNotMatch(await page.locator('main').innerText(), /李四/, 'raters are never published');
  await screenshot(page, 'ratings-board-clerk.png');
  // A grouping that does not exist is refused on its field.
  s.allow(422, '/ratings/board');
  assert.equal((await page.goto(BASE_URL + '/ratings/board?by=weather')).status(), 422);
});

stepTest('8 the province supervisor publishes a new option set and sees the overdue follow-ups', async (use) => {
  const s = await staff(use, 'hn.supervisor', 'supervisor');
  const { page } = s;
  await open(page, '/work/rating-tasks');
  await press(page, byTestId(page, 'manage-options'));
  const form = byTestId(page, 'options-form');
  await expectPresent(page, form, 'the option set');
  const before = Number(await text(byTestId(page, 'options-version')));
  await expectAccessible(page, 'the option set page');
  await screenshot(page, 'ratings-options.png');
  // A new row without levels is refused on its row; nothing is published.
  const blank = await form.locator('tr[data-row]').evaluateAll((rows) =>
    rows.filter((r) => !r.querySelector('input[name^="key."]').value).map((r) => r.getAttribute('data-row')));
  const i = blank[0];
  await form.locator(`input[name="key.${i}"]`).fill('queue_long');
  await form.locator(`input[name="zh.${i}"]`).fill('排队时间长');
  await form.locator(`input[name="en.${i}"]`).fill('long queue');
  s.allow(422, '/admin/rating-options');
  await press(page, byTestId(form, 'options-publish'));
  await expectPresent(page, byTestId(page, 'errors').locator('[data-rule="rating.level"]'), 'levels required');
  assert.equal(Number(await text(byTestId(page, 'options-version'))), before);
  await expectAccessible(page, 'the option set page with its errors');
  await screenshot(page, 'ratings-options-error.png');
  await byTestId(page, 'options-form').locator(`input[name="level.${i}"][value="2"]`).check();
  await byTestId(page, 'options-form').locator(`input[name="level.${i}"][value="1"]`).check();
  await press(page, byTestId(page, 'options-publish'));
  await expectPresent(page, byTestId(page, 'done'), 'published');
  assert.equal(Number(await text(byTestId(page, 'options-version'))), before + 1);
  assert.equal(await byTestId(page, 'options-form').locator(`input[name="zh.${i}"]`).inputValue(), '排队时间长');
  // The overdue follow-ups of the province (督办): a list of its own.
  await open(page, '/work/rating-tasks?overdue=true');
  await expectPresent(page, byTestId(page, 'task-lists'), 'the lists');
  await expectAccessible(page, 'the overdue follow-ups');
  await screenshot(page, 'ratings-overdue.png');
});

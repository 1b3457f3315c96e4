// Browser journey of 12345 (接诉即办): a person sends a request on the public page and gets a
// number; the agent answers an enquiry taken by phone at once from the console, then
// dispatches the person's complaint to the unit the dispatch catalogue suggests; the unit's
// officer answers; the agent's call-back finds it unresolved and reopens it; the unit answers
// again; the second call-back closes it; the person follows it by number and phone. Each new
// page passes axe-core; screenshots at desktop and phone sizes. Drives Debian's chromium
// through playwright-core against a running `yiwang serve --demo`.
//
// Environment: as cases.test.mjs (YIWANG_URL, YIWANG_SERVER_LOG, YIWANG_ARTIFACTS, CHROMIUM).

import assert from 'node:assert/strict';
import { BASE_URL, byTestId, expectAccessible, journey, open, screenshot, text } from './helpers.mjs';

const PHONE = '13812345678';
const shared = { id: null };
const j = journey({ timeout: 120_000, failedPrefix: 'failed-hotline-', stateIds: ['ticket-state', 'progress-state'] });
const { stepTest, expectPresent, staff } = j;

async function press(page, locator) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
}

async function state(page) {
  return byTestId(page, 'ticket-state').getAttribute('data-state');
}

stepTest('1 a person sends a request on a phone and gets a number', async (use) => {
  const s = use(await j.newSession({ viewport: { width: 390, height: 844 }, isMobile: true }));
  const { page } = s;
  await open(page, '/hotline');
  const form = byTestId(page, 'hotline-form');
  await expectPresent(page, form, 'the request form');
  await expectAccessible(page, 'the 12345 page');
  // An empty matter is refused by its field, the rest kept.
  await form.locator('select[name="category"]').selectOption('complaint');
  await form.locator('select[name="region_code"]').selectOption('460105');
  await form.locator('input[name="caller_name"]').fill('张先生');
  await form.locator('input[name="caller_phone"]').fill(PHONE);
  await form.locator('textarea[name="content"]').evaluate((t) => t.removeAttribute('required'));
  s.allow(422, '/hotline');
  await press(page, byTestId(form, 'hotline-submit'));
  await expectPresent(page, byTestId(page, 'errors').locator('[data-field="content"]'), 'the matter asked for');
  const again = byTestId(page, 'hotline-form');
  assert.equal(await again.locator('input[name="caller_name"]').inputValue(), '张先生');
  await again.locator('textarea[name="content"]').fill('秀英区某小区连续三天停水，水压很低，没有任何通知');
  await press(page, byTestId(again, 'hotline-submit'));
  shared.id = (await text(byTestId(page, 'ticket-number'))).trim();
  assert.match(shared.id, /^\d{13}$/);
  await screenshot(page, 'hotline-submitted-phone.png');
});

stepTest('2 the agent answers an enquiry at once and dispatches the complaint', async (use) => {
  assert.ok(shared.id, 'step 1 made a ticket');
  const s = await staff(use, 'hk.hotline', 'hotline_agent');
  const { page } = s;
  await open(page, '/work/hotline');
  const intake = byTestId(page, 'intake-form');
  await expectPresent(page, intake, 'the intake form');
  await expectAccessible(page, 'the agent console');
  await screenshot(page, 'hotline-console.png');
  await intake.locator('select[name="category"]').selectOption('consult');
  await intake.locator('select[name="region_code"]').selectOption('460100');
  await intake.locator('textarea[name="content"]').fill('医保异地就医怎么备案？');
  await intake.locator('input[name="caller_name"]').fill('李女士');
  await intake.locator('input[name="caller_phone"]').fill('0898-66668888');
  await press(page, byTestId(intake, 'intake-submit'));
  assert.equal(await state(page), 'received');
  const answer = byTestId(page, 'answer-form');
  await answer.locator('textarea[name="answer"]').fill('可在国家医保服务平台 App 办理异地就医备案，当场生效。');
  await press(page, byTestId(answer, 'answer-submit'));
  assert.equal(await state(page), 'closed');
  // The complaint from the board: the catalogue suggests the water bureau.
  await open(page, '/work/hotline');
  await byTestId(page, 'board-received').locator(`a[href="/work/hotline/tickets/${shared.id}"]`).click();
  await expectPresent(page, byTestId(page, 'suggested'), 'the suggested unit');
  assert.match(await text(byTestId(page, 'suggested')), /海口市水务局/);
  assert.match(await text(byTestId(page, 'ticket-caller')), /张先生/);
  await expectAccessible(page, 'a ticket to dispatch');
  await screenshot(page, 'hotline-ticket-dispatch.png');
  const d = byTestId(page, 'dispatch-form');
  assert.match(await d.locator('select[name="department_id"] option').first().textContent(), /海口市水务局/);
  await press(page, byTestId(d, 'dispatch-submit'));
  assert.equal(await state(page), 'dispatched');
  assert.match(await text(byTestId(page, 'ticket-unit')), /海口市水务局/);
});

stepTest('3 the water bureau answers; the call-back finds it unresolved and reopens it', async (use) => {
  const unit = await staff(use, 'hk.sw.hotline', 'hotline_officer');
  await open(unit.page, '/work/hotline/inbox');
  const row = byTestId(unit.page, 'unit-tickets').locator(`tr[data-ticket="${shared.id}"]`);
  await expectPresent(unit.page, row, 'the ticket in the inbox');
  await expectAccessible(unit.page, 'the unit inbox');
  await screenshot(unit.page, 'hotline-inbox.png');
  await row.locator('a').first().click();
  const reply = byTestId(unit.page, 'reply-form');
  await reply.locator('textarea[name="reply"]').fill('已安排检修，今日恢复供水。');
  await press(unit.page, byTestId(reply, 'reply-submit'));
  assert.equal(await state(unit.page), 'replied');
  const agent = await staff(use, 'hk.hotline', 'hotline_agent');
  await open(agent.page, `/work/hotline/tickets/${shared.id}`);
  const cb = byTestId(agent.page, 'call-back-form');
  await cb.locator('input[name="resolved"][value="no"]').check();
  await cb.locator('input[name="satisfaction"][value="unsatisfied"]').check();
  await press(agent.page, byTestId(cb, 'call-back-submit'));
  assert.equal(await state(agent.page), 'closed');
  const ro = byTestId(agent.page, 'reopen-form');
  await ro.locator('textarea[name="reason"]').fill('群众反映仍未恢复供水');
  await press(agent.page, byTestId(ro, 'reopen-submit'));
  assert.equal(await state(agent.page), 'dispatched');
  await open(unit.page, `/work/hotline/tickets/${shared.id}`);
  const again = byTestId(unit.page, 'reply-form');
  await again.locator('textarea[name="reply"]').fill('管网抢修完成，已恢复正常供水，并将提前通知停水。');
  await press(unit.page, byTestId(again, 'reply-submit'));
  await open(agent.page, `/work/hotline/tickets/${shared.id}`);
  const cb2 = byTestId(agent.page, 'call-back-form');
  await cb2.locator('input[name="satisfaction"][value="satisfied"]').check();
  await press(agent.page, byTestId(cb2, 'call-back-submit'));
  assert.equal(await state(agent.page), 'closed');
  assert.equal(await byTestId(agent.page, 'ticket-history').locator('li').count(), 7);
  await screenshot(agent.page, 'hotline-ticket-closed.png');
});

stepTest('4 the person follows it by number and phone', async (use) => {
  const s = use(await j.newSession());
  const { page } = s;
  await open(page, `/hotline/follow?id=${shared.id}&phone=${PHONE}`);
  await expectPresent(page, byTestId(page, 'progress'), 'the progress');
  assert.equal(await byTestId(page, 'progress-state').getAttribute('data-state'), 'closed');
  assert.match(await text(byTestId(page, 'progress-reply')), /恢复正常供水/);
  await expectAccessible(page, 'the follow page');
  await screenshot(page, 'hotline-follow.png');
  s.allow(404, '/hotline/follow');
  assert.equal((await page.goto(`${BASE_URL}/hotline/follow?id=${shared.id}&phone=13900000000`)).status(), 404);
  await expectPresent(page, byTestId(page, 'not-found'), 'a wrong phone finds nothing');
});

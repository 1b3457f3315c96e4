// Browser journey of 12345 (接诉即办): a person sends a request on the public page and gets a
// number; the agent looks up the knowledge base beside the intake form, closes an enquiry
// taken by phone at once from a knowledge-base article, takes a second call on the same
// outage and merges it into the first complaint (并单), and dispatches the complaint — to
// the wrong unit, which sends it back (退单); the agent reassigns it (改派) to the water
// bureau, whose officer answers; the agent's call-back finds it unresolved and reopens it;
// the unit answers again; the second call-back closes it; both callers follow it by number
// and phone. The water bureau writes a knowledge-base article, the centre publishes it, the
// public FAQ finds it. The centre's hotspot page shows the service levels, the region map,
// rising words, the spike in 美兰区 and the weekly report from the demo's six weeks of
// history. Each new page passes axe-core; screenshots at desktop and phone sizes. Drives Debian's chromium
// through playwright-core against a running `yiwang serve --demo`.
//
// Environment: as cases.test.mjs (YIWANG_URL, YIWANG_SERVER_LOG, YIWANG_ARTIFACTS, CHROMIUM).

import assert from 'node:assert/strict';
import { BASE_URL, byTestId, expectAccessible, journey, open, screenshot, text } from './helpers.mjs';

const PHONE = '13812345678';
const REPEAT_PHONE = '13698765432';
const shared = { id: null, repeat: null };
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

stepTest('2 the agent answers an enquiry from the knowledge base, merges a repeat, dispatches', async (use) => {
  assert.ok(shared.id, 'step 1 made a ticket');
  const s = await staff(use, 'hk.hotline', 'hotline_agent');
  const { page } = s;
  await open(page, '/work/hotline');
  // The knowledge base beside the intake form.
  const kb = byTestId(page, 'console-kb');
  await kb.locator('input[name="q"]').fill('社保卡丢了怎么办');
  await press(page, kb.locator('button[type="submit"]'));
  await expectPresent(page, byTestId(page, 'console-kb').locator('.kb-hit').first(), 'an article beside the form');
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
  const hit = byTestId(page, 'kb-answers').locator('[data-article]').first();
  await expectPresent(page, hit, 'an article for the enquiry');
  await expectAccessible(page, 'an enquiry with the knowledge base');
  await screenshot(page, 'hotline-enquiry-kb.png');
  await press(page, byTestId(hit, 'answer-from-article'));
  assert.equal(await state(page), 'closed');
  assert.match(await text(byTestId(page, 'ticket-history')), /引用知识/);
  // A second call on the same outage: offered as a repeat of the first complaint and merged.
  await open(page, '/work/hotline');
  const again = byTestId(page, 'intake-form');
  await again.locator('select[name="category"]').selectOption('complaint');
  await again.locator('select[name="region_code"]').selectOption('460105');
  await again.locator('textarea[name="content"]').fill('秀英区某小区停水三天了，水压低，一直没有通知');
  await again.locator('input[name="caller_name"]').fill('王先生');
  await again.locator('input[name="caller_phone"]').fill(REPEAT_PHONE);
  await press(page, byTestId(again, 'intake-submit'));
  shared.repeat = (await text(byTestId(page, 'ticket-id'))).trim();
  const dup = byTestId(page, 'duplicates').locator(`[data-duplicate="${shared.id}"]`);
  await expectPresent(page, dup, 'the first complaint offered as the same matter');
  await expectAccessible(page, 'a ticket with a possible repeat');
  await screenshot(page, 'hotline-duplicate.png');
  await press(page, byTestId(dup, 'merge-submit'));
  assert.equal(await state(page), 'merged');
  // The complaint from the board: the catalogue suggests the water bureau; the agent sends
  // it to the city law enforcement bureau instead.
  await open(page, '/work/hotline');
  await byTestId(page, 'board-received').locator(`a[href="/work/hotline/tickets/${shared.id}"]`).click();
  await expectPresent(page, byTestId(page, 'suggested'), 'the suggested unit');
  assert.match(await text(byTestId(page, 'suggested')), /海口市水务局/);
  assert.match(await text(byTestId(page, 'ticket-caller')), /张先生/);
  await expectPresent(page, byTestId(page, 'merged'), 'the merged repeat');
  await expectAccessible(page, 'a ticket to dispatch');
  await screenshot(page, 'hotline-ticket-dispatch.png');
  const d = byTestId(page, 'dispatch-form');
  assert.match(await d.locator('select[name="department_id"] option').first().textContent(), /海口市水务局/);
  const wrong = await d
    .locator('select[name="department_id"] option', { hasText: '海口市综合行政执法局' })
    .first()
    .getAttribute('value');
  await d.locator('select[name="department_id"]').selectOption(wrong);
  await press(page, byTestId(d, 'dispatch-submit'));
  assert.equal(await state(page), 'dispatched');
  assert.match(await text(byTestId(page, 'ticket-unit')), /综合行政执法局/);
});

stepTest('3 sent back and reassigned; the water bureau answers; the call-back reopens it', async (use) => {
  const zf = await staff(use, 'hk.zf.hotline', 'hotline_officer');
  await open(zf.page, `/work/hotline/tickets/${shared.id}`);
  const dispute = byTestId(zf.page, 'dispute-form');
  await dispute.locator('textarea[name="reason"]').fill('供水问题不属本局职责，应由水务部门办理');
  await press(zf.page, byTestId(dispute, 'dispute-submit'));
  assert.equal(await state(zf.page), 'disputed');
  const centre = await staff(use, 'hk.hotline', 'hotline_agent');
  await open(centre.page, `/work/hotline/tickets/${shared.id}`);
  const re = byTestId(centre.page, 'dispatch-form');
  assert.match(await re.locator('select[name="department_id"] option').first().textContent(), /海口市水务局/);
  await press(centre.page, byTestId(re, 'dispatch-submit'));
  assert.equal(await state(centre.page), 'dispatched');
  assert.match(await text(byTestId(centre.page, 'ticket-unit')), /海口市水务局/);
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
  assert.equal(await byTestId(agent.page, 'ticket-history').locator('li').count(), 9);
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
  // The merged repeat's caller gets the same answer.
  await open(page, `/hotline/follow?id=${shared.repeat}&phone=${REPEAT_PHONE}`);
  await expectPresent(page, byTestId(page, 'progress-merged'), 'handled together');
  assert.match(await text(byTestId(page, 'progress-reply')), /恢复正常供水/);
});

stepTest('5 the water bureau writes an article, the centre publishes it, the public finds it', async (use) => {
  const unit = await staff(use, 'hk.sw.hotline', 'hotline_officer');
  await open(unit.page, '/work/hotline/knowledge');
  const form = byTestId(unit.page, 'kb-new-form');
  await expectPresent(unit.page, form, 'the new-article form');
  await expectAccessible(unit.page, 'the knowledge base page');
  await form.locator('input[name="title"]').fill('水表坏了找谁换？');
  await form.locator('textarea[name="body"]').fill('拨打供水服务热线报修，供水公司 2 个工作日内上门免费更换水表。');
  await form.locator('input[name="region_code"]').fill('460100');
  await form.locator('input[name="keywords"]').fill('水表，报修');
  await press(unit.page, byTestId(form, 'kb-new-submit'));
  await expectPresent(unit.page, byTestId(unit.page, 'article-versions').locator('[data-state="submitted"]'), 'version 1 to review');
  assert.equal(await byTestId(unit.page, 'review-form').count(), 0, 'its author does not review it');
  await screenshot(unit.page, 'hotline-article-submitted.png');
  const agent = await staff(use, 'hk.hotline', 'hotline_agent');
  await open(agent.page, '/work/hotline/knowledge');
  await press(agent.page, byTestId(agent.page, 'kb-queue').locator('a', { hasText: '水表坏了找谁换' }).first());
  await expectAccessible(agent.page, 'an article to review');
  await press(agent.page, byTestId(byTestId(agent.page, 'review-form'), 'review-submit'));
  await expectPresent(agent.page, byTestId(agent.page, 'article-versions').locator('[data-state="published"]'), 'published');
  const pub = use(await j.newSession({ viewport: { width: 390, height: 844 }, isMobile: true }));
  await open(pub.page, '/hotline/faq?q=' + encodeURIComponent('水表坏了怎么办'));
  await expectPresent(pub.page, byTestId(pub.page, 'faq-results').locator('.kb-hit', { hasText: '水表坏了找谁换' }), 'the article');
  await expectAccessible(pub.page, 'the public FAQ');
  await screenshot(pub.page, 'hotline-faq-phone.png');
});

stepTest('6 the centre reads its hotspots and service levels', async (use) => {
  const agent = await staff(use, 'hk.hotline', 'hotline_agent');
  const { page } = agent;
  await open(page, '/work/hotline');
  await press(page, byTestId(page, 'figures-link'));
  await expectPresent(page, byTestId(page, 'service-levels').locator('[data-level="answered"]'), 'the service levels');
  await expectPresent(page, byTestId(page, 'region-map').locator('svg g[data-tile]').first(), 'the region map');
  await expectPresent(page, byTestId(page, 'rising').locator('[data-term]').first(), 'a rising word');
  await expectPresent(page, byTestId(page, 'spikes'), 'the spike of water complaints');
  assert.match(await text(byTestId(page, 'spikes')), /美兰区/);
  await expectAccessible(page, 'the hotspot page');
  await screenshot(page, 'hotline-figures.png');
  await open(page, '/work/hotline/figures?days=30');
  await expectPresent(page, byTestId(page, 'weekly').locator('tbody tr').first(), 'last week by unit');
});

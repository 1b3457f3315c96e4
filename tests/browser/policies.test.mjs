// Browser journey of 免申即享: the 海口市民政局's policy officer asks for the data a new
// benefit needs (户籍 granted at once as unconditional; 残疾人证 answered by the provincial
// 残联's data officer); writes the rule (a misspelt attribute refused with its position),
// runs the dry run and submits; a reviewer of 海口 publishes; 王小明 finds the benefit under
// 惠民政策 with every condition explained, is refused without consent, confirms with consent
// and a bank card and sees it pending payment; 李四 sees why he does not qualify for the
// longevity allowance; 王小明's data-use log shows the reads with the policy's purpose.
// Screenshots of each page; new pages pass axe-core.
//
// Environment: as cases.test.mjs (YIWANG_URL, YIWANG_SERVER_LOG, YIWANG_ARTIFACTS, CHROMIUM).
// The steps run in order and share state.

import assert from 'node:assert/strict';
import { byTestId, expectAccessible, journey, open, screenshot, text } from './helpers.mjs';

const TEST_TIMEOUT_MS = 120_000;
const WANG = '13800138000'; // 王小明: 海口 household, disability level 2 (demo data)
const LISI = '13900139000'; // 李四: 36 years old
const OFFICER = 'hk.policy';
const REVIEWER = 'hk.policy.review';
const DATA_OFFICER = 'hn.cl.data';
const CODE = 'canji-jiaotong';
const NAME = '残疾人交通补贴';
const PURPOSE = '残疾人交通补贴免申即享资格比对';

const shared = { policyId: null };
const j = journey({ timeout: TEST_TIMEOUT_MS, failedPrefix: 'failed-policies-', stateIds: ['state'] });
const { stepTest, expectPresent, staff } = j;

async function press(page, locator) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
}

function isoDate(days) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

stepTest('1 the policy officer asks for 户籍 and 残疾人证 data for the purpose', async (use) => {
  const s = await staff(use, OFFICER, 'policy_officer');
  const { page } = s;
  await open(page, '/work/data');
  await expectPresent(page, byTestId(page, 'resources'), 'the data catalogue');
  await expectAccessible(page, 'the data-sharing page');
  await screenshot(page, 'policies-data-catalogue.png');
  for (const [resource, fields] of [['hukou', 'region'], ['disability', 'level']]) {
    const form = byTestId(page, 'request-form');
    await form.locator('select[name="resource"]').selectOption(resource);
    await form.locator('input[name="fields"]').fill(fields);
    await form.locator('input[name="purpose"]').fill(PURPOSE);
    await form.locator('input[name="legal_basis"]').fill('《残疾人保障法》第四十八条');
    await form.locator('input[name="valid_until"]').fill(isoDate(365));
    await press(page, form.locator('button[type="submit"]'));
    await expectPresent(page, byTestId(page, 'notice'), `the request for ${resource} recorded`);
  }
  const made = await text(byTestId(page, 'made'));
  assert.match(made, /已批准|approved/, 'the unconditional 户籍 data is granted at once');
  assert.match(made, /待审核|awaiting/, 'the 残疾人证 data waits for its owner');
});

stepTest('2 the 残联 data officer approves the request', async (use) => {
  const s = await staff(use, DATA_OFFICER, 'data_officer');
  const { page } = s;
  await open(page, '/work/data');
  const req = page.locator('article.request').filter({ hasText: PURPOSE });
  await expectPresent(page, req, 'the request to answer');
  await screenshot(page, 'policies-data-request.png');
  await press(page, byTestId(req, 'approve'));
  const answered = page.locator('article.request').filter({ hasText: PURPOSE });
  await expectPresent(page, answered, 'the answered request');
  assert.match(await text(byTestId(answered, 'status')), /已批准|approved/);
});

stepTest('3 the officer writes the rule, runs the dry run and submits', async (use) => {
  const s = await staff(use, OFFICER, 'policy_officer');
  const { page } = s;
  await open(page, '/work/policies/new');
  const form = byTestId(page, 'policy-form');
  await expectPresent(page, form, 'the policy editor');
  await form.locator('input[name="code"]').fill(CODE);
  await form.locator('input[name="name"]').fill(NAME);
  await form.locator('input[name="name_en"]').fill('Transport allowance for disabled persons');
  await form.locator('select[name="mode"]').selectOption('direct');
  // A misspelt attribute: refused at save, with its line and column.
  await byTestId(form, 'rule').fill("hukou.region.startsWith('46') && disability.levle <= 4");
  await byTestId(form, 'amount').fill('6000');
  await form.locator('input[name="period_from"]').fill(isoDate(-1));
  await form.locator('input[name="period_until"]').fill(isoDate(300));
  await form.locator('input[name="legal_basis"]').fill('《残疾人保障法》第四十八条');
  await form.locator('input[name="purpose"]').fill(PURPOSE);
  await form.locator('textarea[name="summary"]').fill('持残疾人证的本省户籍残疾人，每月领取交通补贴 60 元。');
  s.allow(422, '/work/policies');
  await press(page, byTestId(form, 'save'));
  const err = byTestId(page, 'errors').locator('[data-rule="rule.unknown_attribute"]');
  await expectPresent(page, err, 'the misspelt attribute named');
  assert.match(await text(err), /第 1 行第 \d+ 列|line 1, column \d+/);
  await expectAccessible(page, 'the policy editor with its problems');
  await screenshot(page, 'policies-rule-error.png');
  const again = byTestId(page, 'policy-form');
  await byTestId(again, 'rule').fill("hukou.region.startsWith('46') && disability.level <= 4");
  await press(page, byTestId(again, 'save'));
  await expectPresent(page, byTestId(page, 'state'), 'the saved draft');
  shared.policyId = new URL(page.url()).pathname.split('/').pop();
  await press(page, byTestId(page, 'run-dry-run'));
  await expectPresent(page, byTestId(page, 'dry-run'), 'the dry run');
  assert.ok(Number(await text(byTestId(page, 'dry-eligible'))) >= 1, 'someone qualifies');
  assert.equal((await text(byTestId(page, 'dry-failed'))).trim(), '0');
  await expectAccessible(page, 'the policy with its dry run');
  await screenshot(page, 'policies-dry-run.png');
  await press(page, byTestId(page, 'submit'));
  assert.equal(await byTestId(page, 'state').innerText().then((t) => t.trim()), '待审核');
});

stepTest('4 a reviewer of 海口 publishes it', async (use) => {
  assert.ok(shared.policyId, 'step 3 made a policy');
  const s = await staff(use, REVIEWER, 'policy_reviewer');
  const { page } = s;
  await open(page, '/work/policies');
  await page.locator(`[data-testid="policy-${CODE}"] a`).click();
  await expectPresent(page, byTestId(page, 'publish'), 'the publish button');
  await press(page, byTestId(page, 'publish'));
  await expectPresent(page, byTestId(page, 'published'), 'the published version');
  await screenshot(page, 'policies-published.png');
});

stepTest('5 王小明 sees why he qualifies, confirms with consent and is to be paid', async (use) => {
  const c = await j.citizen(use, WANG);
  const { page } = c;
  await open(page, '/me/policies');
  const card = byTestId(page, `policy-${CODE}`);
  await expectPresent(page, card, 'the new benefit among his');
  assert.equal(await card.getAttribute('data-outcome'), 'eligible');
  const rows = card.locator('[data-testid="conditions"] tbody tr');
  assert.equal(await rows.count(), 2, 'each condition explained');
  assert.equal(await rows.nth(1).getAttribute('data-met'), 'true');
  assert.match(await text(rows.nth(1)), /残疾等级 = 2/);
  assert.match(await text(rows.nth(1)), /disability/);
  await expectAccessible(page, 'benefits for you');
  await screenshot(page, 'policies-for-you.png');
  // Without consent: refused, nothing paid.
  const form = byTestId(card, 'confirm-form');
  await form.locator('input[name="account"]').fill('6222020200112233446');
  c.allow(422, `/me/policies/${shared.policyId}/confirm`);
  await press(page, byTestId(form, 'confirm'));
  await expectPresent(page, byTestId(page, 'errors').locator('[data-rule="disbursement.consent"]'), 'consent asked for');
  const again = byTestId(byTestId(page, `policy-${CODE}`), 'confirm-form');
  await again.locator('input[name="account"]').fill('6222020200112233446');
  await again.locator('input[name="consent"]').check();
  await press(page, byTestId(again, 'confirm'));
  const paid = byTestId(byTestId(page, `policy-${CODE}`), 'disbursed');
  await expectPresent(page, paid, 'the confirmed grant');
  assert.match(await text(paid), /3446/);
  assert.doesNotMatch(await text(paid), /6222020200112233446/);
  await screenshot(page, 'policies-confirmed.png');
});

stepTest('6 李四 sees why he does not qualify for the longevity allowance', async (use) => {
  const c = await j.citizen(use, LISI);
  const { page } = c;
  await open(page, '/me/policies');
  const card = byTestId(page, 'policy-gaoling-jintie');
  await expectPresent(page, card, 'the longevity allowance');
  assert.equal(await card.getAttribute('data-outcome'), 'ineligible');
  const first = card.locator('[data-testid="conditions"] tbody tr').first();
  assert.equal(await first.getAttribute('data-met'), 'false');
  assert.match(await text(first), /年龄|age/);
  await screenshot(page, 'policies-not-eligible.png');
});

stepTest("7 王小明's data-use log shows the reads with the policy's purpose", async (use) => {
  const c = await j.citizen(use, WANG);
  const { page } = c;
  const row = byTestId(page, 'data-use-row').filter({ hasText: PURPOSE });
  for (let i = 0; i < 30; i++) {
    await open(page, '/account');
    if ((await row.count()) > 0) break;
    await page.waitForTimeout(500);
  }
  await expectPresent(page, row.first(), 'the read for the new benefit');
  assert.match(await text(row.first()), /残疾人证信息·残疾等级/);
  await screenshot(page, 'policies-data-use.png');
});

stepTest('8 王小明 applies in one click for the care allowance (即申即享): a prefilled draft to check', async (use) => {
  const c = await j.citizen(use, WANG);
  const { page } = c;
  await open(page, '/me/policies');
  const card = byTestId(page, 'policy-canji-huli');
  await expectPresent(page, card, 'the care allowance');
  assert.equal(await card.getAttribute('data-outcome'), 'eligible');
  await press(page, byTestId(card, 'one-click'));
  assert.match(new URL(page.url()).pathname, /^\/services\/[0-9A-Z]+\/apply$/);
  const draft = new URL(page.url()).searchParams.get('draft');
  assert.ok(draft, 'the prefilled application is kept as a draft');
  const name = page.locator('input[name="form.applicant_name"]');
  await expectPresent(page, name, 'the prefilled form');
  assert.equal(await name.inputValue(), '王小明');
  assert.equal(await page.locator('input[name="form.applicant_id_number"]').inputValue(), '11010519491231002X');
  await expectAccessible(page, 'the prefilled one-click application');
  await screenshot(page, 'policies-one-click.png');
  // Asked again, the same draft opens: never two.
  await open(page, '/me/policies');
  await press(page, byTestId(byTestId(page, 'policy-canji-huli'), 'one-click'));
  assert.equal(new URL(page.url()).searchParams.get('draft'), draft);
});

stepTest('9 acting for 海口椰风食品有限公司, 王小明 sees the business policies it qualifies for, with why', async (use) => {
  const c = await j.citizen(use, WANG, '海口椰风食品有限公司');
  const { page } = c;
  await open(page, '/me/policies');
  await expectPresent(page, byTestId(page, 'acting-enterprise'), 'the enterprise named');
  const card = byTestId(page, 'policy-huiqi-wenjiuye');
  await expectPresent(page, card, 'the employment subsidy for creditworthy enterprises');
  assert.equal(await card.getAttribute('data-outcome'), 'eligible');
  assert.match(await text(byTestId(card, 'conditions')), /纳税信用级别|tax credit grade/);
  assert.equal(await byTestId(page, 'policy-gaoling-jintie').count(), 0, 'no benefit for persons here');
  assert.match(await text(byTestId(page, 'profile')), /参保职工|headcount|employ/i);
  await expectAccessible(page, "the enterprise's policies");
  await screenshot(page, 'policies-enterprise.png');
});

stepTest("10 the policy officer sees 王小明's data under the grant, and only that", async (use) => {
  const s = await staff(use, OFFICER, 'policy_officer');
  const { page } = s;
  await open(page, '/work/data');
  const form = byTestId(page, 'profile-form');
  await expectPresent(page, form, 'the staff profile form');
  await form.locator('input[name="subject"]').fill('11010519491231002X');
  await form.locator('select[name="purpose"]').selectOption(PURPOSE);
  await press(page, form.locator('button[type="submit"]'));
  const dis = byTestId(page, 'profile-disability');
  await expectPresent(page, dis, 'the granted disability data');
  assert.match(await text(dis), /残疾等级/);
  assert.doesNotMatch(await text(dis), /残疾类别/, 'only the granted field');
  await expectAccessible(page, "a subject's data under the grant");
  await screenshot(page, 'policies-staff-profile.png');
});

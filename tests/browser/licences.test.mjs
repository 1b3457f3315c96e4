// Browser test of yiwang's e-licences: a licence officer of 海口市市场监督管理局 issues a
// health certificate (食品从业人员健康证明) to the demo citizen 李四 on /licences; 李四 finds
// it in the wallet (/wallet), opens it and shows it (亮证, a presentation QR code); anyone's
// verification page (/verify) shows it valid; the officer revokes it (吊销) and the
// verification page then shows it not valid, with the reason. Screenshots of each page.
// Drives Debian's chromium through playwright-core against a running `yiwang serve --demo`.
//
// Environment:
//   YIWANG_URL         base URL of the running server (required), e.g. http://127.0.0.1:8080
//   YIWANG_SERVER_LOG  file with the server's captured stdout (required: the officer's TOTP
//                      secret is printed there as "demo account: licence_officer hk.licence totp …")
//   YIWANG_ARTIFACTS   directory for full-page PNG screenshots (default: tests/browser/artifacts/)
//   CHROMIUM           chromium executable (default: /usr/bin/chromium)
//
// The steps run in order and share state (the licence issued in step 1). Each run issues a
// new licence (and revokes it), so runs do not depend on one another. No timing assertions.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL,
  DEMO_PASSWORD,
  byTestId,
  demoTotpSecret,
  launchBrowser,
  makeStepTest,
  newSession as openSession,
  open,
  pageHelpers,
  screenshot,
  submit,
  text,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 120_000;
const OFFICER = 'hk.licence'; // licence_officer of 海口市市场监督管理局
const CITIZEN = { login: '13900139000', name: '李四' };
const HEALTH_CERT = '食品从业人员健康证明';

// 李四's demo resident ID: 460100 + 19900101 + 123 + the GB 11643 check character.
function residentId(body) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, c, i) => s + Number(c) * w[i], 0);
  return body + '10X98765432'[sum % 11];
}
const CITIZEN_ID = residentId('46010019900101123');

const shared = { licenceId: null, officer: null };

let browser;
const sessions = [];
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  for (const s of sessions) await s.context.close().catch(() => {});
  await browser?.close();
});
const newSession = () => openSession(browser, sessions);
const stepTest = makeStepTest({ timeout: TEST_TIMEOUT_MS, failedPrefix: 'failed-licences-' });

async function describePage(page) {
  try {
    return await page.evaluate(() => {
      const h1 = document.querySelector('main h1, h1');
      const errors = [...document.querySelectorAll('[data-testid="errors"] li')].map(
        (li) => `${li.getAttribute('data-field') || '?'} ${li.getAttribute('data-rule') || '?'}: ${li.textContent.trim()}`,
      );
      const verdict = document.querySelector('[data-testid="verdict"]');
      return JSON.stringify({
        h1: h1 ? h1.textContent.trim() : null,
        title: document.title,
        verdict: verdict ? verdict.getAttribute('data-valid') : null,
        errors,
        body: (document.body?.innerText || '').slice(0, 400),
      });
    });
  } catch (err) {
    return `(page not readable: ${err.message})`;
  }
}

const { expectPresent, loginWithPassword, answerTotp } = pageHelpers(describePage);

async function officerSession(use) {
  if (shared.officer) return use(shared.officer);
  const s = use(await newSession());
  const asksTotp = await loginWithPassword(s, OFFICER, DEMO_PASSWORD);
  assert.equal(asksTotp, true, `expected the TOTP step for the staff account ${OFFICER}`);
  await answerTotp(s, demoTotpSecret(OFFICER, 'licence_officer'), null, OFFICER);
  shared.officer = s;
  return s;
}

// The verification page for the licence, as an anonymous visitor sees it.
async function verifyAnonymously(use, file) {
  const s = use(await newSession());
  await open(s.page, `/verify?id=${encodeURIComponent(shared.licenceId)}`);
  const verdict = byTestId(s.page, 'verdict');
  await expectPresent(s.page, verdict, 'the verification verdict [data-testid="verdict"]');
  await screenshot(s.page, file);
  return s;
}

stepTest('1 a licence officer issues a health certificate', async (use) => {
  const s = await officerSession(use);
  const { page } = s;
  await open(page, '/licences');
  const choice = byTestId(page, 'type-choice');
  await expectPresent(page, choice, 'the licence type choice [data-testid="type-choice"]');
  await choice.locator('select[name="type"]').selectOption({ label: HEALTH_CERT });
  await submit(choice);
  const form = byTestId(page, 'issue-form');
  await expectPresent(page, form, `the issuing form for ${HEALTH_CERT}`);
  // A mistake first: the wrong check character is named beside the field, nothing issued.
  s.allow(422, '/licences');
  await form.locator('input[name="holder_name"]').fill(CITIZEN.name);
  const wrong = CITIZEN_ID.slice(0, 17) + (CITIZEN_ID.endsWith('0') ? '1' : '0');
  await form.locator('input[name="holder_code"]').fill(wrong);
  await form.locator('input[name="face.gender"]').fill('男');
  await submit(form);
  await expectPresent(page, page.locator('[data-testid="errors"] li[data-field="holder_code"]'), 'the holder code error');
  assert.equal(
    await page.locator('input[name="holder_name"]').inputValue(),
    CITIZEN.name,
    'the form keeps what was typed',
  );
  await screenshot(page, 'licences-issue-error.png');
  const again = byTestId(page, 'issue-form');
  await again.locator('input[name="holder_code"]').fill(CITIZEN_ID);
  await submit(again);
  const link = byTestId(page, 'issued-link');
  await expectPresent(page, link, 'the issued licence link [data-testid="issued-link"]');
  shared.licenceId = await text(link);
  assert.match(shared.licenceId, /^1\.2\.156\.3005\.2\.[0-9A-Z]{21}\.[0-9A-Z]{18}\.\d+\.\d{3}\.[0-9A-Z]$/);
  await screenshot(page, 'licences-issued.png');
  await link.click();
  await expectPresent(page, byTestId(page, 'licence-face').locator('svg'), 'the licence face image');
  assert.equal(await text(byTestId(page, 'licence-status')), '有效');
  await screenshot(page, 'licences-officer-view.png');
  // The same again: the holder already holds it, so nothing is issued without a confirmation.
  await open(page, '/licences');
  await byTestId(page, 'type-choice').locator('select[name="type"]').selectOption({ label: HEALTH_CERT });
  await submit(byTestId(page, 'type-choice'));
  const twice = byTestId(page, 'issue-form');
  await twice.locator('input[name="holder_name"]').fill(CITIZEN.name);
  await twice.locator('input[name="holder_code"]').fill(CITIZEN_ID);
  await twice.locator('input[name="face.gender"]').fill('男');
  await submit(twice);
  await expectPresent(page, byTestId(page, 'confirm-duplicate'), 'the confirmation a duplicate licence asks for');
  await expectPresent(page, page.locator('[data-testid="errors"] li[data-rule="licence.duplicate"]'), 'the duplicate warning');
  await screenshot(page, 'licences-duplicate-warning.png');
});

stepTest('2 the holder sees it in the wallet and shows it', async (use) => {
  assert.ok(shared.licenceId, 'step 1 issued a licence');
  const s = use(await newSession());
  const asksTotp = await loginWithPassword(s, CITIZEN.login, DEMO_PASSWORD);
  assert.equal(asksTotp, false, 'a citizen logs in with the password alone');
  const { page } = s;
  await byTestId(page, 'nav-wallet').click();
  await expectPresent(page, byTestId(page, 'wallet'), 'the wallet');
  const card = page.locator(`a[href="/wallet/${shared.licenceId}"]`);
  await expectPresent(page, card, `the wallet card of ${shared.licenceId}`);
  assert.match(await card.innerText(), new RegExp(HEALTH_CERT));
  await screenshot(page, 'licences-wallet.png');
  await card.click();
  await expectPresent(page, byTestId(page, 'licence-face').locator('svg'), 'the licence face in the wallet');
  const pdf = await page.request.get(`${BASE_URL}/wallet/${shared.licenceId}/pdf`);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  await screenshot(page, 'licences-wallet-licence.png');
  await byTestId(page, 'present').click();
  await expectPresent(page, byTestId(page, 'present-qr').locator('svg'), 'the presentation QR code');
  const url = await byTestId(page, 'present-url').getAttribute('href');
  await screenshot(page, 'licences-present.png');
  // Whoever scans the code sees the licence and that it is valid.
  const v = use(await newSession());
  await v.page.goto(url, { waitUntil: 'load' });
  await expectPresent(v.page, byTestId(v.page, 'presented-face'), 'the presented licence');
  assert.equal(await byTestId(v.page, 'verdict').getAttribute('data-valid'), 'true');
  await screenshot(v.page, 'licences-presented.png');
});

stepTest('3 the public verification page shows it valid', async (use) => {
  const s = await verifyAnonymously(use, 'licences-verify-valid.png');
  assert.equal(await byTestId(s.page, 'verdict').getAttribute('data-valid'), 'true');
  assert.equal(await text(byTestId(s.page, 'verify-status')), '有效');
  const failed = await s.page.locator('[data-testid="checks"] li.fail').count();
  assert.equal(failed, 0, 'every check passes');
  // The holder's ID number is masked for the public.
  assert.ok(!(await s.page.content()).includes(CITIZEN_ID), 'the full ID number is not shown');
});

stepTest('4 the officer revokes it and verification shows it revoked', async (use) => {
  const s = await officerSession(use);
  const { page } = s;
  await open(page, `/licences/${encodeURIComponent(shared.licenceId)}`);
  const form = byTestId(page, 'status-form');
  await expectPresent(page, form, 'the status form');
  await form.locator('select[name="status"]').selectOption('revoked');
  await form.locator('input[name="reason"]').fill('持证人健康检查不合格');
  await submit(form);
  await expectPresent(page, byTestId(page, 'licence-status'), 'the licence page after the change');
  assert.equal(await text(byTestId(page, 'licence-status')), '吊销');
  await screenshot(page, 'licences-revoked-officer.png');
  const v = await verifyAnonymously(use, 'licences-verify-revoked.png');
  assert.equal(await byTestId(v.page, 'verdict').getAttribute('data-valid'), 'false');
  assert.equal(await text(byTestId(v.page, 'verify-status')), '吊销');
  const failed = v.page.locator('[data-testid="checks"] li.fail[data-check="status"]');
  await expectPresent(v.page, failed, 'the failed status check');
});

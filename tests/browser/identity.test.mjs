// Browser test of yiwang's identity features: registration, TOTP enrolment and two-factor
// login, mandates (代办授权) and acting for a principal, a staff lookup of a person, and the
// person's own data-use log. Drives Debian's chromium through playwright-core against a
// running `yiwang serve --demo`.
//
// NOTE: scripts/test must export YIWANG_SERVER_LOG (the path of the captured stdout of
// `yiwang serve --demo`) for this file: the demo staff account hk.clerk logs in with a
// TOTP code, and its secret is only printed on the server's stdout, as a line like
//   demo account: window_clerk hk.clerk totp CVLCXERHEOMJLK4NHNQFEOFRD2HROLSU
//
// Environment:
//   YIWANG_URL         base URL of the running server (required), e.g. http://127.0.0.1:8080
//   YIWANG_SERVER_LOG  file with the server's captured stdout (required, see above)
//   YIWANG_ARTIFACTS   directory for full-page PNG screenshots (default: tests/browser/artifacts/)
//   CHROMIUM           chromium executable (default: /usr/bin/chromium)
//
// The tests in this file run in order and share state (the person registered first is used
// by all later steps). TOTP codes are computed by helpers.mjs (RFC 6238), which also holds
// the browser plumbing shared with the other browser tests; a code is accepted once per
// account, so a second login of the same account waits for the next 30-second step. No
// timing assertions: waits only bound how long we look for the expected state.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import {
  DEMO_PASSWORD,
  byTestId,
  demoSmsCode,
  expectAccessible,
  demoTotpSecret,
  freshTotp,
  launchBrowser,
  makeStepTest,
  newSession as openSession,
  open,
  pageHelpers,
  screenshot,
  submit,
  text,
} from './helpers.mjs';

// Generous: a step may wait up to two 30-second TOTP steps for a fresh code.
const TEST_TIMEOUT_MS = 120_000;

const DEMO_CITIZEN = { name: '王小明', login: '13800138000', idNumber: '11010519491231002X' };
const CLERK = { login: 'hk.clerk', name: '陈小窗' };
const PURPOSE = '核验申请人身份';

// ---------------------------------------------------------------------------
// Test data: a fresh person A (GB 11643-1999 resident ID, mobile number)
// ---------------------------------------------------------------------------

const RID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RID_CHECK = '10X98765432';

function residentIdCheckChar(body17) {
  const sum = [...body17].reduce((acc, d, i) => acc + Number(d) * RID_WEIGHTS[i], 0);
  return RID_CHECK[sum % 11];
}

function freshResidentId(region = '460100') {
  const year = randomInt(1965, 2001);
  const month = String(randomInt(1, 13)).padStart(2, '0');
  const day = String(randomInt(1, 29)).padStart(2, '0');
  const seq = String(randomInt(0, 1000)).padStart(3, '0');
  const body = `${region}${year}${month}${day}${seq}`;
  return body + residentIdCheckChar(body);
}

function freshMobile() {
  return '137' + String(randomInt(0, 100_000_000)).padStart(8, '0');
}

function freshName() {
  const given = '晓明华丽伟芳静敏强磊洋艳勇军杰娟涛超秀霞平刚桂英兰文辉健雪梅';
  const pick = () => given[randomInt(0, given.length)];
  return `林${pick()}${pick()}${pick()}`;
}

const personA = {
  name: freshName(),
  idNumber: freshResidentId(),
  phone: freshMobile(),
  address: '海南省海口市美兰区测试路 1 号',
  password: 'Yiwang#2026!',
  totpSecret: null, // set by the enrolment step
  lastTotpStep: null, // the last TOTP step accepted for A
  registered: false,
};

// ---------------------------------------------------------------------------
// Dates (the server's calendar is China Standard Time)
// ---------------------------------------------------------------------------

function todayInChina() {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date());
}

function oneYearAfter(isoDate) {
  const [y, m, d] = isoDate.split('-');
  const day = m === '02' && d === '29' ? '28' : d;
  return `${Number(y) + 1}-${m}-${day}`;
}

// ---------------------------------------------------------------------------
// Browser plumbing (helpers.mjs; same conventions as smoke.test.mjs)
// ---------------------------------------------------------------------------

let browser;
const sessions = [];
let sessionA = null; // person A's browser session, shared by the steps that act as A

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  for (const s of sessions) await s.context.close().catch(() => {});
  await browser?.close();
});

// A fresh browser context with one page (see newSession in helpers.mjs), closed at the end.
const newSession = () => openSession(browser, sessions);

// Runs `fn(use)` as a test; on failure saves `failed-<name>.png` of every page `fn` names via
// `use` (the last page used first). Asserts no unexpected errors on the pages used.
const stepTest = makeStepTest({ timeout: TEST_TIMEOUT_MS, failedPrefix: 'failed-' });

// What the page shows, for the failure messages of expectPresent and answerTotp.
async function describePage(page) {
  try {
    return await page.evaluate(() => {
      const h1 = document.querySelector('main h1, h1');
      const errors = [...document.querySelectorAll('[data-testid="errors"] li')].map(
        (li) => `${li.getAttribute('data-rule') || '?'}: ${li.textContent.trim()}`,
      );
      return JSON.stringify({
        lang: document.documentElement.getAttribute('lang'),
        h1: h1 ? h1.textContent.trim() : null,
        title: document.title,
        errors,
        body: (document.body?.innerText || '').slice(0, 400),
      });
    });
  } catch (err) {
    return `(page not readable: ${err.message})`;
  }
}

const { expectPresent, loginWithPassword, answerTotp } = pageHelpers(describePage);

function requireA() {
  assert.ok(personA.registered, 'person A was not registered (the registration step failed)');
  assert.ok(sessionA, 'person A has no browser session (the login step failed)');
  return sessionA;
}

// ---------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------

stepTest('1. a new person registers', async (use) => {
  const s = use(await newSession());
  const { page } = s;
  await open(page, '/register');
  const form = byTestId(page, 'register-form');
  await expectPresent(page, form, 'the registration form [data-testid="register-form"]');
  await form.locator('input[name="name"]').fill(personA.name);
  await form.locator('input[name="id_number"]').fill(personA.idNumber);
  await form.locator('input[name="phone"]').fill(personA.phone);
  await form.locator('input[name="address"]').fill(personA.address);
  // The number is proved by a text message (the demo server prints it).
  await byTestId(page, 'send-code').click();
  await expectPresent(page, byTestId(page, 'code-sent'), 'the notice [data-testid="code-sent"] after asking for a code');
  await screenshot(page, 'identity-register-code-sent.png');
  const code = await demoSmsCode(personA.phone, 'register');
  const again = byTestId(page, 'register-form');
  await again.locator('input[name="sms_code"]').fill(code);
  await again.locator('input[name="password"]').fill(personA.password);
  await again.locator('input[name="password2"]').fill(personA.password);
  await submit(again);
  await expectPresent(
    page,
    byTestId(page, 'registered'),
    `the confirmation [data-testid="registered"] after registering ${personA.name} ${personA.idNumber} ${personA.phone}`,
  );
  personA.registered = true;
  await screenshot(page, 'identity-register.png');
  await s.context.close();
});

stepTest('2. the person logs in and turns on two-factor login (TOTP)', async (use) => {
  assert.ok(personA.registered, 'person A was not registered (the registration step failed)');
  const s = use(await newSession());
  const { page } = s;
  const asksTotp = await loginWithPassword(s, personA.phone, personA.password);
  assert.equal(asksTotp, false, 'expected no TOTP step for a person who has not turned TOTP on');
  await expectPresent(page, byTestId(page, 'profile'), 'the profile section on /account after login');
  assert.equal(new URL(page.url()).pathname, '/account', `expected to land on /account, got ${page.url()}`);
  assert.ok(
    (await text(byTestId(page, 'profile'))).includes(personA.name),
    `expected the profile to show the name ${personA.name}`,
  );
  sessionA = s;

  const status = byTestId(byTestId(page, 'security'), 'totp-status');
  await expectPresent(page, status, 'the TOTP status [data-testid="totp-status"] in the security section');
  assert.equal(await text(status), '未启用', 'expected TOTP to be off (未启用) for a new person');
  await byTestId(page, 'enable-totp').first().click();
  await page.waitForURL((u) => u.pathname === '/account/totp');

  const secretEl = byTestId(page, 'totp-secret');
  await expectPresent(page, secretEl, 'the TOTP key [data-testid="totp-secret"] on /account/totp');
  const secret = await text(secretEl);
  assert.match(secret, /^[A-Z2-7]{16,}=*$/, `expected a base32 TOTP key, got "${secret}"`);
  assert.ok((await page.locator('.qr svg').count()) > 0, 'expected a QR code (svg) on /account/totp');

  const { step, code } = await freshTotp(secret, null);
  const form = byTestId(page, 'totp-form');
  await form.locator('input[name="totp_code"]').fill(code);
  await submit(form);
  await expectPresent(
    page,
    byTestId(page, 'totp-enabled'),
    `the confirmation [data-testid="totp-enabled"] after entering code ${code}`,
  );
  const codes = byTestId(page, 'recovery-codes').locator('li');
  assert.equal(await codes.count(), 10, 'expected 10 recovery codes after enrolment');
  const codeTexts = (await codes.allInnerTexts()).map((t) => t.trim());
  assert.equal(new Set(codeTexts).size, 10, `expected 10 distinct recovery codes, got ${codeTexts.join(', ')}`);
  personA.totpSecret = secret;
  personA.lastTotpStep = step;
  await screenshot(page, 'identity-totp.png');
});

stepTest('3. after logging out, logging in asks for the TOTP code', async (use) => {
  const s = use(requireA());
  const { page } = s;
  assert.ok(personA.totpSecret, 'TOTP was not enrolled (the enrolment step failed)');
  await open(page, '/account');
  await byTestId(page, 'logout').first().click();
  await expectPresent(page, page.locator('a[href^="/login"], [data-testid="login-form"]'), 'a way to log in after logging out');
  assert.equal(await byTestId(page, 'logout').count(), 0, 'expected no logout button after logging out');

  const asksTotp = await loginWithPassword(s, personA.phone, personA.password);
  assert.equal(asksTotp, true, 'expected the TOTP form [data-testid="second-form"] after enrolling TOTP');
  personA.lastTotpStep = await answerTotp(s, personA.totpSecret, personA.lastTotpStep, personA.name);
  assert.equal(new URL(page.url()).pathname, '/account', `expected to land on /account, got ${page.url()}`);
  const status = byTestId(page, 'totp-status');
  await expectPresent(page, status, 'the TOTP status [data-testid="totp-status"]');
  assert.equal(await text(status), '已启用', 'expected TOTP to be on (已启用) after enrolment');
});

stepTest('4. the person grants a mandate to 王小明', async (use) => {
  const s = use(requireA());
  const { page } = s;
  await open(page, '/account');
  const form = byTestId(page, 'grant-form');
  await expectPresent(page, form, 'the mandate form [data-testid="grant-form"] on /account');
  const from = (await form.locator('input[name="valid_from"]').inputValue()) || todayInChina();
  assert.match(from, /^\d{4}-\d{2}-\d{2}$/, `expected valid_from to default to a date, got "${from}"`);
  assert.equal(
    await form.locator('input[name="valid_until"]').getAttribute('type'),
    'date',
    'expected <input name="valid_until"> to be type="date"',
  );
  const until = oneYearAfter(from);
  await form.locator('input[name="grantee_name"]').fill(DEMO_CITIZEN.name);
  await form.locator('input[name="grantee_id_number"]').fill(DEMO_CITIZEN.idNumber);
  await form.locator('input[name="valid_from"]').fill(from);
  await form.locator('input[name="valid_until"]').fill(until);
  await submit(form);
  const given = byTestId(page, 'mandates-given').locator('tbody tr', { hasText: DEMO_CITIZEN.name });
  await expectPresent(
    page,
    given,
    `a row for ${DEMO_CITIZEN.name} in the given mandates [data-testid="mandates-given"] (valid ${from} – ${until})`,
  );
  const row = await text(given);
  assert.ok(row.includes(until), `expected the mandate row to show the end date ${until}, got "${row}"`);
  await screenshot(page, 'identity-mandate.png');
});

stepTest('5. 王小明 acts for the person', async (use) => {
  requireA();
  const s = use(await newSession());
  const { page } = s;
  const asksTotp = await loginWithPassword(s, DEMO_CITIZEN.login, DEMO_PASSWORD);
  assert.equal(asksTotp, false, `expected no TOTP step for the demo citizen ${DEMO_CITIZEN.name}`);
  await open(page, '/account');
  const received = byTestId(page, 'mandates-received').locator('tbody tr', { hasText: personA.name });
  await expectPresent(page, received, `a received mandate from ${personA.name} [data-testid="mandates-received"]`);
  const form = byTestId(page, 'acting-form');
  await expectPresent(page, form, 'the acting-for form [data-testid="acting-form"]');
  const select = byTestId(form, 'acting-select');
  const options = (await select.locator('option').allInnerTexts()).map((t) => t.trim());
  assert.ok(
    options.includes(personA.name),
    `expected ${personA.name} among the acting-for options, found: ${options.join(', ')}`,
  );
  await select.selectOption({ label: personA.name });
  await submit(form);
  const acting = byTestId(page, 'acting-for');
  await expectPresent(page, acting, `the acting-for notice [data-testid="acting-for"] after choosing ${personA.name}`);
  const shown = await text(acting);
  assert.ok(shown.includes(personA.name), `expected [data-testid="acting-for"] to name ${personA.name}, got "${shown}"`);
  await screenshot(page, 'identity-acting-for.png');
  await s.context.close();
});

stepTest('6. a window clerk looks the person up (masked)', async (use) => {
  requireA();
  const secret = demoTotpSecret(CLERK.login, 'window_clerk');
  const s = use(await newSession());
  const { page } = s;
  const asksTotp = await loginWithPassword(s, CLERK.login, DEMO_PASSWORD);
  assert.equal(asksTotp, true, `expected the TOTP step for the staff account ${CLERK.login}`);
  await answerTotp(s, secret, null, CLERK.login);

  await open(page, '/work/persons');
  const form = byTestId(page, 'lookup-form');
  await expectPresent(page, form, 'the lookup form [data-testid="lookup-form"] on /work/persons');
  await form.locator('input[name="id_number"]').fill(personA.idNumber);
  await form.locator('input[name="purpose"]').fill(PURPOSE);
  await submit(form);
  const person = byTestId(page, 'person');
  await expectPresent(page, person, `the person [data-testid="person"] found for ${personA.idNumber}`);
  assert.ok((await text(person)).includes(personA.name), `expected the lookup to show the name ${personA.name}`);
  const shownId = await text(byTestId(person, 'person-id'));
  assert.ok(shownId.includes('********'), `expected the resident ID to be masked (********), got "${shownId}"`);
  assert.notEqual(shownId, personA.idNumber, 'expected the resident ID not to be shown in full');
  assert.ok(
    shownId.startsWith(personA.idNumber.slice(0, 6)) && shownId.endsWith(personA.idNumber.slice(-4)),
    `expected the masked ID to keep the region code and the last 4 characters of ${personA.idNumber}, got "${shownId}"`,
  );
  await screenshot(page, 'identity-staff-lookup.png');
  await s.context.close();
});

stepTest('7. the person sees the lookup in the data-use log', async (use) => {
  const s = use(requireA());
  const { page } = s;
  await open(page, '/account');
  await page.reload({ waitUntil: 'load' });
  const row = byTestId(page, 'data-use-row').filter({ hasText: CLERK.name }).filter({ hasText: PURPOSE });
  await expectPresent(
    page,
    row,
    `a data-use row [data-testid="data-use-row"] naming ${CLERK.name} and the purpose ${PURPOSE}`,
  );
  await byTestId(page, 'data-use').first().scrollIntoViewIfNeeded();
  await screenshot(page, 'identity-data-use.png');
});

stepTest('8. registration with a wrong check digit names the rule resident_id.check_digit', async (use) => {
  const s = use(await newSession());
  const { page } = s;
  s.allow(422, '/register');
  s.allow(400, '/register');
  await open(page, '/register');
  const good = freshResidentId();
  const wrongCheck = RID_CHECK.replace(good[17], '')[randomInt(0, 10)];
  const bad = good.slice(0, 17) + wrongCheck;
  assert.notEqual(bad, good);
  const form = byTestId(page, 'register-form');
  await expectPresent(page, form, 'the registration form [data-testid="register-form"]');
  await form.locator('input[name="name"]').fill(freshName());
  await form.locator('input[name="id_number"]').fill(bad);
  await form.locator('input[name="phone"]').fill(freshMobile());
  await form.locator('input[name="password"]').fill(personA.password);
  await form.locator('input[name="password2"]').fill(personA.password);
  await submit(form);
  const rule = page.locator('[data-testid="errors"] [data-rule="resident_id.check_digit"]');
  await expectPresent(
    page,
    rule,
    `an error [data-rule="resident_id.check_digit"] in [data-testid="errors"] for the ID ${bad} (correct check character: ${good[17]})`,
  );
  const msg = await text(rule);
  assert.ok(msg.length > 0, 'expected the check-digit error to carry a message for the user');
  assert.ok(/[\u4e00-\u9fff]/.test(msg), `expected the check-digit error in Chinese, got "${msg}"`);
  assert.equal(
    await byTestId(page, 'registered').count(),
    0,
    'expected no "registered" confirmation for an ID with a wrong check digit',
  );
});

stepTest('9. the person forgot the password and sets a new one by text message (/recover)', async (use) => {
  assert.ok(personA.registered, 'person A was not registered (the registration step failed)');
  const s = use(await newSession());
  const { page } = s;
  await open(page, '/login');
  await page.locator('a[href="/recover"]').first().click();
  const form = byTestId(page, 'recover-form');
  await expectPresent(page, form, 'the recovery form [data-testid="recover-form"] behind the login page link');
  await expectAccessible(page, '/recover');
  await form.locator('input[name="phone"]').fill(personA.phone);
  await byTestId(page, 'send-code').click();
  await expectPresent(page, byTestId(page, 'code-sent'), 'the notice [data-testid="code-sent"] after asking for a code');
  const code = await demoSmsCode(personA.phone, 'recover');
  const again = byTestId(page, 'recover-form');
  const fresh = `${personA.password}-New9`;
  await again.locator('input[name="sms_code"]').fill(code);
  await again.locator('input[name="password"]').fill(fresh);
  await again.locator('input[name="password2"]').fill(fresh);
  await submit(again);
  await expectPresent(page, byTestId(page, 'password-reset'), 'the confirmation [data-testid="password-reset"]');
  await screenshot(page, 'identity-recovered.png');
  personA.password = fresh;
  // The new password is taken (the person turned on TOTP in step 2, so it asks for the code).
  const t = use(await newSession());
  assert.equal(await loginWithPassword(t, personA.phone, fresh), true, 'the new password leads to the TOTP step');
});

stepTest('10. the registration page passes an accessibility check', async (use) => {
  const s = use(await newSession());
  await open(s.page, '/register');
  await expectAccessible(s.page, '/register');
});

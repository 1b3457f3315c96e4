// Shared helpers of the browser tests in this directory (smoke.test.mjs, identity.test.mjs,
// catalog.test.mjs): the environment, chromium, browser contexts and sessions, page helpers,
// password + TOTP login, and the demo accounts' TOTP secrets. Not a test file itself (the
// runner only picks up *.test.mjs).
//
// Environment (read here, documented in each test file's header):
//   YIWANG_URL         base URL of the running server, e.g. http://127.0.0.1:8080
//   YIWANG_SERVER_LOG  file with the server's captured stdout (for demoTotpSecret only)
//   YIWANG_ARTIFACTS   directory for full-page PNG screenshots (default: tests/browser/artifacts/)
//   CHROMIUM           chromium executable (default: /usr/bin/chromium)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const BASE_URL = (process.env.YIWANG_URL || '').replace(/\/+$/, '');
const SERVER_LOG = process.env.YIWANG_SERVER_LOG || '';
export const ARTIFACTS = path.resolve(
  process.env.YIWANG_ARTIFACTS || fileURLToPath(new URL('./artifacts/', import.meta.url)),
);
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// How long to look for an expected state before failing (not an assertion on speed).
export const WAIT_MS = 15_000;

// The password of all demo accounts of `yiwang serve --demo`.
export const DEMO_PASSWORD = 'Demo#2026yw';

// ---------------------------------------------------------------------------
// TOTP (RFC 6238 with RFC 4226 dynamic truncation, HMAC-SHA1, 6 digits, 30 s steps)
// ---------------------------------------------------------------------------

export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error(`not a base32 TOTP secret: "${text}" (bad character "${ch}")`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export const currentStep = () => Math.floor(Date.now() / 1000 / 30);

export function totpAt(secretB32, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', base32Decode(secretB32)).update(counter).digest();
  const offset = h[h.length - 1] & 0x0f;
  const bin =
    ((h[offset] & 0x7f) << 24) | (h[offset + 1] << 16) | (h[offset + 2] << 8) | h[offset + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}

// Waits (if needed) until the current step is after `lastStep`; returns { step, code }.
export async function freshTotp(secretB32, lastStep) {
  while (lastStep != null && currentStep() <= lastStep) {
    const msToNext = 30_000 - (Date.now() % 30_000) + 200;
    await new Promise((r) => setTimeout(r, msToNext));
  }
  const step = currentStep();
  return { step, code: totpAt(secretB32, step) };
}

// RFC 6238 Appendix B test vector (SHA-1, 8 digits → last 6 digits of 94287082 at T=59 s).
assert.equal(
  totpAt('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', Math.floor(59 / 30)),
  '287082',
  'the TOTP implementation of this test does not match RFC 6238 Appendix B',
);

// The TOTP secret of a demo staff account, from the server's stdout (YIWANG_SERVER_LOG), where
// `yiwang serve --demo` prints lines like
//   demo account: window_clerk hk.clerk totp CVLCXERHEOMJLK4NHNQFEOFRD2HROLSU
// The last line for the account counts (a restarted server appending to the same log prints
// new secrets). `role` only names the account's role in the message when no line is found.
export function demoTotpSecret(login, role = '<role>') {
  if (!SERVER_LOG) {
    throw new Error(
      'YIWANG_SERVER_LOG is not set: expected the path of the captured stdout of `yiwang serve --demo` ' +
        `(scripts/test must export it), to read the TOTP secret of the demo account ${login}`,
    );
  }
  let log;
  try {
    log = readFileSync(SERVER_LOG, 'utf8');
  } catch (err) {
    throw new Error(`could not read YIWANG_SERVER_LOG=${SERVER_LOG}: ${err.message}`);
  }
  const escaped = login.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const matches = [...log.matchAll(new RegExp(`^demo account: \\S+ ${escaped} totp ([A-Z2-7]+)\\s*$`, 'gm'))];
  if (matches.length === 0) {
    throw new Error(
      `expected a line "demo account: ${role} ${login} totp <BASE32>" in ${SERVER_LOG}; ` +
        `the log starts: ${log.slice(0, 400)}`,
    );
  }
  return matches[matches.length - 1][1];
}

// The last SMS code a demo server printed for a number and purpose, from its stdout
// (YIWANG_SERVER_LOG), where `yiwang serve --demo` prints lines like
//   demo sms to 13712345678: code 123456 (register)
// Waits up to WAIT_MS for the line to appear.
export async function demoSmsCode(phone, purpose) {
  if (!SERVER_LOG) {
    throw new Error('YIWANG_SERVER_LOG is not set: expected the captured stdout of `yiwang serve --demo`');
  }
  const re = new RegExp(`^demo sms to ${phone}: code (\\d{6}) \\(${purpose}\\)\\s*$`, 'gm');
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const matches = [...readFileSync(SERVER_LOG, 'utf8').matchAll(re)];
    if (matches.length > 0) return matches[matches.length - 1][1];
    if (Date.now() > until) {
      throw new Error(`expected a line "demo sms to ${phone}: code <6 digits> (${purpose})" in ${SERVER_LOG}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Runs axe-core (WCAG 2.1 A/AA rules) on the page and fails on any serious or critical
// violation, naming each rule and the first elements it found.
export async function expectAccessible(page, what) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Evaluated over the DevTools protocol: the page's CSP (script-src 'self') forbids an
  // injected <script>, rightly.
  await page.evaluate(readFileSync(path.join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8'));
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`),
    [],
    `accessibility of ${what}`,
  );
}

// ---------------------------------------------------------------------------
// Browser plumbing
// ---------------------------------------------------------------------------

// Checks YIWANG_URL, creates the artifacts directory and launches chromium (for a `before`
// hook); returns the browser.
export async function launchBrowser() {
  if (!BASE_URL) {
    throw new Error(
      'YIWANG_URL is not set: expected the base URL of a running `yiwang serve --demo`, ' +
        'e.g. YIWANG_URL=http://127.0.0.1:8080 (scripts/test sets it)',
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  try {
    return await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (err) {
    throw new Error(
      `could not launch chromium at ${CHROMIUM} (expected Debian's chromium: apt-get install chromium): ${err.message}`,
    );
  }
}

// A fresh browser context (own cookies): Chinese, 1280x900 unless `viewport` says otherwise,
// a phone's touch screen with `isMobile`; waits bounded by WAIT_MS.
export async function newContext(browser, { viewport, isMobile } = {}) {
  const context = await browser.newContext({
    locale: 'zh-CN',
    viewport: viewport || { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    ...(isMobile ? { isMobile: true, hasTouch: true } : {}),
  });
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(30_000);
  return context;
}

// Collects uncaught page errors and failed same-origin requests of `page` in `problems`,
// except error responses for which `isAllowed(status, url)` is true.
export function watchProblems(page, problems, isAllowed = () => false) {
  page.on('pageerror', (err) => problems.push(`uncaught JavaScript error: ${err.message}`));
  page.on('response', (res) => {
    const url = res.url();
    if (res.status() >= 400 && url.startsWith(BASE_URL) && !url.endsWith('/favicon.ico')) {
      if (!isAllowed(res.status(), url)) {
        problems.push(`HTTP ${res.status()} for ${res.request().method()} ${url}`);
      }
    }
  });
  // The browser cancels an icon fetch (net::ERR_ABORTED) when the page navigates on
  // before it finished; that is not a failure of the server. An error status still is.
  const isIcon = (url) => url.endsWith('/favicon.ico') || url.endsWith('/assets/favicon.svg');
  page.on('requestfailed', (req) => {
    const url = req.url();
    if (url.startsWith(BASE_URL) && !isIcon(url)) {
      problems.push(`request failed: ${req.method()} ${url} (${req.failure()?.errorText})`);
    }
  });
}

// A fresh browser context with one page, added to `sessions` (for the `after` hook to close).
// Collects uncaught page errors and failed same-origin requests in `problems`;
// `allow(status, pathPrefix)` marks an expected error response (e.g. 422 for a form with a
// deliberate mistake). `options` as for newContext (a phone's viewport, say).
export async function newSession(browser, sessions, options = {}) {
  const context = await newContext(browser, options);
  const page = await context.newPage();
  const s = { context, page, problems: [], allowed: [] };
  s.allow = (status, pathPrefix) => s.allowed.push({ status, pathPrefix });
  const isAllowed = (status, url) =>
    s.allowed.some((a) => a.status === status && url.startsWith(BASE_URL + a.pathPrefix));
  watchProblems(page, s.problems, isAllowed);
  sessions.push(s);
  return s;
}

// Returns `stepTest(name, fn)`, which runs `fn(use)` as a test with `timeout`; on failure saves
// `<failedPrefix><name>.png` of every session `fn` names via `use` (the last one used first).
// Asserts no unexpected errors on the pages used; afterwards clears their problems and
// allowed errors (an allowance holds for the step that made it).
export function makeStepTest({ timeout, failedPrefix }) {
  return function stepTest(name, fn) {
    test(name, { timeout }, async () => {
      const used = [];
      const use = (s) => {
        if (!used.includes(s)) used.push(s);
        return s;
      };
      try {
        await fn(use);
        for (const s of used) {
          assert.deepEqual(
            s.problems,
            [],
            `expected no JavaScript errors and no failed requests to the server during "${name}"`,
          );
        }
      } catch (err) {
        let i = 0;
        for (const s of used.reverse()) {
          const file = `${failedPrefix}${slug(name)}${i++ ? `-${i}` : ''}.png`;
          await s.page.screenshot({ path: path.join(ARTIFACTS, file), fullPage: true }).catch(() => {});
        }
        throw err;
      } finally {
        for (const s of used) {
          s.problems.length = 0;
          s.allowed = [];
        }
      }
    });
  };
}

export function slug(s) {
  return s.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

export async function screenshot(page, file) {
  await page.waitForLoadState('load');
  await page.screenshot({ path: path.join(ARTIFACTS, file), fullPage: true });
}

export async function open(page, urlPath) {
  const res = await page.goto(BASE_URL + urlPath, { waitUntil: 'load' });
  assert.ok(res, `expected a response for GET ${urlPath}`);
  assert.equal(res.status(), 200, `expected GET ${urlPath} to answer 200, got ${res.status()}`);
  const type = res.headers()['content-type'] || '';
  assert.match(type, /^text\/html/, `expected GET ${urlPath} to be text/html, got "${type}"`);
  return res;
}

export const byTestId = (scope, id) => scope.locator(`[data-testid="${id}"]`);

// Clicks the form's main submit button (not a secondary one such as "text me a code",
// which carries `formnovalidate`).
export async function submit(form) {
  await form
    .locator('button[type="submit"]:not([formnovalidate]), input[type="submit"], button:not([type])')
    .first()
    .click();
}

export async function text(locator) {
  return (await locator.first().innerText()).trim();
}

// The helpers whose failure messages say what the page shows, with the test file's own
// `describePage(page)` (each file describes what matters to it).
export function pageHelpers(describePage) {
  // Waits until `locator` is attached; on timeout fails with `expectation` and what was found.
  async function expectPresent(page, locator, expectation) {
    try {
      await locator.first().waitFor({ state: 'attached', timeout: WAIT_MS });
    } catch {
      assert.fail(`expected ${expectation} on ${page.url()}; found: ${await describePage(page)}`);
    }
  }

  // Logs in through /login; returns when either the TOTP form or a logged-in page is shown.
  // Returns true when the second (TOTP) step is asked for.
  async function loginWithPassword(s, login, password) {
    const { page } = s;
    await open(page, '/login');
    const form = byTestId(page, 'login-form');
    await expectPresent(page, form, 'the login form [data-testid="login-form"]');
    await form.locator('input[name="login"]').fill(login);
    await form.locator('input[name="password"]').fill(password);
    await submit(form);
    const second = byTestId(page, 'second-form');
    const loggedIn = byTestId(page, 'logout');
    await expectPresent(
      page,
      second.or(loggedIn),
      `after logging in as ${login}: either the TOTP form [data-testid="second-form"] or a logout button [data-testid="logout"]`,
    );
    return (await second.count()) > 0;
  }

  // Answers the TOTP step of the login with a code never used before (after `lastStep`). If the
  // server refuses it as replayed (another login took this step's code), waits for the next
  // step and tries once more. Returns the step whose code was accepted.
  async function answerTotp(s, secret, lastStep, who) {
    const { page } = s;
    let last = lastStep;
    for (let attempt = 1; ; attempt++) {
      const form = byTestId(page, 'second-form');
      await expectPresent(page, form, `the TOTP form [data-testid="second-form"] for ${who}`);
      const { step, code } = await freshTotp(secret, last);
      s.allow(422, '/login/second');
      await form.locator('input[name="totp_code"]').fill(code);
      await submit(form);
      await expectPresent(
        page,
        byTestId(page, 'logout').or(byTestId(page, 'errors')),
        `after entering the TOTP code for ${who}: a logged-in page or an error list`,
      );
      s.allowed = s.allowed.filter((a) => a.pathPrefix !== '/login/second');
      if ((await byTestId(page, 'logout').count()) > 0) return step;
      const replayed = await page.locator('[data-testid="errors"] li[data-rule="totp.replayed"]').count();
      if (replayed > 0 && attempt < 3) {
        last = step;
        continue;
      }
      assert.fail(
        `expected the TOTP code ${code} (step ${step}) to log ${who} in; found: ${await describePage(page)}`,
      );
    }
  }

  return { expectPresent, loginWithPassword, answerTotp };
}

// ---------------------------------------------------------------------------
// Journeys: a browser for the file, its sessions, and the demo's logins
// ---------------------------------------------------------------------------

// The set-up a journey file shares (cases, bundles): chromium launched before the steps and
// closed after them; `stepTest` (see makeStepTest); page helpers whose failures describe the
// page (its h1, the state shown by `[data-testid=<stateIds>]`, the errors, the text); and
// the demo's logins, each made once and reused by later steps: `citizen(use, login,
// actingFor)` logs a citizen in with the password alone and, given an enterprise's name,
// acts for it; `staff(use, login, role)` answers the TOTP step with the demo secret.
export function journey({ timeout, failedPrefix, stateIds = ['case-state'] }) {
  let browser;
  const sessions = [];
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    for (const s of sessions) await s.context.close().catch(() => {});
    await browser?.close();
  });
  const openSession = (options) => newSession(browser, sessions, options);
  const stateSelector = stateIds.map((id) => `[data-testid="${id}"]`).join(', ');
  async function describePage(page) {
    try {
      return await page.evaluate((sel) => {
        const h1 = document.querySelector('main h1, h1');
        const errors = [...document.querySelectorAll('[data-testid="errors"] li')].map(
          (li) => `${li.getAttribute('data-field') || '?'} ${li.getAttribute('data-rule') || '?'}: ${li.textContent.trim()}`,
        );
        const state = document.querySelector(sel);
        return JSON.stringify({
          h1: h1 ? h1.textContent.trim() : null,
          state: state ? state.getAttribute('data-state') : null,
          errors,
          body: (document.body?.innerText || '').slice(0, 400),
        });
      }, stateSelector);
    } catch (err) {
      return `(page not readable: ${err.message})`;
    }
  }
  const helpers = pageHelpers(describePage);
  const logins = {};
  async function citizen(use, login, actingFor) {
    const key = `${login}>${actingFor || ''}`;
    if (logins[key]) return use(logins[key]);
    const s = use(await openSession());
    assert.equal(await helpers.loginWithPassword(s, login, DEMO_PASSWORD), false, 'a citizen logs in with the password alone');
    if (actingFor) {
      await open(s.page, '/account');
      const form = byTestId(s.page, 'acting-form');
      await helpers.expectPresent(s.page, form, 'the acting-for form');
      await byTestId(form, 'acting-select').selectOption({ label: actingFor });
      await submit(form);
      await helpers.expectPresent(s.page, byTestId(s.page, 'acting-for'), `acting for ${actingFor}`);
    }
    logins[key] = s;
    return s;
  }
  async function staff(use, login, role) {
    if (logins[login]) return use(logins[login]);
    const s = use(await openSession());
    assert.equal(await helpers.loginWithPassword(s, login, DEMO_PASSWORD), true, `the TOTP step for ${login}`);
    await helpers.answerTotp(s, demoTotpSecret(login, role), null, login);
    logins[login] = s;
    return s;
  }
  return {
    ...helpers,
    describePage,
    newSession: openSession,
    stepTest: makeStepTest({ timeout, failedPrefix }),
    citizen,
    staff,
  };
}

// Fills every empty field (`form.*`) of an application form with a value its kind accepts:
// the first choice of a select, and for inputs `v.number`, `v.phone`, `v.address` or
// `v.text` (a date, an e-mail and an ID number are fixed).
export async function fillForm(form, v) {
  for (const f of await form.locator('[name^="form."]').all()) {
    const tag = await f.evaluate((e) => e.tagName);
    if (tag === 'SELECT') {
      if ((await f.inputValue()) === '') {
        const opts = await f.locator('option').evaluateAll((os) => os.map((o) => o.value).filter((x) => x));
        await f.selectOption(opts[0]);
      }
      continue;
    }
    if ((await f.inputValue()) !== '') continue;
    const type = await f.getAttribute('type');
    const name = await f.getAttribute('name');
    const value =
      type === 'number' ? v.number
      : type === 'tel' || /phone/.test(name) ? v.phone
      : type === 'date' ? '2026-12-01'
      : type === 'email' ? 'wang@example.cn'
      : /id_number/.test(name) ? '11010519491231002X'
      : /address/.test(name) ? v.address
      : v.text;
    await f.fill(value);
  }
}

// Browser test of yiwang's service catalogue: a citizen's search in their own words, the
// guide with its situation questionnaire (the material list follows each answer), the print
// version, the lists and their CSV export; catalogue management with the draft → submitted →
// published workflow (an editor of one department edits and submits, a manager of another
// publishes, the public guide and search follow), the four-eyes rule, and the API token page.
// Drives Debian's chromium through playwright-core against a running `yiwang serve --demo`.
//
// NOTE: like identity.test.mjs, this file needs YIWANG_SERVER_LOG (the path of the captured
// stdout of `yiwang serve --demo`): the demo staff accounts log in with a TOTP code whose
// secret is only printed there, as lines like
//   demo account: catalog_editor hk.scjg totp P4OWXIDNGFB3QSCMKW2IJ2DOMDWQ6WZ4
// (the secrets change at each restart, so they are read when a step needs them).
//
// Environment:
//   YIWANG_URL         base URL of the running server (required), e.g. http://127.0.0.1:8080
//   YIWANG_SERVER_LOG  file with the server's captured stdout (required, see above)
//   YIWANG_ARTIFACTS   directory for full-page PNG screenshots (default: tests/browser/artifacts/)
//   CHROMIUM           chromium executable (default: /usr/bin/chromium)
//
// The tests in this file run in order and share state (the entry edited in step 4 is
// published in step 5; step 6 reuses the session of step 5). The test leaves the demo as
// clean as it can: the promised limit it publishes alternates between runs, the four-eyes
// item is recalled and its draft discarded, the API token is revoked. No timing assertions:
// waits only bound how long we look for the expected state. TOTP, sessions, the login
// steps and the other helpers shared with the other browser tests are in helpers.mjs.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import {
  DEMO_PASSWORD,
  WAIT_MS,
  byTestId,
  expectAccessible,
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

// Generous: a step may wait up to two 30-second TOTP steps for a fresh code.
const TEST_TIMEOUT_MS = 120_000;

// 食品经营许可 as implemented by 海口市市场监督管理局 (statutory limit 10 working days).
const FOOD = {
  name: '食品经营许可',
  code: '11460100000000113L3460100001000',
  department: '海口市市场监督管理局',
};
const APPROVAL_DEPT = '海口市行政审批服务局';
const ALIAS = '开饭店办证';

const EDITOR = { login: 'hk.scjg' }; // catalog_editor of 海口市市场监督管理局
const MANAGER = { login: 'hk.catalog' }; // catalog_manager of 海口市行政审批服务局
const ADMIN = { login: 'hk.admin' };

// State shared by the steps.
const shared = {
  entryId: null, // the catalogue entry id of 食品经营许可 (海口)
  newPromised: null, // the promised limit (working days) saved in step 4
  submitted: false, // step 4 submitted the change for review
  managerSession: null, // hk.catalog's session (steps 5 and 6)
};

// ---------------------------------------------------------------------------
// Browser plumbing (helpers.mjs, shared with smoke.test.mjs and identity.test.mjs)
// ---------------------------------------------------------------------------

let browser;
const sessions = [];

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  for (const s of sessions) await s.context.close().catch(() => {});
  await browser?.close();
});

// A fresh browser context with one page (see newSession in helpers.mjs), closed at the end.
const newSession = () => openSession(browser, sessions);

// Runs `fn(use)` as a test; on failure saves `failed-catalog-<name>.png` of every page `fn`
// names via `use` (the last page used first). Asserts no unexpected errors on the pages used.
const stepTest = makeStepTest({ timeout: TEST_TIMEOUT_MS, failedPrefix: 'failed-catalog-' });

// What the page shows, for the failure messages of expectPresent and answerTotp.
async function describePage(page) {
  try {
    return await page.evaluate(() => {
      const h1 = document.querySelector('main h1, h1');
      const errors = [...document.querySelectorAll('[data-testid="errors"] li')].map(
        (li) => `${li.getAttribute('data-field') || '?'} ${li.getAttribute('data-rule') || '?'}: ${li.textContent.trim()}`,
      );
      const notice = document.querySelector('[data-testid="notice"]');
      const state = document.querySelector('[data-testid="open-state"]');
      return JSON.stringify({
        h1: h1 ? h1.textContent.trim() : null,
        title: document.title,
        notice: notice ? notice.textContent.trim() : null,
        openState: state ? state.textContent.trim() : null,
        errors,
        body: (document.body?.innerText || '').slice(0, 400),
      });
    });
  } catch (err) {
    return `(page not readable: ${err.message})`;
  }
}

const { expectPresent, loginWithPassword, answerTotp } = pageHelpers(describePage);

// Polls `probe()` (which returns a value, or null/undefined while not there yet) for up to
// WAIT_MS; returns the value, or fails with `expectation` and the last thing `probe` saw
// (`probe` may set `last.seen`).
async function poll(expectation, probe) {
  const last = { seen: '(nothing yet)' };
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await probe(last);
    if (v != null && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`expected ${expectation}; found: ${last.seen}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// A new session logged in as a demo staff account (password, then TOTP).
async function staffSession(use, login) {
  const secret = demoTotpSecret(login);
  const s = use(await newSession());
  const asksTotp = await loginWithPassword(s, login, DEMO_PASSWORD);
  assert.equal(asksTotp, true, `expected the TOTP step for the staff account ${login}`);
  await answerTotp(s, secret, null, login);
  return s;
}

async function logout(s, who) {
  const { page } = s;
  await byTestId(page, 'logout').first().click();
  await expectPresent(page, byTestId(page, 'login-link'), `the login link after ${who} logged out`);
  assert.equal(await byTestId(page, 'logout').count(), 0, `expected no logout button after ${who} logged out`);
}

// ---------------------------------------------------------------------------
// Page readers
// ---------------------------------------------------------------------------

// The texts of the search hits (as shown, highlights included) with their hrefs.
async function hits(page) {
  return page.locator('[data-testid="hits"] a[data-testid="hit"]').evaluateAll((as) =>
    as.map((a) => ({ name: a.textContent.trim(), href: a.getAttribute('href') })),
  );
}

const showHits = (list) => JSON.stringify(list.map((h) => `${h.name} ${h.href}`));

// What the material result of a guide shows: the count sentence and the keys listed.
async function materials(page) {
  return page.evaluate(() => {
    const count = document.querySelector('#material-result [data-testid="material-count"]');
    const items = [...document.querySelectorAll('#material-result [data-testid="material-list"] li')];
    return {
      count: count ? count.textContent.replace(/\s+/g, ' ').trim() : null,
      keys: items.map((li) => li.getAttribute('data-key')),
      names: items.map((li) => (li.querySelector('strong') || li).textContent.trim()),
    };
  });
}

// The entry's open-state text on /catalog/entries/{id}.
async function openState(page) {
  const el = byTestId(page, 'open-state');
  await expectPresent(page, el, 'the open-version state [data-testid="open-state"] of the entry');
  return text(el);
}

// The public guide's promised limit, e.g. "5 工作日", or null when not shown.
async function publicPromised(page) {
  await open(page, `/services/${FOOD.code}`);
  const el = byTestId(page, 'promised');
  if ((await el.count()) === 0) return null;
  return (await el.first().innerText()).trim();
}

// Acts on the entry page with one of its buttons and waits for the new page (the forms
// post to /catalog/entries/{id}/act and the answer is the entry page again).
async function act(page, testId, what) {
  const button = byTestId(page, testId);
  await expectPresent(page, button, `the ${what} button [data-testid="${testId}"]`);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.first().click()]);
  await expectPresent(page, byTestId(page, 'open-state'), `the entry page after pressing ${what}`);
}

// ---------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------

stepTest('1. a citizen searches in their own words from the home page', async (use) => {
  const s = use(await newSession());
  const { page } = s;
  await open(page, '/');
  const form = byTestId(page, 'home-search');
  await expectPresent(page, form, 'the home search form [data-testid="home-search"]');
  await form.locator('input[name="q"]').fill('生孩子要办什么');
  await submit(form);
  await page.waitForURL((u) => u.pathname === '/services');
  assert.equal(
    new URL(page.url()).searchParams.get('q'),
    '生孩子要办什么',
    `expected the home search to open /services?q=生孩子要办什么, got ${page.url()}`,
  );
  await expectPresent(page, byTestId(page, 'hits').locator('[data-testid="hit"]'), 'search hits for 生孩子要办什么');
  const count = await text(byTestId(page, 'result-count'));
  assert.match(count, /\d+/, `expected the result count to give a number, got "${count}"`);
  assert.ok((await byTestId(page, 'facets').count()) > 0, 'expected the facets [data-testid="facets"] beside the hits');
  const birth = (await hits(page)).slice(0, 5);
  for (const want of ['出生登记', '出生医学证明签发']) {
    assert.ok(
      birth.some((h) => h.name === want),
      `expected ${want} among the first five hits for 生孩子要办什么; the first five were ${showHits(birth)}`,
    );
  }
  await screenshot(page, 'catalog-01-search-birth.png');

  // A second question, typed into the search page itself (htmx replaces the results).
  const input = byTestId(page, 'search-input');
  await expectPresent(page, input, 'the search box [data-testid="search-input"] on /services');
  await input.fill('开饭店需要哪些证');
  await input.press('Enter');
  const restaurant = await poll('the results for 开饭店需要哪些证 (the searched terms naming 饭店)', async (last) => {
    const c = await text(byTestId(page, 'result-count'));
    last.seen = `result count "${c}", hits ${showHits((await hits(page)).slice(0, 5))}`;
    return c.includes('饭店') ? hits(page) : null;
  });
  const top3 = restaurant.slice(0, 3);
  assert.ok(
    top3.some((h) => h.name === FOOD.name),
    `expected ${FOOD.name} among the first three hits for 开饭店需要哪些证; they were ${showHits(top3)}`,
  );
  await screenshot(page, 'catalog-02-search-restaurant.png');
  const hit = byTestId(page, 'hits').locator(`a[data-testid="hit"][href="/services/${FOOD.code}"]`);
  await expectPresent(page, hit, `the hit for ${FOOD.name} of ${FOOD.department} (/services/${FOOD.code})`);
  await hit.first().click();
  await page.waitForURL((u) => u.pathname === `/services/${FOOD.code}`);
  await expectPresent(page, byTestId(page, 'guide-name'), `the guide of ${FOOD.name}`);
  await s.context.close();
});

stepTest('2. the guide answers the situation questions with the exact material list', async (use) => {
  const s = use(await newSession());
  const { page } = s;
  await open(page, `/services/${FOOD.code}`);
  const name = byTestId(page, 'guide-name');
  await expectPresent(page, name, `the guide name [data-testid="guide-name"] on /services/${FOOD.code}`);
  assert.equal(await text(name), FOOD.name, `expected the guide to be named ${FOOD.name}`);
  const promised = await text(byTestId(page, 'promised'));
  assert.match(promised, /\d+\s*工作日/, `expected the promised limit in working days, got "${promised}"`);
  const diagram = page.locator('svg[data-testid="process-diagram"]');
  await expectPresent(page, diagram, 'the process diagram svg[data-testid="process-diagram"]');
  assert.ok((await diagram.locator('rect').count()) > 0, 'expected the process diagram to draw at least one step');

  const questionnaire = byTestId(page, 'questionnaire');
  await expectPresent(page, questionnaire, `the questionnaire [data-testid="questionnaire"] of ${FOOD.name}`);
  const questions = questionnaire.locator('fieldset');
  const n = await questions.count();
  assert.ok(n >= 1 && n <= 3, `expected 1 to 3 situation questions (three clicks at most), found ${n}`);
  let before = await materials(page);
  assert.ok(before.count, 'expected the material count [data-testid="material-count"] before answering');
  assert.match(
    before.count,
    /取决于尚未回答的问题/,
    `expected the count to mention materials that depend on unanswered questions before answering, got "${before.count}"`,
  );
  let proxyQuestion = null;
  for (let i = 0; i < n; i++) {
    const q = questions.nth(i);
    const legend = await text(q.locator('legend'));
    const choices = q.locator('label');
    const labels = (await choices.allInnerTexts()).map((t) => t.trim());
    // The agent/proxy answer where the question is about one; otherwise the first answer.
    let pick = labels.findIndex((l) => /委托|代理/.test(l) && !/本人|亲自/.test(l));
    if (pick >= 0) proxyQuestion = { legend, answer: labels[pick] };
    else pick = 0;
    await choices.nth(pick).locator('input[type="radio"]').check();
    const prev = before;
    before = await poll(
      `the material list to change after answering "${legend}" with "${labels[pick]}" (before: ${JSON.stringify(prev)})`,
      async (last) => {
        const now = await materials(page);
        last.seen = JSON.stringify(now);
        const changed = now.count !== prev.count || now.keys.join() !== prev.keys.join();
        return changed ? now : null;
      },
    );
  }
  assert.doesNotMatch(
    before.count,
    /取决于|尚未回答/,
    `expected no material to depend on unanswered questions after answering all ${n}, got "${before.count}"`,
  );
  assert.match(before.count, /\d+/, `expected the material count to give a number, got "${before.count}"`);
  const counted = Number(before.count.match(/\d+/)[0]);
  assert.equal(
    counted,
    before.keys.length,
    `expected the count "${before.count}" to match the ${before.keys.length} materials listed (${before.names.join('、')})`,
  );
  assert.ok(proxyQuestion, `expected a question about applying through an agent (委托/代理) in the questionnaire of ${FOOD.name}`);
  assert.ok(
    before.names.some((m) => /授权委托书|代理人/.test(m)),
    `expected a material about 授权委托书 or 代理人 after answering "${proxyQuestion.legend}" with "${proxyQuestion.answer}"; listed: ${before.names.join('、')}`,
  );
  await byTestId(page, 'material-list').scrollIntoViewIfNeeded();
  await screenshot(page, 'catalog-03-guide-questionnaire.png');

  const print = byTestId(page, 'print-link');
  await expectPresent(page, print, 'the print link [data-testid="print-link"]');
  await print.first().click();
  await page.waitForURL((u) => u.searchParams.get('print') === '1');
  await expectPresent(page, page.locator('article.print-view[data-testid="guide"]'), 'the print view of the guide');
  assert.equal(await text(byTestId(page, 'guide-name')), FOOD.name, 'expected the print view to name the service');
  assert.equal(await byTestId(page, 'questionnaire').count(), 0, 'expected no questionnaire in the print view');
  assert.equal(await byTestId(page, 'print-link').count(), 0, 'expected no print link in the print view');
  assert.ok(
    await byTestId(page, 'all-materials').first().isVisible(),
    'expected the table of all materials to be shown (open) in the print view',
  );
  await screenshot(page, 'catalog-04-guide-print.png');
  await s.context.close();
});

stepTest('3. the lists come with counts, a table and a CSV export', async (use) => {
  const s = use(await newSession());
  const { page } = s;
  await open(page, '/lists');
  const lists = byTestId(page, 'lists').locator('li');
  await expectPresent(page, lists, 'the lists [data-testid="lists"] on /lists');
  const entries = (await lists.allInnerTexts()).map((t) => t.trim());
  for (const e of entries) {
    assert.match(e, /\d+\s*项/, `expected every list on /lists to give its count (N 项), got "${e}"`);
  }
  const licensing = byTestId(page, 'lists').locator('a[href="/lists/licensing"]');
  await expectPresent(page, licensing, 'a link to 行政许可事项清单 (/lists/licensing)');
  assert.equal(await text(licensing), '行政许可事项清单', 'expected the licensing list to be called 行政许可事项清单');
  await screenshot(page, 'catalog-05-lists.png');
  await licensing.first().click();
  await page.waitForURL((u) => u.pathname === '/lists/licensing');

  const table = byTestId(page, 'list-table');
  await expectPresent(page, table, 'the list table [data-testid="list-table"] on /lists/licensing');
  const rows = table.locator('tbody tr');
  const names = (await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector('td a')?.textContent.trim())));
  assert.ok(names.length > 0, 'expected rows in the licensing list');
  assert.ok(names.includes(FOOD.name), `expected ${FOOD.name} in 行政许可事项清单; rows: ${names.join('、')}`);
  assert.ok(
    (await table.locator(`code`, { hasText: FOOD.code }).count()) > 0,
    `expected the row of ${FOOD.name} of ${FOOD.department} (${FOOD.code}) in the licensing list`,
  );

  const csv = byTestId(page, 'csv-link');
  await expectPresent(page, csv, 'the CSV link [data-testid="csv-link"]');
  const href = await csv.first().getAttribute('href');
  const csvUrl = new URL(href, page.url());
  assert.equal(csvUrl.pathname, '/api/v1/catalog/lists/licensing', `expected the CSV link to the lists API, got ${href}`);
  assert.equal(csvUrl.searchParams.get('format'), 'csv', `expected format=csv in the CSV link, got ${href}`);
  const res = await page.request.get(csvUrl.href);
  assert.equal(res.status(), 200, `expected GET ${csvUrl.pathname}${csvUrl.search} to answer 200, got ${res.status()}`);
  assert.match(res.headers()['content-type'] || '', /^text\/csv/, 'expected the CSV link to answer text/csv');
  const body = await res.body();
  assert.deepEqual(
    [...body.subarray(0, 3)],
    [0xef, 0xbb, 0xbf],
    `expected the CSV to start with a UTF-8 BOM (for Excel), got bytes ${body.subarray(0, 3).toString('hex')}`,
  );
  const csvText = body.subarray(3).toString('utf8');
  const [header, ...lines] = csvText.split(/\r?\n/).filter((l) => l.length > 0);
  assert.ok(header.startsWith('实施编码,'), `expected the CSV header to start with 实施编码, got "${header.slice(0, 80)}"`);
  assert.ok(header.includes('事项名称'), `expected the CSV header to name 事项名称, got "${header.slice(0, 120)}"`);
  assert.ok(
    lines.some((l) => l.startsWith(`${FOOD.code},${FOOD.name},`)),
    `expected a CSV row for ${FOOD.code} ${FOOD.name}; the CSV has ${lines.length} rows`,
  );
  assert.equal(
    lines.length,
    names.length,
    `expected the CSV to have as many rows as the table (${names.length}), got ${lines.length}`,
  );
  await screenshot(page, 'catalog-06-list-licensing.png');
  await s.context.close();
});

stepTest('4. a department editor edits the promised limit and submits it for review', async (use) => {
  const s = await staffSession(use, EDITOR.login);
  const { page } = s;
  await open(page, '/catalog');
  const table = byTestId(page, 'entries');
  await expectPresent(page, table, 'the entries table [data-testid="entries"] on /catalog');
  const row = table.locator('tbody tr').filter({ has: page.locator('code', { hasText: FOOD.code }) });
  await expectPresent(
    page,
    row,
    `a row for ${FOOD.name} (${FOOD.code}) of ${FOOD.department} in /catalog for ${EDITOR.login}`,
  );
  const rowText = await text(row);
  assert.ok(rowText.includes(FOOD.name), `expected the row of ${FOOD.code} to name ${FOOD.name}, got "${rowText}"`);
  assert.ok(rowText.includes(FOOD.department), `expected the row of ${FOOD.code} to name ${FOOD.department}, got "${rowText}"`);
  const href = await row.first().locator('a[href^="/catalog/entries/"]').first().getAttribute('href');
  shared.entryId = href.replace('/catalog/entries/', '');
  await screenshot(page, 'catalog-07-catalog-editor.png');

  // The value the public guide shows now (the published version).
  const published = await publicPromised(page);
  await open(page, `/catalog/entries/${shared.entryId}`);
  assert.equal(await text(byTestId(page, 'entry-name')), FOOD.name, `expected the entry page of ${FOOD.name}`);
  // Left over by an interrupted earlier run: a version awaiting review that this editor submitted.
  if ((await openState(page)) === '待审核' && (await byTestId(page, 'recall').count()) > 0) {
    await act(page, 'recall', 'recall (a version left submitted by an earlier run)');
  }
  const edit = byTestId(page, 'edit');
  await expectPresent(page, edit, `the edit link [data-testid="edit"] for ${EDITOR.login}`);
  await edit.first().click();
  await page.waitForURL((u) => u.pathname === `/catalog/entries/${shared.entryId}/edit`);
  const form = byTestId(page, 'edit-form');
  await expectPresent(page, form, 'the edit form [data-testid="edit-form"]');

  const promisedInput = form.locator('input[name="promised_limit.value"]');
  const statutoryInput = form.locator('input[name="statutory_limit.value"]');
  const aliases = form.locator('textarea[name="aliases"]');
  const current = Number(await promisedInput.inputValue());
  const statutory = Number(await statutoryInput.inputValue());
  assert.equal(statutory, 10, `expected the statutory limit of ${FOOD.name} to be 10 working days, the form shows ${statutory}`);
  assert.ok(current >= 1 && current <= statutory, `expected a promised limit between 1 and ${statutory}, the form shows ${current}`);

  // First an invalid promised limit, together with a new alias in the same submission.
  const tooLong = statutory + 20;
  const typedAliases = [
    ...(await aliases.inputValue()).split(/\r?\n/).map((l) => l.trim()).filter((l) => l && l !== ALIAS),
    ALIAS,
  ].join('\n');
  await promisedInput.fill(String(tooLong));
  await aliases.fill(typedAliases);
  s.allow(422, `/catalog/entries/${shared.entryId}/edit`);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), byTestId(page, 'save').first().click()]);
  const rule = page.locator(
    '[data-testid="errors"] li[data-field="promised_limit"][data-rule="catalog.promised_exceeds_statutory"]',
  );
  await expectPresent(
    page,
    rule,
    `an error li[data-field="promised_limit"][data-rule="catalog.promised_exceeds_statutory"] after saving a promised limit of ${tooLong} (statutory ${statutory})`,
  );
  const ruleText = await text(rule);
  assert.ok(/[\u4e00-\u9fff]/.test(ruleText), `expected the error in Chinese, got "${ruleText}"`);
  const after = byTestId(page, 'edit-form');
  assert.equal(
    await after.locator('input[name="promised_limit.value"]').inputValue(),
    String(tooLong),
    'expected the promised limit typed (the invalid one) to be kept in the form after the error',
  );
  const keptAliases = (await after.locator('textarea[name="aliases"]').inputValue()).replace(/\r\n/g, '\n').trim();
  assert.equal(keptAliases, typedAliases, `expected the aliases typed (with ${ALIAS}) to be kept in the form after the error`);
  await after.locator('input[name="promised_limit.value"]').scrollIntoViewIfNeeded();
  await screenshot(page, 'catalog-08-edit-invalid.png');
  // The error next to the field: in the row of the promised limit.
  const nextToField = await after.locator('input[name="promised_limit.value"]').evaluate((input) => {
    const row = input.closest('.row') || input.parentElement;
    const errs = [...row.querySelectorAll('.field-error')];
    return errs.map((e) => ({ for: e.getAttribute('data-error-for'), text: e.textContent.trim() }));
  });
  const anywhere = await page
    .locator('.field-error')
    .evaluateAll((es) => es.map((e) => `${e.getAttribute('data-error-for')}: ${e.textContent.trim()}`));
  // Checked at the end of this step, so that a missing inline error does not stop the
  // workflow the later steps depend on (the step still fails).
  const inlineErrorShown = nextToField.some((e) => e.for === 'promised_limit' || e.for?.startsWith('promised_limit'));
  const inlineErrorProblem =
    `expected a .field-error[data-error-for="promised_limit"] next to the promised limit field after the error ` +
    `li[data-field="promised_limit"][data-rule="catalog.promised_exceeds_statutory"] ("${ruleText}"); ` +
    `next to the field: ${JSON.stringify(nextToField)}; field errors on the whole page: ${JSON.stringify(anywhere)}`;

  // Then a valid one, different from the form's and from the published one: at most the
  // statutory limit, and at least the sum of the process steps' days (rule
  // catalog.steps_exceed_promised), so that runs alternate between two valid values.
  const stepDays = await after
    .locator('input[name^="steps["][name$="].days"]')
    .evaluateAll((es) => es.reduce((sum, e) => sum + (Number(e.value) || 0), 0));
  const publishedValue = Number(((published || '').match(/^(\d+)\s*工作日/) || [])[1]);
  const candidates = [];
  for (let v = Math.max(1, stepDays); v <= statutory; v++) candidates.push(v);
  const fresh = candidates.find((v) => v !== current && v !== publishedValue);
  assert.ok(
    fresh,
    `expected a valid promised limit between the steps' ${stepDays} days and the statutory ${statutory} days ` +
      `other than the form's ${current} and the published "${published}"`,
  );
  shared.newPromised = fresh;
  await after.locator('input[name="promised_limit.value"]').fill(String(fresh));
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), byTestId(page, 'save').first().click()]);
  const notice = byTestId(page, 'notice');
  await expectPresent(page, notice, `the notice [data-testid="notice"] after saving a promised limit of ${fresh}`);
  assert.match(await text(notice), /已保存/, 'expected the notice to say the draft was saved (草稿已保存)');
  assert.equal(await openState(page), '草稿', 'expected the open version to be a draft (草稿) after saving');
  const diff = byTestId(page, 'diff');
  await expectPresent(page, diff, 'the changes [data-testid="diff"] against the published version');
  const change = diff.locator('tbody tr').filter({ has: page.locator('code', { hasText: /^promised_limit/ }) });
  const diffRows = (await diff.locator('tbody tr').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  assert.ok(
    (await change.count()) > 0,
    `expected the diff to list the promised limit (promised_limit); it lists: ${JSON.stringify(diffRows)}`,
  );
  const changeText = (await text(change)).replace(/\s+/g, ' ');
  assert.ok(
    changeText.includes(String(fresh)),
    `expected the promised-limit change to show the new value ${fresh}, got "${changeText}"`,
  );

  await act(page, 'submit', 'submit for review');
  assert.match(await text(byTestId(page, 'notice')), /已提交审核/, 'expected the notice 已提交审核 after submitting');
  assert.equal(await openState(page), '待审核', 'expected the open version to await review (待审核) after submitting');
  shared.submitted = true;
  assert.equal(
    await byTestId(page, 'publish').count(),
    0,
    `expected no publish button for the catalog editor ${EDITOR.login} (editors may not publish)`,
  );
  assert.equal(await byTestId(page, 'review-box').count(), 0, `expected no review box for ${EDITOR.login}`);
  await screenshot(page, 'catalog-09-entry-submitted.png');
  await logout(s, EDITOR.login);
  await s.context.close();
  assert.ok(inlineErrorShown, inlineErrorProblem);
});

stepTest('5. a manager of another department publishes; the guide and search follow', async (use) => {
  assert.ok(shared.submitted, 'the change of step 4 was not submitted for review (step 4 failed)');
  const s = await staffSession(use, MANAGER.login);
  shared.managerSession = s;
  const { page } = s;
  await open(page, '/catalog/review');
  const queue = byTestId(page, 'review-queue');
  await expectPresent(page, queue, 'the review queue [data-testid="review-queue"]');
  const link = queue.locator(`a[href="/catalog/entries/${shared.entryId}"]`);
  await expectPresent(page, link, `${FOOD.name} (${FOOD.code}) in the review queue of ${MANAGER.login}`);
  await link.first().click();
  await page.waitForURL((u) => u.pathname === `/catalog/entries/${shared.entryId}`);
  assert.equal(await openState(page), '待审核', 'expected the entry to await review (待审核)');
  const diff = byTestId(page, 'diff');
  await expectPresent(page, diff, 'the changes [data-testid="diff"] for the reviewer');
  const change = diff.locator('tbody tr').filter({ has: page.locator('code', { hasText: /^promised_limit/ }) });
  assert.ok((await change.count()) > 0, 'expected the reviewer to see the promised-limit change in the diff');
  const changeText = (await text(change)).replace(/\s+/g, ' ');
  assert.ok(changeText.includes(String(shared.newPromised)), `expected the change to show ${shared.newPromised}, got "${changeText}"`);
  assert.equal(await byTestId(page, 'review-box').locator('.warn').count(), 0, 'expected no four-eyes warning for a version another person edited');

  await act(page, 'publish', 'publish');
  const notice = byTestId(page, 'notice');
  await expectPresent(page, notice, 'the notice [data-testid="notice"] after publishing');
  assert.match(await text(notice), /发布/, 'expected the notice to say the version was published (已审核发布)');
  assert.equal(await openState(page), '无待办版本', 'expected no open version (无待办版本) after publishing');
  assert.equal(await byTestId(page, 'errors').count(), 0, 'expected no errors after publishing');
  await screenshot(page, 'catalog-10-published.png');

  // The public guide shows the new promised limit (poll: publication reaches readers shortly).
  const want = `${shared.newPromised} 工作日`;
  await poll(`the guide /services/${FOOD.code} to show the promised limit ${want}`, async (last) => {
    const shown = await publicPromised(page);
    last.seen = `promised "${shown}"`;
    return shown && shown.split('\n')[0].trim() === want;
  });
  // Search finds it (the index follows publication).
  for (const q of [FOOD.name, ALIAS]) {
    await poll(`a search for ${q} to find ${FOOD.code}`, async (last) => {
      await open(page, `/services?q=${encodeURIComponent(q)}`);
      const found = await hits(page);
      last.seen = showHits(found.slice(0, 5));
      return found.some((h) => h.href === `/services/${FOOD.code}`);
    });
  }
  await open(page, `/services/${FOOD.code}`);
  await screenshot(page, 'catalog-11-guide-published.png');
});

stepTest('6. four eyes: a manager cannot publish their own change', async (use) => {
  assert.ok(shared.managerSession, `${MANAGER.login} is not logged in (step 5 failed)`);
  const s = use(shared.managerSession);
  const { page } = s;
  await open(page, '/catalog');
  const table = byTestId(page, 'entries');
  await expectPresent(page, table, 'the entries table [data-testid="entries"] on /catalog');
  const candidates = await table.locator('tbody tr').evaluateAll((trs, dept) =>
    trs
      .map((tr) => {
        const td = tr.querySelectorAll('td');
        return {
          href: td[0]?.querySelector('a')?.getAttribute('href'),
          name: td[0]?.querySelector('a')?.textContent.trim(),
          dept: td[1]?.textContent.trim(),
          open: td[4]?.textContent.trim(),
        };
      })
      .filter((r) => r.dept === dept),
    APPROVAL_DEPT,
  );
  const item = candidates.find((r) => r.open === '无待办版本');
  assert.ok(
    item,
    `expected an entry of ${APPROVAL_DEPT} without an open version in /catalog; entries of that department: ${JSON.stringify(candidates)}`,
  );
  await open(page, item.href);
  await byTestId(page, 'edit').first().click();
  await page.waitForURL((u) => u.pathname === `${item.href}/edit`);
  const hours = byTestId(page, 'edit-form').locator('input[name="hours"]');
  await expectPresent(page, hours, 'the hours field input[name="hours"]');
  const oldHours = await hours.inputValue();
  const newHours = `${oldHours.replace(/（浏览器测试）$/, '')}（浏览器测试）`;
  await hours.fill(newHours === oldHours ? `${oldHours}。` : newHours);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), byTestId(page, 'save').first().click()]);
  await expectPresent(page, byTestId(page, 'notice'), `the notice after saving the hours of ${item.name}`);
  assert.equal(await openState(page), '草稿', `expected a draft of ${item.name} after saving`);
  await act(page, 'submit', 'submit for review');
  assert.equal(await openState(page), '待审核', `expected ${item.name} to await review after submitting`);
  // Only the hours were changed: the reviewer's diff should list nothing else. Checked at the
  // end of this step, after the clean-up (the step still fails).
  const diffPaths = await byTestId(page, 'diff')
    .locator('tbody tr td:first-child code')
    .evaluateAll((cs) => cs.map((c) => c.textContent.trim()));
  const diffRows = (await byTestId(page, 'diff').locator('tbody tr').allInnerTexts()).map((t) =>
    t.replace(/\s+/g, ' ').trim(),
  );
  assert.ok(diffPaths.includes('hours'), `expected the diff to list the hours change; it lists ${JSON.stringify(diffRows)}`);

  const box = byTestId(page, 'review-box');
  await expectPresent(page, box, `the review box [data-testid="review-box"] for ${MANAGER.login}`);
  const warn = box.locator('.warn');
  assert.ok((await warn.count()) > 0, `expected the four-eyes warning in the review box; it shows "${await text(box)}"`);
  assert.match(await text(warn), /四眼/, 'expected the warning to name the four-eyes rule (四眼原则)');

  s.allow(422, `${item.href}/act`);
  s.allow(403, `${item.href}/act`);
  await act(page, 'publish', 'publish (own change)');
  const rule = page.locator('[data-testid="errors"] li[data-rule="catalog.four_eyes"]');
  await expectPresent(page, rule, `an error [data-rule="catalog.four_eyes"] after ${MANAGER.login} published their own change`);
  assert.equal(await openState(page), '待审核', 'expected the entry to still await review (待审核) after the refused publication');
  assert.equal(await byTestId(page, 'notice').count(), 0, 'expected no success notice after the refused publication');
  await screenshot(page, 'catalog-12-four-eyes.png');

  // Leave the demo clean: recall, then discard the draft.
  await act(page, 'recall', 'recall');
  assert.equal(await openState(page), '草稿', 'expected the recalled version to be a draft again (草稿)');
  const discard = page.locator('form:has(input[name="action"][value="discard"]) button');
  await expectPresent(page, discard, 'the discard-draft button (废弃草稿)');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), discard.first().click()]);
  assert.equal(await openState(page), '无待办版本', 'expected no open version after discarding the draft');
  await screenshot(page, 'catalog-13-recalled.png');
  await logout(s, MANAGER.login);
  await s.context.close();
  assert.deepEqual(
    diffPaths,
    ['hours'],
    `expected the diff of ${item.name} (${item.href}) to list only the element changed (办理时间 hours) after saving ` +
      `the edit form with nothing else touched; it lists ${JSON.stringify(diffRows)}`,
  );
});

stepTest('7. an admin issues an API token, sees it once, and revokes it', async (use) => {
  const s = await staffSession(use, ADMIN.login);
  const { page } = s;
  await open(page, '/admin/tokens');
  const form = byTestId(page, 'token-form');
  await expectPresent(page, form, 'the token form [data-testid="token-form"] on /admin/tokens');
  const name = `浏览器测试系统 ${randomInt(100_000, 1_000_000)}`;
  await form.locator('input[name="name"]').fill(name);
  // A token never gets more than its creator holds: person_read where the admin has it,
  // otherwise a read-only permission the admin holds.
  const offered = await form.locator('input[name="permission"]').evaluateAll((es) => es.map((e) => e.value));
  const permission = ['person_read', 'audit_read', 'catalog_read'].find((p) => offered.includes(p));
  assert.ok(permission, `expected person_read or another read permission to be offered; offered: ${offered.join(', ')}`);
  await form.locator(`input[name="permission"][value="${permission}"]`).check();
  const dept = form.locator('select[name="department_id"]');
  const depts = (await dept.locator('option').allInnerTexts()).map((t) => t.trim());
  assert.ok(depts.includes(APPROVAL_DEPT), `expected ${APPROVAL_DEPT} among the departments; offered: ${depts.join('、')}`);
  await dept.selectOption({ label: APPROVAL_DEPT });
  await form.locator('input[name="region_code"]').fill('460100');
  await submit(form);
  const secret = byTestId(page, 'token-secret');
  await expectPresent(page, secret, `the new token's secret [data-testid="token-secret"] after creating "${name}"`);
  const value = await text(secret);
  assert.match(value, /^ywt_\S{16,}$/, `expected the secret to start with ywt_, got "${value}"`);
  assert.ok((await text(byTestId(page, 'token-created'))).includes(name), `expected the created notice to name "${name}"`);
  await screenshot(page, 'catalog-14-token-created.png');

  await open(page, '/admin/tokens');
  assert.equal(await byTestId(page, 'token-secret').count(), 0, 'expected the secret not to be shown again after reloading /admin/tokens');
  assert.ok(!(await page.content()).includes(value), 'expected the secret nowhere on /admin/tokens after reloading');
  const row = byTestId(page, 'tokens-table').locator('tbody tr').filter({ hasText: name });
  await expectPresent(page, row, `a row for "${name}" in [data-testid="tokens-table"]`);
  const rowText = (await text(row)).replace(/\s+/g, ' ');
  assert.ok(rowText.includes(permission), `expected the row to list the permission ${permission}, got "${rowText}"`);
  assert.ok(rowText.includes(APPROVAL_DEPT) && rowText.includes('460100'), `expected the row to name ${APPROVAL_DEPT} / 460100, got "${rowText}"`);

  const revoke = byTestId(page, `revoke-${name}`);
  await expectPresent(page, revoke, `the revoke button [data-testid="revoke-${name}"]`);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), revoke.first().click()]);
  const revoked = byTestId(page, 'tokens-table').locator('tbody tr').filter({ hasText: name });
  await expectPresent(page, revoked, `the row of "${name}" after revoking`);
  const revokedText = (await text(revoked)).replace(/\s+/g, ' ');
  assert.ok(revokedText.includes('已吊销'), `expected the row of "${name}" to show 已吊销 after revoking, got "${revokedText}"`);
  assert.equal(await byTestId(page, `revoke-${name}`).count(), 0, 'expected no revoke button for a revoked token');
  await revoked.first().scrollIntoViewIfNeeded();
  await screenshot(page, 'catalog-15-token-revoked.png');
  await logout(s, ADMIN.login);
  await s.context.close();
});

stepTest('8. the manager sees the life events (一件事), with the one whose member item changed flagged', async (use) => {
  const s = await staffSession(use, MANAGER.login);
  const { page } = s;
  await open(page, '/catalog/bundles');
  const list = byTestId(page, 'bundle-list');
  await expectPresent(page, list, 'the list of life events [data-testid="bundle-list"]');
  // Step 5 published a new version of 食品经营许可, a member of 开办餐饮店.
  const row = list.locator('tr').filter({ hasText: '开办餐饮店' });
  await expectPresent(page, row, 'the row of 开办餐饮店');
  if (shared.submitted) {
    await expectPresent(page, row.locator('[data-testid="bundle-flag"]'), 'the flag on 开办餐饮店 after its member item changed');
  }
  await expectAccessible(page, '/catalog/bundles');
  await screenshot(page, 'catalog-16-bundles.png');
  await row.locator('a').first().click();
  await page.waitForURL((u) => u.pathname.startsWith('/catalog/bundles/'));
  await expectPresent(page, byTestId(page, 'bundle-definition'), 'the members of the definition');
  await expectAccessible(page, 'a life event for its managers');
  await screenshot(page, 'catalog-17-bundle.png');
  await s.context.close();
});

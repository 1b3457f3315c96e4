// Browser test of every citizen page on a phone (390×844) and a desktop (1366×900): no
// horizontal scroll (the page's scrollWidth is not wider than the window) and no serious or
// critical axe-core violation, anonymous and logged in as the demo agent 王小明 (who has a
// case and a licence once cases.test.mjs has run: scripts/test runs the files one at a time
// in name order). Screenshots of every page at both sizes, named pages-<size>-<page>.png.
// Drives Debian's chromium through playwright-core against a running `yiwang serve --demo`.
//
// Environment:
//   YIWANG_URL         base URL of the running server (required), e.g. http://127.0.0.1:8080
//   YIWANG_ARTIFACTS   directory for full-page PNG screenshots (default: tests/browser/artifacts/)
//   CHROMIUM           chromium executable (default: /usr/bin/chromium)

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL,
  DEMO_PASSWORD,
  byTestId,
  expectAccessible,
  launchBrowser,
  makeStepTest,
  newSession,
  open,
  pageHelpers,
  screenshot,
  submit,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 240_000;
const AGENT = '13800138000'; // 王小明, agent of 海口椰风食品有限公司
const COMPANY = '海口椰风食品有限公司';
// Words that find related services, none named so (and no 一件事).
const NEAR_MISS = '开药店';

const SIZES = [
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true },
  { name: 'desktop', viewport: { width: 1366, height: 900 }, isMobile: false },
];

let browser;
const sessions = [];
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  for (const s of sessions) await s.context.close().catch(() => {});
  await browser?.close();
});
const stepTest = makeStepTest({ timeout: TEST_TIMEOUT_MS, failedPrefix: 'failed-pages-' });

async function describePage(page) {
  try {
    return await page.evaluate(() => {
      const h1 = document.querySelector('main h1, h1');
      return JSON.stringify({ h1: h1 ? h1.textContent.trim() : null, body: (document.body?.innerText || '').slice(0, 300) });
    });
  } catch (err) {
    return `(page not readable: ${err.message})`;
  }
}
const { expectPresent, loginWithPassword } = pageHelpers(describePage);

const session = (size) => newSession(browser, sessions, { viewport: size.viewport, isMobile: size.isMobile });

// The elements wider than the window, for the failure message.
async function overflowing(page) {
  return page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    return [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > w + 1 && getComputedStyle(e).position !== 'absolute')
      .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > w + 1))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.className ? '.' + String(e.className).split(' ').join('.') : ''} (${Math.round(e.getBoundingClientRect().right)} px): ${e.textContent.trim().slice(0, 40)}`);
  });
}

// Opens `path`, checks width and accessibility, and keeps a screenshot.
async function check(s, size, name, path) {
  const { page } = s;
  await open(page, path);
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  await screenshot(page, `pages-${size.name}-${name}.png`);
  assert.ok(
    scroll <= client,
    `${path} at ${size.viewport.width} px is ${scroll} px wide (window ${client} px); too wide: ${(await overflowing(page)).join(' | ')}`,
  );
  await expectAccessible(page, `${path} at ${size.viewport.width} px`);
}

// A link on the current page matching `selector`, as a path (or null).
async function firstHref(page, selector) {
  const hrefs = await page.locator(selector).evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  return hrefs[0] || null;
}

for (const size of SIZES) {
  stepTest(`public pages at ${size.viewport.width} px`, async (use) => {
    const s = use(await session(size));
    const { page } = s;
    for (const [name, path] of [
      ['home', '/'],
      ['services', '/services'],
      ['search', '/services?q=' + encodeURIComponent('营业执照')],
      ['search-pinyin', '/services?q=yyzz'],
      ['search-bundle', '/services?q=' + encodeURIComponent('开饭店')],
      ['search-near-miss', '/services?q=' + encodeURIComponent(NEAR_MISS)],
      ['lists', '/lists'],
      ['bundles', '/bundles'],
      ['bundle-guide', '/bundles/460100YJS0001?outdoor_sign=yes&proxy=agent'],
      ['halls', '/halls'],
      ['calendar', '/calendar'],
      ['regions', '/regions'],
      ['login', '/login'],
      ['register', '/register'],
      ['recover', '/recover'],
      ['verify', '/verify'],
      ['ratings-board', '/ratings/board'],
    ]) {
      await check(s, size, name, path);
    }
    // Initials find 企业设立登记 (营业执照); words no service is named say so.
    await open(page, '/services?q=yyzz');
    assert.ok((await page.locator('[data-testid="hit"]').count()) > 0, 'pinyin initials find services');
    // A life event's everyday name finds its 一件事 before any single item.
    await open(page, '/services?q=' + encodeURIComponent('开饭店'));
    const bundleHit = byTestId(page, 'bundle-hit').first();
    await expectPresent(page, bundleHit, 'the 开办餐饮店 bundle among the results');
    assert.equal(await bundleHit.getAttribute('href'), '/bundles/460100YJS0001');
    await open(page, '/services?q=' + encodeURIComponent(NEAR_MISS));
    await expectPresent(page, byTestId(page, 'near-miss'), 'the "no service is called that" message');
    await open(page, '/services?q=' + encodeURIComponent('食品经营许可'));
    const guide = await firstHref(page, 'a[href^="/services/"]');
    assert.ok(guide && /^\/services\/[0-9A-Z]{31}$/.test(guide), `a guide among the results (${guide})`);
    await check(s, size, 'guide', guide);
    await open(page, '/lists');
    const list = await firstHref(page, 'a[href^="/lists/"]');
    assert.ok(list, 'a list on /lists');
    await check(s, size, 'list', list);
  });

  stepTest(`the agent's pages at ${size.viewport.width} px`, async (use) => {
    const s = use(await session(size));
    const { page } = s;
    assert.equal(await loginWithPassword(s, AGENT, DEMO_PASSWORD), false, 'a citizen logs in with the password alone');
    await check(s, size, 'home-mine', '/');
    await check(s, size, 'policies', '/me/policies');
    // Acting for the enterprise, whose cases and licences these are.
    await open(page, '/account');
    const form = byTestId(page, 'acting-form');
    await expectPresent(page, form, 'the acting-for form');
    await byTestId(form, 'acting-select').selectOption({ label: COMPANY });
    await submit(form);
    await expectPresent(page, byTestId(page, 'acting-for'), `acting for ${COMPANY}`);
    for (const [name, path] of [
      ['account', '/account'],
      ['my-cases', '/me/cases'],
      ['wallet', '/wallet'],
      ['policies-enterprise', '/me/policies'],
    ]) {
      await check(s, size, name, path);
    }
    await open(page, '/me/cases');
    const mine = await firstHref(page, 'a[href^="/me/cases/"]');
    assert.ok(mine, `a case of ${AGENT} on /me/cases (cases.test.mjs runs first)`);
    await check(s, size, 'my-case', mine);
    // A notice's QR code opens its public check: no login, the seal verified.
    const pdf = await firstHref(page, 'a[href*="/notices/"]');
    assert.ok(pdf, `a notice of ${mine}`);
    const noticeId = pdf.split('/notices/')[1].split('/')[0];
    await check(s, size, 'notice-check', `/verify/notices/${noticeId}`);
    assert.equal(await byTestId(page, 'notice-verdict').getAttribute('data-valid'), 'true', 'the notice verifies');
    await open(page, '/wallet');
    const card = await firstHref(page, 'a[href^="/wallet/"]');
    assert.ok(card, `a licence in the wallet of ${AGENT} (cases.test.mjs runs first)`);
    await check(s, size, 'wallet-licence', card);
    // 好差评: the rating page of a case (a form, or why there is nothing to rate) and mine.
    await check(s, size, 'rate', `${mine}/rate`);
    await check(s, size, 'my-ratings', '/me/ratings');
    // 一件事: the one application page and the bundle case bundles.test.mjs leaves behind.
    await check(s, size, 'bundle-apply', '/bundles/460100YJS0001/apply?q.outdoor_sign=no');
    await open(page, '/me/cases');
    const bundleCase = await firstHref(page, 'a[href^="/me/bundle-cases/"]');
    assert.ok(bundleCase, `a bundle case of ${COMPANY} on /me/cases (bundles.test.mjs runs first)`);
    await check(s, size, 'my-bundle-case', bundleCase);
    await open(page, '/services?q=' + encodeURIComponent('食品经营许可'));
    const guide = await firstHref(page, 'a[href^="/services/"]');
    await open(page, guide);
    await byTestId(page, 'apply-online').click();
    await expectPresent(page, byTestId(page, 'situation').or(byTestId(page, 'apply-form')), 'the apply page');
    await check(s, size, 'apply', new URL(page.url()).pathname + new URL(page.url()).search);
  });
}

stepTest('large text (大字版) on a phone: every control scales, the header stays short', async (use) => {
  const size = SIZES[0];
  const s = use(await session(size));
  const { page } = s;
  await page.goto(`${BASE_URL}/text/large`, { waitUntil: 'load' });
  await expectPresent(page, page.locator('html.large-text'), 'large text switched on');
  for (const [name, path] of [
    ['home', '/'],
    ['search', '/services?q=' + encodeURIComponent('营业执照')],
    ['register', '/register'],
  ]) {
    await check(s, size, `large-${name}`, path);
    // The header leaves most of the screen to the page.
    const header = await page.locator('header.top').boundingBox();
    assert.ok(header.height <= 300, `the header of ${path} is ${header.height} px high in large text`);
    // Controls grow with the text (not left at the browser's small default).
    const small = await page.evaluate(() =>
      [...document.querySelectorAll('main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select, main button')]
        .filter((e) => parseFloat(getComputedStyle(e).fontSize) < 20)
        .map((e) => `${e.tagName.toLowerCase()}[name=${e.getAttribute('name')}] ${getComputedStyle(e).fontSize}`),
    );
    assert.deepEqual(small, [], `controls in large text on ${path}`);
  }
  await page.goto(`${BASE_URL}/text/normal`, { waitUntil: 'load' });
});

stepTest('English pages: English service names, English punctuation, Chinese marked as Chinese', async (use) => {
  const size = SIZES[1];
  const s = use(await session(size));
  const { page } = s;
  await page.goto(`${BASE_URL}/lang/en`, { waitUntil: 'load' });
  await expectPresent(page, page.locator('html[lang="en"]'), 'English switched on');
  // An English search finds the service by its English name (stemmed: "licences").
  await check(s, size, 'en-search', '/services?q=' + encodeURIComponent('food business licences'));
  const first = page.locator('[data-testid="hit"]').first();
  await expectPresent(page, first, 'a result for "food business licences"');
  assert.equal((await first.innerText()).trim(), 'Food business licence', 'the English name leads the results');
  await first.click();
  await expectPresent(page, byTestId(page, 'guide-name-en'), 'the English name on the guide');
  assert.equal(await byTestId(page, 'guide-name').getAttribute('lang'), 'zh-Hans', 'the Chinese name is marked as Chinese');
  await expectPresent(page, byTestId(page, 'chinese-original'), 'the note that the guide is the Chinese original');
  await expectAccessible(page, 'the guide in English');
  // Labels, brackets and colons in English: the working-day arithmetic has no full-width ones.
  await open(page, '/calendar?date=2026-09-30&n=3');
  const arithmetic = await byTestId(page, 'workday-result').innerText();
  assert.ok(!/[（）：、]/.test(arithmetic), `full-width punctuation on an English page: ${arithmetic}`);
  await page.goto(`${BASE_URL}/lang/zh-CN`, { waitUntil: 'load' });
});

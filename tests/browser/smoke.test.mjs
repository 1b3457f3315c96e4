// Browser smoke test for yiwang: drives Debian's chromium through playwright-core
// against a running `yiwang serve --demo`.
//
// Environment:
//   YIWANG_URL        base URL of the running server (required), e.g. http://127.0.0.1:8080
//   YIWANG_ARTIFACTS  directory for full-page PNG screenshots (default: tests/browser/artifacts/)
//   CHROMIUM          chromium executable (default: /usr/bin/chromium)
//
// scripts/test starts the server and sets all three. No timing assertions: waits
// only bound how long we look for the expected state before failing with a message
// that says what was expected and what was found. The helpers shared with the other
// browser tests (environment, chromium, contexts, open, screenshot, expectPresent)
// are in helpers.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  ARTIFACTS,
  BASE_URL,
  launchBrowser,
  newContext,
  open,
  pageHelpers,
  screenshot,
  slug,
  watchProblems,
} from './helpers.mjs';

const TEST_TIMEOUT_MS = 90_000;

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

// Runs `fn(page, ctx)` in a fresh browser context (no cookies carried between tests).
// Collects uncaught page errors and failed same-origin requests, and saves a
// `failed-<name>.png` screenshot when the test fails.
function browserTest(name, options, fn) {
  if (typeof options === 'function') {
    fn = options;
    options = {};
  }
  test(name, { timeout: TEST_TIMEOUT_MS }, async () => {
    const context = await newContext(browser, options);
    const page = await context.newPage();
    const problems = [];
    watchProblems(page, problems);
    try {
      await fn(page, context);
      assert.deepEqual(
        problems,
        [],
        `expected no JavaScript errors and no failed requests to the server during "${name}"`,
      );
    } catch (err) {
      await page
        .screenshot({ path: path.join(ARTIFACTS, `failed-${slug(name)}.png`), fullPage: true })
        .catch(() => {});
      throw err;
    } finally {
      await context.close();
    }
  });
}

// What the page shows, for the failure messages of expectPresent.
async function describePage(page) {
  try {
    return await page.evaluate(() => {
      const html = document.documentElement;
      const h1 = document.querySelector('[data-testid="province-name"]');
      return JSON.stringify({
        lang: html.getAttribute('lang'),
        class: html.getAttribute('class'),
        h1: h1 ? h1.textContent.trim() : null,
        title: document.title,
        body: (document.body?.innerText || '').slice(0, 300),
      });
    });
  } catch (err) {
    return `(page not readable: ${err.message})`;
  }
}

const { expectPresent } = pageHelpers(describePage);

const htmlLang = (page) => page.evaluate(() => document.documentElement.getAttribute('lang'));
const htmlClasses = (page) => page.evaluate(() => [...document.documentElement.classList]);
const provinceName = (page) =>
  page.locator('[data-testid="province-name"]').first().innerText();

async function expectChinese(page) {
  await expectPresent(page, page.locator('html[lang="zh-CN"]'), '<html lang="zh-CN">');
  const h1 = page.locator('h1[data-testid="province-name"]', { hasText: '海南省' });
  await expectPresent(page, h1, '<h1 data-testid="province-name"> containing "海南省"');
  assert.equal(await htmlLang(page), 'zh-CN', 'expected <html lang="zh-CN">');
  assert.ok((await provinceName(page)).includes('海南省'), 'expected the province name to contain "海南省"');
}

async function expectEnglish(page) {
  await expectPresent(page, page.locator('html[lang="en"]'), '<html lang="en"> after switching to English');
  const h1 = page.locator('h1[data-testid="province-name"]', { hasText: 'Hainan' });
  await expectPresent(page, h1, '<h1 data-testid="province-name"> containing "Hainan" after switching to English');
  assert.equal(await htmlLang(page), 'en', 'expected <html lang="en"> after switching to English');
  assert.ok((await provinceName(page)).includes('Hainan'), 'expected the province name to contain "Hainan"');
}

async function clickLangSwitch(page) {
  const link = page.locator('[data-testid="lang-switch"]');
  await expectPresent(page, link, 'a language switch [data-testid="lang-switch"]');
  await link.first().click();
}

browserTest('home page is Chinese by default and shows 海南省', async (page) => {
  await open(page, '/');
  await expectChinese(page);
  const title = await page.title();
  assert.ok(title.trim().length > 0, 'expected a non-empty <title> on the home page');
  await screenshot(page, 'home-zh.png');
});

browserTest('language switch goes to English and back to Chinese', async (page, context) => {
  await open(page, '/');
  await expectChinese(page);

  await clickLangSwitch(page);
  await expectEnglish(page);
  await page.waitForLoadState('load');
  const cookies = await context.cookies(BASE_URL);
  assert.ok(cookies.length > 0, 'expected the language switch to set a cookie');

  // The choice persists (cookie), also for a fresh navigation.
  await open(page, '/');
  await expectEnglish(page);
  await screenshot(page, 'home-en.png');

  await clickLangSwitch(page);
  await expectChinese(page);
  await page.waitForLoadState('load');
  await open(page, '/');
  await expectChinese(page);
});

browserTest('large-text mode (适老化) toggles and persists after reload', async (page) => {
  await open(page, '/');
  assert.ok(
    !(await htmlClasses(page)).includes('large-text'),
    'expected <html> NOT to have class "large-text" before the toggle is used',
  );

  const toggle = page.locator('[data-testid="large-text"]');
  await expectPresent(page, toggle, 'a large-text toggle [data-testid="large-text"]');
  await toggle.first().click();
  await expectPresent(page, page.locator('html.large-text'), '<html class="large-text"> after clicking the large-text toggle');
  await page.waitForLoadState('load');

  await page.reload({ waitUntil: 'load' });
  await expectPresent(page, page.locator('html.large-text'), '<html class="large-text"> to persist after a reload (cookie)');
  assert.ok((await htmlClasses(page)).includes('large-text'), 'expected <html> to keep class "large-text" after reload');
  await screenshot(page, 'home-large-text.png');
});

browserTest('working-day calculator skips the National Day holiday (htmx)', async (page) => {
  await open(page, '/calendar');
  const form = page.locator('[data-testid="workday-form"]');
  await expectPresent(page, form, 'a working-day calculator form [data-testid="workday-form"]');
  await expectPresent(page, form.locator('input[name="date"]'), 'an <input name="date"> in the workday form');
  await expectPresent(page, form.locator('input[name="n"]'), 'an <input name="n"> in the workday form');
  assert.equal(
    await form.locator('input[name="date"]').first().getAttribute('type'),
    'date',
    'expected <input name="date"> to be type="date"',
  );

  const htmxLoaded = await page.evaluate(() => typeof window.htmx !== 'undefined');
  assert.ok(htmxLoaded, 'expected htmx to be loaded on the calendar page (window.htmx defined)');

  // A marker that survives an htmx swap but not a full page load.
  await page.evaluate(() => {
    window.__yiwangSmokeMarker = true;
  });

  await form.locator('input[name="date"]').first().fill('2024-09-30');
  await form.locator('input[name="n"]').first().fill('1');
  const submit = form.locator('button[type="submit"], input[type="submit"], button:not([type])');
  await expectPresent(page, submit, 'a submit button in the workday form');
  await submit.first().click();

  const result = page.locator('[data-testid="workday-result"]', { hasText: /\d{4}-\d{2}-\d{2}/ });
  await expectPresent(page, result, 'a date (YYYY-MM-DD) in [data-testid="workday-result"] after submitting 2024-09-30 + 1');
  const text = (await result.first().innerText()).trim();
  assert.ok(
    text.includes('2024-10-08'),
    `expected 2024-09-30 + 1 working day = 2024-10-08 (National Day week skipped) in the result, got "${text}"`,
  );
  assert.equal(
    await page.evaluate(() => window.__yiwangSmokeMarker === true),
    true,
    'expected the result to be loaded by htmx into the page, not by a full page navigation',
  );
});

browserTest('regions page lists 海口市 and 三亚市', async (page) => {
  await open(page, '/regions');
  const body = await page.locator('body').innerText();
  for (const city of ['海口市', '三亚市']) {
    assert.ok(body.includes(city), `expected /regions to list "${city}"; page text starts: ${body.slice(0, 300)}`);
  }
  await screenshot(page, 'regions.png');
});

browserTest('home page on a phone (390x844)', { viewport: { width: 390, height: 844 }, isMobile: true }, async (page) => {
  await open(page, '/');
  await expectChinese(page);
  assert.ok(
    await page.locator('[data-testid="province-name"]').first().isVisible(),
    'expected the province name to be visible on a 390px wide screen',
  );
  const layoutWidth = await page.evaluate(() => window.innerWidth);
  assert.equal(
    layoutWidth,
    390,
    'expected the page to lay out at the device width (390px): is <meta name="viewport" content="width=device-width, initial-scale=1"> missing?',
  );
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `expected no horizontal scrolling on a 390px wide screen, page is ${overflow}px too wide`);
  await screenshot(page, 'home-mobile.png');
});

browserTest('service halls page lists the halls and their windows', async (page) => {
  await open(page, '/halls');
  for (const name of ['海南省政务服务中心', '海口市政务服务中心', '三亚市政务服务中心']) {
    await expectPresent(page, page.locator('h2', { hasText: name }), `a hall heading "${name}"`);
  }
  await expectPresent(page, page.locator('td', { hasText: '综合受理' }), 'a comprehensive window (综合受理) in a hall table');
  await expectPresent(page, page.locator('td', { hasText: '海口市公安局' }), 'the dedicated window D01 naming its department 海口市公安局');
  await screenshot(page, 'halls.png');
});

browserTest('calendar page works without JavaScript and shows its arithmetic', async (page) => {
  // The form's plain GET fallback renders the answer in the page itself.
  await open(page, '/calendar?date=2024-09-30&n=20');
  const answer = page.locator('[data-testid="workday-date"]');
  await expectPresent(page, answer, 'the answer [data-testid="workday-date"] on /calendar');
  assert.equal((await answer.first().innerText()).trim(), '2024-11-01', 'expected 20 working days after 2024-09-30 to be 2024-11-01');
  const body = await page.locator('[data-testid="workday-result"]').first().innerText();
  assert.ok(body.includes('国庆节'), `expected the arithmetic to name the National Day holidays it skipped; got: ${body}`);
  assert.ok(body.includes('2024-10-12'), `expected the arithmetic to name the make-up workday 2024-10-12; got: ${body}`);
  await expectPresent(page, page.locator('li', { hasText: '2026' }), 'the published year 2026 in the list of schedules');
  await screenshot(page, 'calendar.png');
});

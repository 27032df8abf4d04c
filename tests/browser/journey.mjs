// The FitForAll resident journey in a real browser (headless Debian Chromium via playwright-core):
// home → search "西湖" → list + map → venue → region chain up to 杭州市 → choropleth → English,
// then the same on a phone viewport. Starts `fitforall demo` itself on a free port with a fresh
// database, and always stops it. Prints "N passed, M failed"; exits non-zero on any failure.
//
//   cd tests/browser && npm ci && node journey.mjs
//   FITFORALL_BIN=/path/to/fitforall node journey.mjs     (default: <repo>/target/debug/fitforall)

import path from 'node:path';
import { check, runJourney, shot, step, watchProblems as watchAll } from './harness.mjs';

/** Fails the step on CSP violations and script errors seen by a page (the 400/404 checks at the end are expected). */
function watchProblems(page, problems) {
  watchAll(page, problems, (url) => /no-such-venue|lat=999/.test(url));
}

runJourney('journey', async ({ base, server, browser }) => {

  // ---------------------------------------------------------------- desktop, Chinese first
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await desktop.newPage();
  const problems = [];
  watchProblems(page, problems);
  let venueName = '';

  await step('home page opens in Chinese with the search box and the demo banner', async () => {
    const response = await page.goto(`${base}/`);
    check(response.status() === 200, `status ${response.status()}`);
    check((await page.getAttribute('html', 'lang')) === 'zh-CN', 'html lang is not zh-CN');
    check((await page.textContent('h1')).includes('FitForAll'), 'no FitForAll title');
    check((await page.textContent('label[for=near]')).includes('在哪里运动？'), 'no 在哪里运动？ label');
    check(await page.isVisible('.demo-banner'), 'no demo banner');
    const csp = response.headers()['content-security-policy'] || '';
    check(csp.includes("script-src 'self'"), `CSP header missing: ${csp}`);
    await shot(page, '01-home-desktop');
  });

  await step('searching 西湖 lists venues with distances', async () => {
    await page.fill('#near', '西湖');
    await Promise.all([page.waitForURL(/\/venues\?near=/), page.click('.search-box button[type=submit]')]);
    const items = await page.locator('.venue-list .venue-item').count();
    check(items > 0, 'no venues listed');
    const distances = await page.locator('.venue-list .distance').allTextContents();
    check(distances.length === items && distances.every((d) => /\d.*(米|公里)/.test(d)), `distances: ${distances.slice(0, 3)}`);
    check((await page.textContent('.center-note')).includes('西湖'), 'the page does not say which place was used');
  });

  await step('the map shows the venue markers and the city outlines', async () => {
    const items = await page.locator('.venue-list .venue-item').count();
    await page.waitForFunction((n) => document.querySelectorAll('#map .leaflet-marker-icon.venue-marker').length === n, items, { timeout: 15_000 });
    await page.waitForFunction(() => document.querySelectorAll('#map .leaflet-basemap-pane path, #map path').length >= 11 + 30, null, { timeout: 15_000 });
    const paths = await page.locator('#map path').count();
    check(paths >= 41, `only ${paths} outline paths`);
    await page.waitForTimeout(300);
    await shot(page, '02-venues-desktop');
  });

  await step('clicking the first venue opens its page with the hours table', async () => {
    const first = page.locator('.venue-list .venue-link').first();
    venueName = (await first.locator('.venue-name').textContent()).trim();
    await Promise.all([page.waitForURL(/\/venues\/[^?]+$/), first.click()]);
    check((await page.textContent('h1')).trim() === venueName, `heading is not ${venueName}`);
    check((await page.locator('table.hours tbody tr').count()) === 7, 'the hours table has not 7 days');
    check((await page.locator('.norm-list li').count()) >= 2, 'no service-norm criteria');
    await page.waitForSelector('#map .leaflet-marker-icon', { timeout: 10_000 });
    await shot(page, '03-venue-desktop');
  });

  await step('the region chain leads up to 杭州市', async () => {
    const link = page.locator('.breadcrumbs a', { hasText: '杭州市' });
    check((await link.count()) === 1, 'no 杭州市 link in the breadcrumbs');
    await Promise.all([page.waitForURL(/\/regions\/3301$/), link.click()]);
    check((await page.textContent('h1')).trim() === '杭州市', 'not the Hangzhou page');
  });

  await step('the Hangzhou page shows the per-capita sports area and the choropleth', async () => {
    const value = (await page.textContent('.per-capita-value')).trim();
    check(/^\d+\.\d+$/.test(value) && Number(value) > 0, `per-capita value ${value}`);
    await page.waitForFunction(() => document.querySelectorAll('#map path.choropleth-area').length === 11, null, { timeout: 15_000 });
    check((await page.locator('#map path.choropleth-area.is-current').count()) === 1, 'Hangzhou is not highlighted');
    check((await page.locator('table.children tbody tr').count()) > 5, 'no children table');
    check((await page.locator('.legend .legend-item').count()) >= 2, 'no legend');
    await page.hover('#map path.choropleth-area.is-current');
    await page.waitForSelector('.choropleth-tooltip', { timeout: 5_000 });
    check((await page.textContent('.choropleth-tooltip')).includes('杭州市'), 'hover does not name the city');
    await shot(page, '04-region-hangzhou-desktop');
  });

  await step('switching to English shows English text and is remembered', async () => {
    await Promise.all([page.waitForURL(/lang=en/), page.click('.lang-switch')]);
    check((await page.getAttribute('html', 'lang')) === 'en', 'html lang is not en');
    check((await page.textContent('.stat-main .stat-label')).includes('Per-capita sports area'), 'no English label');
    const cookies = await desktop.cookies();
    const lang = cookies.find((cookie) => cookie.name === 'lang');
    check(lang && lang.value === 'en' && lang.sameSite === 'Lax', `lang cookie ${JSON.stringify(lang)}`);
    await shot(page, '05-region-hangzhou-english');
    await page.goto(`${base}/`);
    check((await page.textContent('label[for=near]')).includes('Where do you want to exercise?'), 'English not remembered on the home page');
  });

  await step('API docs page lists the endpoints', async () => {
    await page.goto(`${base}/api/docs`);
    check((await page.locator('.operation').count()) >= 8, 'too few operations');
    check((await page.locator('a[href="/api/v1/openapi.json"]').count()) === 1, 'no link to openapi.json');
    await shot(page, '06-api-docs');
  });

  await step('no CSP violations or script errors on the desktop pages', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
  await desktop.close();

  // ---------------------------------------------------------------- phone
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const mobile = await phone.newPage();
  const phoneProblems = [];
  watchProblems(mobile, phoneProblems);
  const noHorizontalScroll = async () => {
    const width = await mobile.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `page is ${width}px wide on a 390px phone`);
  };

  await step('phone: home page fits the screen and searches', async () => {
    await mobile.goto(`${base}/`);
    check((await mobile.getAttribute('html', 'lang')) === 'zh-CN', 'a new visitor does not get Chinese');
    await noHorizontalScroll();
    await shot(mobile, '11-home-phone');
    await mobile.fill('#near', '杭州东站');
    await Promise.all([mobile.waitForURL(/\/venues\?near=/), mobile.tap('.search-box button[type=submit]')]);
    check((await mobile.locator('.venue-list .venue-item').count()) > 0, 'no venues near 杭州东站');
  });

  await step('phone: map above the list, tapping a marker opens a popup', async () => {
    await mobile.waitForSelector('#map .leaflet-marker-icon.venue-marker', { timeout: 15_000 });
    const mapBox = await mobile.locator('#map').boundingBox();
    const listBox = await mobile.locator('.venue-list').boundingBox();
    check(mapBox.y + mapBox.height <= listBox.y + 1, 'the map is not above the list');
    check(mapBox.width >= 340, `map only ${mapBox.width}px wide`);
    await noHorizontalScroll();
    await mobile.waitForTimeout(300);
    await shot(mobile, '12-venues-phone');
    await mobile.locator('#map .leaflet-marker-icon.venue-marker').first().tap();
    await mobile.waitForSelector('.leaflet-popup-content a.popup-link', { timeout: 5_000 });
    await shot(mobile, '13-venues-phone-popup');
  });

  await step('phone: venue page is readable', async () => {
    await Promise.all([mobile.waitForURL(/\/venues\/[^?]+$/), mobile.locator('.leaflet-popup-content a.popup-link').tap()]);
    check((await mobile.locator('table.hours tbody tr').count()) === 7, 'no hours table');
    await noHorizontalScroll();
    await shot(mobile, '14-venue-phone');
  });

  await step('phone: Zhejiang region page with the city choropleth', async () => {
    await mobile.goto(`${base}/regions/33`);
    await mobile.waitForFunction(() => document.querySelectorAll('#map path.choropleth-area').length === 11, null, { timeout: 15_000 });
    check((await mobile.locator('table.children tbody tr').count()) === 11, 'not 11 cities in the table');
    await noHorizontalScroll();
    await shot(mobile, '15-region-zhejiang-phone');
    await mobile.locator('#map path.choropleth-area').first().tap();
    await mobile.waitForSelector('.leaflet-popup-content', { timeout: 5_000 });
  });

  await step('phone: national page colours provinces with data and greys the rest', async () => {
    await mobile.goto(`${base}/regions`);
    await mobile.waitForFunction(() => document.querySelectorAll('#map path.choropleth-area').length >= 30, null, { timeout: 15_000 });
    const fills = await mobile.evaluate(() => [...document.querySelectorAll('#map path.choropleth-area')].map((p) => p.getAttribute('fill')));
    check(new Set(fills).size >= 2, `fills: ${[...new Set(fills)]}`);
    await shot(mobile, '16-national-phone');
  });

  await step('no CSP violations or script errors on the phone pages', async () => {
    check(phoneProblems.length === 0, phoneProblems.join('\n'));
  });
  await step('phone: error pages are friendly with the right status', async () => {
    const bad = await mobile.goto(`${base}/venues?lat=999&lng=1`);
    check(bad.status() === 400, `status ${bad.status()} for lat=999`);
    check((await mobile.textContent('h1')).includes('请求有误'), 'no Chinese 400 heading');
    await shot(mobile, '17-error-400-phone');
    const missing = await mobile.goto(`${base}/venues/no-such-venue`);
    check(missing.status() === 404, `status ${missing.status()} for an unknown venue`);
    check((await mobile.textContent('h1')).includes('页面不存在'), 'no Chinese 404 heading');
  });

  await phone.close();
});

// The FitForAll fitness-report journey in a real browser (headless Debian Chromium via playwright-core):
// the demo resident logs in → my account → 我的体质测试报告 → two years of results, each with its item
// table (score and why), grade, the provisional-standard badge and its known defects, the rank
// among peers (or why there is none), the weakest items with advice, the history table and a print
// button → English → the same report on a phone without horizontal scrolling → logged out, the
// report asks for a log-in. Starts `fitforall demo` itself (fresh database), always stops it.
//
//   cd tests/browser && npm ci && node fitness.mjs

import { check, logIn, noHorizontalOverflow, runJourney, shot, step, submitForm, watchProblems } from './harness.mjs';

/** The demo resident and station staff, as `fitforall demo` prints them (checked against its output). */
const RESIDENT = { phone: '13800000003', password: 'demo-resident-pass' };
const STAFF = { phone: '13800000005', password: 'demo-station-staff' };

/** What each result article on the report shows. */
async function results(page) {
  return page.$$eval('article.fitness-result', (articles) =>
    articles.map((article) => ({
      heading: article.querySelector('h2').textContent.trim(),
      status: article.dataset.status,
      total: (article.querySelector('.fitness-total') || {}).textContent,
      rank: (article.querySelector('.fitness-rank') || {}).textContent,
      items: [...article.querySelectorAll('table.fitness-items tbody tr')].map((row) => [...row.cells].map((cell) => cell.textContent.trim())),
      advice: [...article.querySelectorAll('.fitness-prescriptions li')].map((item) => item.textContent.trim()),
      provisional: !!article.querySelector('.badge-warning'),
    })),
  );
}

runJourney('fitness', async ({ base, server, browser }) => {
  await step('the demo prints the resident and its fitness results', async () => {
    check(server.output().includes(`${RESIDENT.phone}  password ${RESIDENT.password}`), 'the demo did not print the resident account');
    check(/fitness: \d+ demo fitness results/.test(server.output()), 'the demo did not print its fitness results');
  });

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  watchProblems(page, problems);

  const trip = {};

  await step('log in → my account → 我的体质测试报告', async () => {
    await logIn(page, base, RESIDENT.phone, RESIDENT.password);
    check(new URL(page.url()).pathname === '/account', `login landed on ${page.url()}`);
    await Promise.all([page.waitForURL(`${base}/account/fitness`), page.locator('a[href="/account/fitness"]').click()]);
    check((await page.textContent('h1')).trim() === '我的体质测试报告', `heading: ${await page.textContent('h1')}`);
    await shot(page, '51-fitness-report');
  });

  await step('two results, newest first, each scored item by item with the reason', async () => {
    const shown = await results(page);
    check(shown.length === 2, `${shown.length} results on the report`);
    check(shown[0].heading.startsWith('2026-') && shown[1].heading.startsWith('2025-'), `order: ${shown.map((r) => r.heading)}`);
    for (const result of shown) {
      check(result.provisional, `${result.heading}: no provisional badge for the 2003 adult standard`);
      check(result.items.length >= 8, `${result.heading}: ${result.items.length} item rows`);
      for (const [name, value, score, why] of result.items) {
        check(name && value && score && why, `${result.heading}: an item row is incomplete: ${[name, value, score, why]}`);
        check(/^\d+$/.test(score), `${result.heading}: ${name} scored ${score}`);
        check(why.includes('level') || why.includes('normal') || why.includes('light') || why.includes('heavy'), `${result.heading}: ${name}: no level in ${why}`);
      }
      check(['excellent', 'good', 'pass', 'fail', 'withheld'].includes(result.status), `${result.heading}: status ${result.status}`);
    }
  });

  await step('rank among peers, or why not; the weakest items with advice; history; print button', async () => {
    const [latest, earlier] = await results(page);
    check(/超过约 \d+% 的人/.test(latest.rank || ''), `2026 rank: ${latest.rank}`);
    check((earlier.rank || '').includes('不足 10 人'), `2025 rank: ${earlier.rank}`);
    check(latest.advice.length >= 1 && latest.advice.every((text) => text.includes('—') && text.includes('每')), `advice: ${latest.advice}`);
    const history = await page.$$eval('table.fitness-history tbody tr', (rows) => rows.map((row) => row.cells[0].textContent.trim()));
    check(history.length === 2, `history rows: ${history}`);
    check(await page.isVisible('button[data-print]'), 'no print button');
    await page.click('details.hint summary');
    check(((await page.textContent('details.hint ul')) || '').includes('sit-and-reach'), 'the known defects do not open');
  });

  await step('English: "My fitness report"', async () => {
    await page.goto(`${base}/account/fitness?lang=en`);
    check((await page.textContent('h1')).trim() === 'My fitness report', `heading: ${await page.textContent('h1')}`);
    check(((await page.textContent('article.fitness-result .fitness-rank')) || '').startsWith('Better than about'), 'no English rank');
    await shot(page, '51-fitness-report-english');
    await page.goto(`${base}/account/fitness?lang=zh`);
  });

  await step('station staff: the entry form scores a result; the station\'s appointments are bookable sessions', async () => {
    check(server.output().includes(`${STAFF.phone}  password ${STAFF.password}`), 'the demo did not print the station staff account');
    const staff = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const staffPage = await staff.newPage();
    watchProblems(staffPage, problems);
    await logIn(staffPage, base, STAFF.phone, STAFF.password);
    await staffPage.goto(`${base}/stations/demo-station-xihu/results`);
    check((await staffPage.textContent('h1')).trim() === '体质测试成绩录入', `heading: ${await staffPage.textContent('h1')}`);
    await staffPage.fill('#person_ref', 'journey-1');
    await staffPage.selectOption('#sex', 'F');
    await staffPage.fill('#grade', '三年级');
    await staffPage.fill('[name="m.height_cm"]', '132.0');
    await staffPage.fill('[name="m.weight_kg"]', '29.5');
    await staffPage.fill('[name="m.run_50m_s"]', '10.2');
    await Promise.all([staffPage.waitForLoadState('load'), staffPage.locator('form.stack-form button[type=submit]').click()]);
    await staffPage.waitForSelector('.fitness-saved');
    check((await staffPage.getAttribute('.fitness-saved', 'data-status')) === 'incomplete', 'an entry with items missing is not incomplete');
    check(((await staffPage.textContent('.fitness-saved')) || '').includes('journey-1'), 'the saved notice does not name the person');
    await shot(staffPage, '51-station-entry');
    await Promise.all([staffPage.waitForLoadState('load'), staffPage.locator('a', { hasText: '测试预约' }).click()]);
    check(/\/venues\/[^/]+\/book/.test(staffPage.url()), `the appointments link went to ${staffPage.url()}`);
    const body = (await staffPage.textContent('body')) || '';
    check(body.includes('国民体质测试预约'), 'the venue\'s booking page does not offer the fitness-test session');
    trip.venueId = new URL(staffPage.url()).pathname.split('/')[2];
    await staff.close();
  });

  await step('the resident books a test session; the staff see it among the day\'s appointments and open the form for that account', async () => {
    const resource = `${trip.venueId}-fitness-test`;
    await page.goto(`${base}/venues/${trip.venueId}/book?resource=${resource}`);
    const slotId = await page.$$eval('table#slot-grid td.slot-open', (tds) => {
      const open = tds.find((td) => td.querySelector('.slot-book') && !td.querySelector('.slot-book').disabled);
      return open ? open.dataset.slot : null;
    });
    check(slotId, 'the fitness-test session has no open cell to book');
    const booked = await submitForm(page, `td.slot[data-slot="${slotId}"] .slot-book`, '/bookings');
    check([302, 303].includes(booked.status()), `POST /bookings answered ${booked.status()}`);
    check(new URL(page.url()).pathname === '/account/bookings', `booking landed on ${page.url()}`);
    const listed = await page.evaluate(async (url) => (await fetch(url)).json(), `${base}/api/v1/resources/${resource}/slots?days=14`);
    const slot = listed.slots.find((candidate) => candidate.id === slotId);
    check(slot, `slot ${slotId} is not in the session's slot list`);
    const day = slot.start.slice(0, 10);
    const account = await page.evaluate(async (url) => (await fetch(url)).json(), `${base}/api/v1/me`);
    check(account && account.id, `GET /api/v1/me with the session answered ${JSON.stringify(account)}`);

    const staff = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const staffPage = await staff.newPage();
    watchProblems(staffPage, problems);
    await logIn(staffPage, base, STAFF.phone, STAFF.password);
    await staffPage.goto(`${base}/stations/demo-station-xihu/results?date=${day}`);
    check(((await staffPage.textContent('#station-day-title')) || '').includes(day), `the appointments heading is not for ${day}`);
    const rows = await staffPage.$$eval('table.station-appointments tbody tr', (trs) => trs.map((tr) => ({ account: tr.dataset.account, text: tr.textContent })));
    check(rows.length >= 1, `no appointment listed on ${day}`);
    const accountId = String(account.id);
    check(rows.some((row) => row.account === accountId), `the resident's account ${accountId} is not among ${JSON.stringify(rows)}`);
    await shot(staffPage, '51-station-appointments');
    await Promise.all([staffPage.waitForLoadState('load'), staffPage.locator(`table.station-appointments tr[data-account="${accountId}"] a`, { hasText: '录入成绩' }).first().click()]);
    check((await staffPage.inputValue('#account_id')) === accountId, 'the form is not opened for the appointment\'s account');
    check((await staffPage.inputValue('#test_date')) === day, 'the form is not opened for the appointment\'s day');
    await staff.close();
  });

  await step('no CSP violations, console errors, script errors or failed requests', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
  await context.close();

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const small = await phone.newPage();
  const phoneProblems = [];
  watchProblems(small, phoneProblems);

  await step('the region page shows Hangzhou\'s fitness pass rate with its definition, per standard, never mixed', async () => {
    const region = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const regionPage = await region.newPage();
    const regionProblems = [];
    watchProblems(regionPage, regionProblems);
    await regionPage.goto(`${base}/regions/3301`);
    const blocks = await regionPage.$$eval('.pass-rate-block', (divs) => divs.map((div) => ({
      heading: div.querySelector('h3').textContent.trim(),
      value: (div.querySelector('.pass-rate-value') || {}).textContent,
      children: div.querySelectorAll('table.pass-rate-children tbody tr').length,
      api: (div.querySelector('a[href^="/api/v1/indicators/fitness-pass-rate"]') || {}).href,
    })));
    const students = blocks.find((block) => block.heading.includes('国家学生体质健康标准'));
    check(students, `no block for the student standard: ${JSON.stringify(blocks)}`);
    check(/^\d{1,3}\.\d %$/.test((students.value || '').trim()), `the student pass rate reads "${students.value}"`);
    check(students.children >= 6, `the student block lists ${students.children} districts`);
    const json = await regionPage.evaluate(async (url) => (await fetch(url)).json(), students.api);
    check(`${(json.crude.rate * 100).toFixed(1)} %` === students.value.trim(), `the page says ${students.value}, the API ${json.crude.rate}`);
    check(blocks.every((block) => block.heading !== students.heading || block === students), 'one standard shown twice');
    await noHorizontalOverflow(regionPage, 'the region page with the pass rate');
    await shot(regionPage, '51-region-pass-rate-phone');
    check(regionProblems.length === 0, regionProblems.join('\n'));
    await region.close();
  });

  await step('phone: logged out, the report asks for a log-in; then the report fits the screen', async () => {
    const response = await small.goto(`${base}/account/fitness`);
    check(new URL(small.url()).pathname === '/login', `logged out, /account/fitness went to ${small.url()} (${response.status()})`);
    await logIn(small, base, RESIDENT.phone, RESIDENT.password);
    await small.goto(`${base}/account/fitness`);
    check((await small.locator('article.fitness-result').count()) === 2, 'the phone report lacks results');
    await noHorizontalOverflow(small, 'the fitness report');
    await shot(small, '51-fitness-report-phone');
    check(phoneProblems.length === 0, phoneProblems.join('\n'));
  });
  await phone.close();
});

// The FitForAll booking journey in a real browser (headless Debian Chromium via playwright-core):
// the demo resident logs in → the first bookable venue printed by the demo → its 在线预约 section →
// the week grid → books the first open slot → my bookings (预约成功, add to calendar) → the grid shows
// one place less (and booking.js's live refresh runs) → Back and the same form again books nothing
// new (same idempotency key) → cancel (已取消, the place is back) → English; then log in, grid, book
// and grid again on a phone viewport with a freshly registered resident.
// Starts `fitforall demo` itself on a free port with a fresh database, and always stops it. Prints
// "N passed, M failed"; exits non-zero on any failure.
//
//   cd tests/browser && npm ci && node booking.mjs
//   FITFORALL_BIN=/path/to/fitforall node booking.mjs     (default: <repo>/target/debug/fitforall)

import crypto from 'node:crypto';
import { check, logIn, noHorizontalOverflow, runJourney, shot, step, submitForm, watchProblems } from './harness.mjs';

/** The demo resident, as `fitforall demo` prints it (checked against its output). */
const RESIDENT = { phone: '13800000003', password: 'demo-resident-pass' };
const PASSWORD = 'journey-pass-123';
const HOME_REGION = '330106'; // 杭州市 · 西湖区
/** A slot starting sooner than this is past the free-cancellation time (2 h by default), where 取消预约 gives 迟取消, not 已取消. */
const CANCEL_MARGIN_MS = (120 + 15) * 60_000;
const LIVE_REFRESH_MS = 7_000;
/** Statuses that hold a place. */
const ACTIVE = ['已确认', '待确认'];

/** This journey provokes no failure on purpose. */
const expected = () => false;

/** A fresh mainland mobile number: 139 and 8 random digits. */
function freshPhone() {
  return `139${String(crypto.randomInt(0, 100_000_000)).padStart(8, '0')}`;
}



async function logInToAccount(page, base, phone, password) {
  await page.goto(`${base}/login`);
  await logIn(page, base, phone, password);
  check(page.url() === `${base}/account`, `login landed on ${page.url()}`);
}

async function register(page, base, who) {
  await page.goto(`${base}/register`);
  await page.fill('#phone', who.phone);
  await page.fill('#name', who.name);
  await page.fill('#password', PASSWORD);
  await page.fill('#password_repeat', PASSWORD);
  await page.selectOption('#home_region', HOME_REGION);
  const response = await submitForm(page, 'form.stack-form button[type=submit]', '/register');
  check(response.status() === 303 || response.status() === 302, `register answered ${response.status()}: ${await page.locator('.form-problem').allTextContents()}`);
  check(new URL(page.url()).pathname === '/login', `register landed on ${page.url()}`);
}

/** "余 N" of a grid cell as a number (NaN when the cell says something else). */
async function placesLeft(page, slotId) {
  const text = ((await page.locator(`td.slot[data-slot="${slotId}"] .slot-left`).textContent()) || '').trim();
  const match = text.match(/^余\s*(\d+)$/);
  return match ? Number(match[1]) : Number.NaN;
}

/** The slots API the grid polls (its data-slots-api), read with the page's cookies: { now, slots }. */
async function slotsFromApi(page, base) {
  const api = await page.getAttribute('table#slot-grid', 'data-slots-api');
  check(api, 'the grid has no data-slots-api');
  const response = await page.request.get(`${base}${api}`);
  check(response.status() === 200, `GET ${api} answered ${response.status()}`);
  return response.json();
}

const localMs = (text) => Date.parse(`${text}+08:00`);

/** The booking rows of `venue` at `when` (YYYY-MM-DD HH:MM) on my bookings: [{ id, status, text }]. */
async function bookingRows(page, venue, when) {
  return page.evaluate(({ venue, when }) => [...document.querySelectorAll('li.booking-row')]
    .filter((row) => row.querySelector('h2').textContent.trim() === venue && row.querySelector('p strong').textContent.trim() === when)
    .map((row) => ({ id: row.dataset.booking, status: row.querySelector('.booking-status').textContent.trim(), text: row.textContent.replace(/\s+/g, ' ').trim() })), { venue, when });
}

/** Venue page → its 在线预约 section → the first 预约 button → the week grid. Returns the venue's name and the grid URL. */
async function openGridFromVenue(page, base, venueId) {
  const response = await page.goto(`${base}/venues/${venueId}`);
  check(response.status() === 200, `GET /venues/${venueId} answered ${response.status()}`);
  const venue = (await page.textContent('h1')).trim();
  check(((await page.textContent('#booking-title')) || '').trim() === '在线预约', 'no 在线预约 section on the venue page');
  const link = page.locator(`.booking-panel a[href^="/venues/${venueId}/book?resource="]`).first();
  check((await link.count()) === 1, 'no 预约 link to /venues/<id>/book?resource=… in the 在线预约 section');
  check((await link.textContent()).trim().startsWith('预约'), `the booking link says ${await link.textContent()}`);
  const href = await link.getAttribute('href');
  await Promise.all([page.waitForURL(`${base}${href}`), link.click()]);
  check((await page.locator('table#slot-grid').count()) === 1, 'no table#slot-grid on the booking page');
  return { venue, gridUrl: page.url() };
}

/**
 * On the grid: the first open cell with an enabled 预约 button that starts after the free-cancellation
 * time; returns { slotId, left, key, when }.
 */
async function pickOpenSlot(page, base) {
  const { now, slots } = await slotsFromApi(page, base);
  const starts = new Map(slots.map((slot) => [slot.id, slot.start]));
  const cells = await page.$$eval('table#slot-grid td.slot-open', (tds) => tds.map((td) => ({
    slotId: td.dataset.slot,
    enabled: !!td.querySelector('.slot-book') && !td.querySelector('.slot-book').disabled,
    left: td.querySelector('.slot-left').textContent.trim(),
    key: (td.querySelector('input[name=key]') || {}).value || '',
  })));
  const counts = await page.$$eval('table#slot-grid td.slot', (tds) => tds.reduce((all, td) => ({ ...all, [td.className]: (all[td.className] || 0) + 1 }), {}));
  const open = cells.filter((cell) => cell.enabled);
  check(open.length > 0, `no open cell with an enabled 预约 button: ${JSON.stringify(counts)}`);
  const cell = open.find((candidate) => starts.has(candidate.slotId) && localMs(starts.get(candidate.slotId)) - localMs(now) > CANCEL_MARGIN_MS);
  check(cell, `no open cell starting more than ${CANCEL_MARGIN_MS / 60_000} min after ${now}`);
  const match = cell.left.match(/^余\s*(\d+)$/);
  check(match, `the open cell ${cell.slotId} says "${cell.left}", not "余 N"`);
  check(cell.key.length > 0, `the open cell ${cell.slotId} has no idempotency key`);
  return { slotId: cell.slotId, left: Number(match[1]), key: cell.key, when: starts.get(cell.slotId).replace('T', ' '), today: now.slice(0, 10) };
}

/** Clicks 预约 in the cell and expects /account/bookings?booked=<id>; returns the booking id. */
async function bookCell(page, base, slotId) {
  const button = `td.slot[data-slot="${slotId}"] .slot-book`;
  const response = await submitForm(page, button, '/bookings');
  check(response.status() === 303 || response.status() === 302, `POST /bookings answered ${response.status()}: ${await page.locator('.form-problem').allTextContents()}`);
  const landed = new URL(page.url());
  check(landed.pathname === '/account/bookings' && landed.searchParams.has('booked'), `booking landed on ${page.url()}`);
  return landed.searchParams.get('booked');
}

/** Steps 1–3, on either viewport. Returns what the later steps need. */
async function bookingJourney(page, base, server, who, prefix, phoneLayout) {
  const label = (name) => (phoneLayout ? `phone: ${name}` : name);
  const trip = {};

  await step(label(`log in as ${who.phone}`), async () => {
    if (who.fromDemo) {
      const printed = server.output();
      check(printed.includes(who.phone) && printed.includes(who.password) && /13800000003\s+password demo-resident-pass\s+resident/.test(printed), `the demo does not print ${who.phone} / ${who.password} as its resident`);
    }
    await logInToAccount(page, base, who.phone, who.password);
  });

  await step(label('the first bookable venue printed by the demo: 在线预约 → 预约 → the week grid'), async () => {
    const line = server.output().split('\n').find((text) => text.includes('bookable:')) || '';
    const match = line.match(/\/venues\/([^/\s,]+)\/book/);
    check(match, `the demo prints no bookable venue: "${line.trim()}"`);
    trip.venueId = match[1];
    Object.assign(trip, await openGridFromVenue(page, base, trip.venueId));
    check((await page.locator('table#slot-grid td.slot').count()) > 0, 'the grid has no slot cells');
    if (phoneLayout) await noHorizontalOverflow(page, new URL(trip.gridUrl).pathname);
    await shot(page, `${prefix}-grid`);
  });

  await step(label('book the first open slot → 预约成功 and one booking row with a calendar.ics'), async () => {
    check(trip.gridUrl && new URL(page.url()).pathname.endsWith('/book'), `not on the grid but ${page.url()}`);
    Object.assign(trip, await pickOpenSlot(page, base));
    trip.bookingId = await bookCell(page, base, trip.slotId);
    check(((await page.textContent('.form-notice')) || '').includes('预约成功'), 'no 预约成功 notice');
    const rows = await bookingRows(page, trip.venue, trip.when);
    check(rows.length === 1, `${rows.length} booking rows for ${trip.venue} at ${trip.when}: ${JSON.stringify(rows)}`);
    check(rows[0].id === trip.bookingId, `the row is booking ${rows[0].id}, the notice names ${trip.bookingId}`);
    check(ACTIVE.includes(rows[0].status), `status ${rows[0].status}`);
    const calendar = page.locator(`li.booking-row[data-booking="${trip.bookingId}"] a`, { hasText: '添加到日历' });
    check((await calendar.count()) === 1, 'no 添加到日历 link on the row');
    const href = await calendar.getAttribute('href');
    check(/calendar\.ics$/.test(href), `添加到日历 links to ${href}`);
    const ics = await page.request.get(new URL(href, page.url()).href);
    check(ics.status() === 200, `GET ${href} answered ${ics.status()}`);
    check((ics.headers()['content-type'] || '').startsWith('text/calendar'), `GET ${href} is ${ics.headers()['content-type']}`);
    check((await ics.text()).includes('BEGIN:VEVENT'), `${href} has no BEGIN:VEVENT`);
    if (phoneLayout) await noHorizontalOverflow(page, '/account/bookings');
    await shot(page, `${prefix}-booked`);
  });

  // A second tab on the same grid with an explicit `from=<today>` (the same week): the browser caches
  // pages by URL, and loading the very same URL again here would replace the cached copy that Back
  // shows on the first tab (and with it the form's idempotency key).
  const again = await page.context().newPage();
  const problems = [];
  watchProblems(again, problems, expected);
  trip.gridTab = again;
  trip.gridTabProblems = problems;
  await step(label('the grid again: that cell has one place less; the live refresh runs and agrees'), async () => {
    check(trip.bookingId, 'nothing was booked');
    trip.checkUrl = `${trip.gridUrl}&from=${trip.today}`;
    await again.goto(trip.checkUrl);
    const left = await placesLeft(again, trip.slotId);
    check(left === trip.left - 1, `the cell says 余 ${left}, was 余 ${trip.left} before booking`);
    await again.waitForSelector('table#slot-grid[data-updated]', { state: 'attached', timeout: LIVE_REFRESH_MS });
    const refreshed = await placesLeft(again, trip.slotId);
    check(refreshed === trip.left - 1, `after the live refresh the cell says 余 ${refreshed}, expected 余 ${trip.left - 1}`);
    if (phoneLayout) await noHorizontalOverflow(again, `${new URL(trip.gridUrl).pathname} after booking`);
    await shot(again, `${prefix}-grid-after`);
  });
  return trip;
}

runJourney('booking', async ({ base, server, browser }) => {

  // ---------------------------------------------------------------- desktop
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await desktop.newPage();
  const problems = [];
  watchProblems(page, problems, expected);
  const trip = await bookingJourney(page, base, server, { ...RESIDENT, fromDemo: true }, '41', false);

  await step('Back to the grid and the same form again (same idempotency key): still exactly one booking', async () => {
    check(trip.bookingId, 'nothing was booked');
    await page.goBack();
    check(page.url() === trip.gridUrl, `Back went to ${page.url()}, not the grid ${trip.gridUrl}`);
    const key = await page.inputValue(`td.slot[data-slot="${trip.slotId}"] input[name=key]`);
    check(key === trip.key, `after Back the cell's form has another idempotency key (${key}, was ${trip.key}): the browser reloaded the grid`);
    check(await page.isEnabled(`td.slot[data-slot="${trip.slotId}"] .slot-book`), 'after Back the cell\'s 预约 button is disabled');
    const again = await bookCell(page, base, trip.slotId);
    check(again === trip.bookingId, `the resent form names booking ${again}, the first one was ${trip.bookingId}`);
    const rows = (await bookingRows(page, trip.venue, trip.when)).filter((row) => ACTIVE.includes(row.status));
    check(rows.length === 1, `${rows.length} active bookings for ${trip.venue} at ${trip.when}: ${JSON.stringify(rows)}`);
    await trip.gridTab.goto(trip.checkUrl);
    const left = await placesLeft(trip.gridTab, trip.slotId);
    check(left === trip.left - 1, `the grid says 余 ${left} after the resent form, expected 余 ${trip.left - 1}`);
    await shot(page, '41-resent');
  });

  await step('签到码: a confirmed booking shows its check-in code, as a QR code and as text', async () => {
    check(trip.bookingId, 'nothing was booked');
    await page.goto(`${base}/account/bookings`);
    const row = `li.booking-row[data-booking="${trip.bookingId}"]`;
    // A priced slot's booking is held until confirmed (paid): confirm it first.
    if ((await page.locator(`${row} form[action$="/confirm"] button[type=submit]`).count()) === 1) {
      const response = await submitForm(page, `${row} form[action$="/confirm"] button[type=submit]`, `/account/bookings/${trip.bookingId}/confirm`);
      check(response.status() === 303 || response.status() === 302, `confirm answered ${response.status()}`);
      await page.goto(`${base}/account/bookings`);
    }
    const summary = page.locator(`${row} details.check-in summary`);
    check((await summary.count()) === 1, 'no 签到码 on the confirmed booking');
    check((await summary.textContent()).trim() === '签到码', `the summary says ${await summary.textContent()}`);
    await summary.click();
    check(await page.locator(`${row} .check-in-qr svg`).isVisible(), 'the QR code is not shown');
    const code = ((await page.textContent(`${row} code.check-in-code`)) || '').trim();
    check(new RegExp(`^${trip.bookingId}-[0-9a-f]{12}$`).test(code), `the code is ${code}`);
    await shot(page, '41-check-in-code');
  });

  await step('取消预约 → 已取消 notice and status; the grid has the place back', async () => {
    check(trip.bookingId, 'nothing was booked');
    await page.goto(`${base}/account/bookings`);
    const cancel = page.locator(`li.booking-row[data-booking="${trip.bookingId}"] form[action$="/cancel"] button[type=submit]`);
    check((await cancel.count()) === 1, 'no 取消预约 button on the booking row');
    check((await cancel.textContent()).trim() === '取消预约', `the button says ${await cancel.textContent()}`);
    const response = await submitForm(page, `li.booking-row[data-booking="${trip.bookingId}"] form[action$="/cancel"] button[type=submit]`, `/account/bookings/${trip.bookingId}/cancel`);
    check(response.status() === 303 || response.status() === 302, `cancel answered ${response.status()}: ${await page.locator('.form-problem').allTextContents()}`);
    check(/\/account\/bookings\?done=cancel$/.test(page.url()), `cancel landed on ${page.url()}`);
    check(((await page.textContent('.form-notice')) || '').includes('已取消'), 'no 已取消 notice');
    const status = ((await page.textContent(`li.booking-row[data-booking="${trip.bookingId}"] .booking-status`)) || '').trim();
    check(status === '已取消', `status after cancelling: ${status}`);
    check((await page.locator(`li.booking-row[data-booking="${trip.bookingId}"] form[action$="/cancel"]`).count()) === 0, 'a cancelled booking can be cancelled again');
    await shot(page, '41-cancelled');
    await page.goto(trip.checkUrl);
    const left = await placesLeft(page, trip.slotId);
    check(left === trip.left, `after cancelling the cell says 余 ${left}, expected 余 ${trip.left}`);
  });

  await step('English: /account/bookings?lang=en shows "My bookings"', async () => {
    await page.goto(`${base}/account/bookings?lang=en`);
    check((await page.getAttribute('html', 'lang')) === 'en', 'html lang is not en');
    check((await page.textContent('h1')).trim() === 'My bookings', `heading: ${await page.textContent('h1')}`);
    await shot(page, '41-bookings-english');
  });

  await step('no CSP violations, console errors, script errors or failed requests on the desktop pages', async () => {
    const all = [...problems, ...trip.gridTabProblems];
    check(all.length === 0, all.join('\n'));
  });
  await desktop.close();

  // ---------------------------------------------------------------- phone
  // The demo has one resident account; the phone journey registers a second one first.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const mobile = await phone.newPage();
  const phoneProblems = [];
  watchProblems(mobile, phoneProblems, expected);
  const second = { phone: freshPhone(), name: '手机预约居民', password: PASSWORD };
  await step('phone: register a second resident through /register', async () => {
    await register(mobile, base, second);
  });
  const phoneTrip = await bookingJourney(mobile, base, server, second, '42-phone', true);
  await step('no CSP violations, console errors, script errors or failed requests on the phone pages', async () => {
    const all = [...phoneProblems, ...phoneTrip.gridTabProblems];
    check(all.length === 0, all.join('\n'));
  });
  await phone.close();
});

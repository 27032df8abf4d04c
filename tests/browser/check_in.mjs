// The FitForAll check-in journey in a real browser (headless Debian Chromium via playwright-core):
// the demo venue operator (as `fitforall demo` prints it) logs in → its venue's manage page → creates
// a free every-day session whose only slot starts a few minutes from now (China local time, UTC+8),
// so that the slot is inside its check-in window (15 min before the start to 15 min after) → the
// demo resident books that slot on the week grid → my bookings: 签到码 (QR code and text) → the
// operator types a malformed code (400), a forged one (400 签到码无效), the code of the resident's
// booking of the same time tomorrow (409 "签到 … 开始"), the genuine code (已签到。, the day
// sheet says 已签到) and the genuine code again (409 该预约已签到) → the resident's booking is 已签到
// without a 签到码 → the check-in form on a phone has no horizontal overflow → no unexpected
// problems on any page.
// Starts `fitforall demo` itself on a free port with a fresh database, and always stops it. Prints
// "N passed, M failed"; exits non-zero on any failure.
//
//   cd tests/browser && npm ci && node check_in.mjs
//   FITFORALL_BIN=/path/to/fitforall node check_in.mjs     (default: <repo>/target/debug/fitforall)

import crypto from 'node:crypto';
import { check, logIn, noHorizontalOverflow, runJourney, shot, step, submitForm, watchProblems } from './harness.mjs';

const MINUTE_MS = 60_000;
const CHINA_OFFSET_MS = 8 * 60 * MINUTE_MS;
/** The slot starts at the next 5-minute boundary at least this far from now (time to create and book it). */
const LEAD_MS = 2 * MINUTE_MS;
/** The shortest slot a rule may have: the shorter, the later in the day the journey can run without waiting. */
const SLOT_MIN = 10;
const PLACES = 3;
/** The latest start of a slot that still ends on the same day, before 23:59 (a rule may not run past midnight). */
const LATEST_START_MIN = 24 * 60 - SLOT_MIN - 5;
/** Check-in opens this long before a slot's start and closes this long after it (DESIGN §5). */
const CHECK_IN_MARGIN_MIN = 15;
const CHECK_IN_PATH = /^\/venues\/[^/]+\/manage\/check-in$/;

/**
 * The failures this journey provokes on purpose: the refused check-in forms (400 malformed or
 * forged code, 409 not yet open or already checked in), and Chromium's console line for them.
 */
const expected = (url, status) => CHECK_IN_PATH.test(new URL(url).pathname) && (status === undefined || status === 400 || status === 409);

const pad = (n) => String(n).padStart(2, '0');
/** China local date and time of an instant: { date: 'YYYY-MM-DD', time: 'HH:MM', minuteOfDay }. */
function local(ms) {
  const d = new Date(ms + CHINA_OFFSET_MS);
  return { date: d.toISOString().slice(0, 10), time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`, minuteOfDay: d.getUTCHours() * 60 + d.getUTCMinutes() };
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The slot's start S: the next 5-minute boundary at least LEAD_MS from now. A slot rule must end after
 * it starts on the same day, so when S + 10 min would pass 23:55 (from about 23:43 on) this waits
 * until just after 00:00 China time and computes S again — at most ~17 minutes, once a day.
 */
async function soonSlotStart() {
  for (;;) {
    const now = Date.now();
    const step5 = 5 * MINUTE_MS;
    // 5-minute boundaries of China local time are those of UTC (the offset is whole hours).
    const startMs = Math.ceil((now + LEAD_MS) / step5) * step5;
    const start = local(startMs);
    if (start.date === local(now).date && start.minuteOfDay <= LATEST_START_MIN) return { startMs, ...start };
    const midnightMs = Math.ceil((now + CHINA_OFFSET_MS) / (24 * 60 * MINUTE_MS)) * (24 * 60 * MINUTE_MS) - CHINA_OFFSET_MS;
    const waitMs = midnightMs - now + 5_000;
    console.log(`     a ${SLOT_MIN}-minute slot from ${start.time} would cross local midnight: waiting ${Math.round(waitMs / 1000)} s until after 00:00 China time`);
    await sleep(waitMs);
  }
}

/** The demo accounts `fitforall demo` prints: the resident and the venue operator with its venue id. */
function demoAccounts(printed) {
  const resident = printed.match(/^\s*(\d{11})\s+password\s+(\S+)\s+resident\b/m);
  const operator = printed.match(/^\s*(\d{11})\s+password\s+(\S+)\s+venue operator of (.+?) \(([^)\s]+)\)/m);
  check(resident, `the demo prints no resident account:\n${printed}`);
  check(operator, `the demo prints no venue operator account:\n${printed}`);
  return {
    resident: { phone: resident[1], password: resident[2] },
    operator: { phone: operator[1], password: operator[2], venueName: operator[3].trim(), venueId: operator[4] },
  };
}

async function logInToAccount(page, base, who) {
  await page.goto(`${base}/login`);
  await logIn(page, base, who.phone, who.password);
  check(page.url() === `${base}/account`, `login landed on ${page.url()}`);
}

/** The slots API the grid polls (its data-slots-api), read with the page's cookies: { now, slots }. */
async function slotsFromApi(page, base) {
  check((await page.locator('table#slot-grid').count()) === 1, `no table#slot-grid on ${page.url()}: ${((await page.textContent('main, body')) || '').replace(/\s+/g, ' ').slice(0, 300)}`);
  const api = await page.getAttribute('table#slot-grid', 'data-slots-api');
  check(api, 'the grid has no data-slots-api');
  const response = await page.request.get(`${base}${api}`);
  check(response.status() === 200, `GET ${api} answered ${response.status()}`);
  return response.json();
}

/** On the grid: clicks 预约 in the cell of the slot starting at `start` (YYYY-MM-DDTHH:MM); returns the booking id. */
async function bookSlotAt(page, base, start) {
  const { slots } = await slotsFromApi(page, base);
  const slot = slots.find((candidate) => candidate.start === start);
  check(slot, `no slot starts at ${start}: ${slots.map((candidate) => candidate.start).join(', ')}`);
  const cell = `td.slot[data-slot="${slot.id}"]`;
  check((await page.locator(cell).count()) === 1, `no grid cell for slot ${slot.id} (${start})`);
  const state = await page.getAttribute(cell, 'class');
  check(/\bslot-open\b/.test(state), `the cell of ${start} is "${state}", not open`);
  const response = await submitForm(page, `${cell} .slot-book`, '/bookings');
  check(response.status() === 303 || response.status() === 302, `POST /bookings answered ${response.status()}: ${await page.locator('.form-problem').allTextContents()}`);
  const landed = new URL(page.url());
  check(landed.pathname === '/account/bookings' && landed.searchParams.has('booked'), `booking landed on ${page.url()}`);
  return landed.searchParams.get('booked');
}

/** Opens the 签到码 of a booking row on my bookings and reads the code text. */
async function readCode(page, bookingId) {
  const row = `li.booking-row[data-booking="${bookingId}"]`;
  const summary = page.locator(`${row} details.check-in summary`);
  check((await summary.count()) === 1, `no 签到码 on booking ${bookingId}`);
  check((await summary.textContent()).trim() === '签到码', `the summary says ${await summary.textContent()}`);
  await summary.click();
  check(await page.locator(`${row} .check-in-qr svg`).isVisible(), 'the QR code is not shown');
  const code = ((await page.textContent(`${row} code.check-in-code`)) || '').trim();
  check(new RegExp(`^${bookingId}-[0-9a-f]{12}$`).test(code), `the code of booking ${bookingId} is "${code}"`);
  return code;
}

/** Types `code` into the manage page's check-in form and submits it; returns the response. */
async function submitCode(page, venueId, code) {
  check((await page.locator('section#day form.op-check-in').count()) === 1, `no check-in form in section#day on ${page.url()}`);
  await page.fill('#check-in-code', code);
  return submitForm(page, 'form.op-check-in button[type=submit]', `/venues/${venueId}/manage/check-in`);
}

/** The day sheet's rows for a booking: [{ status, className }]. */
async function dayRows(page, bookingId) {
  return page.$$eval('section#day tr.day-row', (rows, id) => rows
    .filter((row) => [...row.querySelectorAll('code')].some((code) => code.textContent.trim() === id))
    .map((row) => ({ status: row.cells[3].textContent.trim(), className: row.className })), bookingId);
}

/** The refused check-in came back on the manage page with its problem and no notice, nothing checked in. */
async function expectRefused(page, response, status, wanted, bookingId) {
  const problem = ((await page.locator('section#day .form-problem').allTextContents()).join(' ')).replace(/\s+/g, ' ').trim();
  check(response.status() === status, `the check-in answered ${response.status()}, expected ${status}: ${problem}`);
  check(problem.includes(wanted), `the problem says "${problem}", not "${wanted}"`);
  check((await page.locator('.form-notice').count()) === 0, `a notice is shown: ${await page.locator('.form-notice').allTextContents()}`);
  check((await page.locator('section#day form.op-check-in').count()) === 1, 'the check-in form is gone from the refused page');
  if (bookingId) {
    const rows = await dayRows(page, bookingId);
    check(rows.length === 1, `${rows.length} day-sheet rows for booking ${bookingId}`);
    check(rows[0].status === '已确认' && /\bstatus-confirmed\b/.test(rows[0].className), `booking ${bookingId} on the day sheet: ${JSON.stringify(rows[0])}`);
  }
}

runJourney('check-in', async ({ base, server, browser }) => {
  const accounts = demoAccounts(server.output());
  const { operator, resident } = accounts;
  const problems = [];
  const trip = {};

  const operatorContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const op = await operatorContext.newPage();
  watchProblems(op, problems, expected);
  const residentContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const me = await residentContext.newPage();
  watchProblems(me, problems, expected);

  await step(`the demo venue operator ${operator.phone} logs in and opens /venues/${operator.venueId}/manage`, async () => {
    await logInToAccount(op, base, operator);
    const response = await op.goto(`${base}/venues/${operator.venueId}/manage`);
    check(response.status() === 200, `GET /venues/${operator.venueId}/manage answered ${response.status()}`);
    const heading = ((await op.textContent('h1')) || '').trim();
    check(heading.includes(operator.venueName), `the manage page's heading is "${heading}", not of ${operator.venueName}`);
    check((await op.locator('section#day form.op-check-in').count()) === 1, 'no check-in form in the day sheet');
    check((await op.getAttribute('form.op-check-in', 'action')) === `/venues/${operator.venueId}/manage/check-in`, 'the check-in form posts elsewhere');
    check((await op.locator('form.op-check-in input[name=csrf]').count()) === 1, 'the check-in form has no CSRF field');
    check(((await op.textContent('form.op-check-in button[type=submit]')) || '').trim() === '签到', 'the check-in button does not say 签到');
    await shot(op, '51-manage');
  });

  await step('the operator creates a free every-day session whose only slot starts in a few minutes', async () => {
    const start = await soonSlotStart();
    const end = local(start.startMs + SLOT_MIN * MINUTE_MS);
    Object.assign(trip, { start, end, resourceId: `check-in-${crypto.randomBytes(3).toString('hex')}` });
    console.log(`     slot ${start.date} ${start.time}–${end.time} China time (now ${local(Date.now()).time})`);
    await op.goto(`${base}/venues/${operator.venueId}/manage#new-resource`);
    const details = op.locator('section#new-resource details.op-details');
    if (!(await details.evaluate((element) => element.open))) await details.locator('summary').click();
    await op.fill('#new-id', trip.resourceId);
    await op.fill('#new-name', '签到测试课');
    await op.selectOption('#new-kind', 'session');
    const days = op.locator('section#new-resource input[name="slot_rules[0].days"]');
    check((await days.count()) === 7, `${await days.count()} weekday boxes on rule 1`);
    for (let day = 0; day < 7; day += 1) await days.nth(day).check();
    await op.fill('#new-r0-start', start.time);
    await op.fill('#new-r0-end', end.time);
    await op.fill('#new-r0-length', String(SLOT_MIN));
    await op.fill('#new-r0-places', String(PLACES));
    await op.fill('#new-r0-price', '0');
    const response = await submitForm(op, 'section#new-resource form button[type=submit]', `/venues/${operator.venueId}/manage/resources`);
    check(response.status() === 303 || response.status() === 302, `creating the resource answered ${response.status()}: ${await op.locator('.form-problem').allTextContents()}`);
    check(op.url() === `${base}/venues/${operator.venueId}/manage?done=created#r-${trip.resourceId}`, `creating landed on ${op.url()}`);
    check(((await op.textContent('.form-notice')) || '').includes('已创建'), 'no 已创建 notice');
    const panel = op.locator(`section#r-${trip.resourceId}`);
    check((await panel.count()) === 1, `no panel for the new resource ${trip.resourceId}`);
    const times = ((await panel.locator('table.op-rule-table tbody td').nth(1).textContent()) || '').trim();
    check(times === `${start.time}–${end.time}`, `the new rule's times are "${times}"`);
    await shot(op, '51-created');
  });

  await step('the resident logs in and books the slot on the new resource\'s week grid → 已确认', async () => {
    check(trip.resourceId, 'no resource was created');
    await logInToAccount(me, base, resident);
    trip.gridUrl = `${base}/venues/${operator.venueId}/book?resource=${trip.resourceId}`;
    const response = await me.goto(trip.gridUrl);
    check(response.status() === 200, `GET ${trip.gridUrl} answered ${response.status()}`);
    trip.bookingId = await bookSlotAt(me, base, `${trip.start.date}T${trip.start.time}`);
    check(((await me.textContent('.form-notice')) || '').includes('预约成功'), 'no 预约成功 notice');
    const row = `li.booking-row[data-booking="${trip.bookingId}"]`;
    check((await me.locator(row).count()) === 1, `no row for booking ${trip.bookingId}`);
    const when = ((await me.textContent(`${row} p strong`)) || '').trim();
    check(when === `${trip.start.date} ${trip.start.time}`, `the booking is for ${when}`);
    const status = ((await me.textContent(`${row} .booking-status`)) || '').trim();
    check(status === '已确认', `a free booking's status is ${status}, not 已确认`);
    await shot(me, '51-booked');
  });

  await step('my bookings: 签到码 shows the QR code and the code text, with the check-in window', async () => {
    check(trip.bookingId, 'nothing was booked');
    await me.goto(`${base}/account/bookings`);
    trip.code = await readCode(me, trip.bookingId);
    const hint = ((await me.textContent(`li.booking-row[data-booking="${trip.bookingId}"] details.check-in .hint`)) || '').trim();
    const opens = local(trip.start.startMs - CHECK_IN_MARGIN_MIN * MINUTE_MS).time;
    const closes = local(trip.start.startMs + CHECK_IN_MARGIN_MIN * MINUTE_MS).time;
    check(hint.includes(`${opens}–${closes}`), `the hint "${hint}" does not give the window ${opens}–${closes}`);
    await shot(me, '51-check-in-code');
  });

  await step('the operator types a malformed code (12345) → 400 "签到码的格式应如 …", nothing checked in', async () => {
    check(trip.code, 'no check-in code was read');
    await op.goto(`${base}/venues/${operator.venueId}/manage`);
    const rows = await dayRows(op, trip.bookingId);
    check(rows.length === 1 && rows[0].status === '已确认', `the day sheet before checking in: ${JSON.stringify(rows)}`);
    const response = await submitCode(op, operator.venueId, '12345');
    await expectRefused(op, response, 400, '签到码的格式应如', trip.bookingId);
    await shot(op, '51-malformed');
  });

  await step('a forged code (last hex digit changed) → 400 "签到码无效"', async () => {
    check(trip.code, 'no check-in code was read');
    const last = trip.code.slice(-1);
    const forged = `${trip.code.slice(0, -1)}${last === '0' ? '1' : '0'}`;
    // Typed into the form of the refused page the last answer left (it must work as well).
    const response = await submitCode(op, operator.venueId, forged);
    await expectRefused(op, response, 400, '签到码无效', trip.bookingId);
    await shot(op, '51-forged');
  });

  await step('the genuine code of the same slot tomorrow → 409 "签到 <time> 开始"', async () => {
    check(trip.bookingId, 'nothing was booked');
    const tomorrow = local(trip.start.startMs + 24 * 60 * MINUTE_MS);
    await me.goto(trip.gridUrl);
    trip.laterId = await bookSlotAt(me, base, `${tomorrow.date}T${tomorrow.time}`);
    const later = await readCode(me, trip.laterId);
    await op.goto(`${base}/venues/${operator.venueId}/manage`);
    const response = await submitCode(op, operator.venueId, later);
    const opens = local(trip.start.startMs + 24 * 60 * MINUTE_MS - CHECK_IN_MARGIN_MIN * MINUTE_MS);
    await expectRefused(op, response, 409, `签到 ${opens.date.slice(5)} ${opens.time} 开始`, trip.bookingId);
  });

  await step('the genuine code → 已签到。 and the day sheet shows the booking as 已签到', async () => {
    check(trip.code, 'no check-in code was read');
    const response = await submitCode(op, operator.venueId, trip.code);
    check(response.status() === 303 || response.status() === 302, `the check-in answered ${response.status()}: ${await op.locator('.form-problem').allTextContents()}`);
    check(op.url() === `${base}/venues/${operator.venueId}/manage?done=checked_in#day`, `the check-in landed on ${op.url()}`);
    const notice = ((await op.textContent('.form-notice')) || '').trim();
    check(notice === '已签到。', `the notice says "${notice}"`);
    check((await op.locator('.form-problem').count()) === 0, `a problem is shown: ${await op.locator('.form-problem').allTextContents()}`);
    const rows = await dayRows(op, trip.bookingId);
    check(rows.length === 1, `${rows.length} day-sheet rows for booking ${trip.bookingId}`);
    check(rows[0].status === '已签到' && /\bstatus-checked_in\b/.test(rows[0].className), `booking ${trip.bookingId} on the day sheet: ${JSON.stringify(rows[0])}`);
    await shot(op, '51-checked-in');
  });

  await step('the same code again → 409 该预约已签到', async () => {
    check(trip.code, 'no check-in code was read');
    const response = await submitCode(op, operator.venueId, trip.code);
    await expectRefused(op, response, 409, '该预约已签到', null);
    const rows = await dayRows(op, trip.bookingId);
    check(rows.length === 1 && rows[0].status === '已签到', `the day sheet after the second try: ${JSON.stringify(rows)}`);
    await shot(op, '51-again');
  });

  await step('the resident\'s booking is 已签到 and no longer offers its 签到码', async () => {
    check(trip.bookingId, 'nothing was booked');
    await me.goto(`${base}/account/bookings`);
    const row = `li.booking-row[data-booking="${trip.bookingId}"]`;
    const status = ((await me.textContent(`${row} .booking-status`)) || '').trim();
    check(status === '已签到', `the booking's status is ${status}`);
    check((await me.locator(`${row} details.check-in`).count()) === 0, 'a checked-in booking still offers its 签到码');
    check((await me.locator(`${row} form[action$="/cancel"]`).count()) === 0, 'a checked-in booking can be cancelled');
    if (trip.laterId) check((await me.locator(`li.booking-row[data-booking="${trip.laterId}"] details.check-in`).count()) === 1, 'tomorrow\'s confirmed booking lost its 签到码');
    await shot(me, '51-resident-checked-in');
  });

  await step('phone: the manage page\'s check-in form has no horizontal overflow', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      const mobile = await phone.newPage();
      watchProblems(mobile, problems, expected);
      await logInToAccount(mobile, base, operator);
      await mobile.goto(`${base}/venues/${operator.venueId}/manage#day`);
      check(await mobile.locator('form.op-check-in').isVisible(), 'the check-in form is not shown on the phone');
      const box = await mobile.locator('form.op-check-in').boundingBox();
      check(box && box.x >= 0 && box.x + box.width <= 390 + 1, `the check-in form spans ${box && box.x}–${box && box.x + box.width}px`);
      await noHorizontalOverflow(mobile, `/venues/${operator.venueId}/manage`);
      await shot(mobile, '52-phone-manage');
    } finally {
      await phone.close();
    }
  });

  await step('no CSP violations, console errors, script errors or failed requests (besides the refused check-ins)', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
  await operatorContext.close();
  await residentContext.close();
});

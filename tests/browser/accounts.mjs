// The FitForAll account journey in a real browser (headless Debian Chromium via playwright-core):
// register → a refused second registration → log in → my account (identity number, masked) → API
// tokens (shown once, revoked) → log out → the Hangzhou administrator grants a role, reads the audit
// log and is refused Ningbo → English; then register / refused / log in again on a phone viewport.
// Starts `fitforall demo` itself on a free port with a fresh database, and always stops it. Prints
// "N passed, M failed"; exits non-zero on any failure.
//
//   cd tests/browser && npm ci && node accounts.mjs
//   FITFORALL_BIN=/path/to/fitforall node accounts.mjs     (default: <repo>/target/debug/fitforall)

import crypto from 'node:crypto';
import { check, logIn, noHorizontalOverflow, runJourney, shot, step, submitForm, watchProblems } from './harness.mjs';

const PASSWORD = 'journey-pass-123';
const HOME_REGION = '330106'; // 杭州市 · 西湖区
/** The demo's Hangzhou administrator, as `fitforall demo` prints it (checked against its output). */
const HANGZHOU_ADMIN = { phone: '13800000002', password: 'demo-hangzhou-admin' };

/** The failures the steps provoke on purpose: a taken phone number, a refused identity number, Ningbo for a Hangzhou administrator. */
const EXPECTED_FAILURES = [
  { url: /\/register$/, status: 409 },
  { url: /\/account\/identity$/, status: 400 },
  { url: /\/admin\/users\?region=3302$/, status: 403 },
];
const expected = (url, status) => EXPECTED_FAILURES.some((failure) => failure.url.test(url) && (status === undefined || status === failure.status));

/** A fresh mainland mobile number: 139 and 8 random digits. */
function freshPhone() {
  return `139${String(crypto.randomInt(0, 100_000_000)).padStart(8, '0')}`;
}

/** The ISO 7064 MOD 11-2 check character of the first 17 digits of a resident identity number. */
function identityCheck(first17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((total, digit, index) => total + Number(digit) * weights[index], 0);
  return '10X98765432'[sum % 11];
}

const VALID_FIRST17 = `${HOME_REGION}19900307123`;
const VALID_ID = `${VALID_FIRST17}${identityCheck(VALID_FIRST17)}`;
const VALID_ID_MASKED = `${VALID_ID.slice(0, 6)}********${VALID_ID.slice(14)}`;
const WRONG_ID = '330106199001011234'; // the check character of 33010619900101123 is X, not 4

/** The masked phone as the pages show it: 139****1234. */
const maskPhone = (phone) => `${phone.slice(0, 3)}****${phone.slice(7)}`;

async function navTexts(page) {
  return (await page.locator('.site-nav a, .site-nav button').allTextContents()).map((text) => text.trim());
}

/** The text of the `<dd>` next to the `<dt>` named `label` on the account page. */
async function fact(page, label) {
  return page.evaluate((label) => {
    const term = [...document.querySelectorAll('.facts dt')].find((dt) => dt.textContent.trim() === label);
    return term ? term.nextElementSibling.textContent.trim() : null;
  }, label);
}


async function logOut(page, base) {
  await Promise.all([page.waitForURL(`${base}/`), page.locator('.site-nav .nav-button').click()]);
}

/** Steps 1–3: register from the nav link, a refused second registration, log in. Used on both viewports. */
async function registerAndLogIn(page, base, who, prefix, phoneLayout) {
  const label = (name) => (phoneLayout ? `phone: ${name}` : name);

  await step(label('register: the nav link 注册 opens the form; a new account lands on /login with 注册成功'), async () => {
    await page.goto(`${base}/`);
    await Promise.all([page.waitForURL(`${base}/register`), page.locator('.site-nav a', { hasText: '注册' }).click()]);
    check((await page.textContent('h1')).trim().length > 0, 'no heading on /register');
    check((await page.locator(`#home_region option[value="${HOME_REGION}"]`).textContent()).trim() === '杭州市 · 西湖区', 'no 杭州市 · 西湖区 choice');
    if (phoneLayout) await noHorizontalOverflow(page, '/register');
    await shot(page, `${prefix}-register`);
    await page.fill('#phone', who.phone);
    await page.fill('#name', who.name);
    await page.fill('#password', PASSWORD);
    await page.fill('#password_repeat', PASSWORD);
    await page.selectOption('#home_region', HOME_REGION);
    const response = await submitForm(page, 'form.stack-form button[type=submit]', '/register');
    check(response.status() === 303 || response.status() === 302, `register answered ${response.status()}: ${await page.locator('.form-problem').allTextContents()}`);
    const landed = new URL(page.url());
    check(landed.pathname === '/login', `landed on ${page.url()}`);
    check((await page.textContent('.form-notice')).includes('注册成功'), 'no 注册成功 notice');
    if (phoneLayout) await noHorizontalOverflow(page, '/login');
  });

  await step(label('register: the same phone again shows the problem next to the form and keeps the typed name'), async () => {
    await page.goto(`${base}/register`);
    const otherName = `${who.name}二`;
    await page.fill('#phone', who.phone);
    await page.fill('#name', otherName);
    await page.fill('#password', PASSWORD);
    await page.fill('#password_repeat', PASSWORD);
    await page.selectOption('#home_region', HOME_REGION);
    const response = await submitForm(page, 'form.stack-form button[type=submit]', '/register');
    check(response.status() === 409, `status ${response.status()} for a taken phone number`);
    check(new URL(page.url()).pathname === '/register', `now on ${page.url()}`);
    check(await page.isVisible('.form-problem'), 'no .form-problem');
    const problemBox = await page.locator('.form-problem').boundingBox();
    const formBox = await page.locator('form.stack-form').boundingBox();
    check(problemBox.y + problemBox.height <= formBox.y + 1, 'the problem is not shown above the form');
    check((await page.inputValue('#name')) === otherName, `the typed name is lost: ${await page.inputValue('#name')}`);
    check((await page.inputValue('#phone')) === who.phone, 'the typed phone is lost');
    check((await page.inputValue('#home_region')) === HOME_REGION, 'the chosen home region is lost');
    check((await page.inputValue('#password')) === '', 'the password is sent back in the page');
    if (phoneLayout) await noHorizontalOverflow(page, '/register with a problem');
    await shot(page, `${prefix}-register-taken`);
  });

  await step(label('log in: lands on 我的账户 with the name and the masked phone; the nav shows 我的账户 and 退出'), async () => {
    await Promise.all([page.waitForURL(/\/login/), page.locator('.site-nav a', { hasText: '登录' }).click()]);
    if (phoneLayout) await noHorizontalOverflow(page, '/login');
    await logIn(page, base, who.phone, PASSWORD);
    check(page.url() === `${base}/account`, `landed on ${page.url()}`);
    check((await page.textContent('h1')).trim() === '我的账户', 'heading is not 我的账户');
    check((await page.textContent('.account-name')).trim() === who.name, 'the name is not shown');
    check((await fact(page, '手机号')) === maskPhone(who.phone), `phone shown as ${await fact(page, '手机号')}, expected ${maskPhone(who.phone)}`);
    check(!(await page.content()).includes(who.phone), 'the full phone number is in the page');
    const nav = await navTexts(page);
    check(nav.includes('我的账户') && nav.includes('退出'), `nav: ${nav}`);
    check(!nav.includes('登录') && !nav.includes('注册'), `the nav still offers 登录/注册: ${nav}`);
    who.id = (await fact(page, '账户编号')) || '';
    check(/^\d+$/.test(who.id), `no 账户编号 on the account page: ${who.id}`);
    if (phoneLayout) await noHorizontalOverflow(page, '/account');
    await shot(page, `${prefix}-account`);
  });
}

runJourney('accounts', async ({ base, server, browser }) => {

  // ---------------------------------------------------------------- desktop
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await desktop.newPage();
  const problems = [];
  watchProblems(page, problems, expected);
  const resident = { phone: freshPhone(), name: '旅程测试居民' };

  await registerAndLogIn(page, base, resident, '21', false);

  await step('my account: a wrong check digit is refused next to the identity form', async () => {
    await page.goto(`${base}/account`);
    await page.fill('#id_number', WRONG_ID);
    const response = await submitForm(page, '#identity button[type=submit]', '/account/identity');
    check(response.status() === 400, `status ${response.status()} for a wrong check digit`);
    const problem = (await page.textContent('#identity .form-problem')) || '';
    check(/check digit|校验/.test(problem), `the problem does not mention the check digit: ${problem.trim()}`);
    check(!(await page.content()).includes(WRONG_ID), 'the typed number is sent back in the page');
    await shot(page, '22-identity-wrong');
  });

  await step(`my account: a valid identity number (${VALID_ID_MASKED}) is shown masked, never in full`, async () => {
    await page.fill('#id_number', VALID_ID);
    const response = await submitForm(page, '#identity button[type=submit]', '/account/identity');
    check(response.status() === 303 || response.status() === 302, `status ${response.status()}: ${await page.locator('.form-problem').allTextContents()}`);
    check(/\/account\?saved=identity$/.test(page.url()), `landed on ${page.url()}`);
    check(await page.isVisible('.form-notice'), 'no saved notice');
    check((await page.textContent('.identity-masked')).trim() === VALID_ID_MASKED, `shown as ${await page.textContent('.identity-masked')}`);
    check((await page.locator('#id_number').count()) === 0, 'the identity form is still offered');
    check(!(await page.content()).includes(VALID_ID), 'the full identity number is in the page');
    await page.goto(`${base}/account`);
    check(!(await page.content()).includes(VALID_ID), 'the full identity number is in the page on a later visit');
    await shot(page, '23-identity-recorded');
  });

  await step('API tokens: the new token is shown once, gone after a reload, then revoked', async () => {
    await Promise.all([page.waitForURL(`${base}/account/tokens`), page.locator('.account-nav a[href="/account/tokens"]').click()]);
    await page.fill('#token_name', 'journey');
    const response = await submitForm(page, 'form.inline-form button[type=submit]', '/account/tokens');
    check(response.status() === 201, `status ${response.status()}: ${await page.locator('.form-problem').allTextContents()}`);
    check((response.headers()['cache-control'] || '').includes('no-store'), 'the page with the token may be cached');
    const token = (await page.textContent('.token-value')).trim();
    check(/^[0-9a-f]{64}$/.test(token), `token value ${token}`);
    check(!page.url().includes(token), 'the token is in the URL');
    await shot(page, '24-token-created');
    await page.goto(`${base}/account/tokens`);
    check(!(await page.content()).includes(token), 'the token is still in the page after a reload');
    check((await page.locator('.token-value').count()) === 0, 'a token value is still shown');
    const row = page.locator('table.data-table tbody tr', { hasText: 'journey' });
    check((await row.count()) === 1, 'no row for the journey token');
    check((await row.textContent()).includes('有效'), `the token is not active: ${(await row.textContent()).trim()}`);
    await Promise.all([page.waitForURL(`${base}/account/tokens`), row.locator('button[type=submit]').click()]);
    const revoked = page.locator('table.data-table tbody tr', { hasText: 'journey' });
    const state = (await revoked.textContent()).replace(/\s+/g, ' ');
    check(/已于 .+ 撤销/.test(state), `state after revoking: ${state}`);
    check((await revoked.locator('button').count()) === 0, 'a revoked token can be revoked again');
    await shot(page, '25-token-revoked');
  });

  await step('log out: back on the home page with 登录; /account now redirects to /login?next=%2Faccount', async () => {
    await logOut(page, base);
    const nav = await navTexts(page);
    check(nav.includes('登录') && !nav.includes('退出') && !nav.includes('我的账户'), `nav: ${nav}`);
    await page.goto(`${base}/account`);
    check(page.url() === `${base}/login?next=%2Faccount`, `went to ${page.url()}`);
    check((await page.inputValue('input[name=next]')) === '/account', 'the login form forgets where to go back');
  });

  await step('admin: the demo Hangzhou administrator (printed by the demo) logs in; the nav shows 管理', async () => {
    const printed = server.output();
    check(printed.includes(HANGZHOU_ADMIN.phone) && printed.includes(HANGZHOU_ADMIN.password), `the demo does not print ${HANGZHOU_ADMIN.phone} / ${HANGZHOU_ADMIN.password}`);
    await logIn(page, base, HANGZHOU_ADMIN.phone, HANGZHOU_ADMIN.password);
    check(page.url() === `${base}/account`, `landed on ${page.url()}`);
    check((await navTexts(page)).includes('管理'), `nav: ${await navTexts(page)}`);
  });

  await step('admin: /admin/users lists Hangzhou (3301) accounts including the journey account in 西湖区', async () => {
    const [response] = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/users'), page.locator('.site-nav a', { hasText: '管理' }).click()]);
    check(response.status() === 200, `GET /admin/users answered ${response.status()}: ${(await page.textContent('main')).replace(/\s+/g, ' ').slice(0, 200)}`);
    check((await page.inputValue('#region')) === '3301', `region filter ${await page.inputValue('#region')}`);
    check(((await page.locator('main .hint').first().textContent()) || '').includes('杭州市'), 'the region filter is not named 杭州市');
    const row = page.locator(`li.account-row[data-account="${resident.id}"]`);
    check((await row.count()) === 1, `no row for the journey account ${resident.id} among ${await page.locator('li.account-row').count()} accounts`);
    const text = (await row.textContent()).replace(/\s+/g, ' ');
    check(text.includes(resident.name) && text.includes('西湖区') && text.includes(maskPhone(resident.phone)), `row: ${text}`);
    const html = await page.content();
    check(!html.includes(resident.phone) && !html.includes(VALID_ID), 'a full phone or identity number is in the page');
    await shot(page, '26-admin-users');
  });

  await step('admin: granting region_admin for 330106 to the journey account says 已授予角色', async () => {
    check(new URL(page.url()).pathname === '/admin/users', `not on /admin/users but ${page.url()}`);
    const grant = page.locator(`li.account-row[data-account="${resident.id}"] .grant-form`);
    check((await grant.count()) === 1, `no grant form for the journey account ${resident.id}`);
    await grant.locator('select[name=role]').selectOption('region_admin');
    await grant.locator('input[name=scope]').fill(HOME_REGION);
    const response = await submitForm(page, `li.account-row[data-account="${resident.id}"] .grant-form button[type=submit]`, `/admin/users/${resident.id}/roles`);
    check(response.status() === 303 || response.status() === 302, `status ${response.status()}: ${await page.locator('.form-problem').allTextContents()}`);
    check(/done=granted/.test(page.url()), `landed on ${page.url()}`);
    check((await page.textContent('.form-notice')).includes('已授予角色'), 'no 已授予角色 notice');
    const roles = (await page.locator(`li.account-row[data-account="${resident.id}"] .role-list`).textContent()).replace(/\s+/g, ' ');
    check(roles.includes('区域管理员') && roles.includes('西湖区'), `roles now: ${roles}`);
    await shot(page, '27-admin-granted');
  });

  await step('admin: /admin/audit lists the grant_role entry', async () => {
    const response = await page.goto(`${base}/admin/audit`);
    check(response.status() === 200, `GET /admin/audit answered ${response.status()}`);
    const actions = (await page.locator('table.audit-table tbody tr td code').allTextContents()).map((text) => text.trim());
    check(actions.includes('grant_role'), `actions listed: ${[...new Set(actions)]}`);
    check(!(await page.content()).includes(VALID_ID), 'the full identity number is in the audit page');
    await shot(page, '28-admin-audit');
  });

  await step('admin: Ningbo (/admin/users?region=3302) is refused with a 403 没有权限 page', async () => {
    const response = await page.goto(`${base}/admin/users?region=3302`);
    check(response.status() === 403, `status ${response.status()}`);
    check((await page.textContent('h1')).includes('没有权限'), `heading: ${await page.textContent('h1')}`);
  });

  await step('English: /account?lang=en shows "My account"', async () => {
    await logOut(page, base);
    await logIn(page, base, resident.phone, PASSWORD);
    await page.goto(`${base}/account?lang=en`);
    check((await page.getAttribute('html', 'lang')) === 'en', 'html lang is not en');
    check((await page.textContent('h1')).trim() === 'My account', `heading: ${await page.textContent('h1')}`);
    const nav = await navTexts(page);
    check(nav.includes('My account') && nav.includes('Log out'), `nav: ${nav}`);
    await shot(page, '29-account-english');
  });

  await step('English: the journey account now shows the granted region administrator role', async () => {
    const roles = (await fact(page, 'Roles')) || (await page.textContent('.facts')) || '';
    check(/Region administrator/.test(roles) && roles.includes('西湖区'), `roles: ${roles.replace(/\s+/g, ' ').slice(0, 300)}`);
  });

  await step('no CSP violations, console errors or script errors on the desktop pages', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
  await desktop.close();

  // ---------------------------------------------------------------- phone
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const mobile = await phone.newPage();
  const phoneProblems = [];
  watchProblems(mobile, phoneProblems, expected);
  await registerAndLogIn(mobile, base, { phone: freshPhone(), name: '手机旅程居民' }, '31-phone', true);
  await step('no CSP violations, console errors or script errors on the phone pages', async () => {
    check(phoneProblems.length === 0, phoneProblems.join('\n'));
  });
  await phone.close();
});

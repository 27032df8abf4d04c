// The small harness shared by the browser journeys (journey.mjs, accounts.mjs): start and stop
// `fitforall demo`, run named steps and count them, collect CSP violations / console errors /
// script errors / failed requests, take screenshots.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const binary = path.resolve(repo, process.env.FITFORALL_BIN || 'target/debug/fitforall');
export const screenshots = path.join(here, 'screenshots');
export const STARTUP_TIMEOUT_MS = 120_000;
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Options for `chromium.launch`: Debian's browser (never a download), headless. */
export const LAUNCH_OPTIONS = { executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS };

const tally = { passed: 0, failed: 0, results: [] };

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

export async function step(name, body) {
  const started = Date.now();
  try {
    await body();
    tally.passed += 1;
    tally.results.push(`  ok   ${name} (${Date.now() - started} ms)`);
    console.log(`ok   ${name}`);
  } catch (error) {
    tally.failed += 1;
    tally.results.push(`  FAIL ${name}: ${error.message.split('\n')[0]}`);
    console.log(`FAIL ${name}\n     ${error.stack || error}`);
  }
}

/** Counts a failure outside any step (server start-up, browser launch). */
export function failSetup(error) {
  tally.failed += 1;
  console.log(`FAIL setup: ${error.stack || error}`);
}

/** Prints the step list and "N passed, M failed"; returns the exit code. */
export function summary() {
  console.log(`\n${tally.results.join('\n')}`);
  console.log(`${tally.passed} passed, ${tally.failed} failed`);
  return tally.failed === 0 ? 0 : 1;
}

/** Starts `fitforall demo` and resolves with its base URL once it prints "listening on http://…". */
export function startServer(databaseDir) {
  if (!fs.existsSync(binary)) throw new Error(`no server binary at ${binary}: build it (cargo build -p fitforall) or set FITFORALL_BIN`);
  const database = `sqlite://${path.join(databaseDir, 'demo.db')}`;
  const child = spawn(binary, ['demo', '--listen', '127.0.0.1:0', '--database', database], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const base = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not report "listening on" within ${STARTUP_TIMEOUT_MS} ms:\n${output}`)), STARTUP_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = output.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr.on('data', (chunk) => {
      if (process.env.FITFORALL_JOURNEY_VERBOSE) process.stderr.write(chunk);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${signal}):\n${output}`));
    });
  });
  // What the server printed on stdout so far (the demo prints its accounts and tokens there).
  return { child, base, output: () => output };
}

/** SIGTERM (graceful shutdown), then SIGKILL after 5 s; resolves once the process is gone. */
export function stopServer(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Collects CSP violations, console errors, page script errors and failed (>= 400) responses seen by
 * a page into `problems`. `expected(url, status)` says which failures a step provokes on purpose
 * (for console messages `status` is undefined: Chromium's "Failed to load resource" line is matched
 * by the URL it names).
 */
export function watchProblems(page, problems, expected = () => false) {
  page.on('console', (message) => {
    const text = message.text();
    const where = (message.location() && message.location().url) || '';
    if (where && expected(where, undefined)) return;
    if (message.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(`console: ${text}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400 && !expected(response.url(), response.status())) problems.push(`HTTP ${response.status()} ${response.url()}`);
  });
}

/** Submits the form `button` belongs to and waits for the answer to the POST to `action` (any status). */
export async function submitForm(page, button, action) {
  const [response] = await Promise.all([
    page.waitForResponse((candidate) => candidate.request().method() === 'POST' && new URL(candidate.url()).pathname === action),
    page.locator(button).click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

/** Logs in on /login (from wherever the page is); checks the answer is a redirect. */
export async function logIn(page, base, phone, password) {
  if (!new URL(page.url()).pathname.startsWith('/login')) await page.goto(`${base}/login`);
  await page.fill('#phone', phone);
  await page.fill('#password', password);
  const response = await submitForm(page, 'form.stack-form button[type=submit]', '/login');
  check(response.status() === 303 || response.status() === 302, `login answered ${response.status()}: ${await page.locator('.form-problem').allTextContents()}`);
}

/** The page is no wider than the phone's viewport. */
export async function noHorizontalOverflow(page, what) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  check(scrollWidth <= innerWidth + 1, `${what} is ${scrollWidth}px wide on a ${innerWidth}px phone`);
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

/**
 * Runs a journey: a fresh demo server on a temporary database, headless Chromium, then
 * `body({ base, server, browser })`; always closes the browser, stops the server and removes the
 * database, then exits with the summary's code. An error outside the steps counts as a failure.
 */
export async function runJourney(name, body) {
  fs.mkdirSync(screenshots, { recursive: true });
  const databaseDir = fs.mkdtempSync(path.join(os.tmpdir(), `fitforall-${name}-`));
  let server = null;
  let browser = null;
  const cleanUp = () => stopServer(server && server.child);
  process.on('SIGINT', () => {
    cleanUp().then(() => process.exit(130));
  });
  try {
    server = startServer(databaseDir);
    const base = await server.base;
    console.log(`server at ${base}`);
    browser = await chromium.launch(LAUNCH_OPTIONS);
    await body({ base, server, browser });
  } catch (error) {
    failSetup(error);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await cleanUp();
    fs.rmSync(databaseDir, { recursive: true, force: true });
  }
  process.exit(summary());
}

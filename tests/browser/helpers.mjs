// Shared by the browser tests: the browser (Debian's chromium through playwright-core), sign-in
// as a demo user, and one screenshot per step in $TRIAL_ARTIFACTS. run.sh sets the environment.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const base = process.env.TRIAL_URL;
export const passwords = JSON.parse(fs.readFileSync(process.env.TRIAL_PASSWORDS, 'utf8'));
export const root = process.env.TRIAL_ROOT;
export const en = JSON.parse(fs.readFileSync(path.join(root, 'web/i18n/en.json'), 'utf8'));
export const zh = JSON.parse(fs.readFileSync(path.join(root, 'web/i18n/zh-CN.json'), 'utf8'));

// A fresh browser: playwright launches it with its own new --user-data-dir.
export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,  // --headless
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

let step = 0;
export async function shot(page, name) {
  step += 1;
  const file = `${String(step).padStart(2, '0')}-${name.replace(/[^a-z0-9-]+/gi, '_')}.png`;
  await page.screenshot({ path: path.join(process.env.TRIAL_ARTIFACTS, file) });
}

// A new context (its own cookies) signed in as `user`, on the dashboard.
export async function signIn(browser, user, { locale = 'en-US' } = {}) {
  const context = await browser.newContext({ baseURL: base, locale });
  const page = await context.newPage();
  page.dialogs = [];  // any alert() would be a script that ran: tests check it stays empty
  page.on('dialog', (d) => { page.dialogs.push(d.message()); d.dismiss(); });
  await page.goto('/login');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', passwords[user]);
  await Promise.all([page.waitForURL('**/dashboard'), page.click('form[action="/login"] button')]);
  return { context, page };
}

// The id of the subject "SITE-NUMBER" of docs/demo.md (from the subjects page).
export async function subjectId(page, name) {
  const [site, number] = name.split('-');
  await page.goto('/subjects');
  for (const row of await page.locator('tbody tr').all()) {
    const cells = (await row.locator('td').allTextContents()).map((t) => t.trim());
    if (cells[1] === site && cells[2] === number) return cells[0];
  }
  throw new Error(`no subject ${name} on the subjects page`);
}

export function today() {
  return new Date().toISOString().slice(0, 10);
}

// The web UI end to end in a real browser against the demo database (docs/demo.md has its
// subjects and users). Steps run in order and share the server's state; one screenshot each.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { en, launch, shot, signIn, subjectId, today, zh } from './helpers.mjs';

// The demo users and their roles (docs/demo.md).
const roles = {
  admin: 'administrator', investigator: 'investigator', coordinator: 'coordinator',
  pharmacist: 'unblinded_pharmacist', monitor: 'monitor', data_manager: 'data_manager',
  statistician: 'blinded_statistician', unblinded_statistician: 'unblinded_statistician',
  dsmb: 'dsmb_member', sponsor: 'sponsor_viewer',
};

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('every demo role signs in and the dashboard shows the role', async () => {
  // In parallel: each role in its own context (its own cookies).
  await Promise.all(Object.entries(roles).map(async ([user, role]) => {
    const { context, page } = await signIn(browser, user);
    const who = await page.locator('header .who').textContent();
    assert.ok(who.includes(en[`role.${role}`]), `${user}: ${who}`);
    assert.equal(await page.locator('h1').textContent(), en['title.dashboard']);
    await shot(page, `dashboard-${user}`);
    await context.close();
  }));
});

test('a wrong password re-renders the login page with the error', async () => {
  const context = await browser.newContext({ baseURL: process.env.TRIAL_URL });
  const page = await context.newPage();
  await page.goto('/dashboard');  // redirected to the login page
  assert.match(page.url(), /\/login\?next=/);
  await page.fill('input[name=user]', 'sponsor');
  await page.fill('input[name=password]', 'not the password');
  await page.click('form[action="/login"] button');
  assert.match(await page.locator('p.error').textContent(), /wrong username or password/);
  await shot(page, 'login-wrong-password');
  await context.close();
});

test('a coordinator registers and screens a candidate: the 26 criteria', async () => {
  const { context, page } = await signIn(browser, 'coordinator');
  await page.goto('/subjects/new');
  await page.selectOption('select[name=site]', 'PUMCH');
  await page.fill('input[name=number]', '900');
  await Promise.all([page.waitForURL(/\/subjects\/\d+$/), page.click('form[action="/subjects/new"] button')]);
  const id = page.url().match(/(\d+)$/)[1];
  await page.goto(`/subjects/${id}/screening`);
  const examples = process.env.TRIAL_EXAMPLES;
  const expected = JSON.parse(fs.readFileSync(path.join(examples, 'eligible-male.expected.json'), 'utf8'));
  await page.setInputFiles('input[name=bundle_file]', path.join(examples, 'eligible-male.json'));
  await page.fill('input[name=screening_date]', expected.screening_date);
  await page.fill('input[name=randomization_date]', expected.randomization_date);
  await page.check('input[name=save]');
  await page.click('form[enctype="multipart/form-data"] button');
  await page.waitForSelector('table.criteria');
  assert.equal(await page.locator('table.criteria tbody tr').count(), 26);
  assert.match(await page.locator('.verdict').textContent(), new RegExp(en['eligibility.eligible'] ?? 'eligible'));
  await shot(page, 'screening-26-criteria');
  await context.close();
});

test('randomization shows a number and no arm anywhere on the page', async () => {
  const { context, page } = await signIn(browser, 'coordinator');
  const id = await subjectId(page, 'RJH-005');  // eligible (docs/demo.md)
  await page.goto(`/subjects/${id}/randomize`);
  await page.check('input[name=ild][value=absent]');
  await page.check('input[name=confirm]');
  await page.click('form[action$="/randomize"] button');
  const result = page.locator('section.result');
  await result.waitFor();
  assert.match(await result.textContent(), /\S+/);
  const main = await page.locator('main').textContent();
  assert.doesNotMatch(main, /tocilizumab|placebo|\barm\b/i, main);
  await shot(page, 'randomized-number-only');
  // Unblinding is not the coordinator's: the error page with 403.
  const denied = await page.goto(`/subjects/${id}/unblind`);
  assert.equal(denied.status(), 403);
  assert.match(await page.locator('p.error').textContent(), /may not/);
  await shot(page, 'unblind-denied-403');
  await context.close();
});

test('the pharmacist dispenses a kit', async () => {
  const { context, page } = await signIn(browser, 'pharmacist');
  const id = await subjectId(page, 'RJH-005');
  await page.goto(`/subjects/${id}/dispense`);
  await shot(page, 'dispense-form');
  const kits = await page.locator('select[name=kit] option').count();
  assert.ok(kits > 0, 'the site has available kits');
  // D0's kit came with the randomization; the next dosing visit's kit now.
  await page.fill('input[name=visit]', 'W2');
  const kit = await page.locator('select[name=kit]').inputValue();
  await page.click('form[action$="/dispense"] button');
  const result = page.locator('section.result');
  await result.waitFor();
  assert.match(await result.textContent(), /K-\d+/);
  assert.ok(kit.length > 0);
  await shot(page, 'dispense-result');
  await context.close();
});

test('a visit item below its soft range shows the edit-check query', async () => {
  const { context, page } = await signIn(browser, 'coordinator');
  const id = await subjectId(page, 'RJH-002');
  await page.goto(`/subjects/${id}`);
  const form = page.locator('form.ecrf', { has: page.locator('input[name="item.hemoglobin"]') }).first();
  await form.locator('input[name="item.hemoglobin"]').fill('85');
  await form.locator('input[name=reason]').fill('transcription corrected');
  await form.locator('button[type=submit]').click();
  await page.waitForSelector('p.check');
  assert.match(await page.locator('p.check').first().textContent(), /soft range|outside|below/i);
  await shot(page, 'edit-check-query');
  await context.close();
});

test('a monitor opens a query and the coordinator answers it', async () => {
  const monitor = await signIn(browser, 'monitor');
  const id = await subjectId(monitor.page, 'PUMCH-003');
  await monitor.page.goto(`/subjects/${id}`);
  const open = monitor.page.locator(`form[action="/subjects/${id}/queries"]`);
  await open.locator('input[name=visit]').fill('D0');
  await open.locator('input[name=form]').fill('safety_labs');
  await open.locator('input[name=item]').fill('anc');
  await open.locator('input[name=text]').fill('Please confirm the weight against the source');
  await open.locator('button').click();
  await monitor.page.waitForSelector('li.query-open');
  await shot(monitor.page, 'query-opened-by-monitor');
  await monitor.context.close();

  const coordinator = await signIn(browser, 'coordinator');
  await coordinator.page.goto(`/subjects/${id}`);
  const row = coordinator.page.locator('li.query-open', { hasText: 'confirm the weight' });
  await row.locator('input[name=text]').fill('Checked: the source says the same');
  await row.locator('button').click();
  await coordinator.page.waitForSelector('li.query-answered');
  await shot(coordinator.page, 'query-answered-by-coordinator');
  await coordinator.context.close();
});

test('an investigator reports a serious adverse event', async () => {
  const { context, page } = await signIn(browser, 'investigator');
  const id = await subjectId(page, 'PUMCH-003');
  await page.goto(`/aes/new?subject=${id}`);
  const term = page.locator('select[name=term]');
  if (await term.count()) {
    await term.selectOption({ index: 0 });
  } else {
    await page.fill('input[name=term]', 'lung_infection');
  }
  await page.selectOption('select[name=grade]', '3');
  await page.fill('input[name=onset]', today());
  await page.fill('input[name=awareness]', `${today()}T08:00`);
  await page.check('input[name=serious][value=hospitalization]');
  await page.selectOption('select[name=related]', 'possibly_related');
  await page.selectOption('select[name=action]', 'drug_interrupted');
  await shot(page, 'ae-form-serious');
  await Promise.all([page.waitForURL('**/aes'), page.click('form[action="/aes"] button[type=submit]')]);
  const rows = page.locator('tr.serious', { hasText: id });
  assert.ok(await rows.count() > 0);
  await shot(page, 'ae-list-with-sae');
  await context.close();
});

test('中文: the language switch gives Chinese text and lang="zh-CN"', async () => {
  const { context, page } = await signIn(browser, 'coordinator');
  await page.click('a[hreflang="zh-CN"]');
  await page.waitForURL(/lang=zh-CN/);
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.equal(await page.locator('h1').textContent(), zh['title.dashboard']);
  await page.goto('/subjects');  // the cookie keeps the language
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.ok((await page.locator('nav.main').textContent()).includes(zh['nav.subjects']));
  await shot(page, 'chinese-subjects');
  await context.close();
});

test('a <script> payload is shown escaped, never run', async () => {
  const { context, page } = await signIn(browser, 'admin');
  const payload = '<script>alert(1)</script>';
  await page.goto('/admin');
  const add = page.locator('form[action="/admin/sites"]');
  await add.locator('input[name=id]').fill('XSS');
  await add.locator('input[name=name]').fill(payload);
  await Promise.all([page.waitForURL('**/admin'), add.locator('button').click()]);
  const cells = await page.locator('td').allTextContents();
  assert.ok(cells.includes(payload), 'the site name is shown as text');
  const html = await page.content();
  assert.ok(!html.includes(payload), 'never raw in the HTML');
  assert.ok(html.includes('&lt;script&gt;alert(1)'), 'escaped in the HTML');
  assert.deepEqual(page.dialogs, []);
  await shot(page, 'script-payload-escaped');
  await context.close();
});

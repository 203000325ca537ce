// console_inbox.mjs - the web console in a real browser (issue 29):
// Debian's chromium, headless, driven by playwright-core, against the
// demo's mash-console (run by tests/browser/it_browser_console.sh).
//
//   node console_inbox.mjs URL PASSWORD_FILE SEND_SCRIPT EVENT_ID [SHOTS_DIR]
//
// As a social worker would: sign in with the keyboard only; the inbox
// page says it is live; the police agent sends a new record and it
// appears at the top of the list without a reload, with its agency,
// category and severity; the page fits a narrow screen; labels, a skip
// link and focus order are there; sign-out returns to the sign-in form.
// Then as the analyst: the child's picture, one lane per agency, withheld
// fields naming their rule, the open trigger; break-glass offered, refused
// without a reason, shown on the picture it opened; as the auditor: not
// offered at all.
// Exits 0 when every check holds, 1 with one line per failed check.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [url, pwFile, send, eventId, shots] = process.argv.slice(2);
const password = readFileSync(pwFile, 'utf8').trim();
const fails = [];
function check(cond, what) {
  if (!cond) {
    fails.push(what);
    console.error('console_inbox: FAIL: ' + what);
  }
  return cond;
}

const browser = await chromium.launch({
  executablePath: process.env.MASH_CHROMIUM || '/usr/bin/chromium',
  // Root in CI: chromium's sandbox needs user namespaces it may not have.
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
  timeout: 60000,
});
try {
  // The demo's certificate is from the demo's own CA.
  const ctx = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30000);
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });

  // A new tab signed in as user, on the picture page, having asked for
  // the demo child's picture by NHS number for purpose: the tab, once the
  // hub has answered (or the wait is over).
  async function askPicture(user, nhs, purpose) {
    const p = await ctx.newPage();
    p.setDefaultTimeout(30000);
    p.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    await p.goto(url);
    await p.fill('#user', user);
    await p.fill('#password', password);
    await Promise.all([p.waitForURL(/\/inbox$/), p.click('button[type="submit"]')]);
    await p.getByRole('link', { name: 'Case picture' }).click();
    await p.waitForURL(/\/picture$/);
    await p.fill('#nhs', nhs);
    await p.selectOption('#purpose', purpose);
    await p.getByRole('button', { name: 'Show the picture' }).click();
    await p.locator('#status', { hasText: /Picture shown|refused/ }).waitFor({ timeout: 30000 }).catch(() => {});
    return p;
  }

  // A wrong password: the same form again, and no session.
  await page.goto(url);
  await page.fill('#user', 'sam');
  await page.fill('#password', 'not the password at all');
  await page.click('button[type="submit"]');
  await page.locator('[role="alert"]').waitFor();
  check((await ctx.cookies()).length === 0, 'a wrong password gives no session cookie');
  check(!page.url().endsWith('/inbox'), 'a wrong password stays on the sign-in form');

  await page.goto(url);
  check(await page.locator('label[for="user"]').count() === 1, 'user name field has a label');
  check(await page.locator('label[for="password"]').count() === 1, 'password field has a label');
  // Keyboard only: the first Tab reaches the user name field.
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement && document.activeElement.id) === 'user',
    'first Tab focuses the user name');
  await page.keyboard.type('sam');
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await Promise.all([page.waitForURL(/\/inbox$/), page.keyboard.press('Enter')]);
  check(page.url().endsWith('/inbox'), 'signed in with the keyboard lands on /inbox');
  check(!/sam|password/i.test(new URL(page.url()).search), 'nothing personal in the URL');
  const who = await page.locator('#who').innerText();
  check(who.includes('sw.sam'), 'the page names the principal: ' + who);
  await page.locator('#status', { hasText: 'Live' }).waitFor();

  // Browser storage holds nothing; the session cookie is HttpOnly.
  const stored = await page.evaluate(() => localStorage.length + sessionStorage.length);
  check(stored === 0, 'nothing in browser storage');
  check(await page.evaluate(() => document.cookie) === '', 'the session cookie is not readable by script');

  // A new police record arrives live, without a reload.
  const maxBefore = await page.evaluate(() => Math.max(0, ...Array.from(
    document.querySelectorAll('#items > li[data-id]'), (li) => Number(li.dataset.id))));
  execFileSync(send, { stdio: 'inherit' });
  await page.waitForFunction((m) => Array.from(document.querySelectorAll('#items > li[data-id]'))
    .some((li) => Number(li.dataset.id) > m && /police: missing episode/i.test(li.textContent)),
  maxBefore, { timeout: 60000 }).catch(() => {});
  const fresh = page.locator('#items > li[data-id]').filter({ hasText: /police: missing episode/i });
  const ids = await fresh.evaluateAll((els) => els.map((e) => Number(e.dataset.id)));
  const newest = Math.max(0, ...ids);
  check(newest > maxBefore, 'the new police record appeared live (ids ' + ids.join(',') + ', before ' + maxBefore + ')');
  const item = page.locator('#items > li[data-id="' + newest + '"]');
  if (newest > maxBefore) {
    check(await item.locator('.badge').count() === 1, 'with a severity badge');
    check(/Shared under/.test(await item.innerText()), 'with the rule that shared it');
    const order = await page.evaluate(() => Array.from(document.querySelectorAll('#items > li[data-id]'),
      (li) => Number(li.dataset.id)));
    check(order[0] === Math.max(...order), 'newest first');
  }
  check(/New delivery/.test(await page.locator('#status').innerText()), 'the status says a delivery came');
  // The s47 trigger, updated by that record, arrives live as well, with
  // its strategy-discussion clock in working days.
  const trig = page.locator('#items > li.trigger[data-id]');
  const trigIds = await trig.evaluateAll((els) => els.map((e) => Number(e.dataset.id)));
  check(trigIds.some((i) => i > maxBefore), 'an s47 trigger appeared live (ids ' + trigIds.join(',') + ')');
  check(/working day/.test(await trig.first().innerText()), 'the trigger shows its working days');
  // A session reads its own principal's inbox only, whatever is asked.
  const other = await page.evaluate(() => fetch('/api/inbox?principal=auditor.ada').then((r) => r.json()));
  check(other.principal === 'sw.sam', 'sam\'s session reads sw.sam\'s inbox only: ' + other.principal);
  if (shots) await page.screenshot({ path: shots + '/console-inbox-1280x800.png' });

  // The skip link is the first stop on the signed-in page.
  await page.reload();
  await page.locator('#status', { hasText: 'Live' }).waitFor();
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement && document.activeElement.className) === 'skip',
    'first Tab on the inbox reaches the skip link');
  check(await page.locator('#items > li[data-id="' + newest + '"]').count() === 1, 'the new item is still listed after a reload');

  // A narrow screen: no sideways scrolling.
  await page.setViewportSize({ width: 360, height: 740 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 360, 'fits 360 px wide (scrollWidth ' + wide + ')');
  if (shots) await page.screenshot({ path: shots + '/console-inbox-360.png' });
  await page.setViewportSize({ width: 1280, height: 800 });

  // Sign out: back to the sign-in form; the inbox is closed to this tab.
  await Promise.all([page.waitForURL(/\/$/), page.getByRole('button', { name: 'Sign out' }).click()]);
  check(await page.locator('#password').count() === 1, 'sign-out shows the sign-in form');
  const r = await page.request.get(url + 'api/inbox');
  check(r.status() === 401, 'the inbox API after sign-out: ' + r.status());
  void eventId;

  // The analyst asks for the child's combined picture: the NHS number is
  // POSTed (never in a URL), the answer is laid out in one lane per agency
  // with the withheld fields naming their rule, and the open trigger.
  const page2 = await askPicture('amara', '943 476 5919', 'mash-triage');
  check(await page2.locator('label[for="nhs"]').count() === 1, 'the NHS number field has a label');
  const pic = await page2.locator('#picture').innerText();
  check(/L4 child protection/.test(pic), 'the picture shows threshold L4: ' + pic.slice(0, 200));
  check(/VERY_HIGH/.test(pic), 'with the VCL band');
  const lanes = await page2.locator('.lane h4').allInnerTexts();
  check(lanes.length >= 4, 'one lane per agency: ' + lanes.join(','));
  check(await page2.locator('.withheld').filter({ hasText: /Withheld by [a-z0-9.-]+:/ }).count() > 0,
    'withheld fields name the rule that withheld them');
  check(await page2.locator('#picture li.trigger').count() > 0, 'the open s47 trigger is on the picture');
  // Each record pushed to the analyst says what became of that copy,
  // "delivered" only once the broker acknowledged it (issue 31).
  check(await page2.locator('#picture .delivery').filter({ hasText: 'Delivered to your inbox' }).count() > 0,
    'the picture says which records reached the analyst\'s inbox');
  check(!/9434765919/.test(page2.url()), 'the NHS number is not in the URL');
  if (shots) await page2.screenshot({ path: shots + '/console-picture-1280x800.png', fullPage: true });

  // Break-glass: the analyst's role has it (policy rule 8), so it is
  // offered; no reason, no override; with one, the picture says so.
  const bg = page2.getByRole('button', { name: 'Break glass...' });
  if (check(await bg.count() === 1, 'break-glass is offered to the analyst')) {
    await bg.click();
    const dlg = page2.locator('#bg-dialog');
    check(await dlg.isVisible(), 'the break-glass dialog opens');
    await page2.getByRole('button', { name: 'Override and show' }).click();
    check(await dlg.isVisible(), 'no override without a reason');
    await page2.fill('#bg-reason', 'Missing tonight; police ask for the whole picture');
    await page2.getByRole('button', { name: 'Override and show' }).click();
    await page2.locator('p.alert', { hasText: 'Opened by break-glass' }).waitFor({ timeout: 30000 }).catch(() => {});
    check(await page2.locator('p.alert', { hasText: 'Opened by break-glass' }).count() === 1,
      'the picture shows it was opened by break-glass');
  }
  await page2.close();

  // The housing officer (early help) sees no police or health narrative.
  const page4 = await askPicture('hal', '9434765919', 'early-help');
  const hal = await page4.locator('#picture').innerText();
  check(/Picture shown/.test(await page4.locator('#status').innerText()), 'the housing officer gets a picture');
  for (const words of ['Reported missing by mother', 'self-inflicted', 'Vulnerability Checklist'])
    check(!hal.includes(words), 'the housing officer\'s picture has no "' + words + '"');
  if (shots) await page4.screenshot({ path: shots + '/console-picture-housing.png', fullPage: true });
  await page4.close();

  // The auditor's role never has break-glass: not offered.
  const page3 = await askPicture('ada', '9434765919', 'audit');
  check(/Picture shown|refused/.test(await page3.locator('#status').innerText()), 'the auditor gets an answer');
  check(await page3.getByRole('button', { name: 'Break glass...' }).count() === 0,
    'break-glass is not offered to the auditor');
  await page3.close();
  check(consoleErrors.filter((e) => !/401/.test(e)).length === 0,
    'no script errors: ' + consoleErrors.join(' | '));
} finally {
  await browser.close();
}
process.exit(fails.length ? 1 : 0);

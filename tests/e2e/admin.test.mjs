// Issue 8, the manager's and the admin's parts, against `okno serve --demo`: every figure
// of the dashboard opens the list it counts; the admin's workflow editor shows an error at
// its line, keeps the running version, then publishes a valid file. Screenshots go to
// target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, loginAs } from './helpers.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHOTS = join(ROOT, 'target', 'e2e');

async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('every dashboard figure opens the list it counts', async () => {
  const { context, page } = await loginAs(browser, 'manager@demo.okno');
  try {
    await page.goto('/manager');
    await shot(page, 'manager-dashboard-figures');
    const tiles = await page.locator('a.figure').evaluateAll((links) =>
      links.map((a) => ({ href: a.getAttribute('href'), value: a.querySelector('.figure-value').textContent })),
    );
    assert.equal(tiles.length, 6);
    for (const { href, value } of tiles) {
      assert.match(href, /^\/manager\/(tickets|tasks)\?list=/);
      // "fact / plan" tiles list the plan.
      const counted = Number(value.split('/').pop().trim());
      await page.goto(href);
      assert.equal(await page.locator('table.figure-list tbody tr').count(), Math.min(counted, 50), href);
    }
    await page.goto('/manager');
    await Promise.all([page.waitForURL(/list=ours$/), page.locator('#board h3 a').first().click()]);
    assert.match(await page.locator('h1').innerText(), /нашей стороне/);
    await shot(page, 'manager-figure-list');
  } finally {
    await context.close();
  }
});

test('the admin edits a workflow: an error is shown at its line, then a valid file is published', async () => {
  const { context, page } = await loginAs(browser, 'admin@demo.okno');
  try {
    await page.goto('/admin');
    await Promise.all([page.waitForURL(/\/admin\/workflows$/), page.click('a.service[href="/admin/workflows"]')]);
    await Promise.all([page.waitForURL(/\/admin\/workflows\/question$/), page.click('a.button[href="/admin/workflows/question"]')]);
    const original = await page.inputValue('#text');
    const version = Number(/^version = (\d+)$/m.exec(original)[1]);
    const next = original.replace(/^version = \d+$/m, `version = ${version + 1}`);

    // An unknown status: refused, shown at its line, the typed text kept.
    const broken = next.replace('status = "new"', 'status = "bogus"');
    await page.fill('#text', broken);
    await Promise.all([page.waitForLoadState('load'), page.click('form button.primary')]);
    assert.equal(await page.locator('#problems').count(), 1);
    const bad = page.locator('ol.source li.bad');
    assert.ok((await bad.count()) >= 1, 'an error line is marked');
    assert.match(await bad.first().innerText(), /bogus/);
    assert.equal(await page.inputValue('#text'), broken);
    await shot(page, 'admin-workflow-error');

    // Fixed: published as the next version.
    await page.fill('#text', next);
    await Promise.all([page.waitForURL(new RegExp(`saved=${version + 1}$`)), page.click('form button.primary')]);
    assert.match(await page.locator('#saved').innerText(), new RegExp(`${version + 1}`));
    await shot(page, 'admin-workflow-saved');
    await page.goto('/admin/calendars');
    assert.ok((await page.locator('ul.holidays li').count()) > 0, 'holidays are listed');
    await shot(page, 'admin-calendars');
  } finally {
    await context.close();
  }
});

test('the admin edits a support level: an error at its line, then the norms saved as a new version', async () => {
  const { context, page } = await loginAs(browser, 'admin@demo.okno');
  try {
    await page.goto('/admin/calendars');
    await Promise.all([page.waitForURL(/\/admin\/support-levels\/standard$/), page.click('#edit-level-standard')]);
    const original = await page.inputValue('#text');
    const broken = original.replace('reaction = "1h"', 'reaction = "soon"');
    assert.notEqual(broken, original);
    await page.fill('#text', broken);
    await Promise.all([page.waitForLoadState('load'), page.click('form button.primary')]);
    assert.equal(await page.locator('#problems').count(), 1);
    assert.match(await page.locator('ol.source li.bad').first().innerText(), /soon/);
    assert.equal(await page.inputValue('#text'), broken);
    await shot(page, 'admin-level-error');

    // The same norms again: saved as the next version, in force at once.
    await page.fill('#text', original);
    await Promise.all([page.waitForURL(/saved=\d+$/), page.click('form button.primary')]);
    assert.equal(await page.locator('#saved').count(), 1);
    assert.equal(await page.inputValue('#text'), original);
    await shot(page, 'admin-level-saved');
  } finally {
    await context.close();
  }
});

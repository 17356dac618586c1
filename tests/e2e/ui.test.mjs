// Issue 19: workplaces a firm can run on. Every page of every role in Russian and English
// at phone width (390 px) without horizontal overflow, with no untranslated key, raw code
// or Markdown marker; the language switch keeps the query; a flash after each action;
// times in the viewer's zone, named when it is not the firm's. Screenshots in target/e2e/.
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

const PAGES = {
  'client@alfa.demo': ['/', '/tickets/new?service=question', '/kb', '/profile', '/search?q=счёт'],
  'line1@demo.okno': ['/', '/desk', '/kb', '/planning', '/profile', '/search?q=счёт'],
  'dev@demo.okno': ['/', '/desk'],
  'manager@demo.okno': ['/', '/desk', '/manager', '/profile'],
  'admin@demo.okno': ['/admin', '/admin/users', '/admin/clients', '/admin/contracts', '/admin/workflows', '/admin/calendars', '/admin/skills'],
};

/** What the reader sees that no page may show: untranslated keys, snake_case codes, Markdown. */
async function rawBits(page, lang) {
  // Text in <code> is an identifier shown on purpose (a service's code on the admin pages).
  const text = await page.evaluate(() => {
    for (const code of document.querySelectorAll('code')) code.textContent = '';
    return document.body.innerText;
  });
  const found = [];
  if (text.includes('⟦')) found.push(text.slice(text.indexOf('⟦'), text.indexOf('⟦') + 40));
  for (const marker of ['**', '```', '](']) if (text.includes(marker)) found.push(marker);
  for (const raw of text.split(/[\s()[\]{},;:«»"'·—–/|!?]+/)) {
    const token = raw.replace(/^[.…]+|[.…]+$/g, '');
    if (/[@.\d]/.test(token)) continue;
    if (/^[a-z]+(_[a-z]+)+$/.test(token)) found.push(token);
    else if (lang === 'ru' && /^[a-z]{3,}$/.test(token)) found.push(token);
  }
  return [...new Set(found)];
}

/** The first ticket page the viewer's list links to, if any. */
async function firstTicket(page) {
  const link = page.locator('table.tickets a[href^="/tickets/OK-"]').first();
  return (await link.count()) ? link.getAttribute('href') : null;
}

test('every page of every role fits a phone and shows words, not codes, in both languages', async () => {
  const problems = [];
  for (const [email, paths] of Object.entries(PAGES)) {
    const { context, page } = await loginAs(browser, email, { viewport: { width: 390, height: 844 } });
    try {
      await page.goto('/');
      const ticket = email.startsWith('admin') ? null : await firstTicket(page);
      const all = ticket ? [...paths, ticket] : paths;
      if (email === 'manager@demo.okno') {
        await page.goto('/manager');
        const list = page.locator('a.figure').first();
        if (await list.count()) all.push(await list.getAttribute('href'));
      }
      if (email === 'line1@demo.okno') {
        await page.goto('/desk');
        const task = page.locator('#queue a.task-link').first();
        if (await task.count()) all.push(await task.getAttribute('href'));
      }
      for (const lang of ['ru', 'en']) {
        for (const path of all) {
          const sep = path.includes('?') ? '&' : '?';
          const response = await page.goto(`${path}${sep}lang=${lang}`);
          if (response.status() !== 200) problems.push(`${email} ${path} ${lang}: ${response.status()}`);
          const width = await page.evaluate(() => document.documentElement.scrollWidth);
          if (width > 390) problems.push(`${email} ${path} ${lang}: ${width} px wide`);
          const raw = await rawBits(page, lang);
          if (raw.length) problems.push(`${email} ${path} ${lang}: ${raw.join(', ')}`);
        }
      }
      await page.goto(`${all[0]}${all[0].includes('?') ? '&' : '?'}lang=ru`);
      await shot(page, `phone-${email.split('@')[0]}`);
    } finally {
      await context.close();
    }
  }
  assert.deepEqual(problems, []);
});

test('the language switch keeps the path and the query', async () => {
  const { context, page } = await loginAs(browser, 'line1@demo.okno');
  try {
    await page.goto('/?status=new&lang=ru');
    await Promise.all([page.waitForURL(/lang=en/), page.click('a.lang-switch')]);
    const url = new URL(page.url());
    assert.equal(url.pathname, '/');
    assert.equal(url.searchParams.get('status'), 'new');
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.equal(await page.locator('h1').count() > 0, true);
  } finally {
    await context.close();
  }
});

test('taking a task says so once, and the task page shows outcomes and instructions in words', async () => {
  for (const lang of ['ru', 'en']) {
    const { context, page } = await loginAs(browser, 'line1@demo.okno');
    try {
      await page.goto(`/desk?lang=${lang}`);
      // The queue tells the tasks apart: client and subject on each row.
      const first = page.locator('#queue .queue-item').first();
      assert.ok((await first.locator('.queue-subject').innerText()).length > 0);
      assert.ok((await first.locator('.queue-client').innerText()).length > 0);
      const take = page.locator('#queue .queue-item:not(.mine) a.task-link').first();
      await Promise.all([page.waitForURL(/\/tasks\/\d+$/), take.click()]);
      if (await page.locator('#take').count()) {
        await Promise.all([page.waitForURL(/\/tasks\/\d+$/), page.click('#take')]);
        const flash = await page.locator('#flash').innerText();
        assert.match(flash, lang === 'ru' ? /взята в работу/ : /took the task/);
        await page.reload();
        assert.equal(await page.locator('#flash').count(), 0, 'the flash shows once');
      }
      const options = await page.locator('#outcome option').allInnerTexts();
      for (const o of options) assert.doesNotMatch(o, /^[a-z_]+$/, `outcome ${o}`);
      const instructions = page.locator('.instructions .markdown');
      if (await instructions.count()) {
        assert.doesNotMatch(await instructions.innerText(), /\*\*/);
      }
      await shot(page, `task-${lang}`);
    } finally {
      await context.close();
    }
  }
});

test('times show in the viewer zone, named when it is not the firm\'s', async () => {
  const { context, page } = await loginAs(browser, 'line1@demo.okno', { timezoneId: 'Asia/Novosibirsk' });
  try {
    // The page's script sent the browser's zone once.
    await page.goto('/?lang=ru');
    await page.goto('/?lang=ru');
    const cookies = await context.cookies();
    assert.equal(cookies.find((c) => c.name === 'tz')?.value, 'Asia/Novosibirsk');
    const ticket = await firstTicket(page);
    await page.goto(ticket);
    assert.match(await page.locator('main').innerText(), /UTC\+7/);
    // The profile's zone wins.
    await page.goto('/profile');
    await page.fill('#time_zone', 'Asia/Vladivostok');
    await Promise.all([page.waitForURL(/\/profile$/), page.click('#profile-save')]);
    assert.match(await page.locator('#flash').innerText(), /сохранены/);
    assert.match(await page.locator('#zone-now').innerText(), /UTC\+10/);
    await page.fill('#time_zone', '');
    await Promise.all([page.waitForURL(/\/profile$/), page.click('#profile-save')]);
  } finally {
    await context.close();
  }
});

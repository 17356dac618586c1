// Issue 8, the client portal and the specialist desk panels, against `okno serve --demo`:
// live conversation, the new-ticket form (autosave, dropped files, the size check before
// sending, errors kept next to fields), the timer, the ticket 360°, planning, and a
// keyboard and labels pass. Screenshots of every page added go to target/e2e/.
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

/** Drops files (made in the page: `[name, size]`) onto `selector`, as a drag from the desktop would. */
async function dropFiles(page, selector, files) {
  const transfer = await page.evaluateHandle((specs) => {
    const dt = new DataTransfer();
    for (const [name, size] of specs) dt.items.add(new File([new Uint8Array(size)], name, { type: 'text/plain' }));
    return dt;
  }, files);
  await page.dispatchEvent(selector, 'dragenter', { dataTransfer: transfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer: transfer });
}

/** Opens a ticket from the portal with `subject`; returns its path. */
async function openTicket(page, subject) {
  await page.goto('/tickets/new?service=question');
  await page.fill('#subject', subject);
  await page.fill('#description', 'Проверка живого обновления переписки.');
  await Promise.all([page.waitForURL(/\/tickets\/OK-\d{6}$/), page.click('#send')]);
  return new URL(page.url()).pathname;
}

test('a new comment appears on an open ticket page without a reload', async () => {
  const client = await loginAs(browser, 'client@alfa.demo');
  const staff = await loginAs(browser, 'line1@demo.okno');
  try {
    const path = await openTicket(client.page, `Живая переписка ${Date.now()}`);
    // A marker in the page's own memory: a reload would lose it.
    await client.page.evaluate(() => { window.okno_marker = 'same page'; });
    const answer = `Ответ без перезагрузки ${Date.now()}`;
    await staff.page.goto(path);
    await staff.page.fill('#body', answer);
    await Promise.all([staff.page.waitForURL(/#comment-\d+$/), staff.page.click('.comment-form button[type=submit]')]);
    await client.page.locator('.comment', { hasText: answer }).waitFor({ timeout: 15000 });
    assert.equal(await client.page.evaluate(() => window.okno_marker), 'same page');
  } finally {
    await client.context.close();
    await staff.context.close();
  }
});

test('the new-ticket form autosaves, takes dropped files and refuses an oversized one before sending', async () => {
  const { context, page } = await loginAs(browser, 'client@alfa.demo');
  try {
    await page.goto('/tickets/new?service=question');
    const limit = Number(await page.getAttribute('form.new-ticket-form', 'data-max-bytes'));
    assert.ok(limit > 0, 'the server renders its limit into the form');

    // Autosave: the typed text survives a reload.
    const subject = `Черновик сам сохраняется ${Date.now()}`;
    await page.fill('#subject', subject);
    await page.fill('#description', 'Текст, который нельзя потерять.');
    await page.locator('#autosave-status', { hasText: /сохранён/ }).waitFor();
    await page.reload();
    assert.equal(await page.inputValue('#subject'), subject);
    assert.match(await page.locator('#autosave-status').innerText(), /Восстановлен/);

    // An oversized file: said next to the field, and nothing is sent.
    const requests = [];
    page.on('request', (r) => { if (r.method() === 'POST') requests.push(r.url()); });
    await dropFiles(page, '#dropzone', [['huge.iso', limit + 1]]);
    await page.locator('#files-error', { hasText: /больше/ }).waitFor();
    assert.equal(await page.getAttribute('#files', 'aria-invalid'), 'true');
    await page.click('#send');
    assert.equal(requests.length, 0, 'the browser did not send an oversized file');
    assert.match(page.url(), /\/tickets\/new\?service=question$/);
    await shot(page, 'client-new-ticket-too-large');

    // Dropped files that fit go with the ticket.
    await page.reload();
    await page.fill('#subject', subject);
    await dropFiles(page, '#dropzone', [['screen.log', 2048], ['steps.txt', 100]]);
    assert.equal(await page.locator('#chosen-files li').count(), 2);
    assert.equal(await page.locator('#files-error').isHidden(), true);
    await shot(page, 'client-new-ticket');
    await Promise.all([page.waitForURL(/\/tickets\/OK-\d{6}$/), page.click('#send')]);
    const files = await page.locator('#files .files').innerText();
    assert.match(files, /screen\.log/);
    assert.match(files, /steps\.txt/);

    // Sent: the saved text is gone, the next form starts empty.
    await page.goto('/tickets/new?service=question');
    assert.equal(await page.inputValue('#subject'), '');

    // A mistake keeps what was typed and says it next to the field.
    await page.fill('#description', 'Без темы.');
    await page.click('#send');
    await page.locator('#subject-error').waitFor();
    assert.equal(await page.getAttribute('#subject', 'aria-invalid'), 'true');
    assert.equal(await page.inputValue('#description'), 'Без темы.');

    // The explicit draft goes to the server.
    await page.fill('#subject', `Явный черновик ${Date.now()}`);
    await Promise.all([page.waitForURL(/\/tickets\/OK-\d{6}$/), page.click('#save-draft')]);
    assert.match(await page.locator('.ticket-head .badge').innerText(), /Черновик/);

    // The saved draft opens again: changed and saved, then sent.
    await Promise.all([page.waitForURL(/\/tickets\/OK-\d{6}\/edit$/), page.click('#edit-draft')]);
    const changed = `Изменённый черновик ${Date.now()}`;
    await page.fill('#subject', changed);
    await Promise.all([page.waitForURL(/\/tickets\/OK-\d{6}$/), page.click('#save-draft')]);
    assert.equal(await page.locator('article.ticket h1').innerText(), changed);
    assert.match(await page.locator('.ticket-head .badge').innerText(), /Черновик/);
    await Promise.all([page.waitForURL(/\/tickets\/OK-\d{6}\/edit$/), page.click('#edit-draft')]);
    await Promise.all([page.waitForURL(/\/tickets\/OK-\d{6}$/), page.click('#send')]);
    assert.doesNotMatch(await page.locator('.ticket-head .badge').innerText(), /Черновик/);
  } finally {
    await context.close();
  }
});

test('the client portal shows the contract quota and client articles', async () => {
  const { context, page } = await loginAs(browser, 'client@alfa.demo');
  try {
    const quota = await page.locator('#quota').innerText();
    assert.match(quota, /ИТС-2026\/ALFA/);
    assert.match(quota, /\d+ \/ \d+/);
    assert.ok((await page.locator('#kb-panel .kb-links li').count()) > 0, 'client articles are listed');
    await shot(page, 'client-portal-panels');
    await page.goto('/?lang=en');
    assert.match(await page.locator('#quota h2').innerText(), /My contract/);
    await page.goto('/?lang=ru');
  } finally {
    await context.close();
  }
});

test('the specialist times a task, sees the ticket 360°, plans it and finds it in the week', async () => {
  const client = await loginAs(browser, 'client@alfa.demo');
  const subject = `Для таймера и плана ${Date.now()}`;
  let ticketPath;
  try {
    ticketPath = await openTicket(client.page, subject);
  } finally {
    await client.context.close();
  }
  const { context, page } = await loginAs(browser, 'line1@demo.okno');
  try {
    await page.goto(ticketPath);
    await page.locator('.task:not(.done) a.task-link').first().click();
    await page.waitForURL(/\/tasks\/\d+$/);
    const taskPath = new URL(page.url()).pathname;
    const panel = await page.locator('#ticket-360').innerText();
    assert.match(panel, /ALFA/);
    assert.match(panel, /ИТС-2026\/ALFA/);
    assert.match(panel, /\d+:\d\d:\d\d/, 'time spent');
    await shot(page, 'specialist-task-360');

    // The timer: started here, visible and ticking on the desk, stopped there.
    await Promise.all([page.waitForURL(/\/tasks\/\d+$/), page.click('#timer-start')]);
    const clock = page.locator('#timer .timer-clock');
    await clock.waitFor();
    await page.goto('/desk');
    const first = await clock.innerText();
    await page.waitForTimeout(1500);
    assert.notEqual(await clock.innerText(), first, 'the clock ticks');
    assert.equal(await page.locator('#timer a').getAttribute('href'), taskPath);
    await shot(page, 'specialist-desk-timer');
    // The ticket page shows the running timer too.
    await page.goto(ticketPath);
    assert.equal(await page.locator('#timer a').getAttribute('href'), taskPath);
    await page.goto('/desk');
    await Promise.all([page.waitForURL(/\/desk$/), page.click('#timer-stop')]);
    assert.equal(await page.locator('#timer .timer-clock').count(), 0);

    // Planning: take the task, plan it, see it in the week with the day's load.
    await page.goto(taskPath);
    if ((await page.locator('#take').count()) > 0) {
      await Promise.all([page.waitForURL(/\/tasks\/\d+$/), page.click('#take')]);
    }
    await page.fill('#plan-minutes', '0');
    await page.locator('#plan-minutes').evaluate((el) => el.removeAttribute('min'));
    await page.click('#plan-submit');
    await page.locator('#plan-error').waitFor();
    assert.equal(await page.inputValue('#plan-minutes'), '0', 'what was typed stays');
    await page.fill('#plan-minutes', '45');
    // A working day: Monday of next week.
    const monday = await page.evaluate(() => {
      const d = new Date();
      d.setDate(d.getDate() + ((8 - d.getDay()) % 7 || 7));
      return d.toISOString().slice(0, 10);
    });
    await page.fill('#plan-date', monday);
    await page.fill('#plan-time', '11:00');
    await Promise.all([page.waitForURL(/\/planning\?week=/), page.click('#plan-submit')]);
    const planned = page.locator('.planned-task', { has: page.locator(`a[href="${taskPath}"]`) });
    assert.equal(await planned.count(), 1);
    assert.match(await planned.innerText(), /11:00/);
    assert.ok((await page.locator('#personal-figures tbody tr').count()) >= 5);
    await shot(page, 'specialist-planning');
    await page.goto(`${new URL(page.url()).pathname}${new URL(page.url()).search}&lang=en`);
    assert.match(await page.locator('h1').innerText(), /Planning/);
    await page.goto('/desk?lang=ru');
  } finally {
    await context.close();
  }
});

test('my pages: every field has a label, keyboard focus shows, the skip link comes first', async () => {
  const client = await loginAs(browser, 'client@alfa.demo');
  const staff = await loginAs(browser, 'line1@demo.okno');
  try {
    const pages = [
      [client.page, '/'],
      [client.page, '/tickets/new?service=question'],
      [staff.page, '/desk'],
      [staff.page, '/planning'],
    ];
    const ticket = await client.page.locator('table.tickets a.subject').first().getAttribute('href');
    pages.push([client.page, ticket]);
    await staff.page.goto('/desk');
    const task = await staff.page.locator('.queue a.task-link').first().getAttribute('href');
    if (task) pages.push([staff.page, task]);
    for (const [page, path] of pages) {
      await page.goto(path);
      const unlabelled = await page.evaluate(() =>
        Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
          .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      assert.deepEqual(unlabelled, [], `${path}: fields without a label`);
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return { cls: el.className, outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
      });
      assert.equal(focused.cls, 'skip', `${path}: the skip link is the first stop`);
      assert.notEqual(focused.outline, 'none', `${path}: focus is visible`);
      assert.ok(focused.width >= 2, `${path}: focus outline is at least 2px`);
    }
  } finally {
    await client.context.close();
    await staff.context.close();
  }
});

// Issue 8: the three workplaces end to end, against `okno serve --demo`. A client opens a
// ticket from the portal; line 1 classifies it as a bug; line 3 fixes it; line 1 tells the
// client; the client sees the answer and rates it; the manager's figures count it.
// Screenshots of every workplace go to target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASE_URL, launch, loginAs } from './helpers.mjs';

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

/** The number shown by a figure on the manager dashboard (its label in Russian). */
async function figure(page, label) {
  const text = await page.locator('a.figure', { hasText: label }).locator('.figure-value').innerText();
  return Number(text.split('/')[0].trim());
}

/** Opens the ticket's open task whose title matches, as `email`, and completes it. */
async function completeTask(email, ticketHref, title, outcome, summary, before) {
  const { context, page } = await loginAs(browser, email);
  try {
    await page.goto('/desk');
    assert.ok((await page.locator('#queue').count()) === 1, 'the desk shows the queue');
    await page.goto(ticketHref);
    await page.locator('.task:not(.done) a.task-link', { hasText: title }).click();
    await page.waitForURL(/\/tasks\/\d+$/);
    if (before) await before(page);
    if ((await page.locator('#take').count()) > 0) {
      await Promise.all([page.waitForURL(/\/tasks\/\d+$/), page.click('#take')]);
    }
    await page.selectOption('#outcome', outcome);
    if (summary) await page.fill('#summary', summary);
    await Promise.all([page.waitForURL(/\/tickets\/OK-\d{6}$/), page.click('#complete')]);
  } finally {
    await context.close();
  }
}

test('a bug goes from the portal through lines 1 and 3 back to the client and into the figures', async () => {
  const manager = await loginAs(browser, 'manager@demo.okno');
  await manager.page.goto('/manager');
  const bugsBefore = await figure(manager.page, 'Ошибок за 14 дней');

  // The client: one button per service, the form, the promise in plain words.
  const client = await loginAs(browser, 'client@alfa.demo');
  const subject = `Не создаётся группа справочника ${Date.now()}`;
  let ticketHref;
  try {
    await shot(client.page, 'client-portal');
    await client.page.click('a.service[href="/tickets/new?service=question"]');
    await client.page.fill('#subject', subject);
    await client.page.fill('#description', 'После обновления кнопка «Создать группу» ничего не делает.');
    await Promise.all([client.page.waitForURL(/\/tickets\/OK-\d{6}$/), client.page.click('main form button.primary')]);
    ticketHref = new URL(client.page.url()).pathname;
    // One promise: the header names the instant the desk's own message names.
    const promise = await client.page.locator('.promise').innerText();
    const [, when] = promise.match(/^Мы ответим до (\d{1,2} [а-я]+ \d{4}, \d{2}:\d{2} \(МСК[^)]*\))/) ?? [];
    assert.ok(when, promise);
    assert.ok((await client.page.locator('main').innerText()).includes(`свяжется с вами до ${when}`), when);
  } finally {
    await client.context.close();
  }

  // Line 1: the desk puts a task on top and says why; classify as a bug with a summary.
  const line1 = await loginAs(browser, 'line1@demo.okno');
  try {
    await line1.page.goto('/desk');
    assert.equal(await line1.page.locator('.queue-item.top').count(), 1, 'one top task');
    assert.match(await line1.page.locator('.queue-item.top .why').innerText(), /Приоритет|Срок прошёл/);
    await shot(line1.page, 'specialist-desk');
  } finally {
    await line1.context.close();
  }
  const summary = 'Шаги: открыть справочник, нажать «Создать группу». Ожидается форма, её нет.';
  await completeTask('line1@demo.okno', ticketHref, 'Классифицировать', 'bug', summary, async (page) => {
    assert.match(await page.locator('.task-card').innerText(), /Описание клиента/);
    await shot(page, 'specialist-task-line1');
  });

  // Line 3 sees line 1's summary instead of the client's text, and fixes the bug.
  await completeTask('dev@demo.okno', ticketHref, 'Исправить ошибку', 'done', 'Исправлено в релизе 3.2.1.', async (page) => {
    assert.equal(await page.locator('.summary').innerText(), summary);
    await shot(page, 'specialist-task-line3');
  });

  // Line 1 tells the client in a public reply, then completes the notify task.
  const answer = `Ошибка исправлена в версии 3.2.1 ${Date.now()}`;
  const notify = await loginAs(browser, 'line1@demo.okno');
  try {
    await notify.page.goto(ticketHref);
    await notify.page.fill('#body', answer);
    await Promise.all([notify.page.waitForURL(/#comment-\d+$/), notify.page.click('.comment-form button[type=submit]')]);
  } finally {
    await notify.context.close();
  }
  await completeTask('line1@demo.okno', ticketHref, 'Сообщить клиенту', 'done', null);

  // The client sees the answer and rates it.
  const back = await loginAs(browser, 'client@alfa.demo');
  try {
    await back.page.goto(ticketHref);
    assert.equal(await back.page.locator('.comment', { hasText: answer }).count(), 1);
    assert.match(await back.page.locator('.ticket-head .badge').innerText(), /^(Решён|Закрыт)$/);
    await back.page.check('input[name=score][value="5"]');
    await Promise.all([back.page.waitForURL(/#rating$/), back.page.click('.rating-form button[type=submit]')]);
    assert.match(await back.page.locator('.rated').innerText(), /5 из 5/);
    await shot(back.page, 'client-ticket-rated');
  } finally {
    await back.context.close();
  }

  // The manager's figures count the new bug.
  try {
    await manager.page.goto('/manager');
    assert.equal(await figure(manager.page, 'Ошибок за 14 дней'), bugsBefore + 1);
    assert.ok((await manager.page.locator('#new-tickets rect').count()) > 0, 'new tickets chart has bars');
    assert.equal(await manager.page.locator('#board .board-column').count(), 2);
    await shot(manager.page, 'manager-dashboard');
  } finally {
    await manager.context.close();
  }
});

test('an expired session returns to login and then to the page', async () => {
  const context = await browser.newContext({ baseURL: BASE_URL, locale: 'ru-RU' });
  const page = await context.newPage();
  try {
    await page.goto('/desk');
    assert.match(page.url(), /\/login\?next=\/desk$/);
    await page.fill('#email', 'line1@demo.okno');
    await page.fill('#password', 'demo');
    await Promise.all([page.waitForURL(`${BASE_URL}/desk`), page.click('button[type=submit]')]);
    assert.equal(await page.locator('h1').innerText(), 'Мой стол');
  } finally {
    await context.close();
  }
});

test('the workplaces render in English too', async () => {
  const { context, page } = await loginAs(browser, 'manager@demo.okno');
  try {
    await page.goto('/manager?lang=en');
    assert.equal(await page.locator('h1').innerText(), 'Support figures');
    assert.match(await page.locator('#board').innerText(), /Waiting on us/);
    await page.goto('/desk');
    assert.equal(await page.locator('h1').innerText(), 'My desk');
    await shot(page, 'specialist-desk-en');
  } finally {
    await context.close();
  }
});

// The client's and the specialist's first steps in a browser, against the demo firm.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, launch, loginAs, screenshot } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a client sees its tickets, opens one and talks in it', async () => {
  const { context, page } = await loginAs(browser, 'client@alfa.demo');
  try {
    assert.equal(await page.locator('.who-name').innerText(), 'Анна Альфина');
    assert.equal(await page.locator('h1').innerText(), 'Мои обращения');
    const rows = page.locator('table.tickets tbody tr');
    assert.ok((await rows.count()) > 0, 'the demo client has tickets');
    const clients = await page.locator('table.tickets th').allInnerTexts();
    assert.ok(!clients.includes('Клиент'), 'a client is not shown a client column');
    assert.match(await page.locator('.tickets-shown').innerText(), /^Показано? \d+ тикет(а|ов)?$/);
    await screenshot(page, 'client-landing');

    await rows.first().locator('a.subject').click();
    await page.waitForURL(/\/tickets\/OK-\d{6}$/);
    const subject = await page.locator('h1').innerText();
    assert.ok(subject.length > 0);
    assert.equal(await page.locator('.comment.internal').count(), 0, 'no internal notes for clients');
    assert.equal(await page.locator('#tasks').count(), 0, 'no tasks for clients');

    const message = `Спасибо, жду ответа ${Date.now()}`;
    await page.fill('#body', message);
    await Promise.all([page.waitForURL(/#comment-\d+$/), page.click('.comment-form button[type=submit]')]);
    const posted = page.locator('.comment', { hasText: message });
    assert.equal(await posted.count(), 1);
    assert.match(await posted.innerText(), /Анна Альфина/);
    await screenshot(page, 'client-ticket');
  } finally {
    await context.close();
  }
});

test('a client opens a new ticket with one click on a service', async () => {
  const { context, page } = await loginAs(browser, 'client@alfa.demo');
  try {
    await page.click('a.service[href="/tickets/new?service=documents"]');
    await page.waitForURL(/\/tickets\/new\?service=documents$/);
    // Sending without a subject keeps what was typed and says what is missing.
    await page.fill('#description', 'Нужен акт сверки за октябрь.');
    await page.click('main form button.primary');
    assert.match(await page.locator('.field-error').innerText(), /Заполните/);
    assert.equal(await page.inputValue('#description'), 'Нужен акт сверки за октябрь.');

    await page.fill('#subject', 'Акт сверки за октябрь');
    await Promise.all([page.waitForURL(/\/tickets\/OK-\d{6}$/), page.click('main form button.primary')]);
    assert.equal(await page.locator('h1').innerText(), 'Акт сверки за октябрь');
    // The route starts at once: the ticket is new or already in progress, not a draft.
    assert.match(await page.locator('.ticket-head .badge').innerText(), /^(Новый|В работе)$/);
    assert.match(await page.locator('.facts').innerText(), /Запрос документов|документ/i);
  } finally {
    await context.close();
  }
});

test("a client cannot open another organization's ticket by its URL", async () => {
  const staff = await loginAs(browser, 'line1@demo.okno');
  let betaHref;
  try {
    const betaRow = staff.page.locator('table.tickets tbody tr', { hasText: 'BETA' }).first();
    betaHref = await betaRow.locator('a.subject').getAttribute('href');
    assert.match(betaHref, /^\/tickets\/OK-\d{6}$/);
  } finally {
    await staff.context.close();
  }
  const { context, page } = await loginAs(browser, 'client@alfa.demo');
  try {
    const response = await page.goto(betaHref);
    assert.equal(response.status(), 404);
    assert.equal(await page.locator('h1').innerText(), 'Не найдено');
    const byId = await page.goto(betaHref.replace(/OK-0*/, ''));
    assert.equal(byId.status(), 404);
  } finally {
    await context.close();
  }
});

test('a line 1 specialist sees internal comments marked as internal', async () => {
  const { context, page } = await loginAs(browser, 'line1@demo.okno');
  try {
    assert.equal(await page.locator('h1').innerText(), 'Обращения');
    await screenshot(page, 'staff-landing');
    await page.click('nav.filters a[href="/?status=new"]');
    await page.waitForURL(/status=new$/);
    const hrefs = await page.locator('table.tickets a.subject').evaluateAll((links) =>
      links.map((a) => a.getAttribute('href')),
    );
    assert.ok(hrefs.length > 0);
    let found = false;
    for (const href of hrefs) {
      await page.goto(href);
      if ((await page.locator('.comment.internal').count()) > 0) {
        found = true;
        break;
      }
    }
    assert.ok(found, 'some demo ticket carries an internal note');
    const note = page.locator('.comment.internal').first();
    assert.match(await note.locator('.badge-internal').innerText(), /Внутренний/);
    assert.equal(await page.locator('input[name=internal]').count(), 1, 'staff may post internal notes');
    assert.equal(await page.locator('#tasks').count(), 1, 'staff see the tasks');

    const note2 = `Проверить на копии базы ${Date.now()}`;
    await page.fill('#body', note2);
    await page.check('input[name=internal]');
    await Promise.all([page.waitForURL(/#comment-\d+$/), page.click('.comment-form button[type=submit]')]);
    assert.equal(await page.locator('.comment.internal', { hasText: note2 }).count(), 1);
    await screenshot(page, 'staff-ticket');
  } finally {
    await context.close();
  }
});

test('the language switch turns the pages English and back', async () => {
  const { context, page } = await loginAs(browser, 'client@alfa.demo');
  try {
    await page.click('a.lang-switch');
    await page.waitForURL(`${BASE_URL}/?lang=en`);
    assert.equal(await page.locator('h1').innerText(), 'My tickets');
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.match(await page.locator('.tickets-shown').innerText(), /^Showing \d+ tickets?$/);
    // The choice is remembered on the next page.
    await page.locator('table.tickets a.subject').first().click();
    await page.waitForURL(/\/tickets\/OK-\d{6}$/);
    assert.match(await page.locator('.facts').innerText(), /Next step/i);
    assert.equal(await page.locator('.comment-form button[type=submit]').innerText(), 'Send');
    await page.click('a.lang-switch');
    assert.match(await page.locator('.facts').innerText(), /Следующий шаг/i);
  } finally {
    await context.close();
  }
});

test('logging out ends the session', async () => {
  const { context, page } = await loginAs(browser, 'client@alfa.demo');
  try {
    await Promise.all([page.waitForURL(`${BASE_URL}/login`), page.click('.user-nav button')]);
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login');
  } finally {
    await context.close();
  }
});

// Shared set-up of the browser tests: one chromium per test file, a fresh context (own
// cookies) per login, the desk's URL from run.sh.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BASE_URL = process.env.OKNO_URL ?? 'http://127.0.0.1:8080';
export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.OKNO_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** A new browser context logged in as `email` (demo password), on its landing page. */
export async function loginAs(browser, email, options = {}) {
  const context = await browser.newContext({
    baseURL: BASE_URL,
    viewport: { width: 1280, height: 900 },
    locale: 'ru-RU',
    ...options,
  });
  const page = await context.newPage();
  await page.goto('/login');
  await page.fill('#email', email);
  await page.fill('#password', 'demo');
  await Promise.all([page.waitForURL(`${BASE_URL}/`), page.click('button[type=submit]')]);
  return { context, page };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

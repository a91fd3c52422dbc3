// Shared steps for the page tests: open the page, collect console errors,
// save screenshots as artifacts, and read what the page shows.
import { expect } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { ARTIFACTS } from '../playwright.config.js';

mkdirSync(ARTIFACTS, { recursive: true });

/** Open `path` and wait until the WASM simulator is up; returns the list that collects console errors. */
export async function open(page, path = '/index.html') {
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(path);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  return errors;
}

export async function shot(page, name) {
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

/** Pause the simulation if it is playing. */
export async function pause(page) {
  if ((await page.locator('body').getAttribute('data-playing')) === 'true') await page.locator('#play').click();
  await expect(page.locator('body')).toHaveAttribute('data-playing', 'false');
}

/** Set the speed slider (log10 of simulated ms per real ms). */
export async function speed(page, log10) {
  await page.locator('#speed').fill(String(log10));
}

/** Open a node's menu and pick an item by its label. */
export async function nodeAction(page, node, label) {
  await page.locator(`#cluster .node[data-node="${node}"]`).click();
  await page.locator('#menu').getByRole('menuitem', { name: label, exact: true }).click();
}

/** Type a command into node `node`'s console; returns the reply text shown. */
export async function command(page, node, line) {
  await page.locator(`#console .tab[data-node="${node}"]`).click();
  const before = await page.locator('#console .out .reply').count();
  await page.locator('#console .cmd').fill(line);
  await page.locator('#console .cmd').press('Enter');
  const reply = page.locator('#console .out .reply').nth(before);
  await expect(reply).toBeVisible();
  return reply.textContent();
}

/** The text of node `id`'s box in the cluster picture. */
export async function nodeText(page, id) {
  return page.locator(`#cluster .node[data-node="${id}"]`).evaluate((g) =>
    [...g.querySelectorAll('text')].map((t) => t.textContent).join(' | '));
}

// Every scenario preset, one click each, ends on the PSYNC decision it is
// about: the verdict and the reason shown on the decision card. The table is
// this test's own reading of the issue (not copied from the page), and every
// preset the page offers must be in it.
import { test, expect } from '@playwright/test';
import { open, shot, speed } from './helpers.js';

/** id -> [verdict, words of the reason, replica that asks, master that answers] */
const PRESETS = {
  'cold-start': ['FULLRESYNC', 'unknown', 2, 0],
  'writes-during-sync': ['FULLRESYNC', 'unknown', 1, 0],
  'link-blip': ['CONTINUE', 'within the backlog', 1, 0],
  'backlog-overflow': ['FULLRESYNC', 'fell out of the backlog', 1, 0],
  'replica-restart': ['CONTINUE', 'within the backlog', 1, 0],
  'failover': ['CONTINUE', 'within the backlog', 2, 1],
  'chained': ['CONTINUE', 'within the backlog', 2, 1],
  'wait': ['CONTINUE', 'within the backlog', 2, 0],
};

test('the page offers exactly the presets this test knows', async ({ page }) => {
  const errors = await open(page);
  const ids = await page.locator('#presets button').evaluateAll((bs) => bs.map((b) => b.dataset.scenario));
  expect(ids.sort()).toEqual(Object.keys(PRESETS).sort());
  expect(errors).toEqual([]);
});

for (const [id, [verdict, reason, replica, master]] of Object.entries(PRESETS)) {
  test(`preset ${id}: ${verdict} (${reason})`, async ({ page }) => {
    test.setTimeout(90_000);
    const errors = await open(page);
    await page.locator(`#presets button[data-scenario="${id}"]`).click();
    await speed(page, 0.7); // 5x
    const card = page.locator(`#decisions .decision[data-verdict="${verdict}"]`)
      .filter({ hasText: `n${replica} asked n${master}` })
      .filter({ hasText: reason });
    await expect(card.first()).toBeVisible({ timeout: 60_000 });
    await expect(card.first().locator('.verdict')).toHaveText(verdict);
    await expect(card.first().locator('.reason')).toContainText(reason);
    await page.locator('#play').click();
    await shot(page, `preset-${id}`);
    expect(errors).toEqual([]);
  });
}

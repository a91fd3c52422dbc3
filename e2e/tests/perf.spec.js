// Measurement, not a pass/fail speed target: frame time with 8 nodes at
// 1,000 simulated writes per second (simulated time running at real time),
// and how many simulated events per second the WASM core processes in the
// page. The numbers go to the test output and target/e2e-artifacts/perf.json.
import { test, expect } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { open, shot, speed } from './helpers.js';
import { ARTIFACTS } from '../playwright.config.js';

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length), p50: q(0.5), p95: q(0.95), max: s[s.length - 1] ?? 0 };
};

test('8 nodes at 1,000 writes/s: frame time and simulated events per second', async ({ page }) => {
  const errors = await open(page);
  await page.locator('#presets button[data-scenario="cold-start"]').click();
  await page.locator('#play').click(); // pause while building the cluster
  while ((await page.locator('#cluster .node').count()) < 8) {
    const n = await page.locator('#cluster .node').count();
    await page.locator('#add').click();
    await expect(page.locator('#cluster .node')).toHaveCount(n + 1);
  }
  await page.locator('#writes').fill('1000');
  await page.locator('#writes').press('Enter');
  await speed(page, 0); // 1 simulated ms per real ms
  await page.locator('#play').click();
  await expect(page.locator('body')).toHaveAttribute('data-playing', 'true');
  await page.waitForTimeout(3000); // every replica syncs first

  const start = await page.evaluate(() => {
    const p = window.tandem.perf;
    for (const k of ['work', 'sim', 'draw', 'gaps', 'events', 'clock']) p[k].length = 0;
    const s = window.tandem.pg.snapshot();
    return { wall: performance.now(), now: s.now, offset: s.nodes[s.master].offset };
  });
  await page.waitForTimeout(5000);
  const run = await page.evaluate(() => {
    const p = window.tandem.perf;
    const s = window.tandem.pg.snapshot();
    return { wall: performance.now(), now: s.now, offset: s.nodes.find((n) => n.id === s.master).offset,
      work: [...p.work], sim: [...p.sim], draw: [...p.draw], gaps: [...p.gaps], events: p.events.reduce((a, [, n]) => a + n, 0),
      nodes: s.nodes.length, inflight: s.inflight.length, up: s.nodes.filter((n) => n.link === 'up').length };
  });
  await shot(page, 'perf-8-nodes');
  await page.locator('#play').click();

  // Raw throughput: run the same cluster for 10 simulated seconds in one call.
  const raw = await page.evaluate(() => {
    const pg = window.tandem.pg;
    const t0 = performance.now();
    const events = pg.run_for(10_000);
    return { events, ms: performance.now() - t0 };
  });

  const wallS = (run.wall - start.wall) / 1000;
  const report = {
    nodes: run.nodes,
    replicas_streaming: run.up,
    writes_per_sec: 1000,
    simulated_ms_per_wall_ms: (run.now - start.now) / (run.wall - start.wall),
    master_offset_growth_bytes_per_sec: (run.offset - start.offset) / wallS,
    frame_work_ms: stats(run.work),
    frame_sim_ms: stats(run.sim),
    frame_draw_ms: stats(run.draw),
    frame_interval_ms: stats(run.gaps),
    fps: 1000 / stats(run.gaps).mean,
    events_per_sec_while_playing: run.events / wallS,
    max_events_per_sec: raw.events / (raw.ms / 1000),
    raw,
  };
  console.log(JSON.stringify(report, null, 2));
  writeFileSync(`${ARTIFACTS}/perf.json`, JSON.stringify(report, null, 2));
  expect(run.nodes).toBe(8);
  expect(run.offset).toBeGreaterThan(start.offset);
  expect(run.work.length).toBeGreaterThan(10);
  expect(errors).toEqual([]);
});

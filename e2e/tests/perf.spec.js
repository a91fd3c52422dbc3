// Measurement, not a pass/fail speed target: with 8 nodes at 1,000 simulated
// writes per second and simulated time running at real time (1×), how many
// frames per second the page draws (requestAnimationFrame callbacks), how
// long each frame's work takes, split into simulating (run_for), reading
// (snapshot, events_since) and drawing, and how many simulated events per
// second the WASM core processes in the page. The numbers go to the test
// output and target/e2e-artifacts/perf.json, with the machine's load average.
// PERF_SECONDS sets the measured span (default 5).
//
// On a loaded machine the wall-clock times above include the time the page
// waited for a CPU, so the report also gives the renderer main thread's own
// CPU time per frame and per simulated second, from a Chromium trace of the
// same span (script, style and layout, paint, commit), and the cost of each
// call a frame makes, timed paused as the fastest of many runs: those parts
// hardly depend on the load.
//
// What is asserted does not depend on the machine's speed: the frame loop
// runs, the simulated clock never runs ahead of real time at 1×, the run
// stays correct while the page plays it (every replica streaming and less
// than a simulated second behind, the checker's invariants hold), no console
// errors; and, in a second test, that the messages drawn between two
// snapshots are where the core puts them.
import { test, expect } from '@playwright/test';
import { readFileSync, writeFileSync } from 'node:fs';
import { open, shot, speed } from './helpers.js';
import { ARTIFACTS } from '../playwright.config.js';

const SECONDS = Number(process.env.PERF_SECONDS || 5);

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
  const r = (x) => Math.round(x * 100) / 100;
  return { n: s.length, mean: r(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)), p50: r(q(0.5)), p95: r(q(0.95)), max: r(s[s.length - 1] ?? 0) };
};

/**
 * CPU time (trace events' `tdur`) of the renderer's main thread per animation
 * frame: all of it, and the script, style + layout, paint and commit parts.
 */
function cpuPerFrame(trace) {
  const events = trace.traceEvents ?? trace;
  const names = new Map(events.filter((e) => e.name === 'thread_name').map((e) => [`${e.pid}:${e.tid}`, e.args.name]));
  // The page's main thread: of the renderers' main threads (other pages of
  // the same browser may still be alive), the one that ran the most script.
  const script = new Map();
  for (const e of events) {
    const t = `${e.pid}:${e.tid}`;
    if (e.ph === 'X' && e.name === 'FunctionCall' && names.get(t) === 'CrRendererMain') script.set(t, (script.get(t) ?? 0) + (e.tdur ?? 0));
  }
  const page = [...script].sort((a, b) => b[1] - a[1])[0]?.[0];
  const main = events.filter((e) => e.ph === 'X' && `${e.pid}:${e.tid}` === page);
  const frames = main.filter((e) => e.name === 'FireAnimationFrame').length;
  const cpu = (...kinds) => Math.round((main.filter((e) => kinds.includes(e.name))
    .reduce((a, e) => a + (e.tdur ?? 0), 0) / 1000 / Math.max(1, frames)) * 100) / 100;
  return { frames, all: cpu('RunTask'), script: cpu('FunctionCall'), style_layout: cpu('UpdateLayoutTree', 'Layout'),
    paint: cpu('PrePaint', 'Paint'), commit: cpu('Commit') };
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

test('8 nodes at 1,000 writes/s: frames per second, frame work, simulated events per second', async ({ page }) => {
  test.setTimeout(60_000 + SECONDS * 2000);
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

  const load = [loadavg()];
  const browser = page.context().browser();
  await browser.startTracing(page, { categories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  const start = await page.evaluate(() => {
    const p = window.tandem.perf;
    for (const k of ['work', 'run', 'read', 'draw', 'gaps', 'events', 'clock']) p[k].length = 0;
    p.frames = 0;
    p.snapshots = 0;
    const s = window.tandem.pg.snapshot_live();
    return { wall: performance.now(), now: s.now, steps: s.steps, offset: s.nodes.find((n) => n.id === s.master).offset };
  });
  await page.waitForTimeout(SECONDS * 1000);
  load.push(loadavg());
  const trace = JSON.parse((await browser.stopTracing()).toString());
  const run = await page.evaluate(() => {
    const p = window.tandem.perf;
    const s = window.tandem.pg.snapshot_live();
    const master = s.nodes.find((n) => n.id === s.master);
    return { wall: performance.now(), frames: p.frames, snapshots: p.snapshots, now: s.now, steps: s.steps,
      offset: master.offset, lag: s.nodes.filter((n) => n.id !== s.master).map((n) => master.offset - n.offset),
      work: [...p.work], run: [...p.run], read: [...p.read], draw: [...p.draw], gaps: [...p.gaps],
      nodes: s.nodes.length, inflight: s.inflight.length, up: s.nodes.filter((n) => n.link === 'up').length };
  });
  const checks = await page.locator('#checks').textContent();
  await shot(page, 'perf-8-nodes');
  await page.locator('#play').click();
  await expect(page.locator('body')).toHaveAttribute('data-playing', 'false');

  // What each call of a frame costs, paused: the fastest of many (the load
  // only ever adds), and the median. run_for(17): one 60 fps frame at 1×.
  const calls = await page.evaluate(() => {
    const pg = window.tandem.pg;
    const time = (f, n) => {
      const xs = [];
      for (let i = 0; i < n; i++) { const t = performance.now(); f(); xs.push(performance.now() - t); }
      xs.sort((a, b) => a - b);
      return { min: Math.round(xs[0] * 1000) / 1000, p50: Math.round(xs[n >> 1] * 1000) / 1000 };
    };
    let events = 0;
    const run_for_17ms = { ...time(() => { events += pg.run_for(17); }, 60), events_per_call: Math.round(events / 60) };
    const s = pg.snapshot_live();
    return {
      run_for_17ms,
      snapshot_live: time(() => pg.snapshot_live(), 60),
      coast: time(() => window.tandem.coast(s, s.now + 8, s.steps), 60),
      events_since_20: time(() => pg.events_since(s.events_next - 20), 60),
    };
  });

  // Raw throughput: the same cluster for 10 simulated seconds in one call.
  const raw = await page.evaluate(() => {
    const pg = window.tandem.pg;
    const t0 = performance.now();
    const events = pg.run_for(10_000);
    return { events, ms: performance.now() - t0 };
  });

  const wallS = (run.wall - start.wall) / 1000;
  const cpu = cpuPerFrame(trace);
  const simS = (run.now - start.now) / 1000;
  const cpuS = (cpu.all * cpu.frames) / 1000;
  const report = {
    nodes: run.nodes,
    replicas_streaming: run.up,
    messages_in_flight: run.inflight,
    writes_per_sec: 1000,
    measured_s: Math.round(wallS * 10) / 10,
    fps: Math.round((run.frames / wallS) * 10) / 10,
    snapshots_per_frame: Math.round((run.snapshots / Math.max(1, run.frames)) * 100) / 100,
    simulated_ms_per_wall_ms: Math.round(((run.now - start.now) / (run.wall - start.wall)) * 1000) / 1000,
    frame_work_ms: stats(run.work),
    frame_sim_ms: stats(run.run.map((r, i) => r + run.read[i])),
    frame_run_for_ms: stats(run.run),
    frame_snapshot_events_ms: stats(run.read),
    frame_draw_ms: stats(run.draw),
    frame_interval_ms: stats(run.gaps),
    events_per_sec_while_playing: Math.round((run.steps - start.steps) / wallS),
    master_offset_bytes_per_sec: Math.round((run.offset - start.offset) / wallS),
    max_events_per_sec: Math.round(raw.events / (raw.ms / 1000)),
    main_thread_cpu_ms_per_frame: cpu,
    // All of the page's main-thread work for one simulated second at 1×
    // (simulating, reading, drawing): under 1000 ms means it can keep up.
    main_thread_cpu_ms_per_simulated_s: Math.round((cpuS * 1000) / Math.max(0.001, simS)),
    events_per_main_thread_cpu_s: Math.round((run.steps - start.steps) / Math.max(0.001, cpuS)),
    call_ms_paused: calls,
    replica_lag_bytes: run.lag,
    load_average_1_5_15: load,
  };
  console.log(JSON.stringify(report, null, 2));
  writeFileSync(`${ARTIFACTS}/perf.json`, JSON.stringify(report, null, 2));
  // The frame loop ran and the run moved on (no assertion on speed: see above).
  expect(run.nodes).toBe(8);
  expect(run.frames).toBeGreaterThan(10);
  expect(run.offset).toBeGreaterThan(start.offset);
  // At 1× the simulated clock may fall behind real time on a busy machine,
  // never run ahead of it (a frame advancing twice would).
  expect(run.now - start.now).toBeLessThanOrEqual((run.wall - start.wall) * 1.02 + 20);
  // The run the page plays stays correct: every replica streams and is less
  // than one simulated second of writes behind its master.
  expect(run.up).toBe(7);
  const perSimSecond = (run.offset - start.offset) / Math.max(0.001, simS);
  for (const lag of run.lag) expect(lag).toBeLessThan(perSimSecond);
  expect(checks).toBe('all invariants hold');
  expect(errors).toEqual([]);
});

// Between two snapshots the page moves the messages in flight on by the
// simulated clock (main.js `coast`) instead of reading the core again: each
// one must then be where the core's own next snapshot puts it, and gone once
// delivered.
test('messages drawn between snapshots are where the core puts them', async ({ page }) => {
  const errors = await open(page);
  await page.locator('#presets button[data-scenario="cold-start"]').click();
  await page.locator('#writes').fill('1000');
  await page.locator('#writes').press('Enter');
  await speed(page, 0);
  await page.waitForTimeout(1500);
  await page.locator('#play').click();
  await expect(page.locator('body')).toHaveAttribute('data-playing', 'false');
  const result = await page.evaluate(() => {
    const pg = window.tandem.pg;
    const key = (m) => `${m.from}>${m.to}:${m.kind}:${m.sent}:${m.arrives}:${m.label}`;
    let compared = 0, delivered = 0;
    const wrong = [];
    for (let round = 0; round < 40; round++) {
      const before = pg.snapshot();
      pg.run_for(1 + (round % 7));
      const after = pg.snapshot();
      const coasted = window.tandem.coast(before, pg.now(), pg.steps());
      const truth = new Map(after.inflight.map((m) => [key(m), m]));
      for (const m of coasted.inflight) {
        const t = truth.get(key(m));
        if (!t) { wrong.push(`drawn but not in flight: ${key(m)}`); continue; }
        if (Math.abs(t.progress - m.progress) > 1e-9) wrong.push(`${key(m)} at ${m.progress}, core ${t.progress}`);
        compared++;
      }
      const still = new Set(coasted.inflight.map(key));
      delivered += before.inflight.filter((m) => !still.has(key(m))).length;
      if (coasted.now !== after.now || coasted.steps !== after.steps) wrong.push(`clock ${coasted.now}/${coasted.steps} vs ${after.now}/${after.steps}`);
    }
    return { compared, delivered, wrong: wrong.slice(0, 10) };
  });
  expect(result.wrong).toEqual([]);
  expect(result.compared).toBeGreaterThan(100);
  expect(result.delivered).toBeGreaterThan(100);
  expect(errors).toEqual([]);
});

// The playground page: loads the WebAssembly build of Tandem's simulator,
// advances it once per animation frame at the chosen speed, and draws one
// snapshot per frame. Every protocol fact on screen (roles, offsets, message
// labels, PSYNC verdicts and their reasons) comes from the core; this file
// only wires controls, the URL, the keyboard and the guided tour.

import init, { Playground, scenarios } from '../pkg/tandem_web.js';
import { el, setText, setValue } from './dom.js';
import { ClusterView } from './cluster.js';
import { BacklogView } from './backlog.js';
import { DecisionsView, LogView, ConsoleView } from './panels.js';
import { LaneView } from './lanes.js';

const $ = (id) => document.getElementById(id);
const DEFAULT_SPEED = -1.3; // log10 of simulated ms per real ms
/** Wall time one frame may spend simulating, and the simulated slice it advances by. */
const SIM_BUDGET_MS = 9;
const SIM_SLICE_MS = 2;
/** How often the text panels are redrawn while playing (the canvases: every frame). */
const PANELS_EVERY_MS = 100;
/**
 * How often a fresh snapshot is read while playing. In the frames between,
 * the messages in flight move on from the last one by the simulated clock
 * (`coast`): reading a snapshot of 8 nodes and a hundred messages costs
 * about as much as drawing the frame.
 */
const SNAPSHOT_EVERY_MS = 50;
/** How often the log is read while playing, and how many events (the newest) each time. */
const LOG_EVERY_MS = 200;
const LOG_ROWS_PER_READ = 20;
/** How often the lane diagram is redrawn while playing (every other 60 fps frame). */
const LANES_EVERY_MS = 30;
/** How often the address bar's fragment follows a playing run. */
const URL_EVERY_MS = 3000;
const EVENT_KINDS = ['decision', 'message', 'fault', 'role', 'sync', 'client', 'log'];
const MESSAGE_KINDS = ['psync', 'fullresync', 'continue', 'rdb', 'stream', 'ack', 'getack', 'handshake', 'ping', 'reply', 'client'];
/** The two flows of the guided tour: a scenario each, with its steps from the core. */
const TOUR_FLOWS = [['cold-start', 'Full sync'], ['link-blip', 'Partial sync']];

const app = {
  pg: null,
  scenarios: [],
  playing: false,
  acc: 0,
  cursor: 0,
  dirty: true,
  autoPaused: false,
  tour: null, // {steps:[{scenario, at_ms, text, flow}], idx, pauseAt}
  lastUrl: 0,
  snap: null, // the last snapshot read, and when (performance.now())
  snapAt: 0,
  perf: { frames: 0, snapshots: 0, work: [], run: [], read: [], draw: [], gaps: [], events: [], clock: [], last: 0 },
};

let cluster, backlog, decisions, logView, consoles, lanes;

// ---------- running the simulation ----------

/** Something changed the run outside the clock: the next frame reads a fresh snapshot. */
function invalidate() { app.dirty = true; app.snap = null; }

function speedFactor() { return 10 ** Number($('speed').value); }

function setPlaying(on) {
  app.playing = on;
  setText($('play'), on ? '‖ Pause' : '▶ Play');
  $('play').setAttribute('aria-pressed', String(on));
  document.body.dataset.playing = String(on);
  invalidate();
  if (!on) { app.acc = 0; saveUrl(); }
}

/** Make `pg` the current run and redraw everything from scratch. */
function adopt(pg) {
  const old = app.pg;
  app.pg = pg;
  if (old && old !== pg) old.free?.(); // the WASM memory of the run we leave
  app.cursor = 0;
  decisions.reset();
  logView.reset();
  lanes.reset();
  app.snap = null;
  $('seed').value = pg.seed;
  for (const b of $('presets').children) b.classList.toggle('active', b.dataset.scenario === pg.scenario);
  const sc = app.scenarios.find((s) => s.id === pg.scenario);
  $('scenario-note').replaceChildren(...(sc ? [el('b', { text: sc.title }), ` ${sc.summary}`] : []));
  app.dirty = true;
  render();
  saveUrl();
}

function startScenario(id, { play = true } = {}) {
  const seed = $('seed').value.trim() || '1';
  try {
    adopt(new Playground(seed, id));
  } catch (e) { toast(e.message, true); return; }
  setPlaying(play);
}

/**
 * Replay the current run from its seed to exactly step `n` (step back, a
 * click on the log): its exported fragment (`seed=..&scenario=..&at=STEP.MS&
 * log=..`) with the position `at=n`, which the core replays to that very
 * step, dropping the actions after it (web/README.md).
 */
function replayTo(n) {
  n = Math.max(0, n);
  const parts = app.pg.export().split('&').filter((p) => !p.startsWith('at='));
  setPlaying(false);
  try {
    adopt(Playground.import([...parts, `at=${n}`].join('&')));
  } catch (e) { toast(`Could not replay to step ${n}: ${e.message}`, true); }
}

function act(action) {
  try {
    const said = app.pg.act(action);
    toast(said || action);
  } catch (e) {
    toast(e.message ?? String(e), true);
  }
  invalidate();
  saveUrl();
}

function frame(ts) {
  try {
    tick(ts);
  } catch (e) {
    // A panic in the core (a bug): say so, stop playing, keep the page alive.
    setPlaying(false);
    toast(`The simulator failed: ${e.message}. The log and the shared link show how to get here.`, true);
    console.warn(e);
  }
  requestAnimationFrame(frame);
}

function tick(ts) {
  const t0 = performance.now();
  const perf = app.perf;
  perf.frames++;
  if (perf.last) push(perf.gaps, ts - perf.last);
  const dt = Math.min(100, perf.last ? ts - perf.last : 16);
  perf.last = ts;
  let run = 0, readMs = 0, drawMs = 0;
  if (app.playing) {
    // On the way to a tour stop, go at least fast enough to get there in ~2.5 s.
    const rate = app.tour?.pauseAt != null ? Math.max(speedFactor(), app.tour.rate ?? 0) : speedFactor();
    app.acc += dt * rate;
    let whole = Math.floor(app.acc);
    const stop = app.tour?.pauseAt;
    if (stop != null) whole = Math.max(0, Math.min(whole, stop - app.pg.now()));
    if (whole > 0) {
      // Advance in small slices and stop when the frame's budget is spent:
      // the picture stays smooth and the simulated clock slows down instead
      // (the status line then shows the speed actually reached).
      let done = 0, events = 0;
      while (done < whole && performance.now() - t0 < SIM_BUDGET_MS) {
        const slice = Math.min(whole - done, SIM_SLICE_MS);
        events += app.pg.run_for(slice);
        done += slice;
      }
      app.acc = done < whole ? 0 : app.acc - whole;
      push(perf.events, [t0, events]);
      push(perf.clock, [t0, done, dt]);
      app.dirty = true;
    }
    run = performance.now() - t0;
    if (stop != null && app.pg.now() >= stop) {
      app.tour.pauseAt = null;
      setPlaying(false);
      $('tour-card').classList.remove('travelling');
    }
  }
  if (app.dirty) {
    const t1 = performance.now();
    const view = read();
    const t2 = performance.now();
    draw(view);
    app.dirty = false;
    readMs = t2 - t1;
    drawMs = performance.now() - t2;
  }
  // The address bar follows a playing run every few seconds (replaceState is
  // not free); pausing, acting, sharing and leaving the tab update it at once.
  if (app.playing && t0 - app.lastUrl > URL_EVERY_MS) saveUrl();
  // Per frame: simulating (run_for), reading (snapshot, events), drawing, all.
  push(perf.run, run); push(perf.read, readMs); push(perf.draw, drawMs);
  push(perf.work, performance.now() - t0);
}

function push(ring, v) { ring.push(v); if (ring.length > 2000) ring.shift(); }

/**
 * What the next picture needs from the simulator: a snapshot (while playing,
 * the live kind, whose digests may lag, at most every SNAPSHOT_EVERY_MS, the
 * last one moved on by the clock in between; paused, an exact one), and
 * while playing at most five times a second the newest events for the log
 * (only the newest: nobody reads faster, and older ones would only be
 * dropped).
 */
function read() {
  const pg = app.pg;
  const t = performance.now();
  // The text panels show a fresh snapshot (and get one every other time).
  const panelsDue = !app.playing || t - (app.panelsAt ?? 0) >= PANELS_EVERY_MS;
  const fresh = !app.playing || !app.snap || panelsDue || t - app.snapAt >= SNAPSHOT_EVERY_MS;
  let snap;
  if (fresh) {
    snap = app.playing ? pg.snapshot_live() : pg.snapshot();
    app.snap = snap;
    app.snapAt = t;
    app.perf.snapshots++;
  } else {
    snap = coast(app.snap, pg.now(), pg.steps());
  }
  let log = null;
  // Not in a frame that redraws the text panels: the two layouts go to different frames.
  if (!app.playing || (fresh && t - (app.logAt ?? 0) > LOG_EVERY_MS && !panelsDue)) {
    app.logAt = t;
    const from = Math.max(app.cursor, snap.events_next - LOG_ROWS_PER_READ);
    const { next, events } = pg.events_since(from);
    log = { events, skipped: from - app.cursor, hash: pg.trace_hash() };
    app.cursor = next;
  }
  return { snap, log, panelsDue };
}

/**
 * The last snapshot `snap` moved on to the simulated time `now`: each
 * message in flight where it is by then, the ones delivered since left out
 * (a message on a cut or held link stays, waiting at its end). Its progress
 * is the core's: the share of its transit time (sent → arrives) gone by.
 * Messages sent since appear with the next snapshot, a few frames later.
 */
function coast(snap, now, steps) {
  const inflight = [];
  for (const m of snap.inflight) {
    if (!m.stalled && m.arrives <= now) continue;
    const span = Math.max(1, m.arrives - m.sent);
    inflight.push({ ...m, progress: Math.min(1, Math.max(0, now - m.sent) / span) });
  }
  return { ...snap, now, steps, inflight };
}

function render() { draw(read()); }

/**
 * Draw a picture. The moving parts (messages in flight, the lanes) are
 * canvases redrawn every frame; the text (node boxes, links, backlog, cards,
 * status) is laid out again only when it is redrawn, so while playing that
 * happens PANELS_EVERY_MS at most: numbers changing 60 times a second cannot
 * be read anyway.
 */
function draw({ snap, log, panelsDue }) {
  const panels = panelsDue || snap.nodes.length !== app.drawnNodes;
  if (panels) {
    app.panelsAt = performance.now();
    app.drawnNodes = snap.nodes.length;
    cluster.update(snap);
    backlog.update(snap);
    decisions.update(snap.decisions);
    consoles.update(snap.nodes);
  }
  cluster.drawMessages(snap.inflight);
  // The lane diagram shows about ten seconds of wall time at the current
  // speed, so it scrolls by about a pixel per 60 fps frame: while playing it
  // is redrawn every other frame at most (a full-width canvas costs as much
  // to paint and hand to the compositor as the cluster's).
  const t = performance.now();
  if (!app.playing || t - (app.lanesAt ?? 0) >= LANES_EVERY_MS) {
    app.lanesAt = t;
    lanes.update(snap, Math.min(2000, Math.max(100, 10_000 * speedFactor())));
  }
  if (log) {
    logView.append(log.events, snap.steps, log.skipped);
    setText($('hash'), log.hash);
  }
  if (!panels) return;
  setText($('now'), snap.now);
  setText($('steps'), snap.steps);
  const bad = snap.violations ?? [];
  setText($('checks'), bad.length ? `✗ ${bad.join('; ')}` : 'all invariants hold');
  $('checks').classList.toggle('violations', bad.length > 0);
  const master = snap.nodes.find((n) => n.id === snap.master);
  if (master?.backlog && document.activeElement !== $('backlog')) setValue($('backlog'), master.backlog.size);
  if (snap.writes_per_sec != null && document.activeElement !== $('writes')) setValue($('writes'), snap.writes_per_sec);
  showPerf();
}

function showPerf() {
  const p = app.perf;
  const now = performance.now();
  if (now - (p.shown || 0) < 500) return;
  p.shown = now;
  const recent = p.events.filter(([t]) => now - t < 1000);
  const evs = recent.reduce((s, [, n]) => s + n, 0);
  const work = p.work.slice(-60);
  const avg = work.reduce((a, b) => a + b, 0) / Math.max(1, work.length);
  const gaps = p.gaps.slice(-60);
  const fps = gaps.length ? 1000 / (gaps.reduce((a, b) => a + b, 0) / gaps.length) : 0;
  const clock = p.clock.filter(([t]) => now - t < 1000);
  const simMs = clock.reduce((s, [, d]) => s + d, 0), wallMs = clock.reduce((s, [, , w]) => s + w, 0);
  const reached = wallMs ? simMs / wallMs : 0;
  const behind = app.playing && reached < speedFactor() * 0.9 ? ` · simulator at ${reached.toFixed(2)}× (can't keep up)` : '';
  setText($('perf'), `frame ${avg.toFixed(1)} ms · ${fps.toFixed(0)} fps · ${evs.toLocaleString('en')} events/s${behind}`);
}

// ---------- the shareable URL ----------

function saveUrl() {
  if (!app.pg) return;
  app.lastUrl = performance.now();
  const frag = app.pg.export();
  if (location.hash.slice(1) !== frag) history.replaceState(null, '', `#${frag}`);
}

async function share() {
  saveUrl();
  try {
    await navigator.clipboard.writeText(location.href);
    toast('Link copied: it replays this exact run.');
  } catch {
    toast('Copy the address bar: it replays this exact run.');
  }
}

// ---------- menus for nodes, links and messages ----------

function openMenu(e, title, items) {
  const m = $('menu');
  m.replaceChildren(el('div', { class: 'menu-title', text: title }));
  for (const it of items) {
    if (it.info) { m.append(el('div', { class: 'menu-info', text: it.info })); continue; }
    if (it.row) { m.append(el('div', { class: 'menu-row' }, ...it.row)); continue; }
    m.append(el('button', { role: 'menuitem', text: it.label, title: it.hint ?? '', 'data-action': it.action ?? '',
      onclick: () => { closeMenu(); it.run ? it.run() : act(it.action); } }));
  }
  m.classList.remove('hidden');
  const x = e.clientX ?? e.target.getBoundingClientRect().left, y = e.clientY ?? e.target.getBoundingClientRect().bottom;
  m.style.left = `${Math.min(x, innerWidth - m.offsetWidth - 8) + scrollX}px`;
  m.style.top = `${Math.min(y, innerHeight - m.offsetHeight - 8) + scrollY}px`;
  e.stopPropagation();
  m.querySelector('button')?.focus();
}

function closeMenu() { $('menu').classList.add('hidden'); }

function nodeMenu(id, e) {
  const snap = app.pg.snapshot();
  const n = snap.nodes.find((x) => x.id === id);
  if (!n) return;
  const others = snap.nodes.filter((x) => x.id !== id);
  const items = [];
  if (n.up) {
    items.push({ label: 'Crash', action: `crash ${id}`, hint: 'The process dies: memory is lost, the RDB file on disk stays.' });
    items.push({ label: 'Save RDB to disk', action: `save ${id}`, hint: 'SAVE: write the dataset and the replication id/offset to disk.' });
  } else {
    items.push({ label: 'Restart', action: `restart ${id}`, hint: 'Start again from the RDB on disk, if any.' });
    items.push({ label: 'Restart with a wiped disk', action: `restart ${id} wipe`, hint: 'Start again with nothing at all.' });
  }
  if (n.role === 'replica') {
    items.push({ label: 'Promote to master (failover)', action: `promote ${id}` });
    items.push({ label: 'Detach (REPLICAOF NO ONE)', action: `replicaof ${id} no-one` });
  }
  if (others.length) {
    items.push({ info: 'Make it a replica of:' });
    items.push({ row: others.map((o) => el('button', { text: o.name, 'data-action': `replicaof ${id} ${o.id}`,
      onclick: () => { closeMenu(); act(`replicaof ${id} ${o.id}`); } })) });
    items.push({ info: 'Cut its link with:' });
    items.push({ row: others.map((o) => el('button', { text: o.name, 'data-action': `cut ${id} ${o.id}`,
      onclick: () => { closeMenu(); act(`cut ${id} ${o.id}`); } })) });
  }
  items.push({ label: 'Open its console', run: () => { consoles.select(id); consoles.focus(); } });
  if (id !== snap.master) items.push({ label: 'Remove from the cluster', action: `remove ${id}` });
  openMenu(e, `${n.name}: ${n.up ? n.role : 'down'}`, items);
}

function linkMenu(a, b, e) {
  const slow = el('input', { type: 'number', min: 0, step: 50, value: 300, size: 5, 'aria-label': 'latency in ms' });
  openMenu(e, `link n${a} ↔ n${b}`, [
    { label: 'Cut (both ways)', action: `cut ${a} ${b}` },
    { label: `Cut n${a} → n${b} only`, action: `cut-oneway ${a} ${b}` },
    { label: `Cut n${b} → n${a} only`, action: `cut-oneway ${b} ${a}` },
    { label: 'Heal', action: `heal ${a} ${b}` },
    { label: 'Hold messages (they queue up)', action: `hold ${a} ${b}` },
    { label: 'Release held messages', action: `release ${a} ${b}` },
    { row: [el('span', { text: 'Latency ' }), slow, el('span', { text: ' ms ' }),
      el('button', { text: 'Set', 'data-action': 'slow', onclick: () => { closeMenu(); act(`slow ${a} ${b} ${slow.value}`); } })] },
  ]);
}

function messageMenu(m, e) {
  if (!m) return;
  openMenu(e, `${m.kind}: n${m.from} → n${m.to}`, [
    { info: m.label },
    { info: `${m.bytes} bytes, sent at ${m.sent} ms, arrives at ${m.arrives} ms (${Math.round(m.progress * 100)}% of the way)` },
  ]);
}

// ---------- guided tour ----------

function tourSteps() {
  const steps = [];
  for (const [id, flow] of TOUR_FLOWS) {
    const sc = app.scenarios.find((s) => s.id === id);
    for (const s of sc?.tour ?? []) steps.push({ scenario: id, flow, at_ms: s.at_ms, text: s.text });
  }
  return steps;
}

function startTour() {
  const steps = tourSteps();
  if (!steps.length) { toast('No tour in this build.', true); return; }
  app.tour = { steps, idx: -1, pauseAt: null };
  $('tour-card').classList.remove('hidden');
  tourGo(0);
}

function tourGo(idx) {
  const t = app.tour;
  if (!t || idx < 0 || idx >= t.steps.length) return;
  const s = t.steps[idx];
  const pg = app.pg;
  const sameRun = pg && pg.scenario === s.scenario && pg.seed === ($('seed').value.trim() || '1');
  if (sameRun && idx > t.idx && pg.now() <= s.at_ms) {
    // Forward: let the engine run there, at the chosen speed.
    t.pauseAt = s.at_ms;
    t.rate = (s.at_ms - pg.now()) / 2500;
    if (pg.now() < s.at_ms) { $('tour-card').classList.add('travelling'); setPlaying(true); }
  } else {
    // A new flow, or backwards: replay from the seed straight to that moment.
    t.pauseAt = null;
    setPlaying(false);
    const fresh = new Playground($('seed').value.trim() || '1', s.scenario);
    if (s.at_ms > 0) fresh.run_for(s.at_ms);
    adopt(fresh);
  }
  t.idx = idx;
  setText($('tour-title'), `${s.flow}`);
  setText($('tour-pos'), `step ${idx + 1} of ${t.steps.length} · t = ${s.at_ms} ms`);
  setText($('tour-text'), s.text);
  $('tour-prev').disabled = idx === 0;
  $('tour-next').disabled = idx === t.steps.length - 1;
}

function endTour() {
  app.tour = null;
  // A focused button inside the card would keep Space for itself (see onKey)
  // until the browser notices it is hidden: give the keys back to the page.
  if (document.activeElement?.closest('#tour-card')) document.activeElement.blur();
  $('tour-card').classList.add('hidden');
}

// ---------- page wiring ----------

let toastTimer = 0;
function toast(text, error = false) {
  const t = $('toast');
  setText(t, text);
  t.classList.toggle('error', error);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => setText(t, ''), 6000);
}

function toggleHelp(on) { $('help-overlay').classList.toggle('hidden', !on); }

function nudgeSpeed(d) {
  const s = $('speed');
  s.value = d === 0 ? DEFAULT_SPEED : Math.max(Number(s.min), Math.min(Number(s.max), Number(s.value) + d));
  showSpeed();
}

function showSpeed() {
  const f = speedFactor();
  setText($('speed-out'), f >= 1 ? `${f.toFixed(f >= 10 ? 0 : 1)}×` : `1/${Math.round(1 / f)}×`);
}

function onKey(e) {
  if (e.key === 'Escape') { closeMenu(); toggleHelp(false); if (app.tour) endTour(); return; }
  if (e.target.closest('input, textarea, select') || e.ctrlKey || e.metaKey || e.altKey) return;
  const k = e.key;
  if (k === ' ' && e.target.closest('#menu, .overlay, .tour')) return; // those buttons keep their Space
  const keys = {
    ' ': () => setPlaying(!app.playing), '.': () => setPlaying(!app.playing),
    ArrowRight: stepOnce, s: stepOnce, ArrowLeft: stepBack, b: stepBack,
    '+': () => nudgeSpeed(0.25), '=': () => nudgeSpeed(0.25), '-': () => nudgeSpeed(-0.25), 0: () => nudgeSpeed(0),
    r: () => startScenario(app.pg.scenario), a: () => act('add-replica'),
    t: startTour, c: () => consoles.focus(), '?': () => toggleHelp($('help-overlay').classList.contains('hidden')),
  };
  const digit = /^[1-9]$/.test(k) ? app.scenarios[Number(k) - 1] : null;
  const fn = keys[k] ?? keys[k.toLowerCase?.()] ?? (digit ? () => startScenario(digit.id) : null);
  if (!fn) return;
  e.preventDefault();
  fn();
}

function stepOnce() {
  setPlaying(false);
  if (!app.pg.step()) toast('Nothing left to happen: every queue is empty.');
  invalidate();
  saveUrl();
}

function stepBack() {
  const n = app.pg.steps();
  if (n === 0) { toast('Already at the start.'); return; }
  replayTo(n - 1);
}

function wire() {
  cluster = new ClusterView($('cluster'), $('cluster-msgs'), { onNode: nodeMenu, onLink: linkMenu, onMessage: messageMenu });
  backlog = new BacklogView($('backlog-view'));
  lanes = new LaneView($('lanes'));
  decisions = new DecisionsView($('decisions'));
  logView = new LogView($('log'), (ev) => {
    replayTo(ev.step);
    toast(`Back at t = ${ev.t} ms. Anything you do now starts a new future.`);
  });
  consoles = new ConsoleView($('console'), (node, line) => {
    const reply = app.pg.command(node, line);
    invalidate();
    saveUrl();
    return reply;
  });

  $('presets').replaceChildren(...app.scenarios.map((s, i) => el('button', {
    'data-scenario': s.id, title: `${s.summary} (key ${i + 1})`, text: s.title,
    onclick: () => { endTour(); startScenario(s.id); },
  })));
  // Event kinds, plus the two busiest message kinds on their own.
  $('filters').replaceChildren(...[...EVENT_KINDS, 'stream', 'ack'].map((k) => el('label', {},
    el('input', { type: 'checkbox', checked: '', 'data-kind': k, onchange: (e) => $('log').classList.toggle(`hide-${k}`, !e.target.checked) }),
    ` ${k === 'stream' ? 'streamed writes' : k === 'ack' ? 'ACKs' : k}`)));
  $('legend').replaceChildren(...MESSAGE_KINDS.map((k) => el('span', { class: 'key', 'data-kind': k }, el('i'), k)));

  $('play').onclick = () => setPlaying(!app.playing);
  $('step').onclick = stepOnce;
  $('back').onclick = stepBack;
  $('speed').oninput = showSpeed;
  $('rerun').onclick = () => startScenario(app.pg.scenario);
  $('seed').onchange = () => startScenario(app.pg.scenario, { play: app.playing });
  $('writes').onchange = (e) => act(`writes ${Number(e.target.value) || 0}`);
  $('backlog').onchange = (e) => act(`backlog ${Number(e.target.value) || 0}`);
  $('add').onclick = () => act('add-replica');
  $('share').onclick = share;
  $('tour').onclick = startTour;
  $('tour-prev').onclick = () => tourGo(app.tour.idx - 1);
  $('tour-next').onclick = () => tourGo(app.tour.idx + 1);
  $('tour-exit').onclick = endTour;
  $('help').onclick = () => toggleHelp(true);
  $('intro-tour').onclick = startTour;
  $('intro-link').onclick = () => { $('intro').open = true; $('intro').scrollIntoView({ behavior: 'smooth' }); };
  $('help-close').onclick = () => toggleHelp(false);
  document.addEventListener('keydown', onKey);
  // Space is play/pause everywhere outside text fields, also when a button has
  // the focus: cancel the button's own activation (which happens on keyup).
  document.addEventListener('keyup', (e) => {
    if (e.key === ' ' && e.target.closest('button') && !e.target.closest('#menu, .overlay, .tour')) e.preventDefault();
  });
  // A shared link pasted into this tab's address bar.
  window.addEventListener('hashchange', () => {
    const frag = location.hash.slice(1);
    if (!frag.includes('seed=') || frag === app.pg.export()) return;
    try { setPlaying(false); adopt(Playground.import(frag)); toast('Replayed the shared run.'); }
    catch (e) { toast(`This link could not be replayed: ${e.message}`, true); }
  });
  document.addEventListener('click', (e) => { if (!e.target.closest('#menu')) closeMenu(); });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden && app.playing) { setPlaying(false); app.autoPaused = true; }
    else if (!document.hidden && app.autoPaused) { app.autoPaused = false; setPlaying(true); toast('Resumed (paused while the tab was hidden).'); }
  });
  showSpeed();
}

async function main() {
  try {
    await init();
  } catch (e) {
    const f = $('fatal');
    f.textContent = `Could not load the WebAssembly simulator (${e.message}). Build it with: cargo xtask play`;
    f.classList.remove('hidden');
    return;
  }
  app.scenarios = scenarios();
  wire();
  const frag = location.hash.slice(1);
  if (frag.includes('seed=')) {
    try {
      adopt(Playground.import(frag));
      $('intro').open = false;
      toast('Replayed the shared run. Press Space to continue it.');
    } catch (e) {
      toast(`This link could not be replayed: ${e.message}`, true);
      startScenario(app.scenarios[0].id, { play: false });
    }
    setPlaying(false);
  } else {
    startScenario(app.scenarios[0].id, { play: true });
  }
  // For the browser tests: the run, the frame timings, where messages are drawn.
  window.tandem = { get pg() { return app.pg; }, perf: app.perf, messages: () => cluster.clientPoints(), coast };
  document.body.dataset.ready = 'true';
  requestAnimationFrame(frame);
}

main();

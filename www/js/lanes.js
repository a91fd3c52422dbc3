// The lane diagram: one horizontal lane per node, simulated time running to
// the right, and every node-to-node message drawn as a line from the moment
// it left its sender's lane to the moment it reached the receiver's. PSYNC
// decisions are marked on the deciding node's lane. Only the last few
// hundred simulated ms are kept (a capped, live view), so it costs the same
// however long the run.

import { cssColour } from './dom.js';

const LEFT = 34, ROW = 22, TOP = 14;
/** Messages kept for the picture (the oldest go first). */
const MAX_MESSAGES = 800;
/** At most this many lines per sender, receiver and message kind across the window. */
const LINES_PER_WINDOW = 30;

export class LaneView {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.seen = new Map(); // key -> {from, to, sent, arrives, kind}
    // The width comes from a ResizeObserver: reading clientWidth while drawing
    // would force a layout of the whole page in the middle of every frame.
    this.width = canvas.clientWidth || 900;
    new ResizeObserver(([e]) => { this.width = Math.round(e.contentRect.width) || this.width; }).observe(canvas);
  }

  reset() { this.seen.clear(); }

  /** Remember the messages of this snapshot and draw the last `windowMs` of simulated time. */
  update(snap, windowMs) {
    // One line per sender, receiver and kind per 1/LINES_PER_WINDOW of the
    // window: at a few messages per second that is every message; when writes
    // stream to many replicas, an even sample over the whole window (drawing
    // thousands of overlapping lines would show nothing more, and cost a lot).
    const bucket = windowMs / LINES_PER_WINDOW;
    for (const m of snap.inflight) {
      if (m.from == null || m.to == null) continue;
      const k = `${m.from}>${m.to}:${m.kind}:${Math.floor(m.sent / bucket)}`;
      const old = this.seen.get(k);
      if (old) old.arrives = m.arrives;
      else this.seen.set(k, { from: m.from, to: m.to, sent: m.sent, arrives: m.arrives, kind: m.kind });
    }
    const now = snap.now, start = now - windowMs;
    for (const [k, m] of this.seen) if (m.arrives < start || m.sent > now) this.seen.delete(k);
    if (this.seen.size > MAX_MESSAGES) {
      const drop = this.seen.size - MAX_MESSAGES;
      let i = 0;
      for (const k of this.seen.keys()) { if (i++ >= drop) break; this.seen.delete(k); }
    }
    this.draw(snap, start, now);
  }

  draw(snap, start, now) {
    const c = this.canvas, ctx = this.ctx;
    const ids = snap.nodes.map((n) => n.id);
    const cssW = this.width, cssH = TOP + ids.length * ROW + 6;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(cssW * dpr) || c.height !== Math.round(cssH * dpr)) {
      c.width = Math.round(cssW * dpr); c.height = Math.round(cssH * dpr); c.style.height = `${cssH}px`;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    const lane = new Map(ids.map((id, i) => [id, TOP + i * ROW + ROW / 2]));
    const x = (t) => LEFT + ((t - start) / Math.max(1, now - start)) * (cssW - LEFT - 6);
    ctx.font = '11px ui-monospace, monospace';
    ctx.textBaseline = 'middle';
    for (const n of snap.nodes) {
      const y = lane.get(n.id);
      ctx.fillStyle = cssColour(n.up ? n.role : 'down');
      ctx.fillText(n.name, 4, y);
      ctx.strokeStyle = '#e2e5e9';
      ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(LEFT, y); ctx.lineTo(cssW - 6, y); ctx.stroke();
    }
    // One path per message kind: a few strokes per frame, however many messages;
    // one-pixel lines (the canvas's fast path: 1.5 px doubled the frame's raster cost).
    ctx.lineWidth = 1;
    const paths = new Map();
    for (const m of this.seen.values()) {
      const y0 = lane.get(m.from), y1 = lane.get(m.to);
      if (y0 == null || y1 == null) continue;
      const end = Math.min(m.arrives, now);
      const f = m.arrives > m.sent ? (end - m.sent) / (m.arrives - m.sent) : 1;
      let path = paths.get(m.kind);
      if (!path) paths.set(m.kind, (path = new Path2D()));
      path.moveTo(x(m.sent), y0);
      path.lineTo(x(end), y0 + (y1 - y0) * f);
    }
    for (const [kind, path] of paths) {
      ctx.strokeStyle = cssColour(kind);
      ctx.stroke(path);
    }
    for (const d of snap.decisions) {
      if (d.t < start) continue;
      const y = lane.get(d.master);
      if (y == null) continue;
      ctx.fillStyle = cssColour(d.verdict.toLowerCase());
      ctx.beginPath(); ctx.arc(x(d.t), y, 5, 0, 2 * Math.PI); ctx.fill();
      ctx.fillText(d.verdict, x(d.t) + 7, y - 8);
    }
    ctx.fillStyle = cssColour('muted');
    ctx.textAlign = 'right';
    ctx.fillText(`${now} ms`, cssW - 8, 6);
    ctx.textAlign = 'left';
    ctx.fillText(`${Math.max(0, Math.round(start))} ms`, LEFT, 6);
  }
}

// The cluster picture: one box per node, a line per replication link (and per
// damaged link), and every message in flight drawn where it is on its way.
// Nodes and links are SVG elements, created once and only changed where
// their data changed. Messages, which move every frame and number in the
// hundreds when writes stream, are drawn on a canvas laid over the SVG (one
// fill per message kind), and a click near one is found by distance.

import { svg, setText, setAttr, setClass, shortId, bytes, cssColour } from './dom.js';

const W = 900, H = 530, BOX_W = 214, BOX_H = 88;
const MAX_MESSAGES = 2000;
/** How close (in picture units) a click must land to pick a message. */
const PICK = 10;
/** Kinds whose every message gets a label; the busy ones (stream, ack) get one per direction. */
const QUIET = new Set(['stream', 'ack', 'ping', 'reply', 'client']);

export class ClusterView {
  /**
   * @param {SVGSVGElement} root
   * @param {HTMLCanvasElement} canvas over `root`, the same size, not taking clicks
   * @param {{onNode:Function, onLink:Function, onMessage:Function}} on
   */
  constructor(root, canvas, on) {
    this.root = root;
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.on = on;
    root.setAttribute('viewBox', `0 0 ${W} ${H}`);
    this.edgeLayer = svg('g', { class: 'edges' });
    this.nodeLayer = svg('g', { class: 'nodes' });
    root.append(this.edgeLayer, this.nodeLayer);
    this.nodes = new Map(); // id -> {g, texts..., x, y}
    this.edges = new Map(); // "a-b" -> {g, line, hit, label}
    this.drawn = []; // [{x, y, m}] messages where they were last drawn (picture units)
    this.count = -1;
    // The SVG's size from a ResizeObserver: reading it while drawing would
    // force a layout in the middle of every frame.
    this.size = { w: 0, h: 0 };
    new ResizeObserver(([e]) => { this.size = { w: e.contentRect.width, h: e.contentRect.height }; }).observe(root);
    // Messages sit on the links: a click near one is for the message.
    root.addEventListener('click', (e) => {
      const m = this.pick(e);
      if (m) { e.stopPropagation(); this.on.onMessage(m, e); }
    }, true);
  }

  /** Picture units → canvas pixels (the SVG's viewBox is fitted and centred). */
  fit() {
    const { w, h } = this.size;
    const s = Math.min(w / W, h / H) || 1;
    return { s, ox: (w - W * s) / 2, oy: (h - H * s) / 2 };
  }

  /** Where the messages were last drawn, in page (client) coordinates: `[{x, y, m}]`. */
  clientPoints() {
    const r = this.root.getBoundingClientRect();
    const { s, ox, oy } = this.fit();
    const x0 = r.left + this.root.clientLeft + ox, y0 = r.top + this.root.clientTop + oy;
    return this.drawn.map((d) => ({ x: x0 + d.x * s, y: y0 + d.y * s, m: d.m }));
  }

  /** The message drawn nearest to a click, if one is within reach. */
  pick(e) {
    if (!this.drawn.length) return null;
    const r = this.root.getBoundingClientRect();
    const { s, ox, oy } = this.fit();
    const x = (e.clientX - r.left - this.root.clientLeft - ox) / s, y = (e.clientY - r.top - this.root.clientTop - oy) / s;
    let best = null, bestD = PICK * PICK;
    for (const d of this.drawn) {
      const dd = (d.x - x) ** 2 + (d.y - y) ** 2;
      if (dd <= bestD) { best = d.m; bestD = dd; }
    }
    return best;
  }

  /** Where node `id` sits when there are `n` nodes: an ellipse, node 0 on top. */
  place(n) {
    const ids = [...this.nodes.keys()].sort((a, b) => a - b);
    ids.forEach((id, k) => {
      const a = -Math.PI / 2 + (2 * Math.PI * k) / n;
      const nd = this.nodes.get(id);
      nd.x = W / 2 + (n === 1 ? 0 : 338 * Math.cos(a));
      nd.y = H / 2 + (n === 1 ? 0 : 212 * Math.sin(a));
      nd.g.setAttribute('transform', `translate(${nd.x - BOX_W / 2},${nd.y - BOX_H / 2})`);
    });
  }

  nodeView(id) {
    let nd = this.nodes.get(id);
    if (nd) return nd;
    const g = svg('g', { class: 'node', 'data-node': id, tabindex: 0, role: 'button' });
    const box = svg('rect', { width: BOX_W, height: BOX_H, rx: 8, class: 'box' });
    const name = svg('text', { x: 10, y: 20, class: 'name' });
    const role = svg('text', { x: BOX_W - 10, y: 20, class: 'role', 'text-anchor': 'end' });
    const ids = svg('text', { x: 10, y: 38, class: 'line' });
    const off = svg('text', { x: 10, y: 55, class: 'line' });
    const state = svg('text', { x: 10, y: 72, class: 'line' });
    const barBg = svg('rect', { x: 10, y: 78, width: BOX_W - 20, height: 5, rx: 2, class: 'bar-bg' });
    const bar = svg('rect', { x: 10, y: 78, width: 0, height: 5, rx: 2, class: 'bar' });
    const sync = svg('text', { x: 40, y: 20, class: 'sync' });
    const title = svg('title');
    g.append(title, box, name, role, sync, ids, off, state, barBg, bar);
    g.addEventListener('click', (e) => this.on.onNode(id, e));
    g.addEventListener('keydown', (e) => { if (e.key === 'Enter') this.on.onNode(id, e); });
    nd = { g, box, name, role, sync, ids, off, state, barBg, bar, title, x: 0, y: 0 };
    this.nodes.set(id, nd);
    this.nodeLayer.append(g);
    return nd;
  }

  edgeView(a, b) {
    const key = `${a}-${b}`;
    let ed = this.edges.get(key);
    if (ed) return ed;
    const g = svg('g', { class: 'edge', 'data-link': key });
    const line = svg('line', { class: 'wire' });
    const hit = svg('line', { class: 'hit' });
    const label = svg('text', { class: 'edge-label', 'text-anchor': 'middle' });
    const title = svg('title');
    g.append(title, line, hit, label);
    g.addEventListener('click', (e) => this.on.onLink(a, b, e));
    ed = { g, line, hit, label, title, seen: 0 };
    this.edges.set(key, ed);
    this.edgeLayer.append(g);
    return ed;
  }

  /** Draw the nodes and links of a snapshot (its messages: `drawMessages`). */
  update(snap) {
    // Nodes: create the new ones, drop removed ones, place when the count changes.
    const present = new Set(snap.nodes.map((n) => n.id));
    for (const [id, nd] of this.nodes) if (!present.has(id)) { nd.g.remove(); this.nodes.delete(id); }
    for (const n of snap.nodes) this.nodeView(n.id);
    if (this.count !== snap.nodes.length) { this.count = snap.nodes.length; this.place(this.count); }
    for (const n of snap.nodes) this.drawNode(this.nodes.get(n.id), n, snap);

    // Links: replication links (replica -> upstream) and any link that is not plainly up.
    const mark = ++this.frame || (this.frame = 1);
    const upstreamOf = new Map(snap.nodes.map((n) => [n.id, n.upstream]));
    for (const l of snap.links) {
      const replication = upstreamOf.get(l.a) === l.b || upstreamOf.get(l.b) === l.a;
      if (!replication && l.state === 'up') continue;
      const A = this.nodes.get(l.a), B = this.nodes.get(l.b);
      if (!A || !B) continue;
      const ed = this.edgeView(l.a, l.b);
      ed.seen = mark;
      setAttr(ed.line, 'x1', A.x); setAttr(ed.line, 'y1', A.y);
      setAttr(ed.line, 'x2', B.x); setAttr(ed.line, 'y2', B.y);
      setAttr(ed.hit, 'x1', A.x); setAttr(ed.hit, 'y1', A.y);
      setAttr(ed.hit, 'x2', B.x); setAttr(ed.hit, 'y2', B.y);
      setAttr(ed.label, 'x', (A.x + B.x) / 2); setAttr(ed.label, 'y', (A.y + B.y) / 2 - 6);
      setAttr(ed.g, 'data-state', l.state);
      setClass(ed.g, 'replication', replication);
      setText(ed.label, l.state === 'up' ? '' : l.state);
      setText(ed.title, `link n${l.a} ↔ n${l.b}: ${l.state}, latency ${l.latency} ms (n${l.a}→n${l.b}), ${l.latency_back ?? l.latency} ms back (click for actions)`);
    }
    for (const [k, ed] of this.edges) if (ed.seen !== mark) { ed.g.remove(); this.edges.delete(k); }
  }

  drawNode(nd, n, snap) {
    setText(nd.name, n.name);
    const isMaster = n.role === 'master';
    setText(nd.role, !n.up ? 'DOWN' : isMaster ? 'MASTER' : 'replica');
    setClass(nd.g, 'master', isMaster);
    setClass(nd.g, 'down', !n.up);
    setClass(nd.g, 'main', snap.master === n.id);
    setText(nd.ids, `replid ${shortId(n.replid)} · replid2 ${shortId(n.replid2)}`);
    // While playing, a digest may be of an earlier offset (see snapshot_live).
    const fresh = (x) => x.digest_offset === x.offset;
    // A lagging one is marked "~" (the box has no room for its offset; the tooltip says it).
    setText(nd.off, `offset ${n.offset} · ${!n.up || fresh(n) ? '' : '~'}#${n.digest}`);
    // Compared with its upstream: same offset and same digest means the same data.
    const up = n.up && n.upstream != null ? snap.nodes.find((x) => x.id === n.upstream) : null;
    let sync = '';
    if (up && up.up) {
      if (n.offset !== up.offset) sync = n.offset < up.offset ? 'behind' : 'ahead';
      else if (fresh(n) && fresh(up)) sync = n.digest === up.digest ? 'same' : 'differs';
      else sync = 'level';
    }
    setAttr(nd.sync, 'data-sync', sync);
    setText(nd.sync, { same: '= upstream', level: '= offset', behind: `${up ? up.offset - n.offset : 0} B behind`,
      ahead: `${up ? n.offset - up.offset : 0} B ahead`, differs: '≠ DATA DIFFERS', '': '' }[sync]);
    const store = `${n.keys} keys`;
    let state;
    if (!n.up) state = n.disk ? `disk: RDB${n.disk.offset == null ? '' : ` @${n.disk.offset}`}` : 'no RDB on disk';
    else if (isMaster) state = `${n.replicas.length} replica${n.replicas.length === 1 ? '' : 's'} · ${store}`;
    else state = `${n.link ?? '-'} · ${store}`;
    setText(nd.state, state);
    setAttr(nd.g, 'data-link-state', n.link ?? '');
    const p = n.sync_progress;
    setAttr(nd.bar, 'width', p == null ? 0 : Math.max(1, p * (BOX_W - 20)));
    setClass(nd.barBg, 'hidden', p == null);
    setText(nd.title, [
      `${n.name} (${n.up ? n.role : 'down'})`,
      `replid  ${n.replid}`, `replid2 ${n.replid2} (valid up to offset ${n.second_offset})`,
      `offset ${n.offset}`, n.up ? `DEBUG DIGEST ${n.digest} (at offset ${n.digest_offset}${fresh(n) ? '' : '; while playing, digests are refreshed one node at a time'})` : '',
      n.upstream != null ? `replica of n${n.upstream}, link ${n.link}` : '',
      n.backlog ? `backlog ${bytes(n.backlog.size)} covering [${n.backlog.first}, ${n.backlog.last}]` : 'no backlog',
      n.disk ? `disk: RDB ${bytes(n.disk.bytes)}, ${n.disk.keys} keys (replid ${shortId(n.disk.replid)}, offset ${n.disk.offset ?? '-'})` : 'disk: empty',
      'click for actions',
    ].filter(Boolean).join('\n'));
  }

  /** Draw the messages in flight (on the canvas; every frame while playing). */
  drawMessages(inflight) {
    const c = this.canvas, ctx = this.ctx;
    const { w, h } = this.size;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
      c.style.width = `${w}px`; c.style.height = `${h}px`;
    }
    const { s, ox, oy } = this.fit();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.setTransform(dpr * s, 0, 0, dpr * s, dpr * ox, dpr * oy);
    const labelled = new Set();
    const dots = new Map(); // kind -> Path2D
    const stalled = new Path2D();
    const labels = [];
    this.drawn = [];
    const shown = Math.min(inflight.length, MAX_MESSAGES);
    for (let i = 0; i < shown; i++) {
      const m = inflight[i];
      const A = this.nodes.get(m.from), B = this.nodes.get(m.to);
      if (!A || !B) continue;
      const [sx, sy, ex, ey] = clip(A, B);
      // Offset each direction to its own side of the line so both directions stay readable.
      const len = Math.hypot(ex - sx, ey - sy) || 1;
      const side = m.from < m.to ? 7 : -7;
      const px = (-(ey - sy) / len) * side, py = ((ex - sx) / len) * side;
      const p = Math.max(0, Math.min(1, m.progress));
      const x = sx + (ex - sx) * p + px, y = sy + (ey - sy) * p + py;
      const r = m.kind === 'rdb' ? 8 : 6;
      let path = dots.get(m.kind);
      if (!path) dots.set(m.kind, (path = new Path2D()));
      path.moveTo(x + r, y); path.arc(x, y, r, 0, 2 * Math.PI);
      if (m.stalled) { stalled.moveTo(x + r, y); stalled.arc(x, y, r, 0, 2 * Math.PI); }
      this.drawn.push({ x, y, m });
      const dir = `${m.from}>${m.to}:${QUIET.has(m.kind) ? m.kind : i}`;
      if (!labelled.has(dir)) {
        labelled.add(dir);
        let label = m.kind === 'rdb' ? `${m.label} ${Math.round(p * 100)}%` : m.label;
        if (label.length > 34) label = label.slice(0, 33) + '…';
        if (label) labels.push([label, x + 9, y + 4, m.kind]);
      }
    }
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = '#fff';
    for (const [kind, path] of dots) {
      ctx.fillStyle = cssColour(kind);
      ctx.fill(path);
      ctx.stroke(path);
    }
    ctx.lineWidth = 3;
    ctx.strokeStyle = cssColour('held');
    ctx.stroke(stalled);
    ctx.font = '600 11px ui-monospace, monospace';
    ctx.lineJoin = 'round';
    for (const [label, x, y, kind] of labels) {
      ctx.strokeStyle = '#fff';
      ctx.strokeText(label, x, y);
      ctx.fillStyle = cssColour(kind);
      ctx.fillText(label, x, y);
    }
  }
}

/** The part of the A→B centre line outside both boxes: [sx, sy, ex, ey]. */
function clip(A, B) {
  const dx = B.x - A.x, dy = B.y - A.y;
  const len = Math.hypot(dx, dy) || 1;
  const ux = dx / len, uy = dy / len;
  const d = Math.min((BOX_W / 2 + 4) / (Math.abs(ux) || 1e-9), (BOX_H / 2 + 4) / (Math.abs(uy) || 1e-9));
  return [A.x + ux * d, A.y + uy * d, B.x - ux * d, B.y - uy * d];
}

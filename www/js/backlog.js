// The backlog picture: for each node that feeds replicas, its replication
// stream drawn as an offset line, the backlog as the window of that line the
// node still holds, and each of its replicas marked at the offset it has
// reached. A replica that reconnects asks for the byte after its offset; the
// picture shows at a glance whether that byte is still in the window.

import { svg, setText, setAttr, setClass, bytes } from './dom.js';

const W = 900, ROW = 100, X0 = 70, X1 = 860;

export class BacklogView {
  constructor(root) {
    this.root = root;
    this.rows = new Map();
    this.n = -1;
  }

  row(id) {
    let r = this.rows.get(id);
    if (r) return r;
    const g = svg('g', { class: 'blrow', 'data-node': id });
    const title = svg('text', { x: 4, y: 18, class: 'bl-title' });
    const axis = svg('line', { y1: 44, y2: 44, x1: X0, x2: X1, class: 'bl-axis' });
    const gone = svg('rect', { y: 36, height: 16, class: 'bl-gone' });
    const win = svg('rect', { y: 34, height: 20, class: 'bl-window' });
    const winLabel = svg('text', { y: 30, class: 'bl-label', 'text-anchor': 'middle' });
    const head = svg('line', { y1: 36, y2: 52, class: 'bl-head' });
    const lo = svg('text', { x: X0 - 6, y: 48, class: 'bl-tick', 'text-anchor': 'end' });
    const markers = svg('g');
    g.append(title, axis, gone, win, winLabel, head, lo, markers);
    this.root.append(g);
    r = { g, title, axis, gone, win, winLabel, head, lo, markers, pool: [] };
    this.rows.set(id, r);
    return r;
  }

  update(snap) {
    const feeders = snap.nodes.filter((n) => n.backlog && n.up &&
      (n.id === snap.master || snap.nodes.some((r) => r.upstream === n.id)));
    const keep = new Set(feeders.map((n) => n.id));
    for (const [id, r] of this.rows) if (!keep.has(id)) { r.g.remove(); this.rows.delete(id); }
    feeders.forEach((n, k) => this.drawRow(this.row(n.id), n, snap, k));
    const h = Math.max(1, feeders.length) * ROW + 4;
    if (this.n !== h) { this.n = h; this.root.setAttribute('viewBox', `0 0 ${W} ${h}`); this.root.style.height = `${h}px`; }
  }

  drawRow(r, n, snap, k) {
    setAttr(r.g, 'transform', `translate(0,${k * ROW})`);
    const b = n.backlog;
    const replicas = snap.nodes.filter((x) => x.id !== n.id && x.role === 'replica' &&
      (x.upstream === n.id || n.replicas.some((y) => y.id === x.id)));
    const reached = replicas.map((x) => ({ x, off: x.up ? x.offset : x.disk?.offset ?? null }))
      .filter((m) => m.off != null);
    const hi = Math.max(n.offset, b.last);
    // The axis spans what the window holds now (not its capacity), so a
    // backlog that is not full yet still fills the picture.
    const span = Math.max(hi - b.first + 1, 64);
    let lo = Math.min(b.first - 1, ...reached.map((m) => m.off));
    lo = Math.max(lo, hi - 3 * span);
    lo = Math.max(0, Math.min(lo, hi - 1.3 * span));
    const top = hi + span * 0.04;
    const sx = (o) => X0 + ((o - lo) / (top - lo || 1)) * (X1 - X0);

    setText(r.title, `${n.name}'s replication stream: ${n.name} is at offset ${n.offset} (orange bar)`);
    const empty = b.last < b.first;
    const wx0 = sx(b.first - 1), wx1 = sx(b.last);
    setAttr(r.win, 'x', wx0.toFixed(1));
    setAttr(r.win, 'width', Math.max(empty ? 0 : 2, wx1 - wx0).toFixed(1));
    setAttr(r.gone, 'x', X0);
    setAttr(r.gone, 'width', Math.max(0, wx0 - X0).toFixed(1));
    setAttr(r.winLabel, 'x', ((wx0 + wx1) / 2).toFixed(1));
    setText(r.winLabel, empty ? `backlog empty (size ${bytes(b.size)})`
      : `backlog [${b.first}, ${b.last}] · holds up to ${bytes(b.size)}`);
    setAttr(r.head, 'x1', sx(hi).toFixed(1)); setAttr(r.head, 'x2', sx(hi).toFixed(1));
    setText(r.lo, lo > 0 ? `… ${Math.round(lo)}` : '0');

    // Replica markers; replicas within a few pixels of each other share one
    // marker (and one label), or seven replicas in step would be unreadable.
    reached.sort((p, q) => p.off - q.off);
    const groups = [];
    for (const m of reached) {
      const x = m.off < lo ? X0 : sx(m.off);
      const g = groups[groups.length - 1];
      if (g && x - g.x < 46) g.members.push(m);
      else groups.push({ x, members: [m] });
    }
    let lastX = -1e9, level = 0;
    groups.forEach((grp, i) => {
      let v = r.pool[i];
      if (!v) {
        const g = svg('g', { class: 'bl-marker' });
        const tri = svg('path', { d: 'M0,6 L-6,16 L6,16 Z' });
        const text = svg('text', { y: 28, 'text-anchor': 'middle' });
        const title = svg('title');
        g.append(title, tri, text);
        r.markers.append(g);
        v = r.pool[i] = { g, tri, text, title };
      }
      const { x, members } = grp;
      const lowest = members[0].off, highest = members[members.length - 1].off;
      const pinned = lowest < lo;
      level = x - lastX < 110 ? (level + 1) % 3 : 0;
      lastX = x;
      setClass(v.g, 'hidden', false);
      setAttr(v.g, 'transform', `translate(${x.toFixed(1)},44)`);
      setAttr(v.text, 'y', 28 + level * 11);
      const names = members.map((m) => m.x.name + (m.x.up ? '' : ' (down)')).join(', ');
      setText(v.text, `${pinned ? '◀ ' : ''}${names} @ ${lowest === highest ? lowest : `${lowest}–${highest}`}`);
      // Coloured by what the upstream would answer if the replica asked now
      // (the core's own decision: the replid counts as much as the offset). A
      // down replica cannot ask: its marker only says whether the offset on
      // its disk is still inside the window.
      const where = (m) => m.x.psync_now?.verdict.toLowerCase()
        ?? (!empty && m.off >= b.first - 1 && m.off <= b.last ? 'inside' : 'outside');
      const kinds = new Set(members.map(where));
      setText(v.title, members.map((m) => (m.x.psync_now
        ? `${m.x.name} asking now: PSYNC ${m.x.psync_now.replid.slice(0, 8)} ${m.x.psync_now.offset} → ${m.x.psync_now.verdict}: ${m.x.psync_now.reason}`
        : `${m.x.name}: ${m.x.up ? 'no upstream to ask' : `down; its disk holds offset ${m.off}`}`)).join('\n'));
      setAttr(v.g, 'data-where', kinds.size === 1 ? [...kinds][0] : 'mixed');
      setClass(v.g, 'down', members.every((m) => !m.x.up));
    });
    for (let i = groups.length; i < r.pool.length; i++) setClass(r.pool[i].g, 'hidden', true);
  }
}

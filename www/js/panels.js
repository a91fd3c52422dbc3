// The side panels: a card for every PSYNC decision, the event log (raw RESP
// beside its meaning, click to jump there) and a redis-cli-like console per
// node. All text shown here comes from the core through the Playground API.

import { el, setText, shortId } from './dom.js';

const MAX_CARDS = 60;
const MAX_ROWS = 200;
const ROWS_PER_UPDATE = 40;

export class DecisionsView {
  constructor(root) { this.root = root; this.last = null; }

  reset() { this.root.replaceChildren(); this.last = null; }

  /** Add the cards after the last one shown (the core keeps only the most recent ones). */
  update(decisions) {
    let from = 0;
    if (this.last != null) {
      const at = decisions.findLastIndex((d) => key(d) === this.last);
      if (at < 0) this.reset(); else from = at + 1;
    }
    from = Math.max(from, decisions.length - MAX_CARDS);
    for (let i = from; i < decisions.length; i++) this.root.prepend(card(decisions[i], i));
    if (decisions.length) this.last = key(decisions[decisions.length - 1]);
    else if (this.last != null) this.reset();
    while (this.root.childElementCount > MAX_CARDS) this.root.lastElementChild.remove();
  }
}

/** What tells two decisions apart (time, who asked whom, what). */
function key(d) {
  return `${d.t}/${d.master}/${d.replica}/${d.asked_replid}/${d.asked_offset}/${d.verdict}`;
}

function card(d, i) {
  const had = [`replid ${shortId(d.replid, 8)}`, `replid2 ${shortId(d.replid2, 8)} (up to ${d.second_offset})`,
    d.backlog_first == null ? 'no backlog' : `backlog [${d.backlog_first}, ${d.backlog_last}]`].join(', ');
  return el('article', { class: 'card decision', dataset: { verdict: d.verdict, index: i } },
    el('header', {},
      el('span', { class: 'verdict', text: d.verdict }),
      el('span', { class: 'who', text: ` ${d.replica == null ? 'a replica' : `n${d.replica}`} asked n${d.master} · ${d.t} ms` })),
    el('dl', {},
      el('dt', { text: 'asked' }),
      el('dd', { text: `PSYNC ${d.asked_replid === '?' ? '?' : shortId(d.asked_replid, 8)} ${d.asked_offset}`, title: d.asked_replid }),
      el('dt', { text: 'master had' }), el('dd', { text: had, title: `${d.replid}\n${d.replid2}` }),
      el('dt', { text: 'because' }), el('dd', { class: 'reason', text: d.reason })));
}

export class LogView {
  /**
   * The newest event is at the top, so following the run needs no scrolling
   * (and no forced layout); a reader who scrolls down keeps their place.
   * @param {(ev:object)=>void} onJump
   */
  constructor(root, onJump) {
    this.root = root;
    this.onJump = onJump;
    root.addEventListener('click', (e) => {
      const row = e.target.closest('.ev');
      if (row && row.__ev) this.onJump(row.__ev);
    });
  }

  reset() { this.root.replaceChildren(); }

  /**
   * Add new events (oldest first in `events`), at most ROWS_PER_UPDATE per
   * call; `skipped` more happened before them and are not listed.
   */
  append(events, current, skipped = 0) {
    if (events.length) {
      const frag = document.createDocumentFragment();
      const shown = events.slice(-ROWS_PER_UPDATE);
      for (let i = shown.length - 1; i >= 0; i--) frag.append(row(shown[i]));
      skipped += events.length - shown.length;
      if (skipped > 0) {
        frag.append(el('div', { class: 'ev skipped', text: `… ${skipped} earlier events not listed (pause, or slow down, to see every one)` }));
      }
      this.root.prepend(frag);
      let extra = this.root.childElementCount - MAX_ROWS;
      while (extra-- > 0) this.root.lastElementChild.remove();
    }
    this.mark(current);
  }

  /** Highlight the last event at or before step `current`. */
  mark(current) {
    const old = this.root.querySelector('.ev.here');
    for (const r of this.root.children) {
      const ev = r.__ev;
      if (ev && ev.step <= current) {
        if (r !== old) { old?.classList.remove('here'); r.classList.add('here'); }
        return;
      }
    }
    old?.classList.remove('here');
  }
}

function row(ev) {
  const r = el('div', { class: 'ev', dataset: { kind: ev.kind, msg: ev.msg ?? '', step: ev.step }, title: `click to go back to this moment (step ${ev.step})` },
    el('span', { class: 't', text: `${ev.t}` }),
    el('span', { class: 'n', text: ev.node == null ? '' : `n${ev.node}` }),
    el('span', { class: 'k', text: ev.kind }),
    el('span', { class: 'text', text: ev.text }),
    ev.resp ? el('code', { class: 'resp', text: ev.resp }) : el('span', { class: 'resp' }),
    el('span', { class: 'meaning', text: ev.meaning ?? '' }));
  r.__ev = ev;
  return r;
}

export class ConsoleView {
  /**
   * @param {HTMLElement} root
   * @param {(node:number, line:string)=>string} exec runs a command, returns the reply text
   */
  constructor(root, exec) {
    this.exec = exec;
    this.tabs = el('div', { class: 'tabs', role: 'tablist' });
    this.out = el('div', { class: 'out', 'aria-live': 'polite' });
    this.prompt = el('span', { class: 'prompt' });
    this.input = el('input', { class: 'cmd', type: 'text', spellcheck: 'false', autocomplete: 'off',
      placeholder: 'SET greeting hello, GET greeting, INFO replication, WAIT 1 100 …', 'aria-label': 'command' });
    root.append(this.tabs, this.out, el('form', { class: 'line', onsubmit: (e) => { e.preventDefault(); this.submit(); } }, this.prompt, this.input));
    this.history = new Map(); // node -> [{line, reply, error}]
    this.typed = [];
    this.recall = 0;
    this.node = 0;
    this.ids = '';
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
        e.preventDefault();
        this.recall = Math.max(0, Math.min(this.typed.length, this.recall + (e.key === 'ArrowUp' ? -1 : 1)));
        this.input.value = this.typed[this.recall] ?? '';
      }
    });
  }

  /** Keep one tab per node. */
  update(nodes) {
    const ids = nodes.map((n) => `${n.id}:${n.up ? 1 : 0}:${n.role}`).join(',');
    if (ids === this.ids) return;
    this.ids = ids;
    this.tabs.replaceChildren(...nodes.map((n) => el('button', {
      class: 'tab', role: 'tab', 'data-node': n.id, 'aria-selected': String(n.id === this.node),
      text: `${n.name}${n.up ? '' : ' (down)'}${n.role === 'master' ? ' ★' : ''}`,
      onclick: () => this.select(n.id),
    })));
    if (!nodes.some((n) => n.id === this.node) && nodes.length) this.select(nodes[0].id);
    setText(this.prompt, `n${this.node}>`);
  }

  select(id) {
    this.node = id;
    for (const t of this.tabs.children) t.setAttribute('aria-selected', String(Number(t.dataset.node) === id));
    setText(this.prompt, `n${id}>`);
    this.out.replaceChildren(...(this.history.get(id) ?? []).flatMap(entry));
    this.out.scrollTop = this.out.scrollHeight;
  }

  focus() { this.input.focus(); }

  submit() {
    const line = this.input.value.trim();
    if (!line) return;
    this.input.value = '';
    this.typed.push(line);
    this.recall = this.typed.length;
    let reply, error = false;
    try { reply = this.exec(this.node, line); } catch (e) { reply = `(error) ${e.message}`; error = true; }
    const item = { line, reply, error: error || /^\(error\)/.test(reply) };
    if (!this.history.has(this.node)) this.history.set(this.node, []);
    this.history.get(this.node).push(item);
    this.out.append(...entry(item));
    this.out.scrollTop = this.out.scrollHeight;
  }
}

function entry(item) {
  return [el('div', { class: 'typed', text: `> ${item.line}` }),
    el('pre', { class: item.error ? 'reply error' : 'reply', text: item.reply })];
}

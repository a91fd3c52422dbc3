// Small DOM helpers shared by the page's modules: element builders and
// "set only if changed" updates, so a frame touches only what changed.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An HTML element with attributes/properties and children. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

/** An SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.setAttribute('class', v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

/** Set an element's text if it differs. */
export function setText(e, s) {
  s = String(s);
  if (e.textContent !== s) e.textContent = s;
}

/** Set an input's value if it differs (assigning even the same value repaints the field). */
export function setValue(e, v) {
  v = String(v);
  if (e.value !== v) e.value = v;
}

/** Set an attribute if it differs. */
export function setAttr(e, k, v) {
  v = String(v);
  if (e.getAttribute(k) !== v) e.setAttribute(k, v);
}

/** Toggle a class only when needed. */
export function setClass(e, name, on) {
  if (e.classList.contains(name) !== !!on) e.classList.toggle(name, !!on);
}

/** The first `n` characters of a replid (or "?" / "-" for missing ones). */
export function shortId(id, n = 6) {
  if (!id) return '-';
  if (/^0+$/.test(id)) return '0…';
  return id.length > n ? id.slice(0, n) : id;
}

/** Human-readable byte count. */
export function bytes(n) {
  if (n == null) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

const colours = new Map();
/**
 * A colour the stylesheet names: its `--NAME` variable (a message kind, a
 * role, a verdict; style.css is the one place colours are set, and the
 * canvases read them from there).
 */
export function cssColour(name) {
  let c = colours.get(name);
  if (c == null) {
    c = getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim() || '#555';
    colours.set(name, c);
  }
  return c;
}

// Helpers every page uses: the API call with the key, DOM building without
// innerHTML (data never becomes markup), ECharts instances, number formats.

const KEY_STORAGE = 'omni.apiKey';

// The key lives in sessionStorage: gone when the tab closes, never in a
// cookie (so no other site can make the browser send it) and never left in
// the address bar (app.js strips ?key= after reading it).
export function apiKey() { return sessionStorage.getItem(KEY_STORAGE) || ''; }
export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// GET a JSON answer; throws ApiError with the server's error code/message
// ({"error":{"code","message"}}) on a non-2xx answer.
export async function api(path) {
  const key = apiKey();
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = 'Bearer ' + key;
  const res = await fetch(path, { headers, cache: 'no-store' });
  let body = null;
  try { body = await res.json(); } catch (_) { body = null; }
  if (!res.ok) {
    const err = (body && body.error) || {};
    throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText);
  }
  return body;
}

// h('td', {class: 'num'}, 'text', child, ...): text is always a text node.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function table(headers, rows, numeric = []) {
  return h('table', {},
    h('thead', {}, h('tr', {}, headers.map((t, i) => h('th', { class: numeric.includes(i) ? 'num' : null }, t)))),
    h('tbody', {}, rows.map(r => h('tr', {}, r.map((v, i) => h('td', { class: numeric.includes(i) ? 'num' : null }, v))))));
}

const nf = new Intl.NumberFormat('zh-CN');
const nf2 = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 2 });
export const fmt = {
  int: v => (v === null || v === undefined ? '–' : nf.format(v)),
  num: v => (v === null || v === undefined || Number.isNaN(v) ? '–' : nf2.format(v)),
  pct: v => (v === null || v === undefined || !Number.isFinite(v) ? '–' : (100 * v).toFixed(1) + '%'),
  // "2025-12-31T13:41:47.000+00:00" → "2025-12-31 13:41 UTC"; local offsets kept.
  time: s => {
    if (!s) return '–';
    const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(Z|[+-]\d\d:\d\d)?$/.exec(s);
    if (!m) return s;
    return `${m[1]} ${m[2]}` + (!m[3] || m[3] === 'Z' || m[3] === '+00:00' ? ' UTC' : ` (UTC${m[3]})`);
  },
  // A k-anonymous count: the number, or the server's "<k".
  count: (v, shown) => (v === null || v === undefined ? (shown || '–') : nf.format(v)),
};

export function kpis(items) {
  return h('div', { class: 'kpis' }, items.map(([label, value]) =>
    h('div', { class: 'kpi' }, h('div', { class: 'v' }, value), h('div', { class: 'l' }, label))));
}

// Every ECharts instance of the current page, so navigation disposes them
// and a window resize reaches them.
const live = [];
export function disposeCharts() {
  while (live.length) live.pop().dispose();
}
window.addEventListener('resize', () => live.forEach(c => c.resize()));

// Draws `option` into `el`; without ECharts (setup not run) says so in place.
export function chart(el, option) {
  if (!window.echarts) {
    el.replaceChildren(h('div', { class: 'notice' },
      'Charts unavailable: ECharts is not installed on the server (run scripts/setup-ui.sh).'));
    el.style.height = 'auto';
    return null;
  }
  const c = window.echarts.init(el, null, { renderer: 'canvas' });
  c.setOption(Object.assign({ animation: false, textStyle: { fontFamily: getComputedStyle(document.documentElement).fontFamily } }, option));
  live.push(c);
  return c;
}

export function card(title, ...body) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...body);
}

export function notice(text) { return h('div', { class: 'notice' }, text); }

// Customer lookup: one person across every channel (GET
// /v1/customers/{identifier}, the same view as `omni customers show`):
// identifiers, value (RFM, CLV), channel mix, tastes, consent and the latest
// events as a timeline across channels.
//
// The identifier a marketer types may be a phone number: it goes to the
// server in the request path only (which hashes it before the look-up) and is
// never put in the address bar or the browser history.
import { api, h, chart, card, kpis, table, fmt, notice, disposeCharts, ApiError } from '../lib.js';

let last = '';

export async function render(main) {
  const input = h('input', { type: 'text', id: 'customer-id', value: last, placeholder: 'member_card:M04718352 · phone:13800138000 · customer:C000000123', spellcheck: 'false' });
  const out = h('div', { id: 'customer-result' });
  const form = h('form', { class: 'toolbar', id: 'customer-form', autocomplete: 'off' },
    h('label', { for: 'customer-id' }, 'Identifier (type:value)'), input, h('button', { type: 'submit' }, 'Look up'));
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    last = input.value.trim();
    lookup(last, out);
  });
  main.replaceChildren(h('h1', {}, 'Customer 客户'),
    h('p', { class: 'lead' }, 'Any identifier the customer gives — member card, phone, e-mail, account id, WeChat id — or a customer key. Phones and e-mails are hashed by the server exactly as at import.'),
    form, out);
  if (last) await lookup(last, out);
  else out.append(notice('Type an identifier and press Look up.'));
}

async function lookup(identifier, out) {
  disposeCharts();
  if (!identifier.includes(':')) {
    out.replaceChildren(h('div', { class: 'error' }, 'Write the identifier as type:value, e.g. member_card:M0042.'));
    return;
  }
  out.replaceChildren(notice('Looking up…'));
  out.dataset.state = 'loading';
  let v;
  try {
    v = await api('/v1/customers/' + encodeURIComponent(identifier));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 400)) {
      out.replaceChildren(h('div', { class: 'error', id: 'customer-error' }, e.message));
      out.dataset.state = 'not-found';
      return;
    }
    throw e;
  }
  const p = v.profile;
  const parts = [h('h2', { id: 'customer-key' }, 'Customer ' + v.customer_key),
    h('div', {}, v.identifiers.map(i => h('span', { class: 'pill' }, `${i.type}: ${i.value}`)))];
  if (!p) {
    parts.push(notice('No profile yet: run omni profiles build.'));
  } else {
    parts.push(kpis([
      ['RFM group', p.rfm.group ? `${p.rfm.group} (R${p.rfm.r} F${p.rfm.f} M${p.rfm.m})` : 'no purchase yet'],
      ['Orders', fmt.int(p.rfm.frequency)],
      ['Spent (net)', fmt.num(p.rfm.monetary)],
      ['CLV 12 months', fmt.num(p.clv['12m'])],
      ['P(alive)', fmt.pct(p.clv.p_alive)],
      ['Preferred channel', p.preferred_channel || '–'],
      ['Seen', `${(p.first_seen || '').slice(0, 10)} – ${(p.last_seen || '').slice(0, 10)}`],
    ]));
  }
  const mix = h('div', { class: 'chart', id: 'chart-customer-channels' });
  const timeline = h('div', { class: 'chart', id: 'chart-customer-timeline' });
  const grid = h('div', { class: 'grid' });
  if (p) {
    const consent = Object.entries(p.consent || {}).map(([ch, c]) => `${ch} ${c.granted ? 'yes' : 'NO'} since ${c.since.slice(0, 10)}`);
    grid.append(card('Channel mix', mix,
      table(['channel', 'events', 'orders', 'spent', 'days since purchase'],
        p.channels.map(c => [c.channel, fmt.int(c.events), fmt.int(c.orders), fmt.num(c.monetary), fmt.num(c.recency_days)]), [1, 2, 3, 4])),
    card('Tastes and permissions',
      h('h2', {}, 'Top categories'), h('div', { id: 'customer-categories' }, p.categories.map(a => h('span', { class: 'pill' }, `${a.name} ${fmt.pct(a.share)}`))),
      h('h2', {}, 'Top brands'), h('div', {}, p.brands.map(a => h('span', { class: 'pill' }, `${a.name} ${fmt.pct(a.share)}`))),
      h('h2', {}, 'Consent'), h('div', {}, consent.length ? consent.map(c => h('span', { class: 'pill' }, c)) : 'none recorded (do not market)'),
      h('h2', {}, 'Online ↔ offline'),
      h('div', {}, `viewed online, bought in store: ${p.o2o.online_to_store}; store visit, then ordered online: ${p.o2o.store_to_online}`),
      h('h2', {}, 'Browse without buying / carts abandoned (1 / 7 / 30 days)'),
      h('div', {}, `${p.browse_without_buy['1d']} / ${p.browse_without_buy['7d']} / ${p.browse_without_buy['30d']} items · ${p.cart_abandon['1d']} / ${p.cart_abandon['7d']} / ${p.cart_abandon['30d']} carts`)));
  }
  grid.append(h('section', { class: 'card wide' }, h('h2', {}, 'Latest events across channels'), timeline,
    table(['time', 'channel', 'type', 'item', 'store', 'amount'],
      v.timeline.map(e => [e.ts.slice(0, 19).replace('T', ' '), e.channel, e.type,
        e.item_id ? (e.title ? `${e.title} (${e.item_id})` : e.item_id) : '', e.store_id || '',
        e.amount !== undefined ? `${fmt.num(e.amount)} ${e.currency || ''}` : '']), [5])));
  parts.push(grid);
  out.replaceChildren(...parts);
  out.dataset.state = 'ready';

  if (p && p.channels.length) {
    chart(mix, {
      tooltip: { trigger: 'item' },
      series: [{ type: 'pie', radius: ['35%', '70%'], data: p.channels.map(c => ({ name: c.channel, value: c.events })) }],
    });
  }
  if (v.timeline.length) {
    const channels = [...new Set(v.timeline.map(e => e.channel))];
    const types = [...new Set(v.timeline.map(e => e.type))];
    chart(timeline, {
      tooltip: { trigger: 'item', formatter: q => `${escapeHtml(q.data.ts)}<br>${escapeHtml(q.data.channel)} · ${escapeHtml(q.data.type)}${q.data.title ? '<br>' + escapeHtml(q.data.title) : ''}` },
      legend: { top: 0 },
      grid: { left: 90, right: 20, top: 36, bottom: 30 },
      xAxis: { type: 'time', axisLabel: { formatter: '{MM}-{dd}' } },
      yAxis: { type: 'category', data: channels },
      series: types.map(t => ({
        name: t, type: 'scatter', symbolSize: 12,
        data: v.timeline.filter(e => e.type === t).map(e => ({ value: [e.ts, e.channel], ts: e.ts, channel: e.channel, type: e.type, title: e.title })),
      })),
    });
  }
}

// ECharts tooltips are HTML: item titles come from a catalogue import.
function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// Overview: what happened across channels lately — events per channel per
// day, daily active customers, orders and sales per day, the view → cart →
// purchase funnel per channel in distinct customers, and active customers
// from the latest profile build.
import { api, h, chart, card, kpis, table, fmt, notice, disposeCharts } from '../lib.js';

let days = 30;

export async function render(main) {
  const d = await api('/v1/dashboard/overview?days=' + days);
  const picker = h('select', { id: 'overview-days', onchange: ev => {
    days = Number(ev.target.value);
    disposeCharts();
    render(main).catch(e => main.replaceChildren(h('div', { class: 'error' }, 'Could not load: ' + e.message)));
  } },
    [7, 30, 90, 365].map(n => h('option', { value: n, selected: n === days }, `last ${n} days`)));
  const c = d.customers;
  const k = '<' + d.min_group_size;
  // "customers" are One-ID customers once identities are resolved, else
  // identifiers (the server says which).
  const people = d.people.basis === 'customers' ? 'customers' : 'identifiers';
  const head = [
    h('h1', {}, 'Overview 概览'),
    h('p', { class: 'lead' },
      d.window.from ? `${d.window.from} – ${d.window.to} (shop-local days; the window ends at the newest event, ${fmt.time(d.store.newest_event)})`
                    : 'No events stored yet: import some (omni import FILE) or POST /v1/events.'),
    h('div', { class: 'toolbar' }, 'Window:', picker),
    kpis([
      ['Events in window', fmt.int(d.totals.events)],
      ['Orders in window', fmt.int(d.totals.orders)],
      ['Sales in window' + (d.totals.currency ? ` (${d.totals.currency})` : ''), fmt.num(d.totals.sales)],
      [`Active ${people} in window`, fmt.count(d.totals.customers, d.totals.customers_shown)],
      ['Active customers, 7 days', c ? fmt.count(c.active_7d, k) : '–'],
      ['Active customers, 30 days', c ? fmt.count(c.active_30d, k) : '–'],
      ['Customers (One-ID)', c ? fmt.count(c.total, k) : '–'],
      ['Quarantined records', fmt.int(d.store.quarantined)],
    ]),
  ];
  if (!c) head.push(notice(d.note));
  else head.push(h('p', { class: 'lead' }, `Customers as of the profile build of ${fmt.time(c.as_of)}; buyers ${fmt.count(c.buyers, k)}, of whom bought in the last 30 days: ${fmt.count(c.buyers_30d, k)}.`));
  const basis = h('p', { class: 'lead', id: 'people-basis' }, `Funnel and daily active counts are ${d.people.note}.`);
  if (d.people.basis !== 'customers') head.push(notice(basis.textContent));
  else head.push(basis);

  const perDay = h('div', { class: 'chart tall', id: 'chart-events-per-day' });
  const active = h('div', { class: 'chart', id: 'chart-active-per-day' });
  const funnel = h('div', { class: 'chart', id: 'chart-funnel' });
  const sales = h('div', { class: 'chart', id: 'chart-orders-per-day' });
  const rows = [...d.funnel, Object.assign({ channel: 'all channels 全渠道' }, d.funnel_all_channels)];
  const rate = (a, b) => (a !== null && b ? fmt.pct(a / b) : '–');
  const funnelRows = rows.map(f => [f.channel,
    fmt.count(f.customers.view, f.shown.view), fmt.count(f.customers.add_to_cart, f.shown.add_to_cart),
    fmt.count(f.customers.purchase, f.shown.purchase),
    rate(f.customers.add_to_cart, f.customers.view), rate(f.customers.purchase, f.customers.add_to_cart),
    rate(f.customers.purchase, f.customers.view),
    fmt.int(f.events.view), fmt.int(f.events.add_to_cart), fmt.int(f.events.purchase),
    fmt.int(f.orders), fmt.num(f.sales)]);
  main.replaceChildren(...head, h('div', { class: 'grid' },
    h('section', { class: 'card wide' }, h('h2', {}, 'Events per channel per day'), perDay),
    h('section', { class: 'card wide' }, h('h2', {}, `Daily active ${people} 日活 (distinct per day, total and per channel)`), active),
    h('section', { class: 'card wide' }, h('h2', {}, `Funnel per channel in ${people}: viewed → added to cart → bought`), funnel,
      h('p', { class: 'lead' }, `Each stage counts the ${people} who did it in the window, whatever else they did: store buyers rarely add to a cart, so across channels more may buy than add to cart.`),
      table(['channel', 'viewed', 'carted', 'bought', 'view→cart', 'cart→buy', 'view→buy',
        'view events', 'cart events', 'purchase lines', 'orders', 'sales'],
        funnelRows, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])),
    card('Orders and sales per day', sales)));

  if (!d.dates.length) return;
  // One day per column, a series per channel, zoomable: the two daily charts.
  const perDayChart = (el, yName, series) => chart(el, {
    tooltip: { trigger: 'axis' },
    legend: { type: 'scroll', top: 0 },
    grid: { left: 50, right: 20, top: 40, bottom: 60 },
    dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
    xAxis: { type: 'category', data: d.dates },
    yAxis: { type: 'value', name: yName },
    series,
  });
  perDayChart(perDay, 'events',
    d.channels.map(ch => ({ name: ch, type: 'bar', stack: 'events', emphasis: { focus: 'series' }, data: d.events_per_day[ch] })));
  // A count below k is null: a gap in the line, never a zero.
  perDayChart(active, people,
    [{ name: 'all channels', type: 'line', showSymbol: false, lineStyle: { width: 3 }, data: d.active_per_day.total }]
      .concat(d.channels.map(ch => ({ name: ch, type: 'line', showSymbol: false, data: d.active_per_day.by_channel[ch] }))));
  chart(funnel, {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 36, bottom: 30 },
    xAxis: { type: 'category', data: rows.map(f => f.channel), axisLabel: { interval: 0 } },
    yAxis: { type: 'log', name: people + ' (log)', logBase: 10, min: 1 },
    series: [
      { name: 'viewed', type: 'bar', barMaxWidth: 24, data: rows.map(f => f.customers.view || null) },
      { name: 'added to cart', type: 'bar', barMaxWidth: 24, data: rows.map(f => f.customers.add_to_cart || null) },
      { name: 'bought', type: 'bar', barMaxWidth: 24, data: rows.map(f => f.customers.purchase || null) },
    ],
  });
  chart(sales, {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 50, right: 60, top: 36, bottom: 30 },
    xAxis: { type: 'category', data: d.dates },
    yAxis: [{ type: 'value', name: 'orders' }, { type: 'value', name: d.totals.currency || 'sales' }],
    series: [
      { name: 'orders', type: 'bar', data: d.orders_per_day },
      { name: 'sales', type: 'line', yAxisIndex: 1, smooth: true, showSymbol: false, data: d.sales_per_day },
    ],
  });
}

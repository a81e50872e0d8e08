// Overview: what happened across channels lately — events per channel per
// day, orders and sales per day, the view → cart → purchase funnel per
// channel, and active customers from the latest profile build.
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
      ['Active customers, 7 days', c ? fmt.count(c.active_7d, '<' + d.min_group_size) : '–'],
      ['Active customers, 30 days', c ? fmt.count(c.active_30d, '<' + d.min_group_size) : '–'],
      ['Customers (One-ID)', c ? fmt.count(c.total, '<' + d.min_group_size) : '–'],
      ['Quarantined records', fmt.int(d.store.quarantined)],
    ]),
  ];
  if (!c) head.push(notice(d.note));
  else head.push(h('p', { class: 'lead' }, `Customers as of the profile build of ${fmt.time(c.as_of)}; buyers ${fmt.count(c.buyers, '<' + d.min_group_size)}, of whom bought in the last 30 days: ${fmt.count(c.buyers_30d, '<' + d.min_group_size)}.`));

  const perDay = h('div', { class: 'chart tall', id: 'chart-events-per-day' });
  const funnel = h('div', { class: 'chart', id: 'chart-funnel' });
  const sales = h('div', { class: 'chart', id: 'chart-orders-per-day' });
  const funnelRows = d.funnel.map(f => [f.channel, fmt.int(f.view), fmt.int(f.add_to_cart), fmt.int(f.purchase),
    f.view ? fmt.pct(f.add_to_cart / f.view) : '–', f.add_to_cart ? fmt.pct(f.purchase / f.add_to_cart) : '–',
    fmt.int(f.orders), fmt.num(f.sales)]);
  main.replaceChildren(...head, h('div', { class: 'grid' },
    h('section', { class: 'card wide' }, h('h2', {}, 'Events per channel per day'), perDay),
    card('Funnel per channel: view → add to cart → purchase', funnel,
      table(['channel', 'views', 'cart adds', 'purchase lines', 'view→cart', 'cart→purchase', 'orders', 'sales'],
        funnelRows, [1, 2, 3, 4, 5, 6, 7])),
    card('Orders and sales per day', sales)));

  if (!d.dates.length) return;
  chart(perDay, {
    tooltip: { trigger: 'axis' },
    legend: { type: 'scroll', top: 0 },
    grid: { left: 50, right: 20, top: 40, bottom: 60 },
    dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
    xAxis: { type: 'category', data: d.dates },
    yAxis: { type: 'value', name: 'events' },
    series: d.channels.map(ch => ({ name: ch, type: 'bar', stack: 'events', emphasis: { focus: 'series' }, data: d.events_per_day[ch] })),
  });
  chart(funnel, {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 36, bottom: 30 },
    xAxis: { type: 'category', data: d.funnel.map(f => f.channel), axisLabel: { interval: 0 } },
    yAxis: { type: 'log', name: 'events (log)', logBase: 10, min: 1 },
    series: [
      { name: 'view', type: 'bar', barMaxWidth: 24, data: d.funnel.map(f => f.view || null) },
      { name: 'add_to_cart', type: 'bar', barMaxWidth: 24, data: d.funnel.map(f => f.add_to_cart || null) },
      { name: 'purchase', type: 'bar', barMaxWidth: 24, data: d.funnel.map(f => f.purchase || null) },
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

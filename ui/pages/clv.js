// CLV: the distribution of predicted 12-month customer lifetime value
// (BG/NBD + Gamma-Gamma, from the latest profile build), P(alive) and the
// fitted parameters.
import { api, h, chart, card, kpis, table, fmt, notice } from '../lib.js';

export async function render(main) {
  const d = await api('/v1/dashboard/clv');
  const head = [h('h1', {}, 'Customer lifetime value 客户价值')];
  if (!d.build_id || !d.histogram) {
    main.replaceChildren(...head, notice(d.note));
    return;
  }
  head.push(h('p', { class: 'lead' }, `Profile build ${d.build_id}, as of ${fmt.time(d.as_of)}. ${d.suppression[0].toUpperCase() + d.suppression.slice(1)}.`));
  const s = d.summary;
  head.push(kpis([
    ['Customers with a CLV', fmt.count(d.customers, '<' + d.min_group_size)],
    ['Predicted value, next 12 months', fmt.num(s.total_12m)],
    ['Mean CLV', fmt.num(s.mean)],
    ['Median CLV', fmt.num(s.median)],
    ['90th percentile', fmt.num(s.p90)],
  ]));
  const hist = h('div', { class: 'chart tall', id: 'chart-clv-histogram' });
  const alive = h('div', { class: 'chart', id: 'chart-p-alive' });
  const bins = d.histogram.bins;
  const label = b => b.to === null ? `≥ ${fmt.int(Math.round(b.from))}` : `${fmt.int(Math.round(b.from))}–${fmt.int(Math.round(b.to))}`;
  const params = d.model ? Object.entries(d.model).map(([k, v]) => [k, typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v)]) : [];
  main.replaceChildren(...head, h('div', { class: 'grid' },
    h('section', { class: 'card wide' }, h('h2', {}, 'Distribution of CLV over the next 12 months'), hist),
    card('P(alive): probability the customer is still active', alive),
    card('Model (BG/NBD for purchases, Gamma-Gamma for spend)', params.length ? table(['parameter', 'value'], params, [1]) : notice('not fitted'))));

  chart(hist, {
    tooltip: { trigger: 'axis', formatter: q => `${label(bins[q[0].dataIndex])}: ${bins[q[0].dataIndex].shown} customers` },
    grid: { left: 60, right: 20, top: 20, bottom: 60 },
    xAxis: { type: 'category', name: 'CLV', nameLocation: 'middle', nameGap: 45, data: bins.map(label), axisLabel: { rotate: 35 } },
    yAxis: { type: 'value', name: 'customers' },
    // A suppressed bin is drawn at zero height with its "<k" label, so a gap
    // in the chart never looks like "nobody".
    series: [{
      type: 'bar', barCategoryGap: '5%',
      data: bins.map(b => (b.customers === null ? { value: 0, label: { show: true, position: 'top', formatter: b.shown, color: '#6b7280' } } : b.customers)),
    }],
  });
  chart(alive, {
    tooltip: { trigger: 'axis' },
    grid: { left: 60, right: 20, top: 20, bottom: 40 },
    xAxis: { type: 'category', data: d.p_alive.map(b => `${b.from.toFixed(1)}–${b.to.toFixed(1)}`) },
    yAxis: { type: 'value', name: 'customers' },
    series: [{ type: 'bar', data: d.p_alive.map(b => (b.customers === null ? { value: 0, label: { show: true, position: 'top', formatter: b.shown, color: '#6b7280' } } : b.customers)) }],
  });
}

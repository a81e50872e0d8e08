// Quarantine: what imports and the event API rejected, and why — counts per
// reason and per source, and the latest rejected lines (PII was masked by
// ingest before they were stored). Click a reason to see only its lines.
import { api, h, chart, card, table, fmt, notice, disposeCharts } from '../lib.js';

let reason = '';

export async function render(main) {
  const d = await api('/v1/dashboard/quarantine?limit=20' + (reason ? '&reason=' + encodeURIComponent(reason) : ''));
  const byReason = h('div', { class: 'chart', id: 'chart-quarantine-reasons' });
  const filter = h('select', { id: 'quarantine-reason', onchange: ev => { reason = ev.target.value; rerender(main); } },
    h('option', { value: '' }, 'all reasons'),
    d.reasons.map(r => h('option', { value: r.reason, selected: r.reason === reason }, `${r.reason} (${r.count})`)));
  const recent = d.recent.map(r => [fmt.time(r.quarantined_at), `${r.source}:${r.line}`, r.reason,
    r.field, r.message, h('span', { class: 'raw' }, r.raw)]);
  main.replaceChildren(h('h1', {}, 'Quarantine 隔离区'),
    h('p', { class: 'lead' }, `${fmt.int(d.total)} rejected records in all. Nothing is dropped silently: every rejected line is kept with its reason.`),
    d.total === 0 ? notice('Nothing rejected so far.') : h('div', { class: 'grid' },
      card('Rejected records per reason', byReason),
      card('Per source', table(['source', 'rejected', 'latest'], d.sources.map(s => [s.source, fmt.int(s.count), fmt.time(s.last)]), [1])),
      h('section', { class: 'card wide' }, h('h2', {}, 'Latest 20 rejected lines'),
        h('div', { class: 'toolbar' }, 'Reason:', filter),
        d.recent.length ? table(['when', 'source:line', 'reason', 'field', 'message', 'line as received'], recent) : notice('none'))));
  if (d.total === 0) return;
  const c = chart(byReason, {
    tooltip: { trigger: 'axis' },
    grid: { left: 150, right: 40, top: 10, bottom: 30 },
    xAxis: { type: 'value', name: 'records' },
    yAxis: { type: 'category', inverse: true, data: d.reasons.map(r => r.reason) },
    series: [{ type: 'bar', barMaxWidth: 20, data: d.reasons.map(r => r.count), label: { show: true, position: 'right' } }],
  });
  if (c) c.on('click', q => { reason = d.reasons[q.dataIndex].reason; rerender(main); });
}

function rerender(main) {
  disposeCharts();
  render(main).catch(e => main.replaceChildren(h('div', { class: 'error' }, 'Could not load: ' + e.message)));
}

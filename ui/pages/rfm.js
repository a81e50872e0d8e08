// RFM and segments: the 5 × 5 recency × frequency grid of buyers, the named
// RFM groups and the saved segments with their sizes. Counts below the
// minimum group size arrive as null with "<k" and are drawn as such.
import { api, h, chart, card, table, fmt, notice } from '../lib.js';

export async function render(main) {
  const d = await api('/v1/dashboard/rfm');
  const head = [h('h1', {}, 'RFM & segments 客户分群'),
    h('p', { class: 'lead' }, d.build_id ? `Profile build ${d.build_id}, as of ${fmt.time(d.as_of)}. ${capitalise(d.suppression)}.` : '')];
  if (!d.build_id) {
    main.replaceChildren(...head, notice(d.note));
    return;
  }
  const grid = h('div', { class: 'chart tall', id: 'chart-rfm-grid' });
  const groups = h('div', { class: 'chart tall', id: 'chart-rfm-groups' });
  const segs = h('div', { class: 'chart', id: 'chart-segments', style: `height: ${Math.max(140, 44 * d.segments.length + 70)}px` });
  const segRows = d.segments.map(s => [s.name, s.expression, s.description, s.error ? 'error: ' + s.error : fmt.count(s.customers, s.shown)]);
  main.replaceChildren(...head, h('div', { class: 'grid' },
    card('Recency × frequency of buyers (customers per cell; hover for the average net spend)', grid),
    card('RFM groups', groups,
      table(['group', 'who', 'customers'], d.groups.map(g => [g.group, g.description, fmt.count(g.customers, g.shown)]), [2])),
    h('section', { class: 'card wide' }, h('h2', {}, 'Saved segments'),
      d.segments.length ? segs : notice('No saved segments yet: omni segments create NAME EXPRESSION'),
      d.segments.length ? table(['segment', 'expression', 'description', 'customers'], segRows, [3]) : null)));

  const cells = d.grid.cells;
  const max = Math.max(1, ...cells.map(c => c.customers || 0));
  chart(grid, {
    tooltip: {
      formatter: q => {
        const c = q.data.cell;
        return `R${c.r} F${c.f}: ${c.customers === null ? c.shown : c.customers} customers` +
          (c.avg_monetary !== null ? `<br>average net spend ${fmt.num(c.avg_monetary)}` : '');
      },
    },
    grid: { left: 70, right: 20, top: 20, bottom: 100 },
    xAxis: { type: 'category', name: 'frequency score (5 = most orders)', nameLocation: 'middle', nameGap: 28, data: ['1', '2', '3', '4', '5'] },
    yAxis: { type: 'category', name: 'recency score (5 = most recent)', nameLocation: 'middle', nameGap: 40, data: ['1', '2', '3', '4', '5'] },
    visualMap: { seriesIndex: 0, min: 0, max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 200, inRange: { color: ['#fff7ed', '#fdba74', '#c2410c'] } },
    series: [{
      type: 'heatmap',
      data: cells.filter(c => c.customers !== null).map(c => ({ value: [c.f - 1, c.r - 1, c.customers], cell: c })),
      label: { show: true },
    }, {
      // Suppressed cells (fewer than k customers): grey, labelled "<k",
      // outside the colour scale so no shade hints at the number.
      name: 'suppressed', type: 'heatmap',
      data: cells.filter(c => c.customers === null).map(c => ({ value: [c.f - 1, c.r - 1, 0], cell: c })),
      itemStyle: { color: '#e5e7eb' },
      label: { show: true, color: '#6b7280', formatter: q => q.data.cell.shown },
    }],
  });
  chart(groups, {
    tooltip: { trigger: 'axis' },
    grid: { left: 140, right: 40, top: 10, bottom: 30 },
    xAxis: { type: 'value', name: 'customers' },
    yAxis: { type: 'category', inverse: true, data: d.groups.map(g => g.group) },
    series: [{ type: 'bar', barMaxWidth: 24, data: d.groups.map(g => g.customers ?? 0), label: { show: true, position: 'right', formatter: q => d.groups[q.dataIndex].shown } }],
  });
  if (d.segments.length) {
    chart(segs, {
      tooltip: { trigger: 'axis' },
      grid: { left: 140, right: 40, top: 10, bottom: 30 },
      xAxis: { type: 'value', name: 'customers' },
      yAxis: { type: 'category', inverse: true, data: d.segments.map(s => s.name) },
      series: [{ type: 'bar', barMaxWidth: 28, data: d.segments.map(s => s.customers ?? 0), label: { show: true, position: 'right', formatter: q => d.segments[q.dataIndex].shown || 'error' } }],
    });
  }
}

function capitalise(s) { return s ? s[0].toUpperCase() + s.slice(1) : s; }

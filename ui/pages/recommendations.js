// Recommendation quality: the latest offline evaluation (`omni evaluate`:
// full-ranking metrics per model) and the trained models being served.
import { api, h, chart, card, table, fmt, notice } from '../lib.js';

export async function render(main) {
  const d = await api('/v1/dashboard/recommendations');
  const head = [h('h1', {}, 'Recommendation quality 推荐质量')];
  const models = h('section', { class: 'card wide' }, h('h2', {}, 'Trained models'),
    d.models.length
      ? table(['model', 'version', 'spec', 'customers', 'items', 'interactions', 'trained'],
        d.models.map(m => [m.name, fmt.int(m.meta.version), m.meta.spec || '', fmt.int(m.meta.customers), fmt.int(m.meta.items),
          fmt.int(m.meta.interactions), fmt.time(m.trained_at)]), [1, 3, 4, 5])
      : notice('No trained model yet: omni train SPEC (e.g. omni train als:factors=64).'));
  const e = d.evaluation;
  if (!e) {
    main.replaceChildren(...head, h('p', { class: 'lead', id: 'no-evaluation' }, d.note), h('div', { class: 'grid' }, models));
    return;
  }
  const k = e.k;
  const keys = ['ndcg', 'precision', 'recall', 'map', 'hit_rate', 'mrr', 'coverage'].map(m => `${m}@${k}`);
  const ok = e.models.filter(m => !m.error);
  head.push(h('p', { class: 'lead' },
    `Latest evaluation ${fmt.time(d.evaluated_at)} (${d.evaluation_file}): protocol ${e.protocol}, k = ${k}, ` +
    `${fmt.int(e.data.customers)} customers × ${fmt.int(e.data.items)} items, test rows ${fmt.int(e.data.test_rows)}` +
    (e.data.cold_customers ? `, ${fmt.int(e.data.cold_customers)} cold test customers not evaluated` : '') +
    '. Full ranking over the whole catalogue, never sampled negatives.'));
  const bars = h('div', { class: 'chart tall', id: 'chart-recommendation-metrics' });
  const rows = e.models.map(m => m.error
    ? [m.spec, ...keys.map(() => ''), `refused: ${m.error.message}`]
    : [m.spec, ...keys.map(x => (m[x] === undefined ? '–' : m[x].toFixed(4))), `${fmt.int(m.customers)} customers, fit ${m.fit_seconds.toFixed(2)} s`]);
  main.replaceChildren(...head, h('div', { class: 'grid' },
    h('section', { class: 'card wide' }, h('h2', {}, `Metrics at ${k} per model`), bars,
      table(['model', ...keys, ''], rows, [1, 2, 3, 4, 5, 6, 7])),
    models));
  chart(bars, {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 50, right: 20, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: keys },
    yAxis: { type: 'value', max: v => Math.min(1, Math.ceil(v.max * 10) / 10 || 1) },
    series: ok.map(m => ({ name: m.spec, type: 'bar', barMaxWidth: 36, data: keys.map(x => (m[x] === undefined ? null : Number(m[x].toFixed(4)))) })),
  });
}

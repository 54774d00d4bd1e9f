/** `tailor bench --html`: the table plus one bar chart per measure (inline SVG). */
import { benchHeader, benchNote, benchTableRows, type BenchResult } from './bench.ts';
import { escapeHtml, page } from './html.ts';

function barChart(title: string, unit: string, values: readonly { label: string; value?: number }[]): string {
  const shown = values.filter((v) => v.value !== undefined) as { label: string; value: number }[];
  const max = Math.max(...shown.map((v) => v.value), 1);
  const rowH = 24;
  const labelW = 220;
  const width = 760;
  const height = 30 + values.length * rowH;
  const bars = values.map((v, i) => {
    const y = 26 + i * rowH;
    const w = v.value === undefined ? 0 : ((width - labelW - 120) * v.value) / max;
    return `<g class="bar" data-label="${escapeHtml(v.label)}"><text x="4" y="${y + 14}" font-size="12">${escapeHtml(v.label)}</text>` +
      `<rect x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="#4e79a7"/>` +
      `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 14}" font-size="11">${v.value === undefined ? 'n/a' : `${Number.isInteger(v.value) ? v.value : v.value.toFixed(2)} ${unit}`}</text></g>`;
  });
  return `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif"><text x="4" y="16" font-size="13" font-weight="bold">${escapeHtml(title)}</text>${bars.join('')}</svg>`;
}

export function benchHtml(results: readonly BenchResult[], n: number): string {
  const rows = benchTableRows(results);
  const table = `<table><tr>${benchHeader.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</table>`;
  const charts = [
    barChart('total size (bzImage + image)', 'MiB', results.map((r) => ({ label: r.label, value: r.totalBytes === undefined ? undefined : r.totalBytes / 1048576 }))),
    barChart('guest time to app start (median)', 'ms', results.map((r) => ({ label: r.label, value: r.boots?.guestToAppMs.median }))),
    barChart('host wall time (median)', 'ms', results.map((r) => ({ label: r.label, value: r.boots?.hostTotalMs.median }))),
    barChart('minimum memory', 'MiB', results.map((r) => ({ label: r.label, value: r.boots?.minMemoryMiB }))),
  ];
  return page('tailor bench', `${table}<p class="note">${escapeHtml(benchNote(results, n))}</p>${charts.join('<br>')}`);
}

/** `tailor bootchart --svg/--html`: a timeline, one row per phase, the slowest init calls below. */
import type { Bootchart } from './bootchart.ts';
import { escapeHtml, page } from './html.ts';

export function bootchartSvg(b: Bootchart, width = 1000): string {
  const labelW = 330;
  const rowH = 22;
  const slow = [...b.initcalls].sort((x, y) => y.durationMs - x.durationMs).filter((c) => c.durationMs > 0).slice(0, 10);
  const rows = b.phases.length + (slow.length ? slow.length + 1 : 0);
  const height = 40 + rows * rowH + 30;
  const end = Math.max(b.guestToAppMs, ...b.phases.map((p) => p.endMs), 1);
  const x = (ms: number) => labelW + ((width - labelW - 90) * ms) / end; // room for the duration labels
  const parts: string[] = [];
  // Axis with about ten ticks.
  const step = niceStep(end / 10);
  for (let t = 0; t <= end + 1e-9; t += step) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="30" x2="${x(t).toFixed(1)}" y2="${height - 20}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="24" font-size="10" text-anchor="middle">${Math.round(t)} ms</text>`);
  }
  b.phases.forEach((p, i) => {
    const y = 36 + i * rowH;
    const colour = p.kind === 'kernel' ? '#4e79a7' : '#59a14f';
    parts.push(`<g class="phase" data-name="${escapeHtml(p.name)}"><text x="4" y="${y + 14}" font-size="12">${escapeHtml(`${p.kind === 'kernel' ? 'kernel: ' : ''}${p.name}`)}</text>`);
    parts.push(`<rect x="${x(p.startMs).toFixed(1)}" y="${y + 2}" width="${Math.max(1, x(p.endMs) - x(p.startMs)).toFixed(1)}" height="${rowH - 6}" fill="${colour}"><title>${escapeHtml(p.name)}: ${p.startMs.toFixed(2)}–${p.endMs.toFixed(2)} ms (+${p.durationMs.toFixed(2)} ms)</title></rect>`);
    parts.push(`<text x="${(x(p.endMs) + 4).toFixed(1)}" y="${y + 14}" font-size="10">+${p.durationMs.toFixed(1)} ms</text></g>`);
  });
  if (slow.length) {
    const y0 = 36 + b.phases.length * rowH;
    parts.push(`<text x="4" y="${y0 + 14}" font-size="12" font-weight="bold">slowest init calls</text>`);
    slow.forEach((c, i) => {
      const y = y0 + (i + 1) * rowH;
      parts.push(`<g class="initcall"><text x="14" y="${y + 14}" font-size="11">${escapeHtml(`${c.fn} [${c.level ?? '?'}]`)}</text>`);
      parts.push(`<rect x="${x(c.endMs - c.durationMs).toFixed(1)}" y="${y + 4}" width="${Math.max(1, x(c.endMs) - x(c.endMs - c.durationMs)).toFixed(1)}" height="${rowH - 10}" fill="#f28e2b"><title>${escapeHtml(c.fn)}: ${c.durationMs.toFixed(2)} ms</title></rect>`);
      parts.push(`<text x="${(x(c.endMs) + 4).toFixed(1)}" y="${y + 14}" font-size="10">${c.durationMs.toFixed(2)} ms</text></g>`);
    });
  }
  parts.push(`<line class="app-start" x1="${x(b.guestToAppMs).toFixed(1)}" y1="30" x2="${x(b.guestToAppMs).toFixed(1)}" y2="${height - 20}" stroke="#e15759" stroke-width="2"/>`);
  parts.push(`<text x="${(x(b.guestToAppMs) - 4).toFixed(1)}" y="${height - 6}" font-size="11" text-anchor="end" fill="#e15759">app start ${b.guestToAppMs.toFixed(1)} ms</text>`);
  return `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${parts.join('')}</svg>\n`;
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-3)));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

export function bootchartHtml(b: Bootchart): string {
  const rows = b.phases.map((p) => `<tr><td>${escapeHtml(`${p.kind === 'kernel' ? 'kernel: ' : ''}${p.name}`)}</td><td>${p.endMs.toFixed(2)}</td><td>+${p.durationMs.toFixed(2)}</td></tr>`).join('');
  return page(
    `tailor bootchart: ${b.build}`,
    `<p>${b.accel.toUpperCase()}, ${b.memoryMiB} MiB. Guest time to app start ${b.guestToAppMs.toFixed(2)} ms; sum of phases ${b.phaseSumMs.toFixed(2)} ms.</p>
${bootchartSvg(b)}
<table><tr><th>phase</th><th>ends at (ms)</th><th>duration (ms)</th></tr>${rows}</table>
<p class="note">${escapeHtml(b.method)}</p>`,
  );
}

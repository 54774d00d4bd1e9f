/** Self-contained HTML pages (inline CSS/SVG/JS, no network): a squarified treemap and a timeline. */

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface TreeNode {
  readonly name: string;
  readonly bytes: number;
  readonly children?: readonly TreeNode[];
}

interface Rect { x: number; y: number; w: number; h: number }

/** Squarified treemap layout (Bruls et al.): rows that keep the cells close to square. */
export function squarify(values: readonly number[], box: Rect): Rect[] {
  const total = values.reduce((a, b) => a + b, 0);
  const out: Rect[] = new Array(values.length);
  if (total <= 0) return values.map(() => ({ x: box.x, y: box.y, w: 0, h: 0 }));
  const scale = (box.w * box.h) / total;
  const order = values.map((v, i) => ({ a: v * scale, i })).filter((c) => c.a > 0);
  let { x, y, w, h } = box;
  let row: { a: number; i: number }[] = [];
  const worst = (r: { a: number }[], side: number) => {
    const s = r.reduce((n, c) => n + c.a, 0);
    const max = Math.max(...r.map((c) => c.a));
    const min = Math.min(...r.map((c) => c.a));
    return Math.max((side * side * max) / (s * s), (s * s) / (side * side * min));
  };
  const layoutRow = (r: { a: number; i: number }[]) => {
    const s = r.reduce((n, c) => n + c.a, 0);
    if (w >= h) {
      const cw = s / h;
      let cy = y;
      for (const c of r) { const ch = c.a / cw; out[c.i] = { x, y: cy, w: cw, h: ch }; cy += ch; }
      x += cw; w -= cw;
    } else {
      const ch = s / w;
      let cx = x;
      for (const c of r) { const cw = c.a / ch; out[c.i] = { x: cx, y, w: cw, h: ch }; cx += cw; }
      y += ch; h -= ch;
    }
  };
  for (const c of order) {
    const side = Math.min(w, h);
    if (row.length === 0 || worst([...row, c], side) <= worst(row, side)) row.push(c);
    else { layoutRow(row); row = [c]; }
  }
  if (row.length) layoutRow(row);
  for (let i = 0; i < values.length; i++) out[i] ??= { x: box.x, y: box.y, w: 0, h: 0 };
  return out;
}

const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** SVG treemap of a two-level tree: groups (coloured) holding leaves; labels where they fit, titles on hover. */
export function treemapSvg(root: TreeNode, width: number, height: number, fmt: (n: number) => string): string {
  const groups = [...(root.children ?? [])].filter((g) => g.bytes > 0).sort((a, b) => b.bytes - a.bytes);
  const rects = squarify(groups.map((g) => g.bytes), { x: 0, y: 0, w: width, h: height });
  const parts: string[] = [];
  groups.forEach((g, gi) => {
    const r = rects[gi]!;
    // Pseudo-entries ((padding), (linker)) in grey: bytes no source file owns.
    const colour = g.name.startsWith('(') ? '#b8b8b8' : palette[gi % palette.length]!;
    parts.push(`<g class="group" data-name="${escapeHtml(g.name)}">`);
    parts.push(`<rect x="${r.x.toFixed(1)}" y="${r.y.toFixed(1)}" width="${r.w.toFixed(1)}" height="${r.h.toFixed(1)}" fill="${colour}" stroke="#fff" stroke-width="2"><title>${escapeHtml(g.name)}: ${fmt(g.bytes)}</title></rect>`);
    const kids = [...(g.children ?? [])].filter((k) => k.bytes > 0).sort((a, b) => b.bytes - a.bytes);
    const inner = { x: r.x + 2, y: r.y + 16, w: Math.max(0, r.w - 4), h: Math.max(0, r.h - 18) };
    const krects = squarify(kids.map((k) => k.bytes), inner);
    kids.forEach((k, ki) => {
      const kr = krects[ki]!;
      if (kr.w < 1 || kr.h < 1) return;
      parts.push(`<rect class="leaf" x="${kr.x.toFixed(1)}" y="${kr.y.toFixed(1)}" width="${kr.w.toFixed(1)}" height="${kr.h.toFixed(1)}" fill="${colour}" fill-opacity="0.55" stroke="#fff" stroke-width="0.5"><title>${escapeHtml(g.name)} / ${escapeHtml(k.name)}: ${fmt(k.bytes)}</title></rect>`);
      if (kr.w > 60 && kr.h > 14) parts.push(`<text x="${(kr.x + 3).toFixed(1)}" y="${(kr.y + 12).toFixed(1)}" font-size="10">${escapeHtml(clip(k.name, kr.w / 6))}</text>`);
    });
    if (r.w > 40 && r.h > 14) parts.push(`<text class="group-label" x="${(r.x + 4).toFixed(1)}" y="${(r.y + 12).toFixed(1)}" font-size="12" font-weight="bold">${escapeHtml(clip(`${g.name} ${fmt(g.bytes)}`, r.w / 7))}</text>`);
    parts.push('</g>');
  });
  return `<svg class="treemap" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${parts.join('')}</svg>`;
}

const clip = (s: string, chars: number) => (s.length <= chars ? s : s.slice(0, Math.max(1, Math.floor(chars) - 1)) + '…');

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:sans-serif;margin:20px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}
td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}
svg text{pointer-events:none;fill:#111}
.note{color:#555;font-size:90%}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

/** `tailor size --html`: the report as a page with treemaps of the kernel (subsystem → object) and the root fs (module → file). */
import { sectionGroups } from './kernel-size.ts';
import { escapeHtml, page, treemapSvg, type TreeNode } from './html.ts';
import { fmtBytes, type SizeReport } from './size-report.ts';

export function sizeHtml(r: SizeReport): string {
  const k = r.kernel;
  const kernelTree: TreeNode = {
    name: 'kernel',
    bytes: k.total,
    children: k.subsystems.map((s) => ({
      name: s.subsystem,
      bytes: s.total,
      children: k.objects.filter((o) => o.subsystem === s.subsystem).map((o) => ({ name: o.object.split('/').pop()!, bytes: o.total })),
    })),
  };
  const fsTree: TreeNode = {
    name: 'rootfs',
    bytes: r.rootfs.content ?? 0,
    children: r.rootfs.modules.map((m) => ({ name: m.module, bytes: m.bytes, children: r.rootfs.files.filter((f) => f.module === m.module).map((f) => ({ name: f.path, bytes: f.bytes })) })),
  };
  const sectionRows = sectionGroups.map((g) => `<tr><td>${g}</td><td>${k.groupTotals[g]}</td><td>${fmtBytes(k.groupTotals[g])}</td></tr>`).join('');
  const subRows = k.subsystems
    .map((s) => {
      const o = k.origins[s.subsystem];
      return `<tr><td>${escapeHtml(s.subsystem)}</td>${sectionGroups.map((g) => `<td>${s.bytes[g]}</td>`).join('')}<td>${s.total}</td><td style="text-align:left">${escapeHtml(o ? (o.symbol ? `CONFIG_${o.symbol}: ${o.reason}` : o.reason) : '')}</td></tr>`;
    })
    .join('');
  const body = `
<p>bzImage ${fmtBytes(r.onDisk.bzImage)}${r.onDisk.vmlinux !== undefined ? `, vmlinux ${fmtBytes(r.onDisk.vmlinux)}` : ''}, root fs ${fmtBytes(r.onDisk.rootfs)} (${escapeHtml(r.rootfs.format)})${r.rootfs.compressionRatio ? `, compression ${r.rootfs.compressionRatio.toFixed(2)}:1` : ''}.</p>
<h2>Kernel in memory: ${fmtBytes(k.total)}</h2>
<p class="note">${escapeHtml(k.method)}. Hover a cell for its size.</p>
${treemapSvg(kernelTree, 1100, 560, fmtBytes)}
<table><tr><th>section group</th><th>bytes</th><th>size</th></tr>${sectionRows}</table>
<table><tr><th>subsystem</th>${sectionGroups.map((g) => `<th>${g}</th>`).join('')}<th>total</th><th>asked by</th></tr>${subRows}</table>
<h2>Root filesystem</h2>
${r.rootfs.files.length ? treemapSvg(fsTree, 1100, 300, fmtBytes) : '<p>disk root: per-file sizes are not read from disk images</p>'}
`;
  return page(`tailor size: ${r.build}`, body);
}

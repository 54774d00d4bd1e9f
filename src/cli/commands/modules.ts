import type { Command } from 'commander';
import { join } from 'node:path';
import { configFromCommand } from '../build-args.ts';
import { UsageError } from '../../errors.ts';
import { ModuleLibrary } from '../../modules/lookup.ts';
import { planModules, selectModules, type ModuleSelection } from '../../modules/index.ts';
import type { ManifestEntry } from '../../modules/types.ts';
import { didYouMean } from '../../config/suggest.ts';
import { formatTable } from '../table.ts';


function describeSource(e: ManifestEntry): string {
  switch (e.source.kind) {
    case 'file':
      return e.source.path;
    case 'dir':
      return '(directory)';
    case 'symlink':
      return `-> ${e.source.target}`;
  }
}

function tree(sel: ModuleSelection): string {
  const lines: string[] = [];
  const walk = (name: string, prefix: string, last: boolean, depth: number, seen: Set<string>) => {
    lines.push(depth === 0 ? name : `${prefix}${last ? '└── ' : '├── '}${name}${seen.has(name) ? ' (see above)' : ''}`);
    if (seen.has(name)) return;
    seen.add(name);
    const deps = sel.edges.get(name) ?? [];
    deps.forEach((d, i) => walk(d, depth === 0 ? '' : prefix + (last ? '    ' : '│   '), i === deps.length - 1, depth + 1, seen));
  };
  for (const r of sel.requested) walk(r, '', true, 0, new Set());
  return lines.join('\n');
}

export function register(program: Command): void {
  const modules = program.command('modules').description('list, show and resolve modules');

  modules
    .command('list')
    .description('every module Tailor can find, and where')
    .option('--module-path <dir>', 'also look in this folder')
    .option('--json', 'machine-readable output')
    .action((opts: { modulePath?: string; json?: boolean }) => {
      const lib = new ModuleLibrary(process.cwd(), opts.modulePath ? [opts.modulePath] : []);
      const all = lib.all();
      if (opts.json) {
        process.stdout.write(JSON.stringify(all.map((m) => ({ name: m.name, dir: m.dir, description: m.description, requires: m.requires })), null, 2) + '\n');
        return;
      }
      process.stdout.write(formatTable(['module', 'requires', 'description'], all.map((m) => [m.name, m.requires.join(',') || '-', m.description])));
    });

  modules
    .command('show')
    .description("one module's definition")
    .argument('<name>')
    .option('--module-path <dir>', 'also look in this folder')
    .action((name: string, opts: { modulePath?: string }) => {
      const lib = new ModuleLibrary(process.cwd(), opts.modulePath ? [opts.modulePath] : []);
      const m = lib.get(name);
      if (!m) throw new UsageError(`no module named ${name}`, didYouMean(name, lib.names()) ?? 'see `tailor modules list`');
      const rows: [string, string][] = [
        ['name', m.name],
        ['folder', m.dir],
        ['description', m.description || '-'],
        ['requires', m.requires.join(', ') || '-'],
        ['requires if present', m.conditional.map((c) => `${c.require} (if ${c.ifPresent})`).join(', ') || '-'],
        ['kernel needs', m.kernel.join(', ') || '-'],
        ['run', m.run ?? '-'],
        ['build', m.build ?? '-'],
        ['manifest', m.hasManifest ? join(m.dir, 'usr.manifest') : '-'],
      ];
      process.stdout.write(rows.map(([k, v]) => `${k.padEnd(20)} ${v}`).join('\n') + '\n');
    });

  modules
    .command('deps')
    .description("an image's dependency tree, resolution order, merged manifest and kernel needs (OSv's query-depends)")
    .argument('[args...]', 'build arguments: image=a,b modules=... --profile=NAME')
    .option('--json', 'machine-readable output')
    .allowUnknownOption(true)
    .action((args: string[], opts: { json?: boolean }, cmd: Command) => {
      const config = configFromCommand(args, cmd, ['--json']);
      const sel = selectModules(config);
      const plan = planModules(sel, join(config.cwd, 'build', '.modules'), { requireFiles: false });
      if (opts.json) {
        const out = {
          requested: sel.requested,
          order: plan.order.map((m) => m.name),
          edges: Object.fromEntries(sel.edges),
          manifest: plan.manifest.map((e) => ({ guest: e.guestPath, source: e.source, module: e.module })),
          kernelNeeds: plan.kernelNeeds,
          command: plan.command ?? null,
        };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      const out = [
        'dependency tree:',
        sel.requested.length ? tree(sel) : '(empty image)',
        '',
        'resolution order (dependencies first):',
        ...plan.order.map((m, i) => `  ${i + 1}. ${m.name}`),
        '',
        'merged manifest (guest path <- source):',
        ...(plan.manifest.length ? plan.manifest.map((e) => `  ${e.guestPath} <- ${describeSource(e)}  [${e.module}]`) : ['  (no files)']),
        '',
        `kernel needs: ${plan.kernelNeeds.join(', ') || '(none)'}`,
        `command line: ${plan.command ?? '(none: the image boots and powers off)'}`,
      ];
      process.stdout.write(out.join('\n') + '\n');
    });
}

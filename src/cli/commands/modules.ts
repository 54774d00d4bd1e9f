import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { configFromCommand } from '../build-args.ts';
import { TailorError, UsageError } from '../../errors.ts';
import { ModuleLibrary } from '../../modules/lookup.ts';
import { manifestPath } from '../../modules/module-file.ts';
import { importOsvModule } from '../../modules/osv-import.ts';
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
    const via = [...sel.provided].filter(([, p]) => p === name).map(([n]) => n);
    const label = `${name}${via.length ? ` (provides ${via.join(', ')})` : ''}${sel.configs.has(name) ? ` [run configuration ${sel.configs.get(name)}]` : ''}`;
    lines.push(depth === 0 ? label : `${prefix}${last ? '└── ' : '├── '}${label}${seen.has(name) ? ' (see above)' : ''}`);
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
      for (const note of lib.shadows.values()) process.stderr.write(`tailor: note: ${note}\n`);
      for (const dir of lib.osvFolders()) process.stderr.write(`tailor: note: ${dir} has an OSv module.py but no module.yaml: tailor modules import ${dir}\n`);
    });

  modules
    .command('show')
    .description("one module's definition")
    .argument('<name>')
    .option('--module-path <dir>', 'also look in this folder')
    .action((name: string, opts: { modulePath?: string }) => {
      const lib = new ModuleLibrary(process.cwd(), opts.modulePath ? [opts.modulePath] : []);
      const m = lib.require(name, () => new UsageError(`no module named ${name}`, didYouMean(name, lib.names()) ?? 'see `tailor modules list`'));
      const manifest = manifestPath(m);
      const configs = Object.entries(m.configs);
      const rows: [string, string][] = [
        ['name', m.name],
        ['folder', m.dir],
        ['description', m.description || '-'],
        ['requires', m.requires.join(', ') || '-'],
        ['requires if present', m.conditional.map((c) => `${c.require} (if ${c.ifPresent})`).join(', ') || '-'],
        ['provides', m.provides.join(', ') || '-'],
        ['kernel needs', m.kernel.join(', ') || '-'],
        ['run configurations', configs.length ? `${configs.length} (image=${m.name}.NAME picks one; default without .NAME)` : '-'],
        ...configs.map(([n, c]): [string, string] => [`  ${n}`, c.command]),
        ['run on init', m.runOnInit.join(' ; ') || '-'],
        ['build', m.build ?? '-'],
        ['manifest', manifest ? `${manifest}${m.build ? ' (read after the build)' : ''}` : m.build ? `${join(m.dir, 'usr.manifest')} if the build writes it (read after the build)` : '-'],
        ['files', m.files.map((f) => `${f.from} -> ${f.to}${f.include.length ? ` include ${f.include.join(' ')}` : ''}${f.exclude.length ? ` exclude ${f.exclude.join(' ')}` : ''}`).join('; ') || '-'],
      ];
      process.stdout.write(rows.map(([k, v]) => `${k.padEnd(20)} ${v}`).join('\n') + '\n');
      const shadow = lib.shadows.get(m.name);
      if (shadow) process.stderr.write(`tailor: note: ${shadow}\n`);
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
      for (const note of plan.notes ?? []) process.stderr.write(`tailor: note: ${note}\n`);
      if (opts.json) {
        const out = {
          requested: sel.requested,
          order: plan.order.map((m) => m.name),
          edges: Object.fromEntries(sel.edges),
          manifest: plan.manifest.map((e) => ({ guest: e.guestPath, source: e.source, module: e.module })),
          kernelNeeds: plan.kernelNeeds,
          command: plan.command ?? null,
          afterBuild: plan.pending ?? [],
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
        ...(plan.pending?.length ? ['', 'after build (files a module\'s build: makes; listed once it has run):', ...plan.pending.map((p) => `  ${p}`)] : []),
        '',
        `kernel needs: ${plan.kernelNeeds.join(', ') || '(none)'}`,
        `command line: ${plan.command ?? '(none: the image boots and powers off)'}`,
      ];
      process.stdout.write(out.join('\n') + '\n');
    });

  modules
    .command('import')
    .description("translate an OSv module folder (module.py, usr.manifest, Makefile) into a module.yaml beside them")
    .argument('<dir>', 'the folder holding module.py')
    .option('--force', 'replace an existing module.yaml')
    .option('--partial', 'write module.yaml even when some lines need a hand (they are listed in it as TODO comments)')
    .action((dir: string, opts: { force?: boolean; partial?: boolean }) => {
      const folder = resolve(dir);
      const result = importOsvModule(folder, opts);
      for (const note of result.notes) process.stderr.write(`tailor: note: ${note}\n`);
      for (const u of result.untranslated) process.stderr.write(`${u.file}:${u.line}: ${u.text}\n    not translated: ${u.reason}\n`);
      const out = join(folder, 'module.yaml');
      if (result.untranslated.length) {
        const n = result.untranslated.length;
        throw new TailorError(
          `${n} line${n > 1 ? 's' : ''} of ${folder} could not be translated${opts.partial ? ` (${out} written with them as TODO comments)` : '; nothing written'}`,
          { hint: opts.partial ? `finish ${out} by hand` : 'change those lines (docs/modules.md: importing from OSv), or pass --partial to write module.yaml and finish it by hand' },
        );
      }
      process.stdout.write(`wrote ${out}\n`);
      const configs = [...(result.module.run !== undefined ? ['default'] : []), ...Object.keys((result.module.configs as object | undefined) ?? {})];
      const name = folder.split('/').pop()!;
      if (configs.length) process.stdout.write(`run configurations: ${configs.join(', ')} (tailor build image=${name}${configs.length > 1 ? `.${configs.find((c) => c !== 'default')}` : ''})\n`);
    });
}

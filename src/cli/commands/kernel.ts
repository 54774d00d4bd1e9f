/**
 * `tailor kernel config|build|list|prune`: the custom kernel on its own —
 * the fragment with the reason for each line, a build with progress, and
 * the kernel cache.
 */
import { archOfMakeVars } from '../../config/arch.ts';
import type { Command } from 'commander';
import { resolveConfig } from '../../config/index.ts';
import type { BuildConfig } from '../../config/types.ts';
import { UsageError } from '../../errors.ts';
import { selectModules } from '../../modules/index.ts';
import { buildCustomKernel, buildGeneralKernel, cacheUsage, composeFragment, describeFragment, generalFragment, kernelDir, pruneKernels } from '../../kernel/custom/index.ts';
import { parseSizeMiB } from '../../rootfs/disk.ts';
import { formatTable } from '../table.ts';
import { moduleSourceRequests, type SourceRequest } from '../../kernel/custom/series.ts';
import { prunePatchedSources } from '../../kernel/custom/patched-source.ts';
import { treesDir } from '../../kernel/custom/tree.ts';
import { registerLearn } from './kernel-learn.ts';

/** The image's kernel needs with the modules that asked for each. */
function moduleNeeds(config: BuildConfig): { needs: string[]; sources: Map<string, string[]>; sourceRequests: SourceRequest[] } {
  const sources = new Map<string, string[]>();
  const order = selectModules(config).order;
  for (const m of order) {
    for (const need of m.kernel) sources.set(need, [...(sources.get(need) ?? []), `module ${m.name}`]);
  }
  return { needs: [...sources.keys()].sort(), sources, sourceRequests: moduleSourceRequests(order) };
}

/** Build arguments as the user typed them (commander leaves unknown options such as --profile=X in cmd.args). */
function buildArgs(args: string[], cmd: Command, own: readonly string[]): string[] {
  return [...args, ...cmd.args.filter((a) => !args.includes(a))].filter((a) => !own.includes(a));
}

function customConfig(args: string[]): BuildConfig {
  // `tailor kernel ...` is about the custom kernel whatever the default flavour is.
  const config = resolveConfig(args.some((a) => a.startsWith('kernel=')) ? args : [...args, 'kernel=custom']);
  if (config.options.kernel === 'stock') throw new UsageError('tailor kernel works on custom kernels, and kernel=stock was given', 'drop kernel=stock');
  for (const w of config.warnings) process.stderr.write(`tailor: warning: ${w}\n`);
  return config;
}

const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;

function age(iso: string): string {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function register(program: Command): void {
  const kernel = program.command('kernel').description('the custom kernel: its Kconfig fragment, build and cache');

  kernel
    .command('config')
    .description('print the Kconfig fragment a build would use, with the reason for each line')
    .argument('[args...]', 'build arguments: key=value, --profile=NAME, -Os ...')
    .allowUnknownOption(true)
    .action((args: string[], _opts: unknown, cmd: Command) => {
      const config = customConfig(buildArgs(args, cmd, []));
      const { needs, sources, sourceRequests } = moduleNeeds(config);
      process.stdout.write(describeFragment(config.options.kernel === 'general' ? generalFragment(config) : composeFragment(config, needs, sources, sourceRequests)));
    });

  kernel
    .command('build')
    .description('build the custom kernel for these build arguments (a cache hit when built before)')
    .argument('[args...]', 'build arguments: key=value, --profile=NAME, -Os ...')
    .option('--json', 'print the result as JSON')
    .allowUnknownOption(true)
    .action(async (args: string[], opts: { json?: boolean }, cmd: Command) => {
      const started = Date.now();
      const config = customConfig(buildArgs(args, cmd, ['--json']));
      const { needs, sources, sourceRequests } = moduleNeeds(config);
      const build = config.options.kernel === 'general' ? buildGeneralKernel : buildCustomKernel;
      const built = await build(config, needs, { needSources: sources, sourceRequests });
      const seconds = ((Date.now() - started) / 1000).toFixed(2);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ...built.meta, dir: built.dir, cached: built.cached, seconds: Number(seconds) }, null, 2) + '\n');
        return;
      }
      const m = built.meta;
      process.stdout.write(
        `${built.cached ? 'cache hit' : 'built'}: ${built.dir} (${seconds} s)\n` +
          `  release ${m.release}, ${archOfMakeVars(m.makeVars).kernel.imageName} ${mb(m.sizes.bzImage)}, vmlinux ${mb(m.sizes.vmlinux)} (stripped${m.hasPvh ? ', PVH entry' : ''})\n` +
          `  ${m.summary}\n`,
      );
    });

  kernel
    .command('list')
    .description('list the cached custom kernels, the size of each kernel folder and of its build tree')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const usage = await cacheUsage();
      if (opts.json) {
        process.stdout.write(JSON.stringify(usage.kernels.map((e) => ({ ...e.meta, dir: kernelDir(e.meta.key), kernelBytes: e.kernelBytes, treeBytes: e.treeBytes })), null, 2) + '\n');
        return;
      }
      if (!usage.kernels.length && !usage.trees.length) {
        process.stdout.write('no custom kernels cached (tailor kernel build [args] builds one)\n');
        return;
      }
      const rows = usage.kernels.map(({ meta: m, kernelBytes, treeBytes }) => [
        m.key.slice(0, 12), m.release, mb(m.sizes.bzImage), mb(kernelBytes), treeBytes ? mb(treeBytes) : '-', `${m.buildSeconds} s`,
        m.base ? `${m.base.key.slice(0, 12)} (${m.base.differing} sym)` : m.resumed ? 'resumed' : 'cold', age(m.createdAt), m.summary,
      ]);
      const keys = new Set(usage.kernels.map((e) => e.meta.key));
      const loose = usage.trees.filter((t) => !t.key || !keys.has(t.key));
      const total = usage.kernels.reduce((n, e) => n + e.kernelBytes, 0) + usage.trees.reduce((n, t) => n + t.bytes, 0);
      process.stdout.write(
        formatTable(['key', 'release', 'bzImage', 'kernel', 'tree', 'build', 'from', 'age', 'options'], rows) +
          loose.map((t) => `build tree ${t.fragmentHash.slice(0, 12)}: ${mb(t.bytes)}, ${t.busy ? 'building now' : t.finished ? 'kernel pruned (a base for variants)' : 'unfinished (killed build)'}\n`).join('') +
          `total ${mb(total)} (kernels and build trees)\n`,
      );
    });

  kernel
    .command('prune')
    .description('bound the kernel cache: build trees go first (a kernel folder needs none), then the oldest kernels')
    .option('--all', 'remove every cached kernel and build tree')
    .option('--keep <n>', 'keep the N newest kernels and their build trees (default 3)')
    .option('--max-size <size>', 'then remove build trees, oldest first, and kernels, oldest first, until the cache fits (e.g. 2G, 500M)')
    .action(async (opts: { all?: boolean; keep?: string; maxSize?: string }) => {
      if (opts.all && (opts.keep !== undefined || opts.maxSize !== undefined)) throw new UsageError('--all excludes --keep and --max-size', 'give --all alone');
      const keep = opts.all ? 0 : opts.keep === undefined ? (opts.maxSize === undefined ? 3 : undefined) : Number(opts.keep);
      if (keep !== undefined && (!Number.isInteger(keep) || keep < 0)) throw new UsageError(`--keep ${opts.keep}: not a whole number`, 'write e.g. --keep 2');
      const maxBytes = opts.all ? 0 : opts.maxSize === undefined ? undefined : parseSizeMiB(opts.maxSize, '--max-size') * 1024 * 1024;
      const r = await pruneKernels({ ...(keep !== undefined ? { keep } : {}), ...(maxBytes !== undefined ? { maxBytes } : {}) });
      // Patched source copies (hard links, small) go with the last tree that read them.
      const sources = await prunePatchedSources(treesDir(), opts.all ? 0 : undefined);
      const n = r.kernels.length;
      process.stdout.write(
        `removed ${n} cached kernel${n === 1 ? '' : 's'} and ${r.trees.length} build tree${r.trees.length === 1 ? '' : 's'}, ${mb(r.freedBytes)} freed, ${mb(r.leftBytes)} left` +
          r.kernels.map((m) => `\n  ${m.key.slice(0, 12)} ${m.summary}`).join('') +
          (sources.length ? `\nremoved ${sources.length} patched kernel source cop${sources.length === 1 ? 'y' : 'ies'} no build tree reads` : '') + '\n',
      );
    });

  registerLearn(kernel);
}

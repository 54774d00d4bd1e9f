/**
 * `tailor kernel config|build|list|prune`: the custom kernel on its own —
 * the fragment with the reason for each line, a build with progress, and
 * the kernel cache.
 */
import type { Command } from 'commander';
import { resolveConfig } from '../../config/index.ts';
import type { BuildConfig } from '../../config/types.ts';
import { UsageError } from '../../errors.ts';
import { selectModules } from '../../modules/index.ts';
import { buildCustomKernel, composeFragment, describeFragment, kernelDir, listKernels, pruneKernels } from '../../kernel/custom/index.ts';
import { formatTable } from '../table.ts';
import { registerLearn } from './kernel-learn.ts';

/** The image's kernel needs with the modules that asked for each. */
function moduleNeeds(config: BuildConfig): { needs: string[]; sources: Map<string, string[]> } {
  const sources = new Map<string, string[]>();
  for (const m of selectModules(config).order) {
    for (const need of m.kernel) sources.set(need, [...(sources.get(need) ?? []), `module ${m.name}`]);
  }
  return { needs: [...sources.keys()].sort(), sources };
}

/** Build arguments as the user typed them (commander leaves unknown options such as --profile=X in cmd.args). */
function buildArgs(args: string[], cmd: Command, own: readonly string[]): string[] {
  return [...args, ...cmd.args.filter((a) => !args.includes(a))].filter((a) => !own.includes(a));
}

function customConfig(args: string[]): BuildConfig {
  // `tailor kernel ...` is about the custom kernel whatever the default flavour is.
  const config = resolveConfig(args.some((a) => a.startsWith('kernel=')) ? args : [...args, 'kernel=custom']);
  if (config.options.kernel !== 'custom') throw new UsageError('tailor kernel works on custom kernels, and kernel=stock was given', 'drop kernel=stock');
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
      const { needs, sources } = moduleNeeds(config);
      process.stdout.write(describeFragment(composeFragment(config, needs, sources)));
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
      const { needs, sources } = moduleNeeds(config);
      const built = await buildCustomKernel(config, needs, { needSources: sources });
      const seconds = ((Date.now() - started) / 1000).toFixed(2);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ...built.meta, dir: built.dir, cached: built.cached, seconds: Number(seconds) }, null, 2) + '\n');
        return;
      }
      const m = built.meta;
      process.stdout.write(
        `${built.cached ? 'cache hit' : 'built'}: ${built.dir} (${seconds} s)\n` +
          `  release ${m.release}, bzImage ${mb(m.sizes.bzImage)}, vmlinux ${mb(m.sizes.vmlinux)} (stripped${m.hasPvh ? ', PVH entry' : ''})\n` +
          `  ${m.summary}\n`,
      );
    });

  kernel
    .command('list')
    .description('list the cached custom kernels')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const all = await listKernels();
      if (opts.json) {
        process.stdout.write(JSON.stringify(all.map((m) => ({ ...m, dir: kernelDir(m.key) })), null, 2) + '\n');
        return;
      }
      if (!all.length) {
        process.stdout.write('no custom kernels cached (tailor kernel build [args] builds one)\n');
        return;
      }
      const rows = all.map((m) => [m.key.slice(0, 12), m.release, mb(m.sizes.bzImage), mb(m.sizes.vmlinux), `${m.buildSeconds} s`, age(m.createdAt), m.summary]);
      process.stdout.write(formatTable(['key', 'release', 'bzImage', 'vmlinux', 'build', 'age', 'options'], rows));
    });

  kernel
    .command('prune')
    .description('remove cached custom kernels (default: keep the 3 newest)')
    .option('--all', 'remove every cached kernel and build tree')
    .option('--keep <n>', 'keep the N newest kernels')
    .action(async (opts: { all?: boolean; keep?: string }) => {
      if (opts.all && opts.keep !== undefined) throw new UsageError('--all and --keep exclude each other', 'give one of them');
      const keep = opts.all ? 0 : opts.keep === undefined ? 3 : Number(opts.keep);
      if (!Number.isInteger(keep) || keep < 0) throw new UsageError(`--keep ${opts.keep}: not a whole number`, 'write e.g. --keep 2');
      const removed = await pruneKernels(keep);
      process.stdout.write(`removed ${removed.length} cached kernel${removed.length === 1 ? '' : 's'}${removed.map((m) => `\n  ${m.key.slice(0, 12)} ${m.summary}`).join('')}\n`);
    });

  registerLearn(kernel);
}

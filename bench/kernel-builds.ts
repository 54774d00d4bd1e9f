/**
 * Kernel build benchmark, in one run and in a kernel cache of its own (a temp
 * TAILOR_CACHE, so the first build is really cold):
 *   1. cold:    --profile=minimal image=native-example, no build tree to start from
 *   2. variant: the same plus one feature (fs=rofs), built incrementally from the tree of 1
 *   3. hit:     2 again (no make at all)
 * Times are the kernel stage in-process (buildCustomKernel), ratios against the cold build.
 *
 *   npm run bench:kernel-builds -- [--shared-ccache] [--verify] [--feature fs=rofs] [--json]
 *
 * By default ccache is empty too (in the temp cache): the cold number is what a fresh machine
 * pays. --shared-ccache uses the shared ccache instead (cold tree, warm compiler cache).
 * --verify also builds the variant cold (a third cache, same ccache) and compares its .config,
 * vmlinux and bzImage bytes with the incremental one.
 */
import { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../src/config/index.ts';
import { rootfsNeeds } from '../src/image/boot-args.ts';
import { buildCustomKernel, type BuiltKernel } from '../src/kernel/custom/index.ts';
import { selectModules } from '../src/modules/index.ts';
import { formatTable } from '../src/cli/table.ts';
import { cacheDir } from '../src/util/paths.ts';
import { runBenchScript } from '../src/analyze/bench-script.ts';

interface Step {
  readonly step: string;
  readonly args: readonly string[];
  readonly seconds: number;
  readonly objects: number;
  readonly cached: boolean;
  readonly base?: string;
  readonly load: readonly number[];
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** A fresh kernel cache sharing only the unpacked source (unpacking is not a kernel build). */
function tempCache(label: string, sharedSrc: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tailor-kbench-${label}-`));
  if (existsSync(sharedSrc)) symlinkSync(sharedSrc, join(dir, 'src'));
  return dir;
}

async function buildIn(cache: string, step: string, args: readonly string[]): Promise<{ step: Step; built: BuiltKernel }> {
  process.env.TAILOR_CACHE = cache;
  const config = resolveConfig([...args, 'kernel=custom']);
  const needs = [...new Set([...selectModules(config).order.flatMap((m) => m.kernel), ...(rootfsNeeds[String(config.options.fs)] ?? [])])].sort();
  log(`${step}: ${args.join(' ')}`);
  const load = loadavg().map((l) => Math.round(l * 10) / 10);
  const t0 = performance.now();
  const built = await buildCustomKernel(config, needs, { log: (l) => log(`  ${l}`) });
  const seconds = Math.round((performance.now() - t0) / 10) / 100;
  log(`${step}: ${seconds} s${built.cached ? ' (cache hit)' : `, ${built.meta.objects} objects compiled`}`);
  return {
    built,
    step: { step, args, seconds, objects: built.cached ? 0 : built.meta.objects, cached: built.cached, ...(built.meta.base ? { base: `${built.meta.base.key.slice(0, 12)} (${built.meta.base.differing} symbols differ)` } : {}), load },
  };
}

const same = (a: string, b: string) => readFileSync(a).equals(readFileSync(b));

async function main(): Promise<void> {
  const f = new Command('bench:kernel-builds')
    .option('--feature <arg>', 'the one-feature change of the variant', 'fs=rofs')
    .option('--shared-ccache', 'use the shared ccache (warm) instead of an empty one')
    .option('--verify', 'also build the variant cold and compare .config, vmlinux and bzImage bytes')
    .option('--keep', 'keep the temp caches (printed) instead of removing them')
    .option('--json', 'machine-readable result on stdout')
    .parse()
    .opts<{ feature: string; sharedCcache?: boolean; verify?: boolean; keep?: boolean; json?: boolean }>();
  const sharedSrc = cacheDir('src');
  const ccache = f.sharedCcache ? cacheDir('ccache') : undefined;
  const minimal = ['--profile=minimal', 'image=native-example'];
  const variant = [...minimal, f.feature];
  const caches = [tempCache('main', sharedSrc)];
  process.env.CCACHE_DIR = ccache ?? join(caches[0]!, 'ccache');
  mkdirSync(process.env.CCACHE_DIR, { recursive: true });
  const steps: Step[] = [];
  const checks: string[] = [];
  try {
    const cold = await buildIn(caches[0]!, 'cold', minimal);
    steps.push(cold.step);
    const inc = await buildIn(caches[0]!, 'variant', variant);
    steps.push(inc.step);
    steps.push((await buildIn(caches[0]!, 'hit', variant)).step);
    if (f.verify) {
      caches.push(tempCache('verify', sharedSrc));
      const ref = await buildIn(caches[1]!, 'variant, cold', variant);
      steps.push(ref.step);
      const tree = (b: BuiltKernel, cache: string) => join(cache, 'kbuild', b.meta.fragmentHash);
      checks.push(
        `.config ${same(join(inc.built.dir, 'config'), join(ref.built.dir, 'config')) ? 'identical' : 'DIFFERS'}`,
        `vmlinux (unstripped) ${same(join(tree(inc.built, caches[0]!), 'vmlinux'), join(tree(ref.built, caches[1]!), 'vmlinux')) ? 'identical' : 'DIFFERS'}`,
        `bzImage ${same(join(inc.built.dir, 'bzImage'), join(ref.built.dir, 'bzImage')) ? 'identical' : 'DIFFERS'}`,
        `cache key ${inc.built.meta.key === ref.built.meta.key ? 'identical' : 'DIFFERS'}`,
      );
    }
  } finally {
    if (f.keep) log(`kept: ${caches.join(' ')}`);
    else for (const c of caches) rmSync(c, { recursive: true, force: true });
  }
  const base = steps[0]!.seconds;
  const cpus = execFileSync('nproc', { encoding: 'utf8' }).trim();
  if (f.json) {
    process.stdout.write(JSON.stringify({ steps, checks, cpus: Number(cpus), ccache: ccache ? 'shared' : 'empty' }, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    formatTable(
      ['step', 'arguments', 'time', 'vs cold', 'objects compiled', 'from tree', 'load (1/5/15 min) at start'],
      steps.map((s) => [s.step, s.args.join(' '), `${s.seconds} s`, `${(s.seconds / base).toFixed(3)}x`, s.cached ? 'hit' : String(s.objects), s.base ?? '-', s.load.join(' ')]),
    ) +
      `\n${cpus} CPUs; ccache ${ccache ? `shared (${ccache})` : 'empty (cold)'}; kernel stage timed in-process; targets: variant <= 90 s, hit <= 1 s.\n` +
      (checks.length ? `variant built incrementally vs cold: ${checks.join(', ')}\n` : ''),
  );
}

await runBenchScript(import.meta.url, main);

/**
 * Turning a fragment into the final .config: `make tinyconfig`, merge the
 * fragment (scripts/kconfig/merge_config.sh -m), `make olddefconfig`, then
 * verify that Kconfig kept every symbol we asked for. Kconfig silently drops
 * a symbol whose dependencies are off (FIELD-NOTES: EROFS_FS without
 * MISC_FILESYSTEMS), so the check names the symbol and its `depends on`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TailorError } from '../../errors.ts';
import { exec } from '../../util/exec.ts';
import type { Fragment } from './fragment.ts';
import { fragmentText } from './fragment.ts';
import { findSymbolDefinitions, kconfigLine, parseDotConfig, symbolsIn, valueIn } from './kconfig.ts';

/** make arguments common to every kernel make call (the compiler choice affects Kconfig). */
export function makeArgs(sourceDir: string, buildDir: string, makeVars: Readonly<Record<string, string>>): string[] {
  return ['-C', sourceDir, `O=${buildDir}`, ...Object.entries(makeVars).map(([k, v]) => `${k}=${v}`)];
}

export interface Dropped {
  readonly symbol: string;
  readonly wanted: string;
  readonly got: string;
  readonly reasons: readonly string[];
}

/** Symbols whose final value differs from the requested one. */
export function droppedSymbols(fragment: Fragment, finalConfig: string): Dropped[] {
  const final = parseDotConfig(finalConfig);
  return fragment.lines
    .filter((l) => !l.soft && valueIn(final, l.symbol) !== l.value)
    .map((l) => ({ symbol: l.symbol, wanted: l.value, got: valueIn(final, l.symbol), reasons: l.reasons }));
}

/** A message naming each dropped symbol, where it is defined, what it depends on and those symbols' values. */
export async function explainDropped(sourceDir: string, dropped: readonly Dropped[], finalConfig: string, srcArch = 'x86'): Promise<string> {
  const final = parseDotConfig(finalConfig);
  const parts: string[] = [];
  for (const d of dropped) {
    const lines = [`  ${kconfigLine(d.symbol, d.wanted)} was asked for (${d.reasons.join('; ')}) but the final .config has ${kconfigLine(d.symbol, d.got)}`];
    const defs = await findSymbolDefinitions(sourceDir, d.symbol, srcArch);
    if (defs.length === 0) lines.push(`    no "config ${d.symbol}" in the ${srcArch} Kconfig files of this kernel: the symbol does not exist here`);
    for (const def of defs) {
      const conds = [...def.enclosedBy.map((c) => `if ${c}`), ...def.dependsOn.map((c) => `depends on ${c}`)];
      const values = [...new Set(conds.flatMap(symbolsIn))].map((s) => `${s}=${valueIn(final, s)}`);
      lines.push(`    defined in ${def.file}:${def.line}${conds.length ? `: ${conds.join(', ')}` : ' (no depends on: a choice or a select decides it)'}`);
      if (values.length) lines.push(`    current values: ${values.join(' ')}`);
    }
    parts.push(lines.join('\n'));
  }
  return parts.join('\n');
}

/**
 * Write the final .config into `buildDir` for `fragment`; returns its text.
 * Throws a TailorError when a requested symbol did not survive.
 */
export async function configureKernel(sourceDir: string, buildDir: string, fragment: Fragment): Promise<string> {
  await mkdir(buildDir, { recursive: true });
  const args = makeArgs(sourceDir, buildDir, fragment.makeVars);
  await exec('make', [...args, '-s', 'tinyconfig']);
  const fragmentFile = join(buildDir, 'tailor.fragment');
  await writeFile(fragmentFile, fragmentText(fragment));
  // -m: merge only (no alldefconfig); -O: write .config into the build folder.
  await exec(join(sourceDir, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', buildDir, join(buildDir, '.config'), fragmentFile], { cwd: buildDir });
  await exec('make', [...args, '-s', 'olddefconfig']);
  const finalConfig = await readFile(join(buildDir, '.config'), 'utf8');
  const dropped = droppedSymbols(fragment, finalConfig);
  if (dropped.length) {
    throw new TailorError(
      `Kconfig did not keep ${dropped.length} requested kernel symbol${dropped.length > 1 ? 's' : ''} (unmet dependencies):\n${await explainDropped(sourceDir, dropped, finalConfig, fragment.makeVars.ARCH ?? 'x86')}`,
      { hint: `turn on what the symbol depends on (kernel feature table src/kernel/features.ts, option mappings in src/config/schema.ts), or drop the option that asked for it; the final .config is ${join(buildDir, '.config')}` },
    );
  }
  return finalConfig;
}

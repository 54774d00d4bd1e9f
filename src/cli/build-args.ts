import type { Command } from 'commander';
import { resolveConfig } from '../config/index.ts';
import type { BuildConfig } from '../config/types.ts';

/**
 * Commands that take build arguments (`key=value`, `-Os`, `--profile=NAME`)
 * accept unknown options; this collects them back in order and resolves.
 */
export function configFromCommand(args: readonly string[], cmd: Command, own: readonly string[] = []): BuildConfig {
  const all = [...args, ...cmd.args.filter((a) => !args.includes(a))].filter((a) => !own.includes(a));
  const config = resolveConfig(all);
  for (const w of config.warnings) process.stderr.write(`tailor: warning: ${w}\n`);
  return config;
}

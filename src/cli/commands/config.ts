import type { Command } from 'commander';
import { describeSource, formatOptionValue } from '../../config/index.ts';
import { configFromCommand } from '../build-args.ts';
import { withBuildOptionsHelp } from '../options-help.ts';
import { formatTable } from '../table.ts';

export function register(program: Command): void {
  withBuildOptionsHelp(program
    .command('config')
    .description('print the resolved build configuration, with where each value came from, and its hash')
    .argument('[args...]', 'build arguments: key=value, --profile=NAME, -Os, -march=...')
    .option('--json', 'machine-readable output')
    .allowUnknownOption(true)
    .helpOption('-h, --help')
    .action((args: string[], opts: { json?: boolean }, cmd: Command) => {
      const config = configFromCommand(args, cmd, ['--json']);
      if (opts.json) {
        const out = {
          hash: config.hash,
          configurationProfile: config.profileName ?? null,
          options: Object.fromEntries(
            Object.entries(config.options).map(([k, v]) => [k, { value: v, source: config.sources[k], from: describeSource(config.sources[k]!) }]),
          ),
          warnings: config.warnings,
        };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        `configuration profile (--profile=NAME): ${config.profileName ?? 'none'}\n` +
          `profile-guided optimisation (build option profile=): ${String(config.options.profile)}\n` +
          `hash: ${config.hash}\n\n`,
      );
      const rows = Object.entries(config.options).map(([k, v]) => [k, formatOptionValue(v) || '""', describeSource(config.sources[k]!)]);
      process.stdout.write(formatTable(['option', 'value', 'source'], rows));
    }),
  );
}

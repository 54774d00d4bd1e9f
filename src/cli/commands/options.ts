import type { Command } from 'commander';
import { optionSchema } from '../../config/index.ts';
import type { OptionSpec } from '../../config/schema-types.ts';
import { formatOptionValue } from '../../config/values.ts';
import { formatTable } from '../table.ts';

export function describeType(spec: OptionSpec): string {
  switch (spec.type) {
    case 'bool':
      return '0|1';
    case 'int':
      return `int${spec.unit ? ` (${spec.unit})` : ''}`;
    case 'enum':
      return spec.values.join('|');
    case 'list':
      return 'a,b,...';
    case 'string':
      return 'text';
  }
}

/** The schema as plain data, for --json and the docs. */
export function schemaAsJson() {
  return optionSchema.map((s) => ({
    name: s.name,
    type: s.type,
    default: s.default,
    ...(s.type === 'enum' ? { values: s.values } : {}),
    ...(s.type === 'int' ? { unit: s.unit, min: s.min, max: s.max } : {}),
    group: s.group,
    help: s.help,
    aliases: s.aliases ?? [],
    kernel: s.kernel ?? null,
    effect: s.effect ?? null,
    osvNote: s.osvNote ?? null,
  }));
}

export function register(program: Command): void {
  program
    .command('options')
    .description('list every build option: name, type, default and what it does')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        process.stdout.write(JSON.stringify(schemaAsJson(), null, 2) + '\n');
        return;
      }
      const rows = optionSchema.map((s) => [
        s.name + (s.aliases?.length ? ` (${s.aliases.join(', ')})` : ''),
        describeType(s),
        formatOptionValue(s.default as never) || '""',
        s.help,
      ]);
      process.stdout.write(formatTable(['option', 'type', 'default', 'meaning'], rows));
    });
}

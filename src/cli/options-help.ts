import type { Command } from 'commander';
import { optionSchema } from '../config/index.ts';
import { describeType } from './commands/options.ts';

/** Appends the build options (from the schema) to a command's --help. */
export function withBuildOptionsHelp(cmd: Command): Command {
  return cmd.addHelpText('after', () => {
    const width = Math.max(...optionSchema.map((s) => s.name.length));
    const lines = optionSchema.map((s) => `  ${s.name.padEnd(width)}  ${s.help} [${describeType(s)}]`);
    return `\nBuild options (key=value; also -Os/-O2/-O3, -march=..., --profile=NAME; see \`tailor options\`):\n${lines.join('\n')}\n`;
  });
}

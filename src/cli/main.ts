import { Command, CommanderError } from 'commander';
import { TailorError } from '../errors.ts';
import { commands } from './commands/index.ts';

const verbose = process.argv.includes('--verbose') || process.argv.includes('-V');

const program = new Command('tailor')
  .description('Tailor a Linux kernel, a tiny init and one application into a minimal, fast-booting VM image.')
  .option('--verbose', 'print stack traces and more detail')
  .showHelpAfterError()
  .exitOverride();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportError(err);
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (or help); keep its exit code, 2 for usage errors.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof TailorError) {
    process.stderr.write(`tailor: ${err.message}\n`);
    if (err.hint) process.stderr.write(`  ${err.hint}\n`);
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  process.stderr.write(`tailor: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 70;
}

// Shared pieces of the Kconfig fragment tests: compose an image's fragment from build
// arguments (in a temp project folder, removed at exit) and read a symbol's value and reasons.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/index.ts';
import { composeFragment, type Fragment } from '../../src/kernel/custom/fragment.ts';

/** A temp project folder for resolveConfig, removed when the test process exits. */
export function tempProject(label: string): string {
  const cwd = mkdtempSync(join(tmpdir(), `tailor-${label}-`));
  process.on('exit', () => rmSync(cwd, { recursive: true, force: true }));
  return cwd;
}

/** The fragment of `kernel=custom` with these build arguments, resolved in `cwd`. */
export const fragmentIn = (cwd: string, ...args: string[]): Fragment => composeFragment(resolveConfig([...args, 'kernel=custom'], { cwd }), []);
export const value = (f: Fragment, symbol: string) => f.lines.find((l) => l.symbol === symbol)?.value;
export const reasons = (f: Fragment, symbol: string) => f.lines.find((l) => l.symbol === symbol)?.reasons.join('; ') ?? '';

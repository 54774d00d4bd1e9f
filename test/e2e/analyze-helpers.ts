/** Shared by the analyze e2e tests: run the real CLI in the repo (builds go to build/analyze-e2e-*). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../src/util/paths.ts';

export const tailor = join(repoRoot, 'bin', 'tailor.js');

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runTailor(args: string[], cwd = repoRoot): Promise<Ran> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [tailor, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Build (custom kernels come from the cache when built before; else they compile, minutes). */
export async function build(name: string, args: string[]): Promise<string> {
  const r = await runTailor(['build', ...args, `name=${name}`]);
  if (r.code !== 0) throw new Error(`tailor build ${args.join(' ')} failed:\n${r.stderr.slice(-3000)}`);
  return join(repoRoot, 'build', name);
}

/** The minimal custom-kernel image of the examples, and the same with Xen drivers. */
export const minimalArgs = ['--profile=minimal', 'image=native-example'];

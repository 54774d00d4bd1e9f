/** Runs `node ARGS` (tailor, a bench script) to its end, collecting its output. */
import { spawn } from 'node:child_process';

export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runNode(args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, args, { cwd, env: env ? { ...process.env, ...env } : process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

import { spawn, type SpawnOptions } from 'node:child_process';
import { TailorError } from '../errors.ts';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a host command to completion and capture its output. Throws a
 * TailorError naming the command when it cannot start or (unless
 * allowFailure) exits non-zero.
 */
export function exec(
  cmd: string,
  args: readonly string[],
  options: SpawnOptions & { allowFailure?: boolean; input?: string | Buffer } = {},
): Promise<ExecResult> {
  const { allowFailure, input, ...spawnOptions } = options;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { ...spawnOptions, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        new TailorError(
          e.code === 'ENOENT' ? `cannot run ${cmd}: not found on PATH` : `cannot run ${cmd}: ${e.message}`,
          { cause: e },
        ),
      );
    });
    child.on('close', (code, signal) => {
      const result = {
        code: code ?? 128,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (result.code !== 0 && !allowFailure) {
        const detail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n');
        reject(
          new TailorError(
            `${cmd} ${args.join(' ')} failed (${signal ? `signal ${signal}` : `exit ${result.code}`})${detail ? `:\n${detail}` : ''}`,
          ),
        );
      } else resolvePromise(result);
    });
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

/** True when `cmd` is found on PATH. */
export async function hasCommand(cmd: string): Promise<boolean> {
  const r = await exec('sh', ['-c', `command -v "$1"`, 'sh', cmd], { allowFailure: true });
  return r.code === 0;
}

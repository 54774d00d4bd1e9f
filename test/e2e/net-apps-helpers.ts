/**
 * What the network-application e2e tests share: `tailor build`/`tailor run`
 * in a project folder, free host ports, polling a guest service until it
 * answers, redis-cli, and the check that no QEMU outlives a test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import assert from 'node:assert/strict';
import { hasCommand } from '../../src/util/exec.ts';

export const tailor = resolve(import.meta.dirname, '..', '..', 'bin', 'tailor.js');

/** Why a test cannot run here (a missing tool or server binary), or undefined. */
export async function missing(tools: string[], files: Record<string, string> = {}): Promise<string | undefined> {
  for (const tool of ['qemu-system-x86_64', 'musl-gcc', 'make', ...tools]) {
    if (!(await hasCommand(tool))) return `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  }
  for (const [file, pkg] of Object.entries(files)) {
    if (spawnSync('test', ['-x', file]).status !== 0) return `${file} is missing (apt-get install -y ${pkg})`;
  }
  return undefined;
}

/** `tailor build ARGS` in `project`; fails the test with the output. */
export function build(project: string, args: string[], timeoutMs = 300_000): string {
  const r = spawnSync(process.execPath, [tailor, 'build', ...args], { cwd: project, encoding: 'utf8', timeout: timeoutMs });
  assert.equal(r.status, 0, `tailor build ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  return `${r.stdout}\n${r.stderr}`;
}

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

export { freePort } from '../../src/util/free-port.ts';

export interface Vm {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  /** Stop tailor run (it stops QEMU) and wait for it. */
  readonly stop: () => Promise<number | null>;
}

/** `tailor run BUILD ARGS...` in `project`, in the background; stopped when the test ends. */
export function run(project: string, name: string, args: string[], t: { after: (fn: () => Promise<void> | void) => void }): Vm {
  const child = spawn(process.execPath, [tailor, 'run', name, '--timeout', '240', ...args], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  t.after(async () => {
    await stop();
  });
  return { child, output: () => text, exited, stop };
}

/** QEMU processes started for `project` (none may outlive a test). */
export function strayQemu(project: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((l) => l.includes('qemu-system') && l.includes(project));
}

/** Poll `attempt` until it gives a value, the VM exits, or `deadlineMs` passes. */
export async function until<T>(vm: Vm, what: string, deadlineMs: number, attempt: () => Promise<T | undefined>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  let ended = false;
  void vm.exited.then(() => (ended = true));
  for (;;) {
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return { value, ms: Date.now() - t0 };
    if (ended) assert.fail(`the VM ended before ${what}:\n${vm.output().slice(-3000)}`);
    if (Date.now() - t0 > deadlineMs) assert.fail(`no ${what} within ${deadlineMs} ms:\n${vm.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** redis-cli against 127.0.0.1:port; its output, or undefined when it could not talk to the server. */
export function redisCli(port: number, ...args: string[]): string | undefined {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 && !/Could not connect|Connection reset|error/i.test(r.stdout + r.stderr) ? r.stdout.trim() : undefined;
}

/**
 * virtiofs host shares: one virtiofsd per share, serving a vhost-user socket
 * that QEMU connects to (`-chardev socket` + `vhost-user-fs-*`). Debian 12's
 * QEMU 7.2 ships the C daemon as /usr/lib/qemu/virtiofsd; where none exists,
 * shares fall back to virtio-9p (src/run/devices.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TailorError } from '../errors.ts';
import type { HostShare } from './devices.ts';

const candidates = ['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd', '/usr/bin/virtiofsd'];

/** The virtiofsd binary on this host, or undefined. */
export function findVirtiofsd(): string | undefined {
  return candidates.find((p) => existsSync(p));
}

export interface RunningDaemons {
  /** Socket path per share, in the order given. */
  readonly sockets: readonly string[];
  stop(): void;
}

/** Starts one daemon per share and waits (up to 5 s) for its socket; stop() ends them and removes the sockets. */
export async function startVirtiofsd(binary: string, shares: readonly HostShare[]): Promise<RunningDaemons> {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-virtiofs-'));
  const children: ChildProcess[] = [];
  const stop = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const sockets = shares.map((_, i) => join(dir, `share${i}.sock`));
  try {
    shares.forEach((s, i) => {
      const stderr: Buffer[] = [];
      // cache=auto: the guest may cache, and each run starts a fresh daemon, so host edits show on the next run
      const child = spawn(binary, [`--socket-path=${sockets[i]}`, '-o', `source=${s.hostDir}`, '-o', 'cache=auto'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.on('data', (b: Buffer) => stderr.push(b));
      child.on('error', () => {});
      (child as ChildProcess & { tail?: () => string }).tail = () => Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-3).join('\n');
      children.push(child);
    });
    const deadline = Date.now() + 5000;
    for (const [i, sock] of sockets.entries()) {
      while (!existsSync(sock)) {
        const c = children[i]!;
        if (c.exitCode !== null || Date.now() > deadline) {
          const tail = (c as ChildProcess & { tail?: () => string }).tail?.() ?? '';
          throw new TailorError(`virtiofsd for ${shares[i]!.hostDir} did not start${tail ? `:\n  ${tail}` : ''}`, {
            hint: 'share with virtio-9p instead: --share-transport 9p',
          });
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  } catch (err) {
    stop();
    throw err;
  }
  process.once('exit', stop);
  return { sockets, stop: () => { process.off('exit', stop); stop(); } };
}

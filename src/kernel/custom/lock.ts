/**
 * A lock file per build (O_EXCL, holding the owner's pid), so two builds of
 * the same kernel wait for each other instead of writing into one build
 * tree. A lock whose process is gone is stale and is taken over.
 */
import { open, readFile, rm, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TailorError } from '../../errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Lock {
  release(): Promise<void>;
}

/**
 * Take the lock at `path`, waiting (polling) while a live process holds it.
 * `onWait` is called once when we start waiting.
 */
export async function acquireLock(path: string, options: { onWait?: (holder: number) => void; timeoutMs?: number } = {}): Promise<Lock> {
  await mkdir(dirname(path), { recursive: true });
  const deadline = Date.now() + (options.timeoutMs ?? 2 * 60 * 60 * 1000);
  let told = false;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return { release: () => rm(path, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (!Number.isInteger(holder) || holder <= 0) {
      // Being written right now, or garbage: give the writer a moment, then treat as stale.
      await new Promise((r) => setTimeout(r, 200));
      const again = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (!Number.isInteger(again) || again <= 0) await rm(path, { force: true });
      continue;
    }
    if (!alive(holder)) {
      await rm(path, { force: true }); // stale: its owner died (killed build)
      continue;
    }
    if (!told) {
      options.onWait?.(holder);
      told = true;
    }
    if (Date.now() > deadline) throw new TailorError(`timed out waiting for the kernel build lock ${path} (held by pid ${holder})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

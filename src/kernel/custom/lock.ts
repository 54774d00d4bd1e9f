/**
 * A lock file per build (O_EXCL, holding the owner's pid), so two builds of
 * the same kernel wait for each other instead of writing into one build
 * tree. The owner adds the pid of the make it starts: when tailor is killed,
 * its make lives on as an orphan and still writes into the tree, so the lock
 * is stale only when every pid in it is gone; then it is taken over.
 */
import { appendFile, open, readFile, rm, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TailorError } from '../../errors.ts';
import { processAlive } from '../../util/process-alive.ts';

export interface Lock {
  /** Another process working for the owner (make): the lock stays held while it lives. */
  addHolder(pid: number): Promise<void>;
  release(): Promise<void>;
}

/** The pids a lock file names; empty while it is being written, or garbage. */
export async function lockHolders(path: string): Promise<number[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').map((l) => Number.parseInt(l, 10)).filter((n) => Number.isInteger(n) && n > 0);
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
      return { addHolder: (pid) => appendFile(path, `${pid}\n`), release: () => rm(path, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holders = await lockHolders(path);
    if (holders.length === 0) {
      // Being written right now, or garbage: give the writer a moment, then treat as stale.
      await new Promise((r) => setTimeout(r, 200));
      if ((await lockHolders(path)).length === 0) await rm(path, { force: true });
      continue;
    }
    const live = holders.find(processAlive);
    if (live === undefined) {
      await rm(path, { force: true }); // stale: its owner died (killed build) and so did its make
      continue;
    }
    if (!told) {
      options.onWait?.(live);
      told = true;
    }
    if (Date.now() > deadline) throw new TailorError(`timed out waiting for the kernel build lock ${path} (held by pid ${live})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

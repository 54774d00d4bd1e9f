/**
 * Folders written beside their final name and swapped in, and what killed
 * builds leave of them in build/ and build/.modules/: `.NAME.tmp-PID` (a
 * folder being written), `.last.tmp-PID` (the build/last link being
 * replaced) and `NAME.old-PID` (the previous folder moved aside for the
 * swap). Nothing reads those; the ones whose process is gone are removed at
 * the next build.
 */
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../util/process-alive.ts';

const patterns = [/^\..+\.tmp-(\d+)(?:-\d+)?$/, /^.+\.old-(\d+)$/];

/** The pid that owns a temporary entry of build/, or undefined for a build folder or anything else. */
export function tempOwner(name: string): number | undefined {
  for (const p of patterns) {
    const m = p.exec(name);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Removes the temporary entries of dead processes in `buildRoot`; returns their names. Live builds' entries stay. */
export async function removeStaleTemps(buildRoot: string, alive: (pid: number) => boolean = processAlive): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(buildRoot);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.sort()) {
    const pid = tempOwner(name);
    if (pid === undefined || pid === process.pid || alive(pid)) continue;
    // A child the killed build left running may still write into it: retry, and leave it for next time if it will not go.
    await rm(join(buildRoot, name), { recursive: true, force: true, maxRetries: 3 }).then(
      () => removed.push(name),
      () => undefined,
    );
  }
  return removed;
}

/** The temporary sibling this process writes `finalDir` in before `replaceDir`. */
export const tempDirFor = (parent: string, name: string): string => join(parent, `.${name}.tmp-${process.pid}`);

/** Swap the new folder in: the old one is moved aside first, so a reader sees either the old or the new one. */
export async function replaceDir(tmpDir: string, finalDir: string): Promise<void> {
  const old = `${finalDir}.old-${process.pid}`;
  let hadOld = false;
  try {
    await rename(finalDir, old);
    hadOld = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await rename(tmpDir, finalDir);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

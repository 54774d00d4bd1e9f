/**
 * The host's apt, used to fetch Debian packages without installing them:
 * Debian's stock kernel (kernel=stock) and, for a foreign target
 * architecture, the packages an application's files come from. Packages are
 * downloaded with `apt-get download` and unpacked with `dpkg-deb -x`; a
 * foreign architecture is added to dpkg's list once (`dpkg --add-architecture`,
 * downloads only: nothing of it is installed).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hostRunsNatively, type TargetArch } from '../config/arch.ts';
import { TailorError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { exec } from '../util/exec.ts';

const APT_LISTS = '/var/lib/apt/lists';

const log = (msg: string) => process.stderr.write(`tailor: ${msg}\n`);

/** apt's name for a package of `arch` (host configuration): foreign architectures carry the :arch qualifier. */
export function aptName(name: string, arch: TargetArch): string {
  return hostRunsNatively(arch) ? name : `${name}:${arch.debianArch}`;
}

/** When apt's package lists last changed (0: none): answers derived from them are kept until this moves. */
export async function aptListsStamp(): Promise<number> {
  try {
    return (await stat(APT_LISTS)).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Adds a foreign architecture to dpkg's list so apt can download its packages
 * (nothing of it is installed). True when it was added now: apt's lists then
 * need an `apt-get update` before they hold that architecture.
 */
export async function enableForeignArch(arch: TargetArch, what: string, fallback = ''): Promise<boolean> {
  if (hostRunsNatively(arch)) return false;
  const r = await exec('dpkg', ['--print-foreign-architectures'], { allowFailure: true });
  if (r.stdout.split(/\s+/).includes(arch.debianArch)) return false;
  log(`adding the ${arch.debianArch} architecture to dpkg (dpkg --add-architecture ${arch.debianArch}) so apt can download ${what}; nothing is installed`);
  const add = await exec('dpkg', ['--add-architecture', arch.debianArch], { allowFailure: true });
  if (add.code !== 0) {
    throw new TailorError(`dpkg --add-architecture ${arch.debianArch} failed: ${add.stderr.trim()}`, {
      hint: `run as root: dpkg --add-architecture ${arch.debianArch} && apt-get update${fallback ? `; or ${fallback}` : ''}`,
    });
  }
  return true;
}

/** `apt-get update`, for when apt's lists do not know a package yet; `what` says what it was looked for. */
export async function aptUpdate(what: string, fallback: string): Promise<void> {
  const up = await exec('apt-get', ['update'], { allowFailure: true });
  if (up.code !== 0) {
    throw new TailorError(`apt-get update failed, so ${what} cannot be found:\n${up.stderr.trim().split('\n').slice(-3).join('\n')}`, {
      hint: `run apt-get update as root (sudo apt-get update), check the network${fallback ? `, or ${fallback}` : ''}`,
    });
  }
}

/**
 * Download `specs` (apt names, `name=version` or `name:arch=version`) into
 * `dir` with `apt-get download` and return the .deb files' paths, in the
 * order apt wrote them. `aptOptions` are extra -o settings (e.g. another
 * architecture's view of the lists).
 */
export async function aptDownload(specs: readonly string[], dir: string, aptOptions: readonly string[] = [], fallback = ''): Promise<string[]> {
  // Sandbox user root: _apt cannot write into a cache under root's home, and would only warn.
  const dl = await exec('apt-get', ['download', '-o', 'APT::Sandbox::User=root', ...aptOptions, ...specs], { cwd: dir, allowFailure: true });
  const debs = (await readdir(dir)).filter((f) => f.endsWith('.deb')).sort();
  if (dl.code !== 0 || debs.length < specs.length) {
    throw new TailorError(`apt-get download ${specs.join(' ')} failed:\n${dl.stderr.trim().split('\n').slice(-3).join('\n')}`, {
      hint: `check the network and apt sources (apt-get update)${fallback ? `, or ${fallback}` : ''}`,
    });
  }
  return debs.map((f) => join(dir, f));
}

/** Unpack a .deb's files under `root` (dpkg-deb -x: no maintainer scripts, nothing registered with dpkg). */
export async function extractDeb(deb: string, root: string): Promise<void> {
  await exec('dpkg-deb', ['-x', deb, root]);
}

/** What apt said: an answer, or why it has none (its error lines, for the caller's message). */
export type AptReply<T> = { readonly answer: T } | { readonly error: string };

/**
 * An answer derived from apt's package lists, kept in `recordPath` until the
 * lists change (`valid` vets a kept one). When apt cannot answer yet, the
 * target's architecture is added to dpkg (a foreign one: then the lists lack
 * it) or the lists are updated, once, and apt is asked again; that second
 * reply is returned as it is. `what` names the packages in messages,
 * `fallback` is the other way a hint offers.
 */
export async function fromAptLists<T>(o: {
  readonly recordPath: string;
  readonly arch: TargetArch;
  readonly what: string;
  readonly fallback: string;
  readonly valid: (answer: T) => boolean;
  readonly ask: () => Promise<AptReply<T>>;
}): Promise<AptReply<T>> {
  const stamp = await aptListsStamp();
  try {
    const rec = JSON.parse(await readFile(o.recordPath, 'utf8')) as { aptLists: number; answer?: T };
    if (rec.aptLists === stamp && rec.answer !== undefined && o.valid(rec.answer)) return { answer: rec.answer };
  } catch {
    /* not asked yet, or an unreadable record: ask apt */
  }
  const added = await enableForeignArch(o.arch, o.what, o.fallback);
  let reply = added ? undefined : await o.ask();
  if (reply === undefined || 'error' in reply) {
    log(`apt cannot answer for ${o.what} yet; running apt-get update once`);
    await aptUpdate(o.what, o.fallback);
    reply = await o.ask();
  }
  if ('answer' in reply) await writeFileAtomic(o.recordPath, `${JSON.stringify({ aptLists: await aptListsStamp(), answer: reply.answer }, null, 2)}\n`);
  return reply;
}

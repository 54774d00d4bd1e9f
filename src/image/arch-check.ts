/**
 * Every ELF file in an image must be built for the image's architecture: a
 * host program packed into an arm64 image (or an arm64 file into an x86-64
 * one) would only fail at run time with "Exec format error" in the guest.
 * Host references (app=, `/x: ->/x`) already come from the target's Debian
 * packages (foreign-programs.ts); plain copies and file maps are checked here.
 */
import { open } from 'node:fs/promises';
import { TailorError } from '../errors.ts';
import type { TargetArch } from '../config/arch.ts';
import { hostArch, targetArches } from '../config/arch.ts';
import type { ContentTree } from '../rootfs/types.ts';

/** e_machine of an ELF file (little-endian, offset 18), or undefined when the file is not ELF. */
export async function elfMachineOf(path: string): Promise<number | undefined> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(20);
    const { bytesRead } = await fh.read(head, 0, 20, 0);
    if (bytesRead < 20 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
    return head.readUInt16LE(18);
  } finally {
    await fh.close();
  }
}

/** The host's own ELF machine (what its packages' programs are built for). */
function hostElfMachine(): number {
  return hostArch()?.elfMachine ?? -1;
}

function machineName(machine: number): string {
  return Object.values(targetArches).find((a) => a.elfMachine === machine)?.title ?? `ELF machine ${machine}`;
}

/** Throws naming the files (and who brought them) that are ELF files for another architecture. */
export async function checkImageArch(tree: ContentTree, arch: TargetArch, ownerOf: (guestPath: string) => string | undefined): Promise<void> {
  const wrong: string[] = [];
  for (const e of tree.entries) {
    if (e.kind !== 'file') continue;
    const machine = await elfMachineOf(e.source);
    if (machine === undefined || machine === arch.elfMachine) continue;
    const owner = ownerOf(e.path);
    wrong.push(`${e.path} (${machineName(machine)}, from ${e.source}${owner ? `, module ${owner}` : ''})`);
  }
  if (wrong.length === 0) return;
  const shown = wrong.slice(0, 5).join('; ') + (wrong.length > 5 ? `; and ${wrong.length - 5} more` : '');
  throw new TailorError(`arch=${arch.name}: the image holds programs for another architecture: ${shown}`, {
    hint: `an image takes programs built for ${arch.title} only: modules with a build: command are compiled for it, and host references (app=, manifest lines /x: ->/x) come from its Debian packages; a plain copy of a host file (/x: /host/path, files: maps) stays this host's ${machineName(hostElfMachine())} program`,
  });
}

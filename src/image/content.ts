/** Assembles the image's content tree: Tailor's init, its control files, kernel modules and the modules' files. */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isElfFile } from '../elf/index.ts';
import type { KernelArtifact } from '../kernel/types.ts';
import type { ModulePlan } from '../modules/types.ts';
import type { ContentTree, TreeEntry } from '../rootfs/types.ts';
import { exec } from '../util/exec.ts';

export interface ContentInputs {
  readonly plan: ModulePlan;
  readonly kernel: KernelArtifact;
  /** The static init binary on the host. */
  readonly initPath: string;
  /** The image's default command line (docs/guest-protocol.md: /etc/tailor/cmdline). */
  readonly appCmdline: string;
  /** conf_hide_symbols=1: strip every ELF file (copies go to scratchDir). */
  readonly stripElf: boolean;
  readonly scratchDir: string;
}

const text = (s: string) => new TextEncoder().encode(s);

export async function assembleContent(inputs: ContentInputs): Promise<ContentTree> {
  const entries: TreeEntry[] = [
    { kind: 'dir', path: '/dev', mode: 0o755 },
    { kind: 'chardev', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
    { kind: 'dir', path: '/proc', mode: 0o555 },
    { kind: 'dir', path: '/sys', mode: 0o555 },
    { kind: 'dir', path: '/tmp', mode: 0o1777 },
    { kind: 'dir', path: '/etc/tailor', mode: 0o755 },
    { kind: 'data', path: '/etc/tailor/cmdline', mode: 0o644, data: text(`${inputs.appCmdline}\n`) },
    {
      kind: 'data',
      path: '/etc/tailor/modules',
      mode: 0o644,
      data: text(inputs.kernel.modules.map((m) => `${m.guestPath}\n`).join('')),
    },
    { kind: 'file', path: '/init', mode: 0o755, source: await maybeStrip(inputs.initPath, inputs) },
  ];
  for (const m of inputs.kernel.modules) entries.push({ kind: 'file', path: m.guestPath, mode: 0o644, source: m.source });
  for (const e of inputs.plan.manifest) {
    switch (e.source.kind) {
      case 'dir':
        entries.push({ kind: 'dir', path: e.guestPath, mode: 0o755 });
        break;
      case 'symlink':
        entries.push({ kind: 'symlink', path: e.guestPath, target: e.source.target });
        break;
      case 'file': {
        const st = await stat(e.source.path);
        entries.push({ kind: 'file', path: e.guestPath, mode: st.mode & 0o7777, source: await maybeStrip(e.source.path, inputs) });
        break;
      }
    }
  }
  return { entries };
}

/** With conf_hide_symbols=1, an ELF file is replaced by a stripped copy; anything else is used as is. */
async function maybeStrip(path: string, inputs: ContentInputs): Promise<string> {
  if (!inputs.stripElf || !(await isElfFile(path))) return path;
  const id = createHash('sha256').update(path).digest('hex').slice(0, 16);
  const out = join(inputs.scratchDir, `stripped-${id}`);
  await exec('strip', ['--strip-all', '-o', out, path]);
  return out;
}

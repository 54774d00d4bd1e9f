/**
 * One custom kernel (--profile=minimal) shared by the e2e tests that need
 * more than the minimal hello kernel: the disk roots (fs=rofs, ext4, btrfs on
 * the custom kernel), the data disk of data-disk-kill.test.ts, and redis with
 * nginx, and java-jlink, on the minimal profile (net-apps-custom.test.ts). A test module adds
 * the union of their kernel needs, so every such image asks for the same
 * kernel and a cold CI run builds it once (an incremental variant of the
 * minimal kernel) instead of one kernel per test. The servers' needs are read
 * from their module.yaml, so they stay whatever the modules declare.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinModuleDir } from '../../src/modules/lookup.ts';
import { readModuleFile } from '../../src/modules/module-file.ts';

export const sharedKernelModule = 'suite-kernel';

/** The disk filesystems every disk-root test boots from, with their block layer and driver. */
const diskNeeds = ['block', 'virtio-blk', 'erofs', 'ext4', 'btrfs'];
/** Built-in modules whose images run on the shared kernel. */
const servers = ['redis', 'nginx', 'java-jlink'];

export function sharedKernelNeeds(): string[] {
  return [...new Set([...diskNeeds, ...servers.flatMap((m) => readModuleFile(join(builtinModuleDir, m)).kernel)])].sort();
}

/** `tailor build` arguments for images on the shared kernel: the minimal profile and `image=` with the test module added. */
export function sharedKernelArgs(...modules: string[]): string[] {
  return ['--profile=minimal', `image=${[...modules, sharedKernelModule].join(',')}`];
}

/** Writes the test module into `project`/modules, where the module lookup finds it first. */
export function writeSharedKernelModule(project: string): void {
  const dir = join(project, 'modules', sharedKernelModule);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'module.yaml'),
    [
      'description: Test module. The kernel needs of the disk-root tests and of redis, nginx and java-jlink, so their images share one custom kernel.',
      `kernel: [${sharedKernelNeeds().join(', ')}]`,
      '',
    ].join('\n'),
  );
}

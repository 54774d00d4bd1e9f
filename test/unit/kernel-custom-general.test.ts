// kernel=general (src/kernel/custom/general.ts): the union of the built-in modules' kernel needs
// and the general root filesystems, one fragment for every image of a driver profile, and a
// clear error for an image that needs more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/config/index.ts';
import { catalogNeeds, generalFragment, uncovered } from '../../src/kernel/custom/general.ts';
import { composeFragment, fragmentText } from '../../src/kernel/custom/fragment.ts';
import { selectModules } from '../../src/modules/index.ts';

const cfg = (...args: string[]) => resolveConfig([...args, 'kernel=general']);
const needsOf = (args: string[], fsNeeds: string[] = []) => [...new Set([...selectModules(cfg(...args)).order.flatMap((m) => m.kernel), ...fsNeeds])].sort();

test('the catalog union names each need with the modules that ask for it', () => {
  const needs = catalogNeeds();
  assert.ok(needs.get('net')?.includes('module redis') && needs.get('net')?.includes('module nginx'));
  assert.ok(needs.get('epoll')?.includes('module redis'));
  assert.ok(needs.get('fw-cfg')?.includes('module cloud-init'));
});

test('images of one profile share one general fragment, whatever their app or root filesystem', () => {
  const a = fragmentText(generalFragment(cfg('--profile=minimal', 'image=native-example')));
  assert.equal(fragmentText(generalFragment(cfg('--profile=minimal', 'image=redis', 'fs=rofs'))), a);
  assert.equal(fragmentText(generalFragment(cfg('--profile=minimal', 'image=nginx', 'fs=ext4'))), a);
  assert.notEqual(fragmentText(generalFragment(cfg('conf_drivers_profile=virtio-pci', 'image=native-example'))), a, 'another driver profile, another kernel');
  assert.match(a, /^CONFIG_EROFS_FS=y$/m);
  assert.match(a, /^CONFIG_EXT4_FS=y$/m);
  assert.match(a, /^CONFIG_INET=y$/m);
});

test('it covers redis on rofs, and names what an image needs beyond it', () => {
  const general = fragmentText(generalFragment(cfg('--profile=minimal', 'image=native-example'))); // stands in for its final .config
  const redis = cfg('--profile=minimal', 'image=redis', 'fs=rofs');
  assert.deepEqual(uncovered(composeFragment(redis, needsOf(['--profile=minimal', 'image=redis', 'fs=rofs'], ['block', 'virtio-blk', 'erofs'])), general), []);
  const btrfs = cfg('--profile=minimal', 'image=native-example', 'fs=btrfs');
  const missing = uncovered(composeFragment(btrfs, ['block', 'virtio-blk', 'btrfs']), general);
  assert.ok(missing.some((m) => /^CONFIG_BTRFS_FS=y \(.*fs=btrfs/.test(m)), missing.join('\n'));
  const traced = uncovered(composeFragment(cfg('--profile=minimal', 'image=native-example'), ['tracing']), general);
  assert.ok(traced.some((m) => /kernel feature tracing/.test(m)), traced.join('\n'));
});

// Driver profiles and OSv's implication rules (src/config/resolve.ts, schema.ts), and the config hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.ts';
import { configHash, driverImplications, driverProfiles, driverSwitches, resolveConfig } from '../../src/config/index.ts';

const cwd = mkdtempSync(join(tmpdir(), 'tailor-drivers-'));
process.on('exit', () => rmSync(cwd, { recursive: true, force: true }));
const resolve = (...args: string[]) => resolveConfig(args, { cwd });

test('a switch set on the base profile turns on what it implies, with the source "implied by ..."', () => {
  const c = resolve('conf_drivers_profile=base', 'conf_drivers_virtio_blk=1');
  assert.equal(c.options.conf_drivers_virtio_blk, true);
  assert.deepEqual(c.sources.conf_drivers_virtio_blk, { kind: 'command-line', arg: 'conf_drivers_virtio_blk=1' });
  assert.equal(c.options.conf_drivers_virtio, true);
  assert.deepEqual(c.sources.conf_drivers_virtio, { kind: 'derived', reason: 'implied by conf_drivers_virtio_blk=1' });
  // Nothing else came along.
  assert.equal(c.options.conf_drivers_pci, false);
  assert.deepEqual(c.sources.conf_drivers_pci, { kind: 'derived', reason: 'conf_drivers_profile=base' });
  assert.equal(c.options.conf_drivers_acpi, false);
});

test('nvme implies pci, hpet and pvpanic imply acpi, virtio_scsi implies virtio and scsi', () => {
  const nvme = resolve('conf_drivers_profile=base', 'conf_drivers_nvme=1');
  assert.equal(nvme.options.conf_drivers_pci, true);
  assert.deepEqual(nvme.sources.conf_drivers_pci, { kind: 'derived', reason: 'implied by conf_drivers_nvme=1' });
  assert.equal(nvme.options.conf_drivers_acpi, false);

  const hpet = resolve('conf_drivers_profile=base', 'conf_drivers_hpet=1');
  assert.equal(hpet.options.conf_drivers_acpi, true);
  assert.deepEqual(hpet.sources.conf_drivers_acpi, { kind: 'derived', reason: 'implied by conf_drivers_hpet=1' });

  assert.equal(resolve('conf_drivers_profile=base', 'conf_drivers_pvpanic=1').options.conf_drivers_acpi, true);

  const scsi = resolve('conf_drivers_profile=base', 'conf_drivers_virtio_scsi=1');
  assert.equal(scsi.options.conf_drivers_virtio, true);
  assert.equal(scsi.options.conf_drivers_scsi, true);
});

test('an explicit conflict is an error naming both switches', () => {
  assert.throws(
    () => resolve('conf_drivers_virtio=0', 'conf_drivers_virtio_blk=1'),
    (e: Error) =>
      e instanceof UsageError &&
      e.exitCode === 2 &&
      e.message.includes('conf_drivers_virtio_blk=1') &&
      e.message.includes('conf_drivers_virtio=0') &&
      e.message.includes('command line'),
  );
  assert.throws(() => resolve('conf_drivers_pci=0', 'conf_drivers_nvme=1'), (e: Error) => e instanceof UsageError && /conf_drivers_nvme=1 needs conf_drivers_pci=1/.test(e.message));
});

test('an explicit switch overrides the driver profile', () => {
  const c = resolve('conf_drivers_profile=microvm', 'conf_drivers_virtio_net=0');
  assert.equal(c.options.conf_drivers_virtio_net, false);
  assert.deepEqual(c.sources.conf_drivers_virtio_net, { kind: 'command-line', arg: 'conf_drivers_virtio_net=0' });
  assert.equal(c.options.conf_drivers_virtio_blk, true);
});

test('every driver profile resolves to its switches plus what they imply, and the result obeys every rule', () => {
  for (const [name, profile] of Object.entries(driverProfiles)) {
    const c = resolve(`conf_drivers_profile=${name}`);
    const on = new Set(driverSwitches.filter((sw) => c.options[`conf_drivers_${sw}`] === true));
    for (const sw of profile.on) {
      assert.ok(on.has(sw), `${name}: ${sw} is on`);
      assert.deepEqual(c.sources[`conf_drivers_${sw}`], { kind: 'derived', reason: `conf_drivers_profile=${name}` });
    }
    for (const sw of on) {
      for (const needed of driverImplications[sw] ?? []) assert.ok(on.has(needed), `${name}: ${sw} is on, so ${needed} must be`);
      if (!profile.on.includes(sw)) assert.match((c.sources[`conf_drivers_${sw}`] as { reason: string }).reason, /^implied by /);
    }
  }
  // The profiles the issue names all exist.
  for (const name of ['all', 'base', 'microvm', 'virtio-mmio', 'virtio-pci', 'aws', 'xen', 'vmware', 'hyperv', 'vbox', 'nvme', 'cloud_hypervisor']) {
    assert.ok(name in driverProfiles, `driver profile ${name}`);
  }
  assert.equal(resolve('conf_drivers_profile=all').options.conf_drivers_xen, true);
  assert.equal(resolve('conf_drivers_profile=base').options.conf_drivers_mmio, false);
});

test('fs=rofs on a custom kernel without virtio_blk is an impossible combination', () => {
  assert.throws(
    () => resolve('kernel=custom', 'fs=rofs', 'conf_drivers_profile=base'),
    (e: Error) => e instanceof UsageError && /fs=rofs/.test(e.message) && /conf_drivers_virtio_blk/.test(e.message),
  );
  assert.equal(resolve('kernel=custom', 'fs=rofs', 'conf_drivers_profile=microvm').options.fs, 'rofs');
});

test('the hash: same options in another order → same hash; another value → another hash; name= does not count', () => {
  const a = resolve('fs=rofs', 'mode=debug', 'conf_hide_symbols=1', 'image=a,b');
  const b = resolve('image=a,b', 'conf_hide_symbols=1', 'mode=debug', 'fs=rofs');
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  assert.equal(a.hash, b.hash);
  assert.notEqual(resolve('fs=rofs', 'mode=release', 'conf_hide_symbols=1', 'image=a,b').hash, a.hash);
  assert.notEqual(resolve('fs=rofs', 'mode=debug', 'conf_hide_symbols=1', 'image=b,a').hash, a.hash, 'module order matters');
  assert.equal(resolve('fs=rofs', 'mode=debug', 'conf_hide_symbols=1', 'image=a,b', 'name=other').hash, a.hash);
  // A value reached by another route (default vs explicit) is the same option set.
  assert.equal(resolve('fs=ramfs').hash, resolve().hash);
  // configHash itself is independent of key order.
  assert.equal(configHash({ x: 1, y: 'a' }), configHash({ y: 'a', x: 1 }));
  assert.notEqual(configHash({ x: 1, y: 'a' }), configHash({ x: 2, y: 'a' }));
});

// The KVM verdict: /dev/kvm checks, the cache keyed by host kernel + QEMU + CPU, forced accelerators.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedVerdict, chooseAccel, devKvmProblem, kvmProbeFile, probeKey, saveVerdict } from '../../src/run/kvm-probe.ts';

let cache = '';
const saved = process.env.TAILOR_CACHE;
before(() => {
  cache = mkdtempSync(join(tmpdir(), 'tailor-kvm-probe-'));
  process.env.TAILOR_CACHE = cache;
});
after(() => {
  if (saved === undefined) delete process.env.TAILOR_CACHE;
  else process.env.TAILOR_CACHE = saved;
  rmSync(cache, { recursive: true, force: true });
});

const noProbe = async (): Promise<string | undefined> => {
  throw new Error('the probe must not run');
};

test('/dev/kvm problems are named; a device that opens read-write is fine', () => {
  assert.match(devKvmProblem('/no/such/kvm') ?? '', /\/no\/such\/kvm does not exist/);
  assert.equal(devKvmProblem('/dev/null'), undefined);
});

test('the key names the host kernel, QEMU and the CPU', async () => {
  const key = await probeKey();
  assert.equal(key.split(' | ').length, 3);
  assert.match(key, /QEMU emulator version|qemu missing/);
});

test('a forced accelerator needs no probe and prints no notice', async () => {
  assert.deepEqual(await chooseAccel('tcg', noProbe), { accel: 'tcg' });
  assert.deepEqual(await chooseAccel('kvm', noProbe), { accel: 'kvm' });
});

// /dev/null opens read-write like a KVM device, so the verdict logic runs on any machine, with or without /dev/kvm.
const opens = '/dev/null';
const missing = '/no/such/kvm';

test('no device: TCG with a notice naming it, no probe, nothing cached (even with a cached verdict)', async () => {
  rmSync(kvmProbeFile(), { force: true });
  assert.deepEqual(await chooseAccel(undefined, noProbe, missing), {
    accel: 'tcg',
    notice: `tailor: KVM unusable here (${missing} does not exist); using TCG (slower)`,
  });
  assert.equal(existsSync(kvmProbeFile()), false);
  await saveVerdict({ usable: true, reason: 'ok', key: await probeKey(), probedAt: '2026-01-01T00:00:00Z' });
  assert.equal((await chooseAccel(undefined, noProbe, missing)).accel, 'tcg');
});

test('a cached verdict is used only under the same key', async () => {
  const key = await probeKey();
  await saveVerdict({ usable: false, reason: 'emulation failure', key, probedAt: '2026-01-01T00:00:00Z' });
  assert.equal((await cachedVerdict(key))?.reason, 'emulation failure');
  assert.equal(await cachedVerdict(`${key} (other qemu)`), undefined);
  assert.deepEqual(await chooseAccel(undefined, noProbe, opens), {
    accel: 'tcg',
    notice: 'tailor: KVM unusable here (emulation failure); using TCG (slower)',
  });
  await saveVerdict({ usable: true, reason: 'ok', key, probedAt: '2026-01-01T00:00:00Z' });
  assert.deepEqual(await chooseAccel(undefined, noProbe, opens), { accel: 'kvm' });
  // A verdict under another key is not used: without a probe to run, TCG until one runs.
  await saveVerdict({ usable: true, reason: 'ok', key: `${key} (other qemu)`, probedAt: '2026-01-01T00:00:00Z' });
  assert.deepEqual(await chooseAccel(undefined, undefined, opens), {
    accel: 'tcg',
    notice: 'tailor: KVM unusable here (not probed yet); using TCG (slower)',
  });
});

for (const [failure, accel] of [['a Linux guest did not reach init within 10 s under KVM', 'tcg'], [undefined, 'kvm']] as const) {
  test(`without a verdict the probe runs once and its answer is recorded (${accel})`, async () => {
    rmSync(kvmProbeFile(), { force: true });
    let calls = 0;
    const probe = async (): Promise<string | undefined> => {
      calls++;
      return failure;
    };
    const first = await chooseAccel(undefined, probe, opens);
    assert.equal(first.accel, accel);
    if (failure) assert.match(first.notice ?? '', /did not reach init/);
    else assert.equal(first.notice, undefined);
    assert.ok(existsSync(kvmProbeFile()));
    assert.equal(JSON.parse(readFileSync(kvmProbeFile(), 'utf8')).usable, failure === undefined);
    assert.equal((await chooseAccel(undefined, probe, opens)).accel, accel);
    assert.equal(calls, 1);
  });
}

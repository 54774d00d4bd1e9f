// `tailor run` argument values and the summary line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.ts';
import { parseAccel, parseHypervisor, parseMemoryMiB, parsePositiveInt, parseTimeoutSeconds } from '../../src/run/run-args.ts';
import { summaryLine } from '../../src/run/runner.ts';
import { percentile, timeStats } from '../../src/analyze/measure.ts';

test('memory sizes: bare MiB, M, MiB, G, GiB', () => {
  assert.equal(parseMemoryMiB('128'), 128);
  assert.equal(parseMemoryMiB('512M'), 512);
  assert.equal(parseMemoryMiB('512MiB'), 512);
  assert.equal(parseMemoryMiB('1G'), 1024);
  assert.equal(parseMemoryMiB('2gib'), 2048);
  assert.equal(parseMemoryMiB('1.5G'), 1536);
  for (const bad of ['', 'lots', '12T', '-5', '100K']) assert.throws(() => parseMemoryMiB(bad), UsageError, bad);
});

test('counts, timeouts, hypervisors, accelerators', () => {
  assert.equal(parsePositiveInt('--cpus', '2'), 2);
  assert.throws(() => parsePositiveInt('--cpus', '0'), UsageError);
  assert.throws(() => parsePositiveInt('--cpus', '1.5'), UsageError);
  assert.equal(parseTimeoutSeconds('2.5'), 2.5);
  assert.throws(() => parseTimeoutSeconds('0'), UsageError);
  assert.equal(parseHypervisor('qemu_microvm'), 'qemu_microvm');
  assert.throws(() => parseHypervisor('xen'), (e: unknown) => e instanceof UsageError && /qemu_microvm/.test(e.hint ?? ''));
  assert.equal(parseAccel('kvm'), 'kvm');
  assert.throws(() => parseAccel('hvf'), UsageError);
});

test('the summary line names every figure and how it was measured', () => {
  const line = summaryLine({
    exitCode: 0, accel: 'tcg', guestToAppMs: 1291.6, hostToAppMs: 1700.2, hostTotalMs: 1766.9,
    memoryMiB: 128, console: '', timedOut: false,
  });
  assert.equal(
    line,
    "tailor: app started after 1292 ms guest time (CLOCK_BOOTTIME in the init's marker), 1700 ms host wall from QEMU start; " +
      'QEMU exited after 1767 ms host wall; accel=tcg; memory=128 MiB',
  );
  assert.match(summaryLine({ exitCode: 124, accel: 'kvm', hostTotalMs: 3000, memoryMiB: 64, console: '', timedOut: true }),
    /app-start marker not seen; QEMU exited after 3000 ms host wall \(stopped by --timeout\); accel=kvm; memory=64 MiB/);
});

test('bench statistics: min, median (even and odd counts), nearest-rank p99, max', () => {
  assert.deepEqual(timeStats([3, 1, 2]), { min: 1, median: 2, p99: 3, max: 3, runs: [3, 1, 2] });
  assert.deepEqual(timeStats([4, 1, 3, 2]), { min: 1, median: 2.5, p99: 4, max: 4, runs: [4, 1, 3, 2] });
  assert.throws(() => timeStats([]));
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
  assert.equal(percentile(hundred, 50), 50);
  assert.equal(percentile(hundred, 99), 99);
  assert.equal(percentile(hundred, 100), 100);
  assert.equal(percentile([7], 1), 7);
});

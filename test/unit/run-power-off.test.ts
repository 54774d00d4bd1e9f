/**
 * bootQemu's deadline for the guest's power-off after the init's
 * power-off marker (written after the exit marker, the unmounts and sync). The "hypervisor" here is a shell script printing the markers (a
 * fake in a unit test; the real guest path is in the e2e suites).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootQemu } from '../../src/run/runner.ts';

const fakeQemu = (script: string) => ({ binary: 'sh', args: ['-c', script], kernelFile: '', kernelForm: 'pvh-vmlinux' as const, cmdline: '' });
const markers = 'echo tailor:app-start boottime_ns=5000000 cmd=/app; echo tailor:exit status=3; echo tailor:power-off';

test('a guest that hangs after the power-off marker is stopped after the grace period, keeping the app status', async () => {
  const o = await bootQemu(fakeQemu(`${markers}; exec sleep 60`), { console: null, timeoutMs: 30_000, powerOffGraceMs: 300 });
  assert.equal(o.stuckAfterExit, true);
  assert.equal(o.timedOut, false);
  assert.equal(o.exitStatus, 3);
  assert.ok(o.hostTotalMs < 10_000, `stopped after ${o.hostTotalMs} ms, not at the 30 s timeout`);
});

test('a guest that powers off at once is not flagged; one that never prints the marker still meets --timeout', async () => {
  const quick = await bootQemu(fakeQemu(markers), { console: null, timeoutMs: 30_000, powerOffGraceMs: 300 });
  assert.equal(quick.stuckAfterExit, false);
  assert.equal(quick.exitStatus, 3);
  assert.equal(quick.qemuCode, 0);
  const hung = await bootQemu(fakeQemu('echo booting; exec sleep 60'), { console: null, timeoutMs: 500, powerOffGraceMs: 100 });
  assert.equal(hung.stuckAfterExit, false);
  assert.equal(hung.timedOut, true);
  assert.equal(hung.exitStatus, undefined);
});

test('without the power-off marker (unmounts and sync still running) there is no deadline but --timeout', async () => {
  const o = await bootQemu(fakeQemu('echo tailor:exit status=0; exec sleep 60'), { console: null, timeoutMs: 1500, powerOffGraceMs: 100 });
  assert.equal(o.stuckAfterExit, false);
  assert.equal(o.timedOut, true);
  assert.equal(o.exitStatus, 0);
});

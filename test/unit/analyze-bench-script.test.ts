// The measuring options every bench shares (declared once, checked once) and the boot series behind them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { addMeasureOptions, measureOptions, type MeasureOptionSpec } from '../../src/analyze/bench-script.ts';
import { bootSeries, summarize, type BootSample } from '../../src/analyze/measure.ts';
import { UsageError } from '../../src/errors.ts';

const full: MeasureOptionSpec = { boots: { default: 5, per: 'row' }, timeout: 90, memsize: '256', memoryBisection: true };
const parse = (spec: MeasureOptionSpec, argv: string[]) => {
  const cmd = addMeasureOptions(new Command('bench:x').exitOverride().configureOutput({ writeErr: () => {} }), spec);
  cmd.parse(argv, { from: 'user' });
  return measureOptions(cmd, spec);
};

test('defaults come from the spec', () => {
  assert.deepEqual(parse(full, []), { n: 5, timeout: 90, json: false, memory: true, memoryMiB: 256 });
  assert.deepEqual(parse({ timeout: 180 }, []), { n: 1, timeout: 180, json: false, memory: false });
});

test('given values are parsed: -n, -m with a unit, --accel, --timeout, --no-memory, --json', () => {
  assert.deepEqual(parse(full, ['-n', '3', '-m', '1G', '--accel', 'tcg', '--timeout', '2.5', '--no-memory', '--json']), {
    n: 3, accel: 'tcg', timeout: 2.5, json: true, memory: false, memoryMiB: 1024,
  });
});

test('bad values are usage errors naming the option; options a bench does not take are unknown', () => {
  assert.throws(() => parse(full, ['-n', '0']), (e: unknown) => e instanceof UsageError && /-n "0"/.test(e.message));
  assert.throws(() => parse(full, ['--accel', 'hvf']), (e: unknown) => e instanceof UsageError && /accelerator "hvf"/.test(e.message));
  assert.throws(() => parse(full, ['--timeout', '-1']), (e: unknown) => e instanceof UsageError && /--timeout "-1"/.test(e.message));
  assert.throws(() => parse(full, ['-m', 'lots']), (e: unknown) => e instanceof UsageError && /memory size "lots"/.test(e.message));
  assert.throws(() => parse({ timeout: 10 }, ['-n', '3']), /unknown option '-n'/);
  assert.throws(() => parse({ timeout: 10 }, ['--no-memory']), /unknown option '--no-memory'/);
});

const sample = (ms: number): BootSample => ({ guestToAppMs: ms, hostToAppMs: ms * 2, hostTotalMs: ms * 3, accel: 'tcg', hypervisor: 'qemu_microvm' });

test('a boot series stops at the first failure, or with keepGoing counts failures and keeps the rest', async () => {
  const script = [10, 'no app-start marker', 30, 20] as const;
  const boots = () => {
    let i = 0;
    return async () => {
      const x = script[i++]!;
      if (typeof x === 'string') throw new Error(x);
      return sample(x);
    };
  };
  const lines: string[] = [];
  await assert.rejects(bootSeries(4, boots(), { log: (s) => lines.push(s) }), /boot 2\/4 failed: no app-start marker/);
  const s = await bootSeries(4, boots(), { log: (s) => lines.push(s), keepGoing: true });
  assert.deepEqual(s.failures, [{ boot: 2, error: 'no app-start marker' }]);
  assert.equal(s.samples.length, 3);
  assert.ok(lines.some((l) => /boot 4\/4: guest 20 ms, host to app 40 ms, host to exit 60 ms/.test(l)), lines.join('\n'));
  const m = summarize(s.samples);
  assert.deepEqual([m.guestToAppMs.min, m.guestToAppMs.median, m.guestToAppMs.p99, m.guestToAppMs.max], [10, 20, 30, 30]);
  assert.equal(m.hostTotalMs.median, 60);
});

/** Boot chart parsing and phase arithmetic on console text in the kernel's and the init's real formats. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computePhases, parsePhaseMarkers, formatBootchart } from '../../src/analyze/bootchart.ts';
import { labelInitcalls, parseInitcallLines, parseSystemMap } from '../../src/analyze/initcalls.ts';
import { bootchartSvg } from '../../src/analyze/bootchart-svg.ts';

const consoleText = [
  '[    0.000000] Linux version 6.1.192',
  '[    0.100000] calling  0xffffffff80a75357 @ 1',
  '[    0.110000] initcall 0xffffffff80a75357 returned 0 after 9000 usecs',
  '[    0.300000] calling  net_ns_init+0x0/0x20 @ 1',
  '[    0.300000] initcall net_ns_init+0x0/0x20 returned 0 after 0 usecs',
  '[    0.310000] calling  kswapd_init+0x0/0x60 @ 1',
  '[    0.350000] initcall kswapd_init+0x0/0x60 returned -19 after 40000 usecs',
  'tailor:phase name=kernel boottime_ns=500000000',
  'tailor:phase name=base-mounts boottime_ns=510000000',
  'tailor:phase name=kernel boottime_ns=500000000', // replayed once --bootchart is parsed
  'tailor:phase name=cmdline boottime_ns=530000000',
  'tailor:phase name=app-start boottime_ns=560000000',
  'tailor:app-start boottime_ns=560000000 cmd=/hello',
].join('\r\n');

describe('bootchart', () => {
  test('initcall_debug lines: names, addresses, printk times and the kernel\'s durations', () => {
    const runs = parseInitcallLines(consoleText);
    assert.equal(runs.length, 3);
    assert.equal(runs[0]!.address, 0xffffffff80a75357n);
    assert.equal(runs[0]!.startMs, 100);
    assert.equal(runs[0]!.durationMs, 9);
    assert.equal(runs[2]!.fn, 'kswapd_init');
    assert.equal(runs[2]!.endMs, 350);
    const map = parseSystemMap('ffffffff80a75357 t spawn_ksoftirqd\nffffffff80a00000 T net_ns_init\n');
    const levels = new Map([[0xffffffff80a75357n, 'early' as const], [0xffffffff80a00000n, 'pure' as const]]);
    const labelled = labelInitcalls(runs, map, levels);
    assert.deepEqual(labelled.map((r) => [r.fn, r.level]), [['spawn_ksoftirqd', 'early'], ['net_ns_init', 'pure'], ['kswapd_init', undefined]]);
  });

  test('phases are consecutive and add up to the app-start time; gaps between levels are their own phase', () => {
    const markers = parsePhaseMarkers(consoleText);
    assert.deepEqual(markers.map((m) => m.name), ['kernel', 'base-mounts', 'cmdline', 'app-start']);
    const map = parseSystemMap('ffffffff80a75357 t spawn_ksoftirqd\n');
    const runs = labelInitcalls(parseInitcallLines(consoleText), map, new Map([[0xffffffff80a75357n, 'early' as const]]));
    const phases = computePhases(markers, runs);
    for (let i = 1; i < phases.length; i++) assert.equal(phases[i]!.startMs, phases[i - 1]!.endMs);
    assert.equal(phases.at(-1)!.endMs, 560);
    assert.equal(phases.reduce((n, p) => n + p.durationMs, 0), 560);
    const names = phases.map((p) => p.name);
    assert.equal(names[0], 'setup (to the first init call)');
    assert.ok(names.includes('early init calls (1)'));
    assert.ok(names.includes('work before the other init calls'));
    assert.equal(phases.find((p) => p.name === 'work before the other init calls')!.durationMs, 190);
    assert.equal(phases.find((p) => p.name === 'cmdline')!.durationMs, 20);
    const withExec = computePhases(markers, runs, 565);
    assert.deepEqual(withExec.at(-1), { name: 'app exec', kind: 'init', startMs: 560, endMs: 565, durationMs: 5 });
    const b = { build: 't', accel: 'tcg' as const, memoryMiB: 64, phases, guestToAppMs: 560, phaseSumMs: 560, initcalls: runs, method: 'test' };
    assert.match(formatBootchart(b), /\tcmdline: 530\.00ms, \(\+20\.00ms\)/);
    const svg = bootchartSvg(b);
    assert.equal((svg.match(/class="phase"/g) ?? []).length, phases.length);
    assert.match(svg, /app start 560\.0 ms/);
  });

  test('a console without the init\'s kernel marker is an error that says to rebuild', () => {
    assert.throws(() => computePhases([], []), /tailor:phase name=kernel/);
  });
});

/** tailor bench: rows from profiles and option sets, the table's ratios against the first row, the page's charts. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { benchRows, benchTableRows, type BenchResult } from '../../src/analyze/bench.ts';
import { benchHtml } from '../../src/analyze/bench-html.ts';
import { median, timeStats } from '../../src/analyze/measure.ts';
import { UsageError } from '../../src/errors.ts';

const boots = (guest: number, host: number, mem?: number) => ({
  hypervisor: 'qemu_microvm', accel: 'tcg' as const,
  guestToAppMs: timeStats([guest]), hostTotalMs: timeStats([host]),
  ...(mem !== undefined ? { minMemoryMiB: mem } : {}),
});

describe('tailor bench', () => {
  test('rows: one per profile, one per option set; none or a repeated row is a usage error', () => {
    assert.deepEqual(benchRows(['minimal', 'serverless'], ['conf_drivers_xen=1  fs=rofs']), [
      { label: 'minimal', args: ['--profile=minimal'] },
      { label: 'serverless', args: ['--profile=serverless'] },
      { label: 'conf_drivers_xen=1  fs=rofs', args: ['conf_drivers_xen=1', 'fs=rofs'] },
    ]);
    assert.throws(() => benchRows([], []), UsageError);
    assert.throws(() => benchRows(['minimal', 'minimal'], []), /given twice/);
  });

  test('ratios against the first row that worked; failed rows say why', () => {
    const results: BenchResult[] = [
      { label: 'broken', args: [], error: 'kernel build failed' },
      { label: 'a', args: [], kernelFlavour: 'custom', bzImage: 1048576, imageBytes: 1048576, totalBytes: 2097152, boots: boots(800, 1000, 20) },
      { label: 'b', args: [], kernelFlavour: 'stock', bzImage: 8388608, imageBytes: 0, totalBytes: 8388608, boots: boots(2400, 3000, 80) },
    ];
    const rows = benchTableRows(results);
    assert.match(rows[0]![5]!, /^failed: kernel build failed/);
    assert.equal(rows[1]![4], '2.00 MiB (1.00x)');
    assert.equal(rows[2]![4], '8.00 MiB (4.00x)');
    assert.equal(rows[2]![5], '2400 ms (3.00x)');
    assert.equal(rows[2]![7], '80 MiB (4.00x)');
    const html = benchHtml(results, 5);
    assert.equal((html.match(/<svg class="chart"/g) ?? []).length, 4);
    assert.match(html, /data-label="b"/);
  });

  test('median of odd and even counts', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
});

// bench:lupine's table: which machine ran which rows, ratios against the same app's stock row, and --from.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { machines, savedRows, tableRows, type Row } from '../../bench/lupine.ts';
import { UsageError } from '../../src/errors.ts';

const row = (app: string, variant: Row['variant'], hypervisor: string, kernelBytes: number, ready: number): Row => ({
  app, variant, args: [], accel: 'tcg', hypervisor, kernelBytes, imageBytes: 1e6, readyMs: { median: ready, runs: [ready] },
});
const rows = [row('hello', 'stock', 'qemu_microvm', 8e6, 4000), row('hello', 'default', 'qemu_microvm', 2e6, 1000), row('redis', 'stock', 'qemu', 8e6, 8000), row('redis', 'default', 'qemu', 4e6, 2000)];

test('the footer names the machine of each group of rows: network rows ran on q35, not microvm', () => {
  assert.equal(machines(rows), 'qemu_microvm accel=tcg for hello; qemu accel=tcg for redis');
  assert.equal(machines(rows.slice(2)), 'qemu accel=tcg');
});

test('ratios are against the same application stock row', () => {
  const t = tableRows(rows);
  assert.equal(t[1]![2], '2.00 MB (0.25x)');
  assert.equal(t[3]![4], '2000 ms (0.25x)');
  assert.equal(t[2]![4], '8000 ms (1.00x)');
});

const dir = mkdtempSync(join(tmpdir(), 'lupine-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('--from joins runs; an application measured again keeps its last run', () => {
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, JSON.stringify({ rows: rows }));
  const again = [row('redis', 'stock', 'qemu', 8e6, 9000), row('redis', 'default', 'qemu', 4e6, 3000)];
  writeFileSync(b, JSON.stringify({ rows: again }));
  const joined = savedRows([a, b]);
  assert.deepEqual(joined.map((r) => `${r.app}/${r.variant}/${r.readyMs?.median}`), ['hello/stock/4000', 'hello/default/1000', 'redis/stock/9000', 'redis/default/3000']);
});

test('--from with a file that is no bench output is a usage error naming it', () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"table": []}');
  assert.throws(() => savedRows([bad]), (e: unknown) => e instanceof UsageError && e.message.includes(bad) && /rows/.test(e.message));
  assert.throws(() => savedRows([join(dir, 'none.json')]), (e: unknown) => e instanceof UsageError && e.message.includes('none.json'));
});

test('the memory bisection with a step stops at a bracket that narrow, in fewer boots', async () => {
  const { bisectMemory } = await import('../../src/analyze/measure.ts');
  let boots = 0;
  const works = async (mib: number) => (boots++, mib >= 70);
  assert.equal(await bisectMemory(256, works, () => {}), 70);
  const exact = boots;
  boots = 0;
  const coarse = await bisectMemory(256, works, () => {}, 16);
  assert.ok(coarse >= 70 && coarse - 16 < 70, `${coarse} is within 16 MiB above 70`);
  assert.ok(boots < exact, `${boots} boots against ${exact}`);
});

/**
 * tailor bootchart and tailor trace on a real boot (Debian's stock kernel,
 * which has tracing built in; the Tailor init; QEMU under TCG).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fixtureUnavailable } from './run-fixture.ts';
import { build, runTailor } from './analyze-helpers.ts';
import type { Bootchart } from '../../src/analyze/bootchart.ts';

let unavailable: string | undefined;
let dir = '';
before(async () => {
  unavailable = await fixtureUnavailable();
  if (unavailable) return;
  dir = await build('analyze-e2e-stock', ['image=native-example', 'fs=ramfs', 'kernel=stock']);
}, { timeout: 10 * 60_000 });

test('tailor bootchart: kernel and init phases that add up to the guest time to app start (within 5%)', { timeout: 5 * 60_000 }, async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await runTailor(['bootchart', 'analyze-e2e-stock', '--accel', 'tcg', '--json', '--html', join(dir, 'bootchart.html')]);
  assert.equal(r.code, 0, r.stderr);
  const b = JSON.parse(r.stdout) as Bootchart;
  assert.ok(b.initcalls.length > 50, `${b.initcalls.length} init calls seen`);
  assert.ok(b.phases.some((p) => p.kind === 'kernel' && / init calls \(\d+\)$/.test(p.name)));
  for (const name of ['modules', 'filesystems', 'app-start']) assert.ok(b.phases.some((p) => p.kind === 'init' && p.name === name), name);
  assert.ok(Math.abs(b.phaseSumMs - b.guestToAppMs) <= 0.05 * b.guestToAppMs, `phases ${b.phaseSumMs} vs app start ${b.guestToAppMs}`);
  for (const p of b.phases) assert.ok(p.durationMs >= 0);
  assert.ok(existsSync(join(dir, 'bootchart.html')));
  const text = await runTailor(['bootchart', 'analyze-e2e-stock', '--accel', 'tcg']);
  assert.match(text.stdout, /\tapp-start: [\d.]+ms, \(\+[\d.]+ms\)/);
  assert.match(text.stdout, /sum of phases [\d.]+ ms; guest time to app start [\d.]+ ms/);
});

test("tailor run -e '--trace=sched* /hello' then tailor trace summary/list/prof: sched events with counts", { timeout: 5 * 60_000 }, async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await runTailor(['run', 'analyze-e2e-stock', '--accel', 'tcg', '--timeout', '120', '-e', '--trace=sched* /hello']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Hello from Tailor's native-example/);
  assert.doesNotMatch(r.stdout, /^tailor:trace /m, 'the trace block stays off the terminal');
  assert.match(r.stderr, /tailor: trace saved to .*trace\.out \(\d+ lines\)/);
  const trace = readFileSync(join(dir, 'trace.out'), 'utf8');
  assert.match(trace, /^# tailor:event sched:sched_switch$/m);
  const s = await runTailor(['trace', 'summary', 'analyze-e2e-stock', '--json']);
  assert.equal(s.code, 0, s.stderr);
  const summary = JSON.parse(s.stdout) as { records: number; events: { event: string; count: number }[] };
  const sched = summary.events.filter((e) => e.event.startsWith('sched_') && e.count > 0);
  assert.ok(sched.length >= 2, JSON.stringify(summary.events.slice(0, 5)));
  assert.ok(summary.events.find((e) => e.event === 'sched_switch')!.count > 0);
  const l = await runTailor(['trace', 'list', 'analyze-e2e-stock']);
  assert.match(l.stdout, /sched:sched_switch\s+\d+/);
  const p = await runTailor(['trace', 'prof', 'analyze-e2e-stock']);
  assert.match(p.stdout, /on-CPU \(sched_switch\)\s+hello-\d+/);
  // A pattern matching nothing fails before the app runs, naming the pattern.
  const none = await runTailor(['run', 'analyze-e2e-stock', '--accel', 'tcg', '--timeout', '120', '-e', '--trace=nosuchevent* /hello']);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /tailor:error --trace=nosuchevent\* matches none/);
  assert.doesNotMatch(none.stdout, /Hello from Tailor/);
});

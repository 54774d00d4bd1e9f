// Seeded fuzz of the analysis readers: the trace block on the console and
// build/<name>/trace.out (src/run/trace-capture.ts, src/analyze/trace.ts), and
// the bootchart inputs (console initcall_debug lines and phase markers,
// System.map, the initcall tables in vmlinux; src/analyze/bootchart.ts and
// initcalls.ts). These readers skip lines they do not know (a console is
// mostly other text), so the properties are: no exception but a TailorError,
// bounded CPU per input, and results that keep their own rules (finite
// times; bootchart phases consecutive, each starting where the last ended).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { countEvents, profile, readTraceFile, window } from '../../src/analyze/trace.ts';
import { computePhases, formatBootchart, parsePhaseMarkers } from '../../src/analyze/bootchart.ts';
import { initcallLevelsFromVmlinux, labelInitcalls, parseInitcallLines, parseSystemMap } from '../../src/analyze/initcalls.ts';
import { extractTrace, formatTraceFile } from '../../src/run/trace-capture.ts';
import { parseElf } from '../../src/elf/index.ts';
import { awkward, describe, expectNames, fuzz, mutatedSample, textOf } from './fuzz-support.ts';

const num = fc.oneof(
  fc.double({ min: 0, max: 1e6, noNaN: true }).map((n) => n.toFixed(6)),
  fc.constantFrom('0.000000', '1e308', '99999999999999999999.9', '-1.0', '.5', '1.', 'NaN'),
);
const task = fc.oneof(fc.constantFrom('init', 'kworker/0:1', 'swapper/0', 'a-b-c', '<idle>', ' '), awkward);
const event = fc.oneof(fc.constantFrom('sched_switch', 'irq_handler_entry', 'irq_handler_exit', 'x_start', 'x_end', 'sys_enter', 'a:b'), awkward);
const details = fc.oneof(
  fc.tuple(task, fc.nat(), task, fc.nat()).map(([p, pp, n, np]) => `prev_comm=${p} prev_pid=${pp} prev_prio=120 prev_state=R ==> next_comm=${n} next_pid=${np} next_prio=120`),
  fc.constantFrom('irq=4 name=ttyS0', 'irq=4 ret=handled', '', 'prev_comm= next_comm='),
  awkward,
);
const tracefsLine = fc.oneof(
  {
    arbitrary: fc
      .tuple(task, fc.nat({ max: 99999 }), fc.nat({ max: 999 }), fc.constantFrom('d..2.', 'd.h1.', '', '.....'), num, event, details)
      .map(([tk, pid, cpu, flags, time, ev, d]) => `${tk.padStart(16)}-${pid} [${String(cpu).padStart(3, '0')}] ${flags} ${time}: ${ev}: ${d}`),
    weight: 6,
  },
  { arbitrary: fc.constantFrom('# tracer: nop', '#', '', '   ', '# tailor trace: INCOMPLETE', '# tailor:event sched:sched_switch'), weight: 1 },
  { arbitrary: awkward, weight: 1 },
);
/** The console around a trace block, as the init prints it (lines prefixed, header and end lines). */
const traceConsole = fc
  .tuple(fc.array(tracefsLine, { maxLength: 16 }), fc.array(fc.oneof(event, fc.constantFrom('sched:sched_switch')), { maxLength: 3 }), fc.boolean(), fc.array(awkward, { maxLength: 2 }))
  .map(([lines, events, ended, noise]) =>
    [...noise, `tailor:trace-begin events=${events.length}`, ...events.map((e) => `tailor:trace-event ${e}`), ...lines.map((l) => `tailor:trace ${l}`), ...(ended ? [`tailor:trace-end lines=${lines.length}`] : []), 'tailor:exit status=0'].join('\r\n'),
  );
const sampleTrace = Buffer.from(
  [
    '# tailor trace: 2 events enabled',
    '# tailor:event sched:sched_switch',
    '# tailor:event irq:irq_handler_entry',
    '            init-1       [000] d..2.     2.000000: sched_switch: prev_comm=init prev_pid=1 prev_prio=120 prev_state=R ==> next_comm=kworker/0:1 next_pid=17 next_prio=120',
    '     kworker/0:1-17      [000] d..2.     2.000400: sched_switch: prev_comm=kworker/0:1 prev_pid=17 prev_prio=120 prev_state=I ==> next_comm=init next_pid=1 next_prio=120',
    '            init-1       [000] d.h1.     2.001000: irq_handler_entry: irq=4 name=ttyS0',
    '            init-1       [000] d.h1.     2.001250: irq_handler_exit: irq=4 ret=handled',
    '',
  ].join('\n'),
);

test('trace: console blocks and trace.out files, only TailorErrors, finite times', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-fuzz-trace-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'trace.out');
  const o = fuzz({
    seed: 0x747263,
    numRuns: 3000,
    budgetMs: 15_000,
    slowMs: 500,
    input: fc.oneof(
      traceConsole.map((c) => ({ console: c })),
      textOf(tracefsLine, 16).map((text) => ({ text })),
      mutatedSample([sampleTrace]).map((b) => ({ text: b.toString('latin1') })),
    ),
    parse: (input) => {
      let text: string | undefined;
      if ('console' in input) {
        const captured = extractTrace(input.console);
        text = captured ? formatTraceFile(captured) : undefined;
      } else text = input.text;
      if (text === undefined) return;
      writeFileSync(file, text, 'latin1');
      const trace = readTraceFile(file);
      for (const r of trace.records) assert.ok(Number.isFinite(r.time) && Number.isInteger(r.pid) && Number.isInteger(r.cpu), `record ${JSON.stringify(r)}`);
      countEvents(window(trace.records, 1, 3), trace.enabled);
      for (const p of profile(trace.records)) assert.ok(Number.isFinite(p.totalMs) && p.count > 0, `pair ${JSON.stringify(p)}`);
    },
    rejection: (err) => expectNames(err, file),
  });
  t.diagnostic(describe('trace (console block and trace.out)', o));
  assert.ok(o.inputs >= 300, `only ${o.inputs} inputs inside the time budget`);
});

const stamp = fc.oneof(
  fc.tuple(fc.nat({ max: 99 }), fc.nat({ max: 999999 })).map(([s, us]) => `[${String(s).padStart(5)}.${String(us).padStart(6, '0')}] `),
  fc.constantFrom('[    0.1] ', '[', '[ 99999999999999999999.000000] ', '[-1.000000] ', ''),
);
const fn = fc.oneof(fc.constantFrom('net_ns_init+0x0/0x20', '0xffffffff80a75357', 'kswapd_init', '0x', 'a+0x1/0x'), awkward);
const consoleLine = fc.oneof(
  { arbitrary: fc.tuple(stamp, fn, fc.nat({ max: 9 })).map(([s, f, p]) => `${s}calling  ${f} @ ${p}`), weight: 3 },
  { arbitrary: fc.tuple(stamp, fn, fc.integer({ min: -40, max: 1 }), fc.oneof(fc.nat().map(String), fc.constantFrom('99999999999999999999999'))).map(([s, f, r, us]) => `${s}initcall ${f} returned ${r} after ${us} usecs`), weight: 3 },
  {
    arbitrary: fc.tuple(fc.constantFrom('kernel', 'base-mounts', 'cmdline', 'app-start', 'x y', ''), fc.oneof(fc.nat().map(String), fc.constantFrom('99999999999999999999999999', '-5', '1e9'))).map(([n, ns]) => `tailor:phase name=${n} boottime_ns=${ns}`),
    weight: 3,
  },
  { arbitrary: awkward, weight: 1 },
);
const sampleMap = Buffer.from('ffffffff81000000 T _stext\nffffffff80a75357 t spawn_ksoftirqd\nffffffff82000000 D __initcall_start\nffffffff82000010 D __initcall_end\n');

test('bootchart: console lines, System.map and the phase computation, only TailorErrors; phases stay consecutive', (t) => {
  const o = fuzz({
    seed: 0x626f6f,
    numRuns: 3000,
    budgetMs: 15_000,
    slowMs: 500,
    input: fc.tuple(
      // most consoles have the init's kernel marker somewhere, or the phases are not computed at all
      fc.tuple(textOf(consoleLine, 16), fc.boolean(), textOf(consoleLine, 4)).map(([a, marker, b]) => `${a}\n${marker ? 'tailor:phase name=kernel boottime_ns=500000000\n' : ''}${b}`),
      mutatedSample([sampleMap]),
      fc.option(fc.double({ min: 0, max: 1e4, noNaN: true })),
    ),
    parse: ([consoleText, map, appStart]) => {
      const symbols = parseSystemMap(map.toString('latin1'));
      const runs = labelInitcalls(parseInitcallLines(consoleText), symbols, new Map([[0xffffffff80a75357n, 'early' as const]]));
      const phases = computePhases(parsePhaseMarkers(consoleText), runs, appStart ?? undefined);
      for (let i = 0; i < phases.length; i++) {
        const p = phases[i]!;
        assert.ok(Number.isFinite(p.startMs) && Number.isFinite(p.endMs), `phase ${JSON.stringify(p)}`);
        assert.ok(p.durationMs >= 0, `negative phase ${JSON.stringify(p)}`);
        if (i > 0) assert.equal(p.startMs, phases[i - 1]!.endMs, 'phases must be consecutive');
      }
      const sum = phases.reduce((n, p) => n + p.durationMs, 0);
      formatBootchart({ build: 'fz', accel: 'tcg', memoryMiB: 64, phases, guestToAppMs: phases.at(-1)?.endMs ?? 0, phaseSumMs: sum, initcalls: runs, method: 'fuzz' });
    },
    // the one refusal: a console without the init's kernel marker
    rejection: (err) => assert.match(err.message, /tailor:phase name=kernel/),
  });
  t.diagnostic(describe('bootchart (console, System.map)', o));
  assert.ok(o.inputs >= 300, `only ${o.inputs} inputs inside the time budget`);
  assert.ok(o.accepted > 0 && o.rejected > 0);
});

const vmlinuxSample = ['/bin/ls', '/lib/x86_64-linux-gnu/libz.so.1'].find((p) => existsSync(p));

test('bootchart: initcall tables read from damaged ELF files, only an ElfError naming the file', { skip: !vmlinuxSample && 'no /bin/ls or libz to stand in for vmlinux' }, (t) => {
  const sample = readFileSync(vmlinuxSample!);
  // the table symbols point into the sample's sections, at their edges and beyond
  const sections = parseElf(sample, vmlinuxSample!).sections.filter((s) => s.addr > 0n);
  const edges = sections.flatMap((s) => [s.addr, s.addr + BigInt(s.size) - 4n, s.addr + BigInt(s.size), s.addr + BigInt(s.size) + 8n]);
  const addr = fc.oneof(fc.constantFrom(...edges), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
  const o = fuzz({
    seed: 0x766d6c,
    numRuns: 1500,
    budgetMs: 15_000,
    slowMs: 500,
    input: fc.tuple(fc.oneof(fc.constant(sample), mutatedSample([sample])), addr, fc.nat({ max: 64 }), fc.boolean()),
    parse: ([elf, start, entries, prel32]) => {
      const end = start + BigInt(entries * (prel32 ? 4 : 8));
      const byName = new Map([['__initcall_start', start], ['__initcall6_start', start + 8n], ['__initcall_end', end]]);
      initcallLevelsFromVmlinux(elf, { names: new Map(), byName }, prel32);
    },
    rejection: (err) => expectNames(err, 'vmlinux'),
  });
  t.diagnostic(describe('bootchart (initcall tables in vmlinux)', o));
  assert.ok(o.inputs >= 300, `only ${o.inputs} inputs inside the time budget`);
});

/** tailor trace: the console block → trace.out, and the host analysis of tracefs text (format as Linux 6.1 writes it). */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { countEvents, parseTrace, parseTraceTime, profile, window } from '../../src/analyze/trace.ts';
import { extractTrace, formatTraceFile, traceConsoleFilter, wantsTrace } from '../../src/run/trace-capture.ts';

const tracefs = [
  '# tracer: nop',
  '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
  '            init-1       [000] d..2.     2.000000: sched_switch: prev_comm=init prev_pid=1 prev_prio=120 prev_state=R ==> next_comm=kworker/0:1 next_pid=17 next_prio=120',
  '     kworker/0:1-17      [000] d..2.     2.000400: sched_switch: prev_comm=kworker/0:1 prev_pid=17 prev_prio=120 prev_state=I ==> next_comm=init next_pid=1 next_prio=120',
  '            init-1       [000] d.h1.     2.001000: irq_handler_entry: irq=4 name=ttyS0',
  '            init-1       [000] d.h1.     2.001250: irq_handler_exit: irq=4 ret=handled',
  '            init-1       [000] d..2.     2.003000: sched_switch: prev_comm=init prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120',
];
const consoleText = [
  'Hello from the app',
  'tailor:trace-begin events=3',
  'tailor:trace-event sched:sched_switch',
  'tailor:trace-event irq:irq_handler_entry',
  'tailor:trace-event irq:irq_handler_exit',
  ...tracefs.map((l) => `tailor:trace ${l}`),
  'tailor:trace-end lines=7',
  'tailor:exit status=0',
].join('\r\n');

describe('trace capture (runner side)', () => {
  test('--trace is recognised as an option word only', () => {
    assert.ok(wantsTrace('--trace=sched* /hello'));
    assert.ok(wantsTrace('--verbose --trace sched /hello'));
    assert.ok(!wantsTrace('/hello --tracer'));
    assert.ok(!wantsTrace('/hello'));
  });

  test('the block becomes trace.out: events in the header, tracefs lines verbatim', () => {
    const t = extractTrace(consoleText)!;
    assert.equal(t.complete, true);
    assert.deepEqual(t.events, ['sched:sched_switch', 'irq:irq_handler_entry', 'irq:irq_handler_exit']);
    assert.deepEqual(t.lines, tracefs);
    const file = parseTrace(formatTraceFile(t));
    assert.equal(file.records.length, 5);
    assert.deepEqual(file.enabled, t.events);
    assert.equal(extractTrace('no block here\n'), undefined);
    assert.equal(extractTrace('tailor:trace-begin events=1\ntailor:trace x\n')!.complete, false);
  });

  test('the console copy drops the block lines even when chunks split them, and keeps everything else', async () => {
    const sink = new PassThrough();
    let shown = '';
    sink.on('data', (b: Buffer) => (shown += b.toString()));
    const f = traceConsoleFilter(sink);
    for (let i = 0; i < consoleText.length; i += 7) f.write(consoleText.slice(i, i + 7));
    await new Promise<void>((res) => f.end(res));
    assert.equal(shown, 'Hello from the app\r\ntailor:trace-begin events=3\r\ntailor:trace-end lines=7\r\ntailor:exit status=0');
  });
});

describe('trace analysis (host side)', () => {
  const file = parseTrace(tracefs.join('\n'));

  test('records: task, pid, cpu, time, event, details', () => {
    assert.equal(file.records.length, 5);
    assert.deepEqual({ ...file.records[1]!, details: '' }, { task: 'kworker/0:1', pid: 17, cpu: 0, time: 2.0004, event: 'sched_switch', details: '' });
  });

  test('summary counts per event, enabled-but-silent events listed with 0', () => {
    const c = countEvents(file.records, ['sched:sched_switch', 'sched:sched_wakeup']);
    assert.deepEqual(c.map((x) => [x.event, x.count]), [['sched_switch', 3], ['irq_handler_entry', 1], ['irq_handler_exit', 1], ['sched_wakeup', 0]]);
  });

  test('prof: on-CPU slices per task from sched_switch, entry/exit pairs', () => {
    const p = profile(file.records);
    const get = (pair: string, task: string) => p.find((s) => s.pair === pair && s.task === task);
    assert.ok(Math.abs(get('on-CPU (sched_switch)', 'kworker/0:1-17')!.totalMs - 0.4) < 1e-9);
    assert.ok(Math.abs(get('on-CPU (sched_switch)', 'init-1')!.totalMs - 2.6) < 1e-9);
    assert.ok(Math.abs(get('irq_handler_entry→irq_handler_exit', 'init-1')!.maxMs - 0.25) < 1e-9);
  });

  test('--since/--until window and their time syntax', () => {
    assert.equal(parseTraceTime('--since', '2.0005'), 2.0005);
    assert.equal(parseTraceTime('--since', '2000.5ms'), 2.0005);
    assert.equal(parseTraceTime('--until', '1500us'), 0.0015);
    assert.throws(() => parseTraceTime('--since', 'soon'), /--since soon/);
    assert.equal(window(file.records, 2.0005, 2.002).length, 2);
  });
});

// The console scanner fed real console text captured from boots of Debian's 6.1 kernel in QEMU (TCG).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleScanner, parseConsoleLine, type ConsoleEvent } from '../../src/run/console-markers.ts';

// q35: SeaBIOS clears the screen and prints "Booting from ROM.." with no newline before the init's marker.
const q35Console =
  '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n' +
  'Booting from ROM..tailor:app-start boottime_ns=2418656556 cmd=fixture\r\n' +
  'hello from the fixture\r\n' +
  'tailor:exit status=5\r\n' +
  '[    2.397187] reboot: Restarting system\r\n';

const microvmPanic =
  '[    0.000000] ACPI BIOS Error (bug): A valid RSDP was not found (20220331/tbxfroot-210)\r\n' +
  '[    1.048000] PCI: Fatal: No config space access function found\r\n' +
  'tailor:app-start boottime_ns=2232061000 cmd=fixture\r\n' +
  '[    2.240061] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\r\n' +
  '[    2.240061] CPU: 0 PID: 1 Comm: init Not tainted 6.1.0-56-amd64 #1  Debian 6.1.192-2\r\n' +
  '[    2.240061] Kernel Offset: disabled\r\n';

function scan(text: string, chunkSize: number): { events: ConsoleEvent[]; scanner: ConsoleScanner } {
  const events: ConsoleEvent[] = [];
  const scanner = new ConsoleScanner((e) => events.push(e));
  for (let i = 0; i < text.length; i += chunkSize) scanner.push(text.slice(i, i + chunkSize));
  scanner.end();
  return { events, scanner };
}

test('markers are found after firmware output, in any chunking', () => {
  for (const size of [1, 3, 7, 64, 100_000]) {
    const { events, scanner } = scan(q35Console, size);
    assert.deepEqual(events, [
      { kind: 'app-start', marker: { boottimeNs: 2418656556, cmd: 'fixture' } },
      { kind: 'exit', status: 5 },
    ], `chunk size ${size}`);
    assert.equal(scanner.text, q35Console);
    // Error messages quote the last lines: without the firmware's terminal control sequences.
    assert.equal(scanner.lastLines()[0], 'SeaBIOS (version 1.16.2-debian-1.16.2-1)');
  }
});

test('a kernel panic is reported with its line; last lines have no carriage returns', () => {
  const { events, scanner } = scan(microvmPanic, 13);
  assert.deepEqual(events.map((e) => e.kind), ['app-start', 'panic']);
  const panic = events[1] as Extract<ConsoleEvent, { kind: 'panic' }>;
  assert.match(panic.line, /Attempted to kill init/);
  assert.equal(scanner.lastLines(2)[1], '[    2.240061] Kernel Offset: disabled');
  assert.ok(scanner.lastLines().every((l) => !l.includes('\r')));
});

test('a last line without a newline is still read at end of stream', () => {
  const { events } = scan('x\ntailor:exit status=0', 4);
  assert.deepEqual(events, [{ kind: 'exit', status: 0 }]);
});

test('single lines: init errors, exit statuses, non-markers', () => {
  assert.deepEqual(parseConsoleLine('tailor:error unknown option --nosuchopt'), {
    kind: 'init-error',
    message: 'unknown option --nosuchopt',
  });
  assert.deepEqual(parseConsoleLine('tailor:exit status=127\r'), { kind: 'exit', status: 127 });
  assert.deepEqual(parseConsoleLine('tailor:app-start boottime_ns=5'), { kind: 'app-start', marker: { boottimeNs: 5 } });
  assert.equal(parseConsoleLine('tailor:exit status=abc'), undefined);
  assert.equal(parseConsoleLine('tailor:app-start'), undefined);
  assert.equal(parseConsoleLine('hello world'), undefined);
});

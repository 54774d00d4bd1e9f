// Seeded fuzz of the --user-data reader. The host does not parse the user data
// (tailor run only checks that the file exists and hands it to QEMU fw_cfg);
// the reader is the guest's C cloud-init (guest/cloud-init/cloud-init.c). So
// its parser runs here on the host, built with ASan/UBSan inside a harness
// that parses without applying (test/unit/fuzz-cloud-init-harness.c), on
// thousands of near-valid and mutated #cloud-config documents in one process.
// Properties: no crash or sanitizer report; every refusal is one error line
// naming the line of the document ("line N:"), except the two that concern
// the whole document (no #cloud-config header, a NUL byte).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { exec, hasCommand } from '../../src/util/exec.ts';
import { awkward, mutatedSample, textOf } from './fuzz-support.ts';

const sample = Buffer.from(
  [
    '#cloud-config',
    '# a comment',
    'hostname: fuzz-vm',
    'write_files:',
    '  - path: /etc/app/conf.txt',
    "    permissions: '0640'",
    '    content: |',
    '      first',
    '        indented # kept',
    '',
    '      last',
    '  - path: /etc/b.txt',
    '    content: "x\\ty"',
    '- path: /etc/c.txt',
    '  content: |-',
    '    no final newline',
    'env:',
    '  GREETING: hi there',
    "  QUOTED: 'a b'",
    'runcmd:',
    '  - echo "[$GREETING]" > /tmp/env.txt',
    '  - /bin/true',
    '',
  ].join('\n'),
);

const indent = fc.constantFrom('', '  ', '    ', '      ', '\t', ' ');
const key = fc.constantFrom('hostname', 'write_files', 'runcmd', 'env', 'path', 'content', 'permissions', 'owner', 'packages', '- path', '-', 'GREETING');
const value = fc.oneof(
  fc.constantFrom('', '|', '|-', '>', "'0644'", '"0644"', '0755', '0999', '/etc/x', 'relative', '"unterminated', "'it''s'", '"\\x\\t\\u00e9"', '# c', '[a, b]', '{a: 1}'),
  awkward,
);
const userDataLine = fc.oneof(
  { arbitrary: fc.tuple(indent, key, fc.constantFrom(': ', ':', ' : '), value).map((p) => p.join('')), weight: 6 },
  { arbitrary: fc.tuple(indent, fc.constantFrom('- ', '-'), value).map((p) => p.join('')), weight: 2 },
  { arbitrary: fc.constantFrom('#cloud-config', '', '   ', '# comment', '---'), weight: 1 },
  { arbitrary: awkward, weight: 1 },
);
const userData = fc.oneof(
  { arbitrary: textOf(userDataLine, 14).map((t) => Buffer.from(`#cloud-config\n${t}`, 'latin1')), weight: 4 },
  { arbitrary: textOf(userDataLine, 6).map((t) => Buffer.from(t, 'latin1')), weight: 1 },
  { arbitrary: mutatedSample([sample]), weight: 4 },
  // more items than the parser holds (64 each)
  { arbitrary: fc.constantFrom('runcmd', 'env').map((k) => Buffer.from(`#cloud-config\n${k}:\n${Array.from({ length: 70 }, (_, i) => (k === 'env' ? `  V${i}: x` : `  - echo ${i}`)).join('\n')}\n`)), weight: 1 },
);

test('--user-data: the guest cloud-init parser on thousands of documents, no crash, every refusal names its line', async (t) => {
  for (const tool of ['gcc']) if (!(await hasCommand(tool))) return t.skip(`${tool} is not installed (apt-get install build-essential)`);
  const dir = mkdtempSync(join(tmpdir(), 'tailor-fuzz-cloud-init-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const harness = join(dir, 'harness');
  const source = join(import.meta.dirname, 'fuzz-cloud-init-harness.c');
  const flags = ['-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-g', '-O1', '-fno-omit-frame-pointer'];
  const san = await exec('gcc', [...flags, '-fsanitize=address,undefined', '-o', harness, source], { allowFailure: true });
  if (san.code !== 0) await exec('gcc', [...flags, '-o', harness, source]); // no sanitizer runtime: crashes still show

  const docs = fc.sample(userData, { seed: 0x636c64, numRuns: 4000 });
  const stream = Buffer.concat(docs.flatMap((d) => [Buffer.from(Uint32Array.of(d.length).buffer), d]));
  const started = process.cpuUsage();
  const r = spawnSync(harness, [], {
    input: stream,
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' },
    maxBuffer: 256 * 1024 * 1024,
    timeout: 60_000,
  });
  const cpu = process.cpuUsage(started);
  const results = r.stdout.toString().trim().split('\n').filter(Boolean);
  const stderr = r.stderr.toString('latin1');
  const crashedAt = results.length;
  assert.equal(
    r.status,
    0,
    `the parser crashed on document ${crashedAt} (signal ${r.signal}):\n${JSON.stringify(docs[crashedAt]?.toString('latin1'))}\n${stderr.slice(-3000)}`,
  );
  assert.doesNotMatch(stderr, /runtime error|AddressSanitizer/, 'a sanitizer report');
  assert.equal(results.length, docs.length);

  const messages = stderr.split(/^--doc \d+--\n/m).slice(1);
  assert.equal(messages.length, docs.length);
  let bad = 0;
  for (const [i, line] of results.entries()) {
    const [, verdict] = line.split(' ');
    const said = messages[i]!;
    if (verdict === 'ok') {
      assert.equal(said, '', `document ${i} was accepted with a message: ${said}`);
      continue;
    }
    bad++;
    const errors = said.split('\n').filter(Boolean);
    assert.equal(errors.length, 1, `document ${i}: expected one error line, got:\n${said}\n${JSON.stringify(docs[i]!.toString('latin1'))}`);
    assert.match(
      errors[0]!,
      /^tailor:error cloud-init: (line \d+: |the user data does not start with #cloud-config|the user data contains a NUL byte)/,
      `document ${i}: ${JSON.stringify(docs[i]!.toString('latin1'))}`,
    );
  }
  t.diagnostic(
    `--user-data (guest cloud-init parser): ${docs.length} inputs (${docs.length - bad} accepted, ${bad} refused naming the line or the document), ` +
      `${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU in the test process${san.code === 0 ? ', ASan/UBSan' : ', no sanitizers'}`,
  );
  assert.ok(bad > 0 && bad < docs.length);
});

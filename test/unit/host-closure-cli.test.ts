// `tailor host-files` end to end through the real CLI entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../src/util/exec.ts';
import { repoRoot } from '../../src/util/paths.ts';

const tailor = (args: string[], cache: string) =>
  exec(process.execPath, [join(repoRoot, 'bin/tailor.js'), ...args], { allowFailure: true, env: { ...process.env, TAILOR_CACHE: cache } });

test('tailor host-files lists the closure as JSON and fails clearly on a missing binary', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'tailor-cli-cache-'));
  try {
    const ok = await tailor(['host-files', '/bin/ls', '--extra-libs', 'libz.so.1', '--json'], cache);
    assert.equal(ok.code, 0, ok.stderr);
    const files = JSON.parse(ok.stdout) as { guestPath: string; hostPath: string; reason: string }[];
    const guests = files.map((f) => f.guestPath);
    for (const p of ['/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/libc.so.6', '/etc/passwd']) assert.ok(guests.includes(p), p);
    assert.ok(guests.some((g) => g.endsWith('/libz.so.1')));
    const bad = await tailor(['host-files', '/usr/bin/no-such-binary-tailor'], cache);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no-such-binary-tailor cannot be read \(ENOENT\)/);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

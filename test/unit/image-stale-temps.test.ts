// What killed builds leave in build/: removed when their process is gone, kept while it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleTemps, replaceDir, tempOwner } from '../../src/image/stale-temps.ts';

test('temporary entries name their pid; build folders and build/last do not', () => {
  assert.equal(tempOwner('.native-example.tmp-1234'), 1234);
  assert.equal(tempOwner('.last.tmp-99'), 99);
  assert.equal(tempOwner('.build.json.tmp-77-1733000000000'), 77);
  assert.equal(tempOwner('native-example.old-4321'), 4321);
  for (const name of ['native-example', 'last', '.modules', 'a.tmp-12', '.x.tmp-', 'x.old-', 'redis+nginx']) assert.equal(tempOwner(name), undefined, name);
});

test('entries of dead processes go, those of live ones (and of this one) stay, build folders stay', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tailor-stale-'));
  try {
    const dead = 999_999_001;
    const live = 999_999_002;
    mkdirSync(join(root, `.app.tmp-${dead}`, 'sub'), { recursive: true });
    writeFileSync(join(root, `.app.tmp-${dead}`, 'sub', 'initrd.img'), 'half');
    mkdirSync(join(root, `.app.tmp-${live}`));
    mkdirSync(join(root, `.app.tmp-${process.pid}`));
    mkdirSync(join(root, `app.old-${dead}`));
    symlinkSync('app', join(root, `.last.tmp-${dead}`));
    mkdirSync(join(root, 'app'));
    symlinkSync('app', join(root, 'last'));
    const removed = await removeStaleTemps(root, (pid) => pid === live);
    assert.deepEqual(removed.sort(), [`.app.tmp-${dead}`, `.last.tmp-${dead}`, `app.old-${dead}`].sort());
    assert.deepEqual(readdirSync(root).sort(), [`.app.tmp-${live}`, `.app.tmp-${process.pid}`, 'app', 'last'].sort());
    assert.deepEqual(await removeStaleTemps(join(root, 'missing')), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the real liveness check: a pid that exited is dead', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tailor-stale-'));
  try {
    const { spawnSync } = await import('node:child_process');
    const gone = spawnSync('true').pid!;
    mkdirSync(join(root, `.app.tmp-${gone}`));
    mkdirSync(join(root, `.app.tmp-1`)); // init is always alive
    assert.deepEqual(await removeStaleTemps(root), [`.app.tmp-${gone}`]);
    assert.ok(existsSync(join(root, '.app.tmp-1')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('replaceDir swaps a folder in and leaves nothing aside', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tailor-stale-'));
  try {
    for (const v of ['1', '2']) {
      const tmp = join(root, `.app.tmp-${process.pid}`);
      mkdirSync(tmp);
      writeFileSync(join(tmp, 'v'), v);
      await replaceDir(tmp, join(root, 'app'));
      assert.deepEqual(readdirSync(root), ['app']);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// Module lookup order (src/modules/lookup.ts) and resolution (src/modules/resolve.ts):
// closure, dependency order, cycles, missing modules, conditional requires, removals, plan, commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../src/errors.ts';
import { resolveConfig } from '../../src/config/index.ts';
import { builtinModuleDir, joinCommands, planModules, selectModules } from '../../src/modules/index.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** A temp project folder; `mods` are module folders (name → module.yaml text) written under `under`. */
function project(t: { after: (fn: () => void) => void }, mods: Record<string, string> = {}, under = 'modules'): string {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-modules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, yaml] of Object.entries(mods)) {
    mkdirSync(join(dir, under, name), { recursive: true });
    writeFileSync(join(dir, under, name, 'module.yaml'), yaml);
  }
  return dir;
}

const select = (cwd: string, ...args: string[]) => selectModules(resolveConfig(args, { cwd }));
const orderOf = (cwd: string, ...args: string[]) => select(cwd, ...args).order.map((m) => m.name);

function usage(...patterns: RegExp[]) {
  return (e: Error) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.exitCode, 2);
    for (const p of patterns) assert.match(`${e.message}\n${e.hint ?? ''}`, p);
    return true;
  };
}

test('A -> B -> C resolves to C, B, A (fixture tree via --module-path)', (t) => {
  const cwd = project(t);
  const sel = select(cwd, 'image=A', `--module-path=${join(fixtures, 'modules-abc')}`);
  assert.deepEqual(sel.order.map((m) => m.name), ['C', 'B', 'A']);
  assert.deepEqual(sel.requested, ['A']);
  assert.deepEqual(Object.fromEntries(sel.edges), { A: ['B'], B: ['C'], C: [] });
});

test('diamond: a shared dependency appears once, before both users', (t) => {
  const cwd = project(t, { top: 'requires: [left, right]\n', left: 'requires: [base]\n', right: 'requires: [base]\n', base: '' });
  assert.deepEqual(orderOf(cwd, 'image=top'), ['base', 'left', 'right', 'top']);
  // Asking for a dependency directly as well changes nothing.
  assert.deepEqual(orderOf(cwd, 'image=base,top'), ['base', 'left', 'right', 'top']);
});

test('a cycle is a UsageError listing the path "A -> B -> A"', (t) => {
  const cwd = project(t);
  assert.throws(() => select(cwd, 'image=A', `--module-path=${join(fixtures, 'modules-cycle')}`), usage(/module dependency cycle: A -> B -> A/));
  const three = project(t, { x: 'requires: [y]\n', y: 'requires: [z]\n', z: 'requires: [y]\n' });
  assert.throws(() => select(three, 'image=x'), usage(/cycle: y -> z -> y/));
  const self = project(t, { s: 'requires: [s]\n' });
  assert.throws(() => select(self, 'image=s'), usage(/cycle: s -> s/));
});

test('a missing module is an error with a suggestion and who required it', (t) => {
  const cwd = project(t, { app: 'requires: [libfoo]\n', libfooo: '' });
  assert.throws(() => select(cwd, 'image=app'), usage(/no module named libfoo \(required by app\)/, /did you mean libfooo\?/));
  assert.throws(() => select(cwd, 'image=ap'), usage(/no module named ap$/m, /did you mean app/));
});

test('lookup order: project ./modules overrides --module-path, which overrides the built-ins', (t) => {
  const extra = project(t, { 'native-example': 'description: from the extra path\n', shared: 'description: extra shared\n' }, 'lib');
  const cwd = project(t, { shared: 'description: project shared\n' });
  const sel = select(cwd, 'image=native-example,shared', `--module-path=${join(extra, 'lib')}`);
  const by = Object.fromEntries(sel.order.map((m) => [m.name, m]));
  assert.equal(by.shared!.description, 'project shared');
  assert.equal(by['native-example']!.description, 'from the extra path');
  // Without the extra path the built-in native-example is used.
  const builtin = select(cwd, 'image=native-example').order[0]!;
  assert.equal(builtin.dir, join(builtinModuleDir, 'native-example'));
  // And a project module of the same name beats the built-in one.
  const shadow = project(t, { 'native-example': 'description: mine\n' });
  assert.equal(select(shadow, 'image=native-example').order[0]!.dir, join(shadow, 'modules', 'native-example'));
});

test('modules=/abs/path adds that module folder under its own name', (t) => {
  const cwd = project(t);
  const sel = select(cwd, 'image=empty', `modules=${join(fixtures, 'modules-abc', 'C')}`);
  assert.deepEqual(sel.order.map((m) => [m.name, m.dir]), [['C', join(fixtures, 'modules-abc', 'C')]]);
  assert.throws(() => select(cwd, `modules=${cwd}`), usage(/no module\.yaml in that folder/));
});

test('requires_if_present adds a module only when the other one is in the image', (t) => {
  const cwd = project(t, {
    app: '',
    httpserver: '',
    'app-http': '',
    plugin: 'requires_if_present:\n  - require: app-http\n    if_present: httpserver\n',
    // brings httpserver in through a dependency: the condition sees the whole closure
    web: 'requires: [httpserver]\n',
  });
  assert.deepEqual(orderOf(cwd, 'image=plugin'), ['plugin']);
  assert.deepEqual(orderOf(cwd, 'image=plugin,httpserver'), ['app-http', 'plugin', 'httpserver']);
  assert.ok(orderOf(cwd, 'image=plugin,web').includes('app-http'));
});

test('modules= adds to image=; modules=!x removes a module and drops it from requires', (t) => {
  const cwd = project(t, { app: 'requires: [log]\n', log: '', extra: '' });
  assert.deepEqual(orderOf(cwd, 'image=app', 'modules=extra'), ['log', 'app', 'extra']);
  assert.deepEqual(orderOf(cwd, 'image=app,extra', 'modules=!extra'), ['log', 'app']);
  assert.deepEqual(orderOf(cwd, 'image=app', 'modules=!log'), ['app']);
});

test('image=empty is the empty image', (t) => {
  const cwd = project(t);
  const sel = select(cwd, 'image=empty');
  assert.deepEqual([sel.requested, sel.order], [[], []]);
  const plan = planModules(sel, join(cwd, 'build'));
  assert.deepEqual([plan.order, plan.manifest, plan.kernelNeeds, plan.command], [[], [], [], undefined]);
});

test('the plan merges manifests (later modules override), kernel needs and run commands', (t) => {
  const cwd = project(t);
  const abc = join(fixtures, 'modules-abc');
  const plan = planModules(select(cwd, 'image=A', `--module-path=${abc}`), join(cwd, 'build'));
  assert.deepEqual(plan.order.map((m) => [m.name, m.requires]), [['C', []], ['B', ['C']], ['A', ['B']]]);
  assert.deepEqual(
    plan.manifest.map((e) => [e.guestPath, e.module, e.source]),
    [
      ['/a.sh', 'A', { kind: 'file', path: join(abc, 'A/a.sh') }],
      // B writes /etc/a.conf first; A comes later and wins.
      ['/etc/a.conf', 'A', { kind: 'file', path: join(abc, 'A/a.conf') }],
      ['/usr/lib/b', 'B', { kind: 'symlink', target: '/usr/lib/c' }],
    ],
  );
  assert.deepEqual(plan.kernelNeeds, ['epoll', 'net', 'unix-sockets']);
  assert.equal(plan.command, '/c-init & /a.sh');
});

test('joinCommands: ; between commands unless one already ends in &, &! or ;', () => {
  assert.equal(joinCommands([]), undefined);
  assert.equal(joinCommands(['/a']), '/a');
  assert.equal(joinCommands(['/a', '/b']), '/a ; /b');
  assert.equal(joinCommands(['/server &', '/client']), '/server & /client');
  assert.equal(joinCommands(['/server &!', '/client']), '/server &! /client');
  assert.equal(joinCommands(['/a;', '/b', '  /c  ']), '/a; /b ; /c');
  // the last command runs in the foreground, so a lone background server keeps the VM up
  assert.equal(joinCommands(['/server &!']), '/server');
  assert.equal(joinCommands(['/a', '/server --port 8000 &']), '/a ; /server --port 8000');
});

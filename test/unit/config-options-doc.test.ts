// docs/options.md is generated from the option schema by scripts/gen-docs.ts: it must be up to date,
// and it must document every option, driver profile and implication rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { driverImplications, driverProfiles, driverSwitches, optionSchema, resolveConfig } from '../../src/config/index.ts';
import { optionsDocPath, renderOptionsDoc } from '../../scripts/gen-docs.ts';

const script = fileURLToPath(new URL('../../scripts/gen-docs.ts', import.meta.url));

/** The table row of one option in the generated text, split into cells. */
function optionRow(doc: string, name: string): string[] {
  const line = doc.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
  assert.ok(line, `docs/options.md has a row for ${name}`);
  return line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
}

test('docs/options.md is up to date with the schema (regenerate with: npm run docs)', () => {
  const onDisk = readFileSync(optionsDocPath, 'utf8');
  assert.ok(onDisk === renderOptionsDoc(), 'docs/options.md differs from the schema: run `npm run docs` (node --import tsx scripts/gen-docs.ts) and commit it');
});

test('the generated reference documents every option with its type, default, help and Kconfig symbols', () => {
  const doc = renderOptionsDoc();
  assert.equal(renderOptionsDoc(), doc, 'deterministic');
  for (const spec of optionSchema) {
    const [name, , , meaning, kernel] = optionRow(doc, spec.name);
    assert.equal(name, `\`${spec.name}\``);
    assert.ok(meaning!.includes(spec.help.replace(/\|/g, '\\|').replace(/\.$/, '')), `${spec.name}: help text`);
    for (const sym of Object.keys({ ...spec.kernel?.whenOn, ...spec.kernel?.whenOff })) assert.ok(kernel!.includes(sym), `${spec.name}: ${sym}`);
    for (const a of spec.aliases ?? []) assert.ok(meaning!.includes(a), `${spec.name}: alias ${a}`);
  }
  assert.deepEqual(optionRow(doc, 'fs').slice(1, 3), ['ramfs\\|rofs\\|ext4\\|btrfs\\|virtiofs', '`ramfs`']);
  assert.match(optionRow(doc, 'fs')[3]!, /fs=zfs is refused/);
  assert.match(optionRow(doc, 'conf_hide_symbols')[4]!, /=1: KALLSYMS=n/);
});

test('driver switch defaults in the reference are what a build with no options resolves to', (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'tailor-doc-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const resolved = resolveConfig([], { cwd });
  const doc = renderOptionsDoc();
  for (const sw of driverSwitches) {
    const name = `conf_drivers_${sw}`;
    assert.equal(optionRow(doc, name)[2], resolved.options[name] ? '`1`' : '`0`', name);
  }
});

test('the reference lists every driver profile and every implication rule', () => {
  const doc = renderOptionsDoc();
  for (const [name, p] of Object.entries(driverProfiles)) {
    const line = doc.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    assert.ok(line, `driver profile ${name}`);
    assert.ok(line.includes(p.help));
  }
  for (const [sw, needs] of Object.entries(driverImplications)) {
    const line = doc.split('\n').find((l) => l.startsWith(`| \`conf_drivers_${sw}=1\` |`));
    assert.ok(line, `implication rule for ${sw}`);
    for (const n of needs!) assert.ok(line.includes(`conf_drivers_${n}`));
  }
});

test('scripts/gen-docs.ts writes the reference to the file it is given', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-doc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'options.md');
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, out], { cwd: fileURLToPath(new URL('../../', import.meta.url)), encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(out, 'utf8'), renderOptionsDoc());
});

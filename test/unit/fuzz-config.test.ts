// Seeded fuzz of the configuration readers: profile .mk files
// (src/config/profile-file.ts, with includes and cycles) and tailor.yaml with
// a project profile it extends, resolved the way `tailor build` does
// (src/config/resolve.ts). Inputs come from the option schema (real names,
// real and wrong values) and from byte mutations of the shipped profiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import YAML from 'yaml';
import { readProfileFile } from '../../src/config/profile-file.ts';
import { builtinProfileDir, resolveConfig } from '../../src/config/resolve.ts';
import { optionSchema } from '../../src/config/schema.ts';
import type { OptionSpec } from '../../src/config/schema-types.ts';
import { awkward, describe, expectNames, fuzz, mutatedSample, textOf } from './fuzz-support.ts';

const shippedProfiles = readdirSync(builtinProfileDir).filter((f) => f.endsWith('.mk')).map((f) => readFileSync(join(builtinProfileDir, f)));

/** A value the option accepts, or one close to it. */
function valueFor(spec: OptionSpec): fc.Arbitrary<string> {
  const good: fc.Arbitrary<string> =
    spec.type === 'bool'
      ? fc.constantFrom('0', '1', 'yes', 'off', 'True')
      : spec.type === 'int'
        ? fc.oneof(fc.nat({ max: 4096 }).map(String), fc.constantFrom('64M', '1G', '512KiB', '3B', '-1', '99999999999999999999'))
        : spec.type === 'enum'
          ? fc.constantFrom(...spec.values, ...Object.keys(spec.rejected ?? {}))
          : fc.constantFrom('a', 'a,b', ',', 'native-example,libz', '-O2 -g');
  return fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: awkward, weight: 1 });
}
const optionNames = optionSchema.flatMap((s) => [s.name, ...(s.aliases ?? [])]);
const keyValue = fc.oneof(
  ...optionSchema.map((s) => fc.tuple(fc.constant(s.name), valueFor(s))),
  fc.tuple(fc.constantFrom('CFLAGS', 'CXXFLAGS', ...optionNames), fc.constantFrom('-O2 -march=native', '-Os -mtune=x -g', '', '-O9')),
  fc.tuple(fc.oneof(fc.constantFrom('nope', 'fs.', '_x', 'a-b'), awkward), awkward),
);

/** A make-style profile line: assignments, comments, continuations, includes of the sandbox's files. */
const profileLine = fc.oneof(
  { arbitrary: fc.tuple(keyValue, fc.constantFrom(' = ', '=', ' := ', ' ?= ', ' += ', ' =  ')).map(([[k, v], op]) => `${k}${op}${v}`), weight: 8 },
  {
    arbitrary: fc.constantFrom('include b.mk', '-include b.mk', 'include a.mk', 'include missing.mk', '-include missing.mk', 'include sub', 'include', 'include /dev/null', '-include  b.mk # x'),
    weight: 2,
  },
  { arbitrary: fc.constantFrom('# comment', 'fs = rofs # trailing', 'cflags += -g \\', '\\', 'name = a\\#b', '  ', 'fs == rofs', 'ifeq ($(X),1)', 'export X'), weight: 2 },
  { arbitrary: awkward, weight: 1 },
);
const profileText = fc.oneof(
  { arbitrary: textOf(profileLine, 8), weight: 3 },
  { arbitrary: mutatedSample(shippedProfiles).map((b) => b.toString('latin1')), weight: 1 },
);

/** A temp folder removed when the test ends. */
function sandbox(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-fuzz-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('profile .mk files with includes: thousands of inputs, every rejection a TailorError naming file:line', (t) => {
  const dir = sandbox(t);
  mkdirSync(join(dir, 'sub'));
  const a = join(dir, 'a.mk');
  const b = join(dir, 'b.mk');
  const o = fuzz({
    seed: 0x6d6b,
    numRuns: 3000,
    budgetMs: 15_000,
    input: fc.tuple(profileText, profileText),
    parse: ([textA, textB]) => {
      writeFileSync(a, textA, 'latin1');
      writeFileSync(b, textB, 'latin1');
      readProfileFile(a);
    },
    rejection: (err) => {
      const file = err.message.includes(b) ? b : a;
      expectNames(err, file, true);
    },
  });
  t.diagnostic(describe('profile .mk', o));
  assert.ok(o.inputs >= 300, `only ${o.inputs} inputs inside the time budget`);
  assert.ok(o.accepted > 0 && o.rejected > 0);
});

/** tailor.yaml documents: option mappings (lists and booleans as YAML writes them), plus raw and mutated text. */
const yamlScalar = fc.oneof(awkward, fc.integer(), fc.boolean(), fc.constant(null), fc.double());
const tailorYaml = fc.oneof(
  {
    arbitrary: fc
      .array(
        fc.oneof(
          { arbitrary: keyValue, weight: 6 },
          { arbitrary: fc.tuple(fc.constant('extends'), fc.oneof(fc.constantFrom('fz', 'minimal', 'nope', '../x'), awkward)), weight: 1 },
          { arbitrary: fc.tuple(fc.constantFrom(...optionNames), fc.oneof(yamlScalar, fc.array(yamlScalar, { maxLength: 3 }), fc.dictionary(fc.string(), yamlScalar, { maxKeys: 2 }))), weight: 2 },
        ),
        { maxLength: 6 },
      )
      .map((pairs) => YAML.stringify(Object.fromEntries(pairs))),
    weight: 4,
  },
  { arbitrary: textOf(fc.oneof(fc.tuple(fc.constantFrom(...optionNames), fc.constantFrom(': ', ':', ': [', ': {', ': &a', ': *a', ': !!str')).map((p) => p.join('')), awkward), 6), weight: 1 },
  { arbitrary: mutatedSample([Buffer.from('extends: fz\nfs: rofs\nimage: [native-example, libz]\nlto: true\nfs_size_mb: 128\n')]).map((b) => b.toString('latin1')), weight: 1 },
);

test('tailor.yaml extending a project profile, resolved: every rejection a TailorError naming its file or the options at fault', (t) => {
  const cwd = sandbox(t);
  mkdirSync(join(cwd, 'conf', 'profiles'), { recursive: true });
  const yamlFile = join(cwd, 'tailor.yaml');
  const mk = join(cwd, 'conf', 'profiles', 'fz.mk');
  const o = fuzz({
    seed: 0x79616d,
    numRuns: 3000,
    budgetMs: 15_000,
    input: fc.tuple(tailorYaml, profileText),
    parse: ([yamlText, mkText]) => {
      writeFileSync(yamlFile, yamlText, 'latin1');
      writeFileSync(mk, mkText, 'latin1');
      const c = resolveConfig([], { cwd });
      // a YAML mapping must not turn into the text "[object Object]"
      assert.doesNotMatch(JSON.stringify(c.options), /\[object Object\]/);
    },
    rejection: (err, [yamlText, mkText]) => {
      if (err.message.includes(mk)) return expectNames(err, mk, true);
      if (err.message.includes(yamlFile)) return expectNames(err, yamlFile, /not valid YAML/.test(err.message));
      // the rest are checks of the whole combination: they must name an option the document set
      const named = [...err.message.matchAll(/\b([a-z_]+)=/g)].map((m) => m[1]!);
      assert.ok(
        named.some((k) => yamlText.includes(k) || mkText.includes(k)),
        `names neither a file nor an option the input set: ${err.message}`,
      );
    },
  });
  t.diagnostic(describe('tailor.yaml + profile', o));
  assert.ok(o.inputs >= 300, `only ${o.inputs} inputs inside the time budget`);
  assert.ok(o.accepted > 0 && o.rejected > 0);
});

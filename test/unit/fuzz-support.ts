// Shared pieces of the parser fuzz tests (test/unit/fuzz-*.test.ts): a seeded,
// time-bounded fast-check run that counts its inputs, byte mutations of real
// samples, and the one property every parser must keep: it returns, or it
// throws a TailorError whose message names the file (and the line, for
// line-based formats). Any other exception is a crash, reported with the
// seed and the (shrunk) input so it can be replayed.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TailorError } from '../../src/errors.ts';

export interface FuzzOutcome {
  /** Inputs the parser was run on. */
  readonly inputs: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly slowestMs: number;
  /** CPU time of the whole run (user + system), which a loaded machine does not inflate like wall time. */
  readonly cpuMs: number;
}

export interface FuzzSpec<T> {
  readonly seed: number;
  /** Upper bound on inputs ... */
  readonly numRuns: number;
  /** ... and on wall time: the run stops early (without failing) when it is spent. */
  readonly budgetMs: number;
  readonly input: fc.Arbitrary<T>;
  /** Run the parser; return normally when it accepts the input. */
  readonly parse: (input: T) => void;
  /** Check a TailorError the parser threw (e.g. with expectNames); throw to fail. */
  readonly rejection: (err: TailorError, input: T) => void;
  /** One input may not take more CPU time than this, in ms (a hang or a quadratic blow-up is a bug too). */
  readonly slowMs?: number;
}

/** Run a seeded fuzz; fails the test on the first non-Tailor exception or bad rejection. */
export function fuzz<T>(spec: FuzzSpec<T>): FuzzOutcome {
  let inputs = 0;
  let rejected = 0;
  let slowestMs = 0;
  const slowMs = spec.slowMs ?? 1000;
  const cpu0 = process.cpuUsage();
  fc.assert(
    fc.property(spec.input, (input) => {
      inputs++;
      // CPU time, not wall time: the suite shares the machine, and a loaded host must not fail this
      const t0 = process.cpuUsage();
      let err: unknown;
      try {
        spec.parse(input);
      } catch (e) {
        err = e;
      }
      const used = process.cpuUsage(t0);
      const took = (used.user + used.system) / 1000;
      slowestMs = Math.max(slowestMs, took);
      if (took > slowMs) throw new Error(`one input took ${took.toFixed(0)} ms of CPU time (limit ${slowMs} ms)`);
      if (err === undefined) return;
      if (!(err instanceof TailorError)) {
        throw new Error(`not a TailorError: ${(err as Error)?.stack ?? String(err)}`);
      }
      rejected++;
      spec.rejection(err, input);
    }),
    { seed: spec.seed, numRuns: spec.numRuns, interruptAfterTimeLimit: spec.budgetMs, markInterruptAsFailure: false },
  );
  const cpu = process.cpuUsage(cpu0);
  return { inputs, accepted: inputs - rejected, rejected, slowestMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** The message names `file`, followed by `:LINE` when `line` is set. */
export function expectNames(err: TailorError, file: string, line = false): void {
  assert.ok(err.message.length > 0, 'empty message');
  assert.ok(err.message.includes(file), `the message does not name ${file}: ${err.message}`);
  if (line) {
    const at = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+`);
    assert.match(err.message, at, `the message does not name the line (${file}:N): ${err.message}`);
  }
}

/** Summary line for t.diagnostic, so the note can quote the input counts. */
export function describe(name: string, o: FuzzOutcome): string {
  return `${name}: ${o.inputs} inputs (${o.accepted} accepted, ${o.rejected} rejected with a TailorError) in ${o.cpuMs.toFixed(0)} ms CPU, slowest input ${o.slowestMs.toFixed(1)} ms CPU`;
}

type Edit =
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'duplicate'; at: number; len: number }
  | { kind: 'truncate'; at: number };

/** Bytes that matter to text formats: separators, quotes, escapes, line ends, NUL, UTF-8 lead bytes. */
const interesting = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x23, 0x24, 0x26, 0x27, 0x2a, 0x2d, 0x2f, 0x3a, 0x3d, 0x5b, 0x5c, 0x7b, 0x7c, 0x7f, 0x80, 0xc3, 0xff];

const anyByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...interesting));
/** A position as a fraction of the length, so one edit fits every sample. */
const pos = fc.integer({ min: 0, max: 1_000_000 });
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: pos, byte: anyByte }),
  fc.record({ kind: fc.constant('insert' as const), at: pos, bytes: fc.array(anyByte, { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: pos, len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: pos, len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: pos }),
);

function applyEdits(sample: Buffer, edits: readonly Edit[]): Buffer {
  let b = Buffer.from(sample);
  for (const e of edits) {
    const at = Math.floor((e.at / 1_000_001) * (b.length + 1));
    if (e.kind === 'set') {
      if (b.length) b[Math.min(at, b.length - 1)] = e.byte;
    } else if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
    else if (e.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.len)]);
    else if (e.kind === 'duplicate') b = Buffer.concat([b.subarray(0, at + e.len), b.subarray(at)]);
    else b = b.subarray(0, at);
  }
  return b;
}

/** A real sample with 1-8 byte edits (set, insert, delete, duplicate a run, truncate). */
export function mutatedSample(samples: readonly Buffer[]): fc.Arbitrary<Buffer> {
  assert.ok(samples.length > 0, 'no samples to mutate');
  return fc
    .tuple(fc.integer({ min: 0, max: samples.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 8 }))
    .map(([i, edits]) => applyEdits(samples[i]!, edits));
}

/** Lines joined with \n (sometimes \r\n), with or without a final line end. */
export function textOf(line: fc.Arbitrary<string>, maxLines = 12): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(line, { maxLength: maxLines }), fc.constantFrom('\n', '\r\n'), fc.boolean())
    .map(([lines, nl, final]) => lines.join(nl) + (final && lines.length ? nl : ''));
}

/** Short strings that often break parsers: empty, blanks, separators, quotes, huge, non-ASCII. */
export const awkward: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom('', ' ', '\t', ':', '=', '#', '\\', '"', "'", '{', '[', '&', '*', '!', '%', '..', '/', '-', '\0', '\u00e9', '\ufffd', '\u{1f600}'), weight: 4 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 4 },
  { arbitrary: fc.integer({ min: 1000, max: 20000 }).map((n) => 'x'.repeat(n)), weight: 1 },
);

/**
 * The shape of build.json as the run stage reads it: each field it uses has
 * the type src/image/types.ts declares, so a hand-edited or damaged record is
 * one TailorError naming the file and the field, not a TypeError later.
 */
import { TailorError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';

type Kind = 'string' | 'number' | 'boolean' | 'object' | 'string[]' | 'object[]';

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v;
}

function matches(v: unknown, kind: Kind): boolean {
  if (kind === 'string[]') return Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (kind === 'object[]') return Array.isArray(v) && v.every((x) => matches(x, 'object'));
  if (kind === 'object') return typeof v === 'object' && v !== null && !Array.isArray(v);
  if (kind === 'number') return typeof v === 'number' && Number.isFinite(v);
  return typeof v === kind;
}

/** Fields by dotted path, parents first; optional: may be absent. Fields of an absent optional object are not checked. */
const fields: readonly [path: string, kind: Kind, optional?: 'optional'][] = [
  ['name', 'string'],
  ['configHash', 'string'],
  ['options', 'object'],
  ['modules', 'string[]'],
  ['kernel', 'object'],
  ['kernel.flavour', 'string'],
  ['kernel.release', 'string'],
  ['kernel.bzImage', 'object'],
  ['kernel.bzImage.file', 'string'],
  ['kernel.bzImage.bytes', 'number'],
  ['kernel.bzImage.sha256', 'string'],
  ['kernel.bzImage.bytes', 'number'],
  ['kernel.bzImage.sha256', 'string'],
  ['kernel.vmlinux', 'object', 'optional'],
  ['kernel.vmlinux.file', 'string'],
  ['kernel.vmlinux.bytes', 'number'],
  ['kernel.vmlinux.sha256', 'string'],
  ['kernel.vmlinux.bytes', 'number'],
  ['kernel.vmlinux.sha256', 'string'],
  ['kernel.hasVirtioMmio', 'boolean'],
  ['kernel.hasVirtioBlk', 'boolean', 'optional'],
  ['kernel.hasPci', 'boolean'],
  ['kernel.hasAcpi', 'boolean'],
  ['kernel.virtioMmioCmdline', 'boolean', 'optional'],
  ['kernel.firecrackerConsole', 'boolean', 'optional'],
  ['initrd', 'object', 'optional'],
  ['initrd.file', 'string'],
  ['initrd.bytes', 'number'],
  ['initrd.sha256', 'string'],
  ['initrd.bytes', 'number'],
  ['initrd.sha256', 'string'],
  ['rootDisk', 'object', 'optional'],
  ['rootDisk.file', 'string'],
  ['rootDisk.bytes', 'number'],
  ['rootDisk.sha256', 'string'],
  ['rootDisk.bytes', 'number'],
  ['rootDisk.sha256', 'string'],
  ['rootDisk.fs', 'string'],
  ['rootDisk.readOnly', 'boolean'],
  ['kernelNeeds', 'string[]', 'optional'],
  ['hostShares', 'string[]', 'optional'],
  ['extraFiles', 'object[]', 'optional'],
  ['kernelCmdline', 'string'],
  ['appCmdline', 'string'],
];

/** The parsed build.json as a BuildRecord, or a TailorError naming jsonPath and the first wrong field. */
export function checkBuildRecord(value: unknown, jsonPath: string): BuildRecord {
  const hint = 'rebuild it with this version of tailor: `tailor build ...`';
  if (!matches(value, 'object')) throw new TailorError(`${jsonPath} is not a Tailor build record (it holds ${kindOf(value)}, not an object)`, { hint });
  const record = value as Record<string, unknown>;
  if (record.formatVersion !== 1) {
    throw new TailorError(`${jsonPath} is not a Tailor build record (formatVersion ${String(record.formatVersion)})`, { hint });
  }
  for (const [path, kind, optional] of fields) {
    const parts = path.split('.');
    const parent = parts.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], record);
    if (parent === undefined) continue; // inside an optional object that is absent (required ones were checked first)
    const v = (parent as Record<string, unknown>)[parts.at(-1)!];
    if (v === undefined && optional) continue;
    if (!matches(v, kind)) {
      throw new TailorError(`${jsonPath}: ${path} is ${v === undefined ? 'missing' : kindOf(v)}, expected ${kind === 'string[]' ? 'a list of strings' : kind === 'object[]' ? 'a list of objects' : kind}`, { hint });
    }
  }
  const r = value as BuildRecord;
  const inside = (file: string) => file !== '' && !file.startsWith('/') && !file.includes('\0') && file.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
  for (const [path, f] of [['kernel.bzImage', r.kernel.bzImage], ['kernel.vmlinux', r.kernel.vmlinux], ['initrd', r.initrd], ['rootDisk', r.rootDisk]] as const) {
    // the boot files are plain names in the build folder; anything else would reach outside it
    if (f && (!inside(f.file) || f.file.includes('/'))) {
      throw new TailorError(`${jsonPath}: ${path}.file ${JSON.stringify(f.file)} is not a file name inside the build folder`, { hint });
    }
  }
  (r.extraFiles ?? []).forEach((f, i) => {
    const e = f as unknown as Record<string, unknown>;
    if (typeof e.file !== 'string' || !inside(e.file) || !matches(e.bytes, 'number') || typeof e.sha256 !== 'string') {
      throw new TailorError(`${jsonPath}: extraFiles[${i}] needs file (a path inside the build folder), bytes and sha256`, { hint });
    }
  });
  return r;
}

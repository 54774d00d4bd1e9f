import { UsageError } from '../errors.ts';
import type { OptionSpec } from './schema-types.ts';
import type { OptionValue } from './types.ts';

const truthy = new Set(['1', 'true', 'yes', 'y', 'on']);
const falsy = new Set(['0', 'false', 'no', 'n', 'off']);

const unitFactors: Record<string, number> = { k: 1 / 1024, m: 1, g: 1024 };

/**
 * Turn the text a user wrote (`where` says where: "command line argument fs=x",
 * "conf/profiles/a.mk:3") into the option's typed value, or a UsageError
 * listing what is allowed.
 */
export function parseOptionValue(spec: OptionSpec, raw: string, where: string): OptionValue {
  const text = raw.trim();
  const bad = (allowed: string) =>
    new UsageError(`${where}: ${spec.name}=${raw} is not valid; ${spec.name} takes ${allowed}`);
  switch (spec.type) {
    case 'bool': {
      const t = text.toLowerCase();
      if (truthy.has(t)) return true;
      if (falsy.has(t)) return false;
      throw bad('0 or 1');
    }
    case 'int': {
      let value: number;
      // A unit suffix is a size letter (K, M, G) optionally followed by B or iB: a bare "B" would read 64B as 64 MiB.
      const m = /^(\d+)\s*(?:([kKmMgG])(?:i?[bB])?)?$/.exec(text);
      if (!m) throw bad(`a whole number${spec.unit ? ` (${spec.unit})` : ''}`);
      value = Number(m[1]);
      if (m[2]) {
        if (spec.unit !== 'MiB') throw bad(`a whole number of ${spec.unit ?? 'units'} without a suffix`);
        value = value * unitFactors[m[2].toLowerCase()]!;
        if (!Number.isInteger(value)) throw bad('a whole number of MiB');
      }
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
        throw bad(`a number from ${spec.min ?? 0} to ${spec.max}${spec.unit ? ` ${spec.unit}` : ''}`);
      }
      return value;
    }
    case 'enum': {
      if (spec.rejected?.[text]) throw new UsageError(`${where}: ${spec.name}=${text}: ${spec.rejected[text]}`);
      if (!spec.values.includes(text)) throw bad(`one of ${spec.values.join(', ')}`);
      return text;
    }
    case 'list':
      return text === '' ? [] : text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    case 'string':
      return text;
  }
}

/** The text form of a value, as a user would write it back on the command line. */
export function formatOptionValue(value: OptionValue): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

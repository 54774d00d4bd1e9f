/** Fixed identifiers for file systems, derived from the build's seed (the config hash) so images are reproducible. */
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.ts';

/**
 * A version-4-shaped UUID computed from `seed` and a purpose ("fs", "hash"),
 * so one seed gives different but stable UUIDs for different uses.
 */
export function seededUuid(seed: string, purpose: string): string {
  if (typeof seed !== 'string' || seed.length === 0) {
    throw new UsageError('a file-system image needs a non-empty seed (the build config hash) for its fixed UUIDs');
  }
  const b = createHash('sha256').update(`tailor:${purpose}:${seed}`).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40; // version 4 layout (random-looking), as mkfs tools expect
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

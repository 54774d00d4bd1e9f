import { ElfError } from './errors.ts';

/**
 * Bounds-checked little-endian reads over a Buffer. Every read names the
 * field it is for, so a malformed file yields an ElfError that says which
 * field points outside the file instead of a RangeError or garbage.
 */
export class ByteView {
  constructor(
    readonly buf: Buffer,
    readonly what: string,
  ) {}

  get length(): number {
    return this.buf.length;
  }

  fail(problem: string): never {
    throw new ElfError(this.what, problem);
  }

  /** Throw unless [offset, offset+size) lies inside the buffer. */
  check(offset: number, size: number, field: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0 || offset + size > this.buf.length) {
      this.fail(`${field} (offset ${offset}, ${size} bytes) lies outside the file (${this.buf.length} bytes); the file is truncated or corrupt`);
    }
  }

  u8(offset: number, field: string): number {
    this.check(offset, 1, field);
    return this.buf[offset]!;
  }

  u16(offset: number, field: string): number {
    this.check(offset, 2, field);
    return this.buf.readUInt16LE(offset);
  }

  u32(offset: number, field: string): number {
    this.check(offset, 4, field);
    return this.buf.readUInt32LE(offset);
  }

  i32(offset: number, field: string): number {
    this.check(offset, 4, field);
    return this.buf.readInt32LE(offset);
  }

  u64(offset: number, field: string): bigint {
    this.check(offset, 8, field);
    return this.buf.readBigUInt64LE(offset);
  }

  /** A 64-bit offset or size that must fit a JS number (files are far below 2^53 bytes). */
  u64n(offset: number, field: string): number {
    const v = this.u64(offset, field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${field} is ${v}, far beyond any file size`);
    return Number(v);
  }

  slice(offset: number, size: number, field: string): Buffer {
    this.check(offset, size, field);
    return this.buf.subarray(offset, offset + size);
  }

  /** A NUL-terminated string starting at `offset` that must end before `limit`. */
  cstr(offset: number, limit: number, field: string): string {
    const end = Math.min(limit, this.buf.length);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= end) {
      this.fail(`${field} string offset ${offset} lies outside its table (ends at ${end})`);
    }
    const nul = this.buf.indexOf(0, offset);
    if (nul < 0 || nul >= end) this.fail(`${field} string at offset ${offset} is not NUL-terminated inside its table`);
    return this.buf.toString('utf8', offset, nul);
  }
}

/**
 * Just enough of the PE/COFF header (Microsoft PE format, "Optional Header")
 * to tell whether a bzImage carries the EFI stub and where a unified kernel
 * image's sections may go after the systemd stub's own.
 */
import { open, readFile, writeFile } from 'node:fs/promises';

export interface PeImage {
  readonly machine: number;
  readonly imageBase: bigint;
  readonly sectionAlignment: number;
  readonly sizeOfImage: number;
}

export const machineX64 = 0x8664;

/** The PE header of `bytes` (the start of a file), or undefined when it is not a PE32+ image. */
export function parsePe(bytes: Buffer): PeImage | undefined {
  if (bytes.length < 0x40 || bytes.toString('latin1', 0, 2) !== 'MZ') return undefined;
  const pe = bytes.readUInt32LE(0x3c);
  if (pe + 24 + 64 > bytes.length || bytes.toString('latin1', pe, pe + 4) !== 'PE\0\0') return undefined;
  const machine = bytes.readUInt16LE(pe + 4);
  const opt = pe + 24;
  if (bytes.readUInt16LE(opt) !== 0x20b) return undefined; // PE32+
  return {
    machine,
    imageBase: bytes.readBigUInt64LE(opt + 24),
    sectionAlignment: bytes.readUInt32LE(opt + 32),
    sizeOfImage: bytes.readUInt32LE(opt + 56),
  };
}

/** The PE header of a file (its first 4 KiB). */
export async function readPe(path: string): Promise<PeImage | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return parsePe(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** The PE checksum (the image's 16-bit words summed with carry folding, the checksum field skipped, plus the length). */
export function peChecksum(bytes: Buffer, checksumOffset: number): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    if (i === checksumOffset || i === checksumOffset + 2) continue;
    sum += bytes.readUInt16LE(i);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (bytes.length % 2) {
    sum += bytes[bytes.length - 1]!;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return (sum + bytes.length) >>> 0;
}

/**
 * Makes a PE file reproducible: objcopy stamps the current time into the
 * COFF header; set it to `timestamp` and recompute the checksum.
 */
export async function stampPe(path: string, timestamp = 0): Promise<void> {
  const bytes = await readFile(path);
  const pe = bytes.readUInt32LE(0x3c);
  bytes.writeUInt32LE(timestamp, pe + 8);
  const checksumAt = pe + 24 + 64;
  bytes.writeUInt32LE(peChecksum(bytes, checksumAt), checksumAt);
  await writeFile(path, bytes);
}

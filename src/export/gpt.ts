/**
 * A GUID partition table (UEFI spec, chapter 5) written by hand: protective
 * MBR, primary header and entries at the start, backup entries and header
 * at the end. No loop devices, no root: the table is bytes at offsets of an
 * image file.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const sectorBytes = 512;
const entryCount = 128;
const entryBytes = 128;
const entriesSectors = (entryCount * entryBytes) / sectorBytes; // 32

export const partitionTypes = {
  /** EFI system partition. */
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  /** Root partition for x86-64 (Discoverable Partitions Specification). */
  rootX64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
} as const;

export interface GptPartition {
  readonly type: string;
  readonly guid: string;
  readonly name: string;
  /** First and last sector, inclusive. */
  readonly firstLba: number;
  readonly lastLba: number;
}

export interface GptLayout {
  readonly diskGuid: string;
  readonly totalSectors: number;
  readonly partitions: readonly GptPartition[];
}

/** A GUID derived from a seed (same inputs, same bytes), with the RFC 4122 version-4 and variant bits. */
export function seededGuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex').toUpperCase();
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** GUID text → its 16 on-disk bytes (first three fields little-endian, the rest as written). */
export function guidBytes(guid: string): Buffer {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(guid);
  if (!m) throw new Error(`not a GUID: ${guid}`);
  const b = Buffer.alloc(16);
  b.writeUInt32LE(Number.parseInt(m[1]!, 16), 0);
  b.writeUInt16LE(Number.parseInt(m[2]!, 16), 4);
  b.writeUInt16LE(Number.parseInt(m[3]!, 16), 6);
  Buffer.from(m[4]! + m[5]!, 'hex').copy(b, 8);
  return b;
}

/** The first sector a partition may use and the last, for a disk of `totalSectors`. */
export function usableRange(totalSectors: number): { first: number; last: number } {
  return { first: 2 + entriesSectors, last: totalSectors - 2 - entriesSectors };
}

function entries(layout: GptLayout): Buffer {
  const buf = Buffer.alloc(entryCount * entryBytes);
  layout.partitions.forEach((p, i) => {
    const o = i * entryBytes;
    guidBytes(p.type).copy(buf, o);
    guidBytes(p.guid).copy(buf, o + 16);
    buf.writeBigUInt64LE(BigInt(p.firstLba), o + 32);
    buf.writeBigUInt64LE(BigInt(p.lastLba), o + 40);
    buf.writeBigUInt64LE(0n, o + 48);
    Buffer.from(p.name.slice(0, 36), 'utf16le').copy(buf, o + 56);
  });
  return buf;
}

function header(layout: GptLayout, current: number, backup: number, entriesLba: number, entriesCrc: number): Buffer {
  const { first, last } = usableRange(layout.totalSectors);
  const h = Buffer.alloc(sectorBytes);
  h.write('EFI PART', 0, 'ascii');
  h.writeUInt32LE(0x00010000, 8);
  h.writeUInt32LE(92, 12);
  h.writeBigUInt64LE(BigInt(current), 24);
  h.writeBigUInt64LE(BigInt(backup), 32);
  h.writeBigUInt64LE(BigInt(first), 40);
  h.writeBigUInt64LE(BigInt(last), 48);
  guidBytes(layout.diskGuid).copy(h, 56);
  h.writeBigUInt64LE(BigInt(entriesLba), 72);
  h.writeUInt32LE(entryCount, 80);
  h.writeUInt32LE(entryBytes, 84);
  h.writeUInt32LE(entriesCrc, 88);
  h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
  return h;
}

function protectiveMbr(totalSectors: number): Buffer {
  const mbr = Buffer.alloc(sectorBytes);
  const e = 446;
  mbr[e + 1] = 0x00; // CHS of LBA 1: head 0, sector 2, cylinder 0
  mbr[e + 2] = 0x02;
  mbr[e + 4] = 0xee;
  mbr[e + 5] = 0xff;
  mbr[e + 6] = 0xff;
  mbr[e + 7] = 0xff;
  mbr.writeUInt32LE(1, e + 8);
  mbr.writeUInt32LE(Math.min(totalSectors - 1, 0xffffffff), e + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

/** The table's pieces with their byte offsets in the image: write each at its offset. */
export function gptWrites(layout: GptLayout): { offset: number; data: Buffer }[] {
  const { first, last } = usableRange(layout.totalSectors);
  for (const p of layout.partitions) {
    if (p.firstLba < first || p.lastLba > last || p.firstLba > p.lastLba) {
      throw new Error(`partition ${p.name} (${p.firstLba}..${p.lastLba}) is outside the usable sectors ${first}..${last}`);
    }
  }
  const table = entries(layout);
  const tableCrc = crc32(table);
  const lastLba = layout.totalSectors - 1;
  const backupEntries = lastLba - entriesSectors;
  return [
    { offset: 0, data: protectiveMbr(layout.totalSectors) },
    { offset: sectorBytes, data: header(layout, 1, lastLba, 2, tableCrc) },
    { offset: 2 * sectorBytes, data: table },
    { offset: backupEntries * sectorBytes, data: table },
    { offset: lastLba * sectorBytes, data: header(layout, lastLba, 1, backupEntries, tableCrc) },
  ];
}

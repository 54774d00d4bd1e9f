/**
 * The raw bootable disk: GPT, partition 1 the EFI system partition (the
 * UKI), partition 2 the build's root filesystem image when it has a disk
 * root. Written into a sparse file: zero blocks are skipped, not written.
 */
import { open, stat } from 'node:fs/promises';
import { gptWrites, partitionTypes, sectorBytes, seededGuid, type GptPartition } from './gpt.ts';

const mib = 1024 * 1024;
const alignSectors = mib / sectorBytes; // partitions start on 1 MiB boundaries

export interface DiskGuids {
  readonly disk: string;
  readonly esp: string;
  readonly root: string;
}

/** The disk's GUIDs from a seed (the build's config hash): same build, same GUIDs, so root=PARTUUID= is known before the disk exists. */
export function diskGuids(seed: string): DiskGuids {
  return { disk: seededGuid(`${seed}:disk`), esp: seededGuid(`${seed}:esp`), root: seededGuid(`${seed}:root`) };
}

export interface DiskInput {
  readonly esp: string;
  readonly root?: string;
  readonly guids: DiskGuids;
  /** The whole disk is a multiple of this many bytes (GCE wants whole GiB). */
  readonly roundTo: number;
  readonly out: string;
}

export interface DiskResult {
  readonly bytes: number;
  readonly partitions: readonly GptPartition[];
}

const roundUp = (v: number, to: number): number => Math.ceil(v / to) * to;

/** Partition table for an ESP of `espBytes` and an optional root of `rootBytes`, on a disk rounded to `roundTo`. */
export function planDisk(espBytes: number, rootBytes: number | undefined, guids: DiskGuids, roundTo: number): { totalSectors: number; partitions: GptPartition[] } {
  const partitions: GptPartition[] = [];
  let next = alignSectors;
  const add = (type: string, guid: string, name: string, bytes: number): void => {
    const sectors = roundUp(bytes, mib) / sectorBytes;
    partitions.push({ type, guid, name, firstLba: next, lastLba: next + sectors - 1 });
    next += sectors;
  };
  add(partitionTypes.esp, guids.esp, 'ESP', espBytes);
  if (rootBytes !== undefined) add(partitionTypes.rootX64, guids.root, 'root', rootBytes);
  // room for the backup table (33 sectors) after the last partition
  const totalBytes = roundUp((next + alignSectors) * sectorBytes, Math.max(roundTo, mib));
  return { totalSectors: totalBytes / sectorBytes, partitions };
}

/** Copies `src` into `fd` at `offset`, skipping all-zero chunks (the file stays sparse). */
async function copyInto(dst: import('node:fs/promises').FileHandle, src: string, offset: number): Promise<void> {
  const fh = await open(src, 'r');
  try {
    const buf = Buffer.alloc(mib);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      if (chunk.some((b) => b !== 0)) await dst.write(chunk, 0, bytesRead, offset + pos);
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

export async function writeDisk(input: DiskInput): Promise<DiskResult> {
  const espBytes = (await stat(input.esp)).size;
  const rootBytes = input.root ? (await stat(input.root)).size : undefined;
  const { totalSectors, partitions } = planDisk(espBytes, rootBytes, input.guids, input.roundTo);
  const fh = await open(input.out, 'w');
  try {
    await fh.truncate(totalSectors * sectorBytes);
    for (const w of gptWrites({ diskGuid: input.guids.disk, totalSectors, partitions })) await fh.write(w.data, 0, w.data.length, w.offset);
    await copyInto(fh, input.esp, partitions[0]!.firstLba * sectorBytes);
    if (input.root) await copyInto(fh, input.root, partitions[1]!.firstLba * sectorBytes);
  } finally {
    await fh.close();
  }
  return { bytes: totalSectors * sectorBytes, partitions };
}

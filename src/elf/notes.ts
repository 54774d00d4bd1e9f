import { ByteView } from './bytes.ts';
import type { ElfFile, ElfNote } from './types.ts';
import { PT_NOTE, SHT_NOTE } from './types.ts';
import { parseElf } from './parse.ts';

const XEN_ELFNOTE_PHYS32_ENTRY = 18;

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** Parse one note area (a PT_NOTE segment or SHT_NOTE section); `alignment` is 4 or 8 (from p_align). */
function parseNoteArea(v: ByteView, start: number, size: number, alignment: number, out: ElfNote[]): void {
  v.check(start, size, 'note area');
  const end = start + size;
  let o = start;
  while (o + 12 <= end) {
    const namesz = v.u32(o, 'note namesz');
    const descsz = v.u32(o + 4, 'note descsz');
    const type = v.u32(o + 8, 'note type');
    const nameAt = o + 12;
    // Padding is measured from the note's start (for 4-byte alignment this equals padding the name).
    const descAt = o + align(12 + namesz, alignment);
    const next = o + align(descAt - o + descsz, alignment);
    if (descAt + descsz > end) v.fail(`note at offset ${o} (name ${namesz} bytes, desc ${descsz} bytes) runs past its note area`);
    // The name is NUL-terminated within namesz bytes; tolerate a missing NUL like readelf does.
    const rawName = v.slice(nameAt, namesz, 'note name');
    const nul = rawName.indexOf(0);
    const name = rawName.toString('latin1', 0, nul < 0 ? rawName.length : nul);
    out.push({ name, type, desc: v.slice(descAt, descsz, 'note descriptor') });
    o = next;
  }
}

/**
 * All ELF notes: from PT_NOTE segments, or from SHT_NOTE sections when the
 * file has no program headers (relocatable objects).
 */
export function readNotes(elf: ElfFile): ElfNote[] {
  const v = new ByteView(elf.data, elf.what);
  const out: ElfNote[] = [];
  const segs = elf.programHeaders.filter((p) => p.type === PT_NOTE);
  if (segs.length > 0) {
    for (const p of segs) parseNoteArea(v, p.offset, p.filesz, p.align === 8n ? 8 : 4, out);
  } else {
    for (const s of elf.sections) {
      if (s.type === SHT_NOTE) parseNoteArea(v, s.offset, s.size, s.addralign === 8n ? 8 : 4, out);
    }
  }
  return out;
}

/**
 * True when the ELF image (an uncompressed vmlinux) carries the Xen
 * PHYS32_ENTRY note (namespace "Xen", type 18): QEMU's -kernel then boots it
 * directly through PVH, without firmware or decompression.
 */
export function hasPvhNote(buf: Buffer, what = 'kernel image'): boolean {
  return readNotes(parseElf(buf, what)).some((n) => n.name === 'Xen' && n.type === XEN_ELFNOTE_PHYS32_ENTRY);
}

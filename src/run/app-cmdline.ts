/**
 * The application command line on the kernel command line. Linux hands every
 * word after ` -- ` to init as an argument and panics on the 33rd
 * (MAX_INIT_ARGS = 32), and QEMU's microvm appends its own words after ours.
 * A long line therefore travels as ONE word: `%:` and the line with blanks,
 * `"`, `%` and control bytes written as %XX; the init decodes it
 * (guest/init/cmdline.c cl_decode_app, docs/guest-protocol.md).
 */

/** Kernel words (blank-separated outside double quotes, the kernel's next_arg rule) in text. */
export function kernelWordCount(text: string): number {
  let words = 0;
  let inWord = false;
  let inQuote = false;
  for (const c of text) {
    if (/[ \t\n]/.test(c) && !inQuote) {
      inWord = false;
      continue;
    }
    if (!inWord) words++;
    inWord = true;
    if (c === '"') inQuote = !inQuote;
  }
  return words;
}

/** Lines up to this many words go as they are (readable in --dry-run); room is left for microvm's appended words. */
export const plainWordBudget = 20;

export const encodedPrefix = '%:';

/** The one-word form of a command line. */
export function encodeAppCmdline(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  let out = encodedPrefix;
  for (const b of bytes) {
    out += b <= 0x20 || b === 0x22 || b === 0x25 || b >= 0x7f ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}

/** What goes after ` -- `: the line itself when it is short and plain, else its one-word encoding. */
export function appCmdlineWord(line: string): string {
  const plain = kernelWordCount(line) <= plainWordBudget && !/[\n\t\r]/.test(line) && !line.startsWith(encodedPrefix);
  return plain ? line : encodeAppCmdline(line);
}

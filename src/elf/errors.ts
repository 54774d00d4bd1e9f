import { TailorError } from '../errors.ts';

/** A file is not an ELF file Tailor can read, or is malformed/truncated; the message says which field is bad. */
export class ElfError extends TailorError {
  constructor(what: string, problem: string) {
    super(`${what}: ${problem}`, {
      hint: 'check that the path names an x86_64 ELF binary or library and that the file is complete',
    });
  }
}

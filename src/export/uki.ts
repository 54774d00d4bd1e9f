/**
 * A unified kernel image (UKI): Debian's systemd EFI stub with the kernel,
 * the initrd, the command line and an os-release as PE sections, one file
 * that UEFI firmware starts as \EFI\BOOT\BOOTX64.EFI. Built with objcopy
 * (Debian 12 has no ukify): each section goes after the stub's image, page
 * aligned, in the order the stub reads them.
 */
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MissingToolError, TailorError } from '../errors.ts';
import { exec, hasCommand } from '../util/exec.ts';
import { readPe, stampPe } from './pe.ts';

/** Debian's systemd-boot-efi package. */
export const efiStub = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';

export interface UkiInput {
  readonly kernel: string;
  readonly initrd?: string;
  readonly cmdline: string;
  readonly osRelease: string;
  /** A scratch folder for the small section files. */
  readonly work: string;
  readonly out: string;
  readonly stub?: string;
}

const page = 0x1000n;
const alignUp = (v: bigint, a: bigint): bigint => ((v + a - 1n) / a) * a;

export async function checkUkiTools(stub = efiStub): Promise<void> {
  if (!existsSync(stub)) throw new MissingToolError(stub, 'systemd-boot-efi', 'the EFI stub of a unified kernel image (tailor export)');
  if (!(await hasCommand('objcopy'))) throw new MissingToolError('objcopy', 'binutils', 'building a unified kernel image (tailor export)');
}

/** The objcopy arguments that add the sections at addresses after the stub's image. */
export function ukiSectionArgs(stubEnd: bigint, sections: readonly { name: string; file: string; bytes: number }[]): string[] {
  const args: string[] = [];
  let vma = alignUp(stubEnd, page);
  for (const s of sections) {
    args.push('--add-section', `${s.name}=${s.file}`, '--change-section-vma', `${s.name}=0x${vma.toString(16)}`);
    vma = alignUp(vma + BigInt(s.bytes), page);
  }
  return args;
}

export async function makeUki(input: UkiInput): Promise<void> {
  const stub = input.stub ?? efiStub;
  await checkUkiTools(stub);
  const pe = await readPe(stub);
  if (!pe) throw new TailorError(`${stub} is not a PE32+ EFI program`, { hint: 'reinstall it: apt-get install --reinstall -y systemd-boot-efi' });
  const osrel = join(input.work, 'os-release');
  const cmdline = join(input.work, 'cmdline');
  await writeFile(osrel, input.osRelease);
  await writeFile(cmdline, input.cmdline);
  const sections = [
    { name: '.osrel', file: osrel },
    { name: '.cmdline', file: cmdline },
    { name: '.linux', file: input.kernel },
    ...(input.initrd ? [{ name: '.initrd', file: input.initrd }] : []),
  ].map((s) => ({ ...s, bytes: statSync(s.file).size }));
  await exec('objcopy', [...ukiSectionArgs(pe.imageBase + BigInt(pe.sizeOfImage), sections), stub, input.out]);
  await stampPe(input.out);
}

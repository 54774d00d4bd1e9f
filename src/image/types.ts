import type { ArchName } from '../config/arch.ts';

/** build/<name>/build.json: every input and output of one build. Stage 6 (run) reads only this. */

export interface ArtifactRecord {
  /** File name inside the build folder. */
  readonly file: string;
  /** Bytes on disk (stat size). */
  readonly bytes: number;
  readonly sha256: string;
}

export interface BuildRecord {
  readonly formatVersion: 1;
  readonly name: string;
  readonly configHash: string;
  /** Target architecture (src/config/arch.ts); absent: x64. */
  readonly arch?: ArchName;
  /** Every option with its value and source, as `tailor config --json` prints them. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly profile?: string;
  readonly modules: readonly string[];
  readonly kernel: {
    readonly flavour: 'stock' | 'custom';
    readonly release: string;
    readonly packageVersion: string;
    /** bzImage copy; always present. */
    readonly bzImage: ArtifactRecord;
    /** Uncompressed PVH-capable vmlinux, when the kernel has it. */
    readonly vmlinux?: ArtifactRecord;
    readonly hasVirtioMmio: boolean;
    /** A virtio-blk driver (built in, or a module the image loads). Absent in records written before it: unknown. */
    readonly hasVirtioBlk?: boolean;
    readonly hasPci: boolean;
    readonly hasAcpi: boolean;
    /**
     * The kernel takes virtio-mmio devices from `virtio_mmio.device=` words
     * (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y), as microvm with acpi=off gives them.
     * false (Debian's kernel): microvm must describe its devices in ACPI. Absent: true.
     */
    readonly virtioMmioCmdline?: boolean;
    /**
     * The kernel has Firecracker's serial console built in (the architecture's
     * firecracker.consoleSymbols, src/config/arch.ts). Absent: true (x86-64's
     * 8250 is in every kernel Tailor boots).
     */
    readonly firecrackerConsole?: boolean;
  };
  /** fs=ramfs: the initramfs. */
  readonly initrd?: ArtifactRecord & { readonly compression: string };
  /** Disk-backed roots (rofs/ext4/btrfs): the root disk, first virtio-blk device. */
  readonly rootDisk?: ArtifactRecord & { readonly fs: string; readonly readOnly: boolean };
  /** Kernel feature names the image asked for (modules and filesystem); `tailor run` gives a network device when they include net. */
  readonly kernelNeeds?: readonly string[];
  /** Host-share transports the kernel can mount (modules loaded at boot, or built in): `tailor run --share`. */
  readonly hostShares?: readonly ('9p' | 'virtiofs')[];
  /** Kernel command line before `--` (console, root=, quiet ...). */
  readonly kernelCmdline: string;
  /** The application command line (OSv grammar) the init runs when `-e` is not given. */
  readonly appCmdline: string;
  readonly builtAt: string;
  /**
   * Every other regular file the build wrote (cmdline, usr.manifest, export/...), path relative
   * to the folder, with its size and sha256: with the boot files above, the whole folder.
   * Absent in folders not written by `tailor build` (test fixtures, `tailor kernel learn`).
   */
  readonly extraFiles?: readonly ArtifactRecord[];
}

/** Output of stage 3 (kernel): a bootable kernel and what the image must carry for it. */

export interface KernelModuleFile {
  /** Guest path, e.g. /lib/modules/6.1.0-56-amd64/kernel/drivers/block/virtio_blk.ko */
  readonly guestPath: string;
  /** Host path of the .ko (possibly .ko.xz) file. */
  readonly source: string;
}

export interface KernelArtifact {
  readonly flavour: 'stock' | 'custom';
  /** Kernel release (uname -r). */
  readonly release: string;
  /** Debian package version of the stock kernel or of linux-source. */
  readonly packageVersion: string;
  /** Bootable kernel: bzImage (x86-64), Image (arm64). */
  readonly bzImage: string;
  /** Its file name in a build folder (default bzImage): Image on arm64. */
  readonly imageName?: string;
  /** Uncompressed ELF with a PVH note, when available (fastest boot on microvm). */
  readonly vmlinux?: string;
  /** The kernel's .config. */
  readonly config: string;
  readonly systemMap?: string;
  /** Modules the image must load at boot, in load order (dependencies first). */
  readonly modules: readonly KernelModuleFile[];
  /** initramfs compressions this kernel can unpack. */
  readonly initrdCompressions: readonly ('none' | 'gzip' | 'lz4' | 'zstd' | 'xz')[];
  /** Transports built in or provided by the modules above. */
  readonly hasVirtioMmio: boolean;
  /** A virtio-blk driver: built in, or a module the image loads. */
  readonly hasVirtioBlk: boolean;
  readonly hasPci: boolean;
  readonly hasAcpi: boolean;
}

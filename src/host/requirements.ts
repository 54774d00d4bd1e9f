/**
 * Every host tool Tailor needs, once: what to look for, the Debian package
 * that provides it and which feature needs it. `tailor doctor` and the
 * MissingToolError hints derive from this list.
 */

export interface HostRequirement {
  /** What a user recognises: the command or the library. */
  readonly name: string;
  /** How to tell it is there: a command on PATH or a file. */
  readonly check: { readonly command: string } | { readonly file: string };
  readonly aptPackage: string;
  readonly neededFor: string;
}

export const hostRequirements: readonly HostRequirement[] = [
  { name: 'qemu-system-x86_64', check: { command: 'qemu-system-x86_64' }, aptPackage: 'qemu-system-x86', neededFor: 'tailor run, boot tests and benches' },
  // arch=aarch64 (src/config/arch.ts): QEMU for arm64 guests and the cross compiler for the kernel, the init and modules
  { name: 'qemu-system-aarch64', check: { command: 'qemu-system-aarch64' }, aptPackage: 'qemu-system-arm', neededFor: 'arch=aarch64: tailor run (-M virt)' },
  { name: 'aarch64-linux-gnu-gcc', check: { command: 'aarch64-linux-gnu-gcc' }, aptPackage: 'gcc-aarch64-linux-gnu', neededFor: 'arch=aarch64: the guest init, native modules (static glibc) and kernel=custom (cross-compiled)' },
  // Only a Recommends of gcc-aarch64-linux-gnu: an install with --no-install-recommends leaves the init without its C library.
  { name: 'libc6-dev-arm64-cross', check: { file: '/usr/aarch64-linux-gnu/lib/libc.a' }, aptPackage: 'libc6-dev-arm64-cross', neededFor: 'arch=aarch64: the static glibc (headers, libc.a) the guest init and native modules link' },
  { name: 'qemu-img', check: { command: 'qemu-img' }, aptPackage: 'qemu-utils', neededFor: 'disk image formats' },
  { name: 'musl-gcc', check: { command: 'musl-gcc' }, aptPackage: 'musl-tools', neededFor: 'the guest init and native modules (static, musl)' },
  { name: 'mkfs.erofs', check: { command: 'mkfs.erofs' }, aptPackage: 'erofs-utils', neededFor: 'fs=rofs' },
  { name: 'mke2fs', check: { command: 'mke2fs' }, aptPackage: 'e2fsprogs', neededFor: 'fs=ext4' },
  { name: 'mkfs.btrfs', check: { command: 'mkfs.btrfs' }, aptPackage: 'btrfs-progs', neededFor: 'fs=btrfs' },
  { name: 'busybox', check: { command: 'busybox' }, aptPackage: 'busybox-static', neededFor: 'shell tools in images (static busybox)' },
  { name: 'cpio', check: { command: 'cpio' }, aptPackage: 'cpio', neededFor: 'checking initramfs contents in tests' },
  { name: 'lz4', check: { command: 'lz4' }, aptPackage: 'lz4', neededFor: 'fs_compression=lz4' },
  { name: 'zstd', check: { command: 'zstd' }, aptPackage: 'zstd', neededFor: 'fs_compression=zstd' },
  { name: 'xz', check: { command: 'xz' }, aptPackage: 'xz-utils', neededFor: 'unpacking kernels and linux-source' },
  { name: 'ccache', check: { command: 'ccache' }, aptPackage: 'ccache', neededFor: 'fast custom kernel rebuilds' },
  { name: 'make', check: { command: 'make' }, aptPackage: 'make', neededFor: 'custom kernels, module builds' },
  { name: 'gcc', check: { command: 'gcc' }, aptPackage: 'gcc', neededFor: 'custom kernels' },
  { name: 'bc', check: { command: 'bc' }, aptPackage: 'bc', neededFor: 'custom kernels (kernel build scripts)' },
  { name: 'bison', check: { command: 'bison' }, aptPackage: 'bison', neededFor: 'custom kernels (Kconfig)' },
  { name: 'flex', check: { command: 'flex' }, aptPackage: 'flex', neededFor: 'custom kernels (Kconfig)' },
  { name: 'libelf-dev', check: { file: '/usr/include/libelf.h' }, aptPackage: 'libelf-dev', neededFor: 'custom kernels (objtool)' },
  { name: 'libssl-dev', check: { file: '/usr/include/openssl/ssl.h' }, aptPackage: 'libssl-dev', neededFor: 'custom kernels (signing tools)' },
  { name: 'linux-source-6.1', check: { file: '/usr/src/linux-source-6.1.tar.xz' }, aptPackage: 'linux-source-6.1', neededFor: 'kernel=custom (Debian\'s kernel source)' },
  { name: 'dpkg-deb', check: { command: 'dpkg-deb' }, aptPackage: 'dpkg', neededFor: 'kernel=stock, and arch=aarch64 programs from Debian packages (dpkg-deb -x; dpkg -S finds their packages)' },
  { name: 'apt-get', check: { command: 'apt-get' }, aptPackage: 'apt', neededFor: 'kernel=stock, and arch=aarch64 programs from Debian packages (apt-get download)' },
  // the network application modules, their e2e tests and bench:apps (host binaries packed into images, host-side clients)
  { name: 'redis-server', check: { file: '/usr/bin/redis-server' }, aptPackage: 'redis-server', neededFor: 'the redis module, its e2e test, bench:apps' },
  { name: 'redis-cli', check: { command: 'redis-cli' }, aptPackage: 'redis-tools', neededFor: 'redis e2e test and bench:apps (redis-cli, redis-benchmark)' },
  { name: 'nginx', check: { file: '/usr/sbin/nginx' }, aptPackage: 'nginx', neededFor: 'the nginx module, its e2e test, bench:apps' },
  { name: 'wrk', check: { command: 'wrk' }, aptPackage: 'wrk', neededFor: 'bench:apps (HTTP load on nginx)' },
  // tailor export: a UKI on an EFI system partition in a GPT disk, without loop devices
  { name: 'objcopy', check: { command: 'objcopy' }, aptPackage: 'binutils', neededFor: 'tailor export (the unified kernel image)' },
  { name: 'systemd-boot-efi', check: { file: '/usr/lib/systemd/boot/efi/linuxx64.efi.stub' }, aptPackage: 'systemd-boot-efi', neededFor: 'tailor export (the EFI stub of the unified kernel image)' },
  { name: 'mkfs.vfat', check: { command: 'mkfs.vfat' }, aptPackage: 'dosfstools', neededFor: 'tailor export (the EFI system partition)' },
  { name: 'mcopy', check: { command: 'mcopy' }, aptPackage: 'mtools', neededFor: 'tailor export (files into the EFI system partition, no mount)' },
  // tests only: exported disks checked with sgdisk and booted on UEFI firmware
  { name: 'sgdisk', check: { command: 'sgdisk' }, aptPackage: 'gdisk', neededFor: 'export tests (GPT verification)' },
  { name: 'ovmf', check: { file: '/usr/share/ovmf/OVMF.fd' }, aptPackage: 'ovmf', neededFor: 'booting exported disks on UEFI firmware (export e2e test)' },
  { name: 'skopeo', check: { command: 'skopeo' }, aptPackage: 'skopeo', neededFor: 'export tests (reading the KubeVirt images); pushing them to a registry' },
  // tests only: the browser check opens tailor size/bootchart --html pages in headless Chromium (playwright-core drives it)
  { name: 'chromium', check: { command: 'chromium' }, aptPackage: 'chromium', neededFor: 'the browser test of the --html outputs (tailor size, bootchart)' },
  // tests only: Tailor's own modules.dep is compared with depmod's for Debian's stock kernel modules
  { name: 'depmod', check: { command: 'depmod' }, aptPackage: 'kmod', neededFor: 'the module index test (depmod to compare with)' },
  // tests only: the httpserver's token comparison is checked under valgrind (no branch on the secret)
  { name: 'valgrind', check: { file: '/usr/include/valgrind/memcheck.h' }, aptPackage: 'valgrind', neededFor: 'the constant-time check of the httpserver API token' },
];

/** The requirement for a command, for MissingToolError hints elsewhere. */
export function requirementFor(name: string): HostRequirement | undefined {
  return hostRequirements.find((r) => r.name === name || ('command' in r.check && r.check.command === name));
}

/** The exact install command for some packages (sorted, deduplicated). */
export function aptInstallLine(packages: readonly string[]): string {
  return `apt-get install -y ${[...new Set(packages)].sort().join(' ')}`;
}

/**
 * Target architectures: one typed description per `arch=` value, chosen in
 * the config stage and read by the kernel, image and run stages. A stage
 * that differs per architecture reads a field here instead of testing the
 * architecture's name.
 */
import { arch as hostNodeArch } from 'node:process';
import { UsageError } from '../errors.ts';

export type ArchName = 'x64' | 'aarch64';

export interface TargetArch {
  readonly name: ArchName;
  /** What people call it in messages. */
  readonly title: string;
  /** Debian's architecture name (dpkg --print-architecture, package suffixes). */
  readonly debianArch: 'amd64' | 'arm64';
  /** Debian's multiarch folder name (/lib/<triplet>, /usr/lib/<triplet>). */
  readonly multiarch: 'x86_64-linux-gnu' | 'aarch64-linux-gnu';
  /** ELF e_machine of its programs. */
  readonly elfMachine: number;
  /** Node's process.arch on a host of this architecture (KVM needs host = target). */
  readonly nodeArch: string;
  /**
   * `tailor export` writes UEFI disks for it (a UKI from Debian's systemd EFI stub for this
   * architecture, booted by OVMF). arm64 would need the arm64 stub and AAVMF: not built yet.
   */
  readonly exportDisks: boolean;
  /** How Firecracker boots it (-p firecracker); absent: Tailor writes no Firecracker configuration for it. */
  readonly firecracker?: FirecrackerTarget;
  readonly qemu: {
    readonly binary: string;
    /** Debian package that provides the binary. */
    readonly aptPackage: string;
    /** -M for `-p qemu`. */
    readonly machine: string;
    /** Whether QEMU's firmware-less microvm machine exists for it (`-p qemu_microvm`). */
    readonly microvm: boolean;
    /** -cpu under TCG and under KVM. */
    readonly cpuTcg: string;
    readonly cpuKvm: string;
    /**
     * virtio devices on `-p qemu` without PCI in the kernel: virt lists
     * virtio-mmio transports in its device tree, so they need no kernel words.
     */
    readonly mmioWithoutPci: boolean;
    /** Extra kernel words under TCG (cheaper emulated timers). */
    readonly tcgKernelWords: readonly string[];
    /** Under TCG the guest's time stamp counter is the host's, so the guest is told its rate (tsc_early_khz=, src/run/host-tsc.ts). */
    readonly tcgTscIsHosts: boolean;
  };
  readonly kernel: {
    /** make ARCH= and the arch/ folder of the source. */
    readonly srcArch: 'x86' | 'arm64';
    /** make target and its path in the build tree. */
    readonly imageTarget: string;
    readonly imagePath: string;
    /** File name of the bootable kernel in the cache and in build folders. */
    readonly imageName: string;
    /** make CROSS_COMPILE= (empty: the host compiler). */
    readonly crossCompile: string;
    /** Debian package of that cross compiler (kernel builds). */
    readonly crossPackage?: string;
    /** The boot image is compressed and Kconfig chooses how (KERNEL_LZ4/KERNEL_XZ). */
    readonly compressedImage: boolean;
    /** The uncompressed vmlinux boots directly through a PVH note. */
    readonly pvh: boolean;
    /** Debian's kernel metapackage (kernel=stock) and its boot image's name in a build folder. */
    readonly stockMetaPackage: string;
    readonly stockImageName: string;
    /** Console device (console=...). */
    readonly console: string;
    /** Architecture-specific kernel words that cut boot time or choose the power-off path (FIELD-NOTES.md). */
    readonly bootWords: readonly string[];
    /** Driver switches this architecture cannot have on its QEMU machine, and why. */
    readonly unsupportedDrivers: Readonly<Record<string, string>>;
  };
  readonly guest: {
    /** C compiler for the init and modules built from source, its Debian package and its C library. */
    readonly cc: string;
    readonly ccPackage: string;
    readonly libc: 'musl' | 'glibc';
    /** -march= for modules built from source when march= was not given. */
    readonly defaultMarch: string;
  };
}

/** What differs in Firecracker's machine per architecture (its getting-started and kernel-setup docs). */
export interface FirecrackerTarget {
  /** The kernel file it loads: the uncompressed ELF vmlinux on x86-64, the boot Image (a PE image) on arm64. */
  readonly kernel: 'vmlinux' | 'boot-image';
  /** Its serial console, which replaces the QEMU machine's console= word. */
  readonly console: string;
  /** Kernel words that make the guest's reboot() end the VM. */
  readonly powerOffWords: readonly string[];
  /** Kconfig symbols its console needs built in, beyond the QEMU console's (checked in the kernel's config at build time). */
  readonly consoleSymbols: readonly string[];
}

const EM_X86_64 = 62;
const EM_AARCH64 = 183;

export const targetArches: Readonly<Record<ArchName, TargetArch>> = {
  x64: {
    name: 'x64',
    title: 'x86-64',
    debianArch: 'amd64',
    multiarch: 'x86_64-linux-gnu',
    elfMachine: EM_X86_64,
    nodeArch: 'x64',
    exportDisks: true,
    // Firecracker turns the keyboard controller's reset into a VM exit; its serial port is the same 8250 as QEMU's.
    firecracker: { kernel: 'vmlinux', console: 'ttyS0', powerOffWords: ['reboot=k'], consoleSymbols: [] },
    qemu: {
      binary: 'qemu-system-x86_64',
      aptPackage: 'qemu-system-x86',
      machine: 'q35',
      microvm: true,
      cpuTcg: 'max',
      cpuKvm: 'host,-arch-capabilities',
      mmioWithoutPci: false,
      // The local APIC timer is emulated slowly under TCG (src/run/qemu.ts has the measurements).
      tcgKernelWords: ['noapictimer'],
      tcgTscIsHosts: true,
    },
    kernel: {
      srcArch: 'x86',
      imageTarget: 'bzImage',
      imagePath: 'arch/x86/boot/bzImage',
      imageName: 'bzImage',
      crossCompile: '',
      compressedImage: true,
      pvh: true,
      stockMetaPackage: 'linux-image-amd64',
      stockImageName: 'bzImage',
      console: 'ttyS0',
      bootWords: ['reboot=t', '8250.nr_uarts=1', 'i8042.noaux', 'i8042.nokbd', 'no_timer_check', 'tsc=reliable'],
      unsupportedDrivers: {},
    },
    guest: { cc: 'musl-gcc', ccPackage: 'musl-tools', libc: 'musl', defaultMarch: 'x86-64' },
  },
  aarch64: {
    name: 'aarch64',
    title: 'arm64 (aarch64)',
    debianArch: 'arm64',
    multiarch: 'aarch64-linux-gnu',
    elfMachine: EM_AARCH64,
    nodeArch: 'arm64',
    exportDisks: false,
    // Firecracker's arm64 machine describes a 16550 UART (ttyS0) in its device tree, not QEMU virt's PL011;
    // PSCI SYSTEM_RESET ends the VM as on QEMU, so no reboot= word.
    firecracker: { kernel: 'boot-image', console: 'ttyS0', powerOffWords: [], consoleSymbols: ['SERIAL_8250', 'SERIAL_8250_CONSOLE', 'SERIAL_OF_PLATFORM'] },
    qemu: {
      binary: 'qemu-system-aarch64',
      aptPackage: 'qemu-system-arm',
      machine: 'virt',
      microvm: false,
      cpuTcg: 'max',
      cpuKvm: 'host',
      mmioWithoutPci: true,
      tcgKernelWords: [],
      // arm64 reads the generic timer, whose rate the device tree gives.
      tcgTscIsHosts: false,
    },
    kernel: {
      srcArch: 'arm64',
      imageTarget: 'Image',
      imagePath: 'arch/arm64/boot/Image',
      imageName: 'Image',
      crossCompile: 'aarch64-linux-gnu-',
      crossPackage: 'gcc-aarch64-linux-gnu',
      compressedImage: false,
      pvh: false,
      stockMetaPackage: 'linux-image-arm64',
      // Debian's arm64 vmlinuz is an uncompressed Image (checked on 6.1.0-57-arm64).
      stockImageName: 'Image',
      console: 'ttyAMA0',
      // PL011 on QEMU virt; power-off and reboot go through PSCI, so no reboot= word.
      bootWords: [],
      unsupportedDrivers: {
        acpi: 'QEMU virt boots arm64 kernels directly with a device tree, and arm64 ACPI needs UEFI firmware',
        hpet: 'HPET is an x86 timer',
      },
    },
    // Debian ships musl-tools for x86 only; its cross gcc links static glibc, which runs without a loader.
    guest: { cc: 'aarch64-linux-gnu-gcc', ccPackage: 'gcc-aarch64-linux-gnu', libc: 'glibc', defaultMarch: 'armv8-a' },
  },
};

/** The description of a resolved `arch=` value (build options or a build record). */
export function targetArch(name: unknown): TargetArch {
  const a = targetArches[(name ?? 'x64') as ArchName];
  if (!a) throw new UsageError(`arch=${String(name)} is not a target Tailor knows`, `use one of: ${Object.keys(targetArches).join(', ')}`);
  return a;
}

/** Whether this host runs the architecture's guests under KVM at all (same CPU architecture). */
export function hostRunsNatively(arch: TargetArch): boolean {
  return hostNodeArch === arch.nodeArch;
}

/** The architecture of this host's own programs and packages, when Tailor knows it. */
export function hostArch(): TargetArch | undefined {
  return Object.values(targetArches).find((a) => hostRunsNatively(a));
}

/** The architecture a kernel was built for, from its make variables (ARCH=; none: x86-64). */
export function archOfMakeVars(makeVars: Readonly<Record<string, string>>): TargetArch {
  return Object.values(targetArches).find((a) => a.kernel.srcArch === (makeVars.ARCH ?? targetArches.x64.kernel.srcArch)) ?? targetArches.x64;
}

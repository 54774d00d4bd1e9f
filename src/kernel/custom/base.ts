/**
 * The base fragment every custom kernel starts from, on top of `make
 * tinyconfig`: what any single-application VM needs (serial console,
 * initramfs, ELF, devtmpfs, proc/sys, the system calls libc threads use,
 * PVH/KVM guest entry) and the removals that cut boot time and memory
 * (FIELD-NOTES: 2 MiB load address, no legacy PTYs, no IPv6: 29 → 18 MiB).
 */

import type { ArchName } from '../../config/arch.ts';

export interface BaseLine {
  readonly symbol: string;
  readonly value: string;
  readonly why: string;
  /** A default that options and module needs may override (without a conflict error). */
  readonly soft?: boolean;
}

const line = (symbol: string, value: string, why: string, soft = false): BaseLine => ({ symbol, value, why, ...(soft ? { soft } : {}) });

/** The 8250 driver probes one UART only (faster init): the console's, on every architecture that has an 8250 console. */
const oneUart: readonly BaseLine[] = [
  line('SERIAL_8250_NR_UARTS', '1', 'one UART probed: faster 8250 init'),
  line('SERIAL_8250_RUNTIME_UARTS', '1', 'one UART probed: faster 8250 init'),
];

/** Lines every architecture's custom kernel starts from. */
export const commonBase: readonly BaseLine[] = [
  line('64BIT', 'y', '64-bit kernel'),
  line('MODULES', 'n', 'everything built in: no module loading at boot'),
  // console and logging
  line('PRINTK', 'y', 'kernel messages (panics, boot errors) on the console'),
  line('TTY', 'y', 'console device for the init and the application'),
  line('LEGACY_PTYS', 'n', 'legacy BSD PTYs cost 106 ms of init calls and memory (FIELD-NOTES)', true),
  line('UNIX98_PTYS', 'n', 'no /dev/ptmx (pty_init: 30 ms under TCG); kernel feature pty turns it on', true),
  // boot and the init
  line('BLK_DEV_INITRD', 'y', 'initramfs: the init (and ramfs roots) come from it'),
  line('BINFMT_ELF', 'y', 'run ELF programs'),
  line('BINFMT_SCRIPT', 'y', 'run #! scripts'),
  line('DEVTMPFS', 'y', '/dev populated by the kernel (no udev)'),
  line('DEVTMPFS_MOUNT', 'y', 'devtmpfs mounted before the init runs'),
  line('PROC_FS', 'y', '/proc (the init reads /proc/cmdline)'),
  line('SYSFS', 'y', '/sys'),
  line('SHMEM', 'y', 'tmpfs and shared memory'),
  line('TMPFS', 'y', '/tmp and --tmpfs mounts'),
  line('MULTIUSER', 'y', 'uid/gid system calls (setuid, getgroups) that libc and servers call'),
  // system calls libc and ordinary programs rely on (tinyconfig removes them)
  line('FUTEX', 'y', 'threads (musl and glibc mutexes)'),
  line('EPOLL', 'y', 'event loops'),
  line('EVENTFD', 'y', 'event loops'),
  line('TIMERFD', 'y', 'event loops'),
  line('SIGNALFD', 'y', 'event loops'),
  line('POSIX_TIMERS', 'y', 'clock_nanosleep/timer_create'),
  line('IPV6', 'n', 'no IPv6 unless a module asks for it (11 ms init, memory)', true),
  // removals: what tinyconfig + TTY still pull in that a serial-console VM never uses (all overridable)
  line('VT', 'n', 'no virtual terminals: the console is serial', true),
  line('VGA_CONSOLE', 'n', 'no VGA text console (conf_drivers_vga=1 turns it on)', true),
  line('INPUT', 'n', 'no keyboard/mouse input layer (PS/2 drivers, HID): nobody types into a VM', true),
  line('SERIO', 'n', 'no i8042/PS/2 controller probing', true),
  line('HID', 'n', 'no HID devices', true),
  line('BLOCK_LEGACY_AUTOLOAD', 'n', 'no module autoloading of block devices (there are no modules)', true),
  // tinyconfig turns on every initramfs decompressor; fs_compression turns the one the image uses back on
  // (a disk root, or fs_compression=none, needs none: gzip's inflate is ~10 KB of bzImage).
  ...['RD_GZIP', 'RD_BZIP2', 'RD_LZMA', 'RD_XZ', 'RD_LZO', 'RD_LZ4', 'RD_ZSTD'].map((s) => line(s, 'n', 'initramfs decompressor this image does not use', true)),
  line('LOG_BUF_SHIFT', '14', 'a 16 KiB kernel log instead of 128 KiB (and its 360 KiB record table): less memory', true),
  line('HZ_100', 'y', '100 Hz tick: fewer timer interrupts in an idle single-application VM', true),
];

/** Per architecture: its console, boot entry and removals, and what a PCI bus needs on its QEMU machine. */
export interface ArchFragment {
  /** Lines inserted after a common line (`after`: its symbol), so each architecture's order is stable. */
  readonly base: readonly { readonly after: string; readonly lines: readonly BaseLine[] }[];
  /** Added when conf_drivers_pci=1. */
  readonly withPci: Readonly<Record<string, string>>;
  readonly withPciWhy: string;
}

export const archFragments: Readonly<Record<ArchName, ArchFragment>> = {
  x64: {
    base: [
      { after: 'TTY', lines: [
        line('SERIAL_8250', 'y', 'serial console (ttyS0 on every QEMU machine type)'),
        line('SERIAL_8250_CONSOLE', 'y', 'console=ttyS0'),
        ...oneUart,
      ] },
      // hypervisor guest: PVH entry lets QEMU boot the uncompressed vmlinux directly
      { after: 'POSIX_TIMERS', lines: [
        line('HYPERVISOR_GUEST', 'y', 'paravirtual guest support'),
        line('PARAVIRT', 'y', 'paravirtual clock and operations'),
        line('KVM_GUEST', 'y', 'kvm-clock, PV EOI under KVM'),
        line('PVH', 'y', 'PVH entry: QEMU -kernel vmlinux boots without firmware or decompression'),
        line('PHYSICAL_START', '0x200000', 'load at 2 MiB instead of 16 MiB: minimum memory 29 → 18 MiB (FIELD-NOTES)'),
      ] },
      { after: 'HID', lines: [
        line('PROCESSOR_SELECT', 'y', 'lets the vendor lines below take effect', true),
        line('CPU_SUP_HYGON', 'n', 'CPU vendor support that QEMU never presents', true),
        line('CPU_SUP_CENTAUR', 'n', 'CPU vendor support that QEMU never presents', true),
        line('CPU_SUP_ZHAOXIN', 'n', 'CPU vendor support that QEMU never presents', true),
      ] },
      { after: 'BLOCK_LEGACY_AUTOLOAD', lines: [line('SERIAL_8250_DEPRECATED_OPTIONS', 'n', 'no legacy 8250 module options', true)] },
    ],
    withPci: {},
    withPciWhy: '',
  },
  aarch64: {
    base: [
      // ARM64 itself selects ARM_AMBA, COMMON_CLK (the UART's clock), the GIC, the architected timer and OF (device tree).
      { after: 'TTY', lines: [
        line('SERIAL_AMBA_PL011', 'y', 'serial console: the PL011 UART of QEMU virt (ttyAMA0)'),
        line('SERIAL_AMBA_PL011_CONSOLE', 'y', 'console=ttyAMA0'),
        line('SERIAL_8250', 'y', "Firecracker's arm64 console: a 16550 UART in its device tree (ttyS0)"),
        line('SERIAL_8250_CONSOLE', 'y', 'console=ttyS0 under Firecracker'),
        line('SERIAL_OF_PLATFORM', 'y', 'finds that UART in the device tree'),
        ...oneUart,
        // Kconfig turns these on with SERIAL_8250 (PCI cards, SoC variants): 118 KB of drivers/tty that a plain 16550 never uses.
        line('SERIAL_8250_PCI', 'n', 'no PCI serial cards: the console UART is in the device tree', true),
        line('SERIAL_8250_EXAR', 'n', 'no Exar PCI UARTs', true),
        line('SERIAL_8250_PERICOM', 'n', 'no Pericom PCI UARTs', true),
        line('SERIAL_8250_FSL', 'n', 'no Freescale SoC UART quirks', true),
        line('SERIAL_8250_DEPRECATED_OPTIONS', 'n', 'no legacy 8250 module options', true),
        line('SERIAL_8250_16550A_VARIANTS', 'n', 'no probing for 16550A variants: Firecracker emulates a plain 16550A', true),
      ] },
      { after: 'POSIX_TIMERS', lines: [
        line('ARM_PSCI_FW', 'y', "PSCI: the init's reboot() ends the VM (QEMU -no-reboot exits on PSCI SYSTEM_RESET)"),
        line('RANDOMIZE_BASE', 'n', 'no KASLR: no relocation work at boot in a throw-away VM', true),
      ] },
    ],
    withPci: { PCI_HOST_GENERIC: 'y' },
    withPciWhy: 'the ECAM PCIe host bridge of QEMU virt',
  },
};

/** The base fragment of an architecture: the common lines with its own inserted after their anchors. */
export function baseFragmentFor(arch: ArchName): readonly BaseLine[] {
  const out: BaseLine[] = [];
  for (const l of commonBase) {
    out.push(l);
    for (const group of archFragments[arch].base) if (group.after === l.symbol) out.push(...group.lines);
  }
  return out;
}

/** The x86-64 base fragment (what `baseFragment` always meant). */
export const baseFragment: readonly BaseLine[] = baseFragmentFor('x64');

# minimal: the smallest kernel and image that run one static program.
# microvm drivers (virtio-mmio, no PCI, no ACPI) without networking and
# without disks, the image in an initramfs, no kallsyms and stripped binaries,
# optimised for size. An image that needs net or block (a module's kernel:
# line, fs=rofs/ext4/btrfs) gets virtio-net or virtio-blk back.
kernel = custom
conf_drivers_profile = microvm
conf_drivers_virtio_net = 0
# no block layer for an initramfs root: bzImage 881,664 -> 771,072 bytes, same
# boot time and minimum memory (bench:kernels, docs/custom-kernel.md)
conf_drivers_virtio_blk = 0
fs = ramfs
conf_hide_symbols = 1
# kernel patches (conf/kernel-patches/, docs/custom-kernel.md): the compact
# layout (no 2 MiB section padding: the kernel occupies its real size); init
# memory freed without its 0xcc fill (a byte-at-a-time rep stosb under TCG, the
# largest single cost of this kernel's boot); no perf events (x86 otherwise
# always carries the perf core and the PMU drivers, ~200 KB)
kernel_patches = compact-layout,no-initmem-poison,no-perf-events
CFLAGS += -Os

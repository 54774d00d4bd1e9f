# minimal: the smallest kernel and image that run one static program.
# microvm drivers (virtio-mmio, no PCI, no ACPI) without networking, the
# image in an initramfs, no kallsyms and stripped binaries, optimised for size.
kernel = custom
conf_drivers_profile = microvm
conf_drivers_virtio_net = 0
fs = ramfs
conf_hide_symbols = 1
# the compact kernel layout (conf/kernel-patches/compact-layout.patch): no 2 MiB
# section padding, so the kernel occupies its real size (docs/custom-kernel.md)
kernel_patches = compact-layout
CFLAGS += -Os

# minimal: the smallest kernel and image that run one static program.
# microvm drivers (virtio-mmio, no PCI, no ACPI) without networking, the
# image in an initramfs, no kallsyms and stripped binaries, optimised for size.
kernel = custom
conf_drivers_profile = microvm
conf_drivers_virtio_net = 0
fs = ramfs
conf_hide_symbols = 1
CFLAGS += -Os

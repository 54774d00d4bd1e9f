# serverless (guide §9.1): a short-lived function on Firecracker or QEMU microvm.
# virtio-mmio only, networking on, compressed read-only root, hidden symbols.
kernel = custom
conf_drivers_profile = microvm
fs = rofs
conf_hide_symbols = 1
# the compact kernel layout (conf/kernel-patches/compact-layout.patch): no 2 MiB
# section padding, so the kernel occupies its real size (docs/custom-kernel.md)
kernel_patches = compact-layout,no-initmem-poison
conf_lazy_stack = 1
CFLAGS += -Os

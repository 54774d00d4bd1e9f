# serverless (guide §9.1): a short-lived function on Firecracker or QEMU microvm.
# virtio-mmio only, networking on, compressed read-only root, hidden symbols.
kernel = custom
conf_drivers_profile = microvm
fs = rofs
conf_hide_symbols = 1
conf_lazy_stack = 1
CFLAGS += -Os

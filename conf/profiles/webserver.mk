# webserver (guide §9.2): a network service on QEMU/KVM with virtio-net (PCI or
# mmio), multiqueue-capable, on a compressed read-only root.
kernel = custom
conf_drivers_profile = virtio
fs = rofs
conf_hide_symbols = 1
CFLAGS += -O2

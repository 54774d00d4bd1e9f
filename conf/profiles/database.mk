# database (guide §9.3): a stateful service. OSv's ZFS becomes btrfs here
# (compression, snapshots, checksums); data disks on virtio-blk or NVMe.
kernel = custom
conf_drivers_profile = virtio-pci
conf_drivers_nvme = 1
fs = btrfs
fs_compression = zstd
CFLAGS += -O2

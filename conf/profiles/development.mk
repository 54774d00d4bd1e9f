# development (guide §11.1): debug kernel with tracing, every common driver,
# an initramfs so that a rebuild is quick.
kernel = custom
mode = debug
conf_drivers_profile = virtio
conf_tracing = 1
fs = ramfs
CFLAGS += -O2

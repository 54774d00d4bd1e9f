# java (guide §9.4): a JVM service: many threads, a large heap.
kernel = custom
conf_drivers_profile = virtio
fs = rofs
conf_hide_symbols = 1
conf_lazy_stack = 1
conf_mem_huge_page_size = 2097152

// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/tailor-example: a read-only misc character device whose contents are
 * one line of text. An example of out-of-tree kernel code a Tailor module
 * ships (module.yaml kernel_sources:), built into its custom kernel.
 */
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/miscdevice.h>

static const char message[] = "hello from the tailor-example driver\n";

static ssize_t tailor_example_read(struct file *file, char __user *buf, size_t count, loff_t *pos)
{
	return simple_read_from_buffer(buf, count, pos, message, sizeof(message) - 1);
}

static const struct file_operations tailor_example_fops = {
	.owner = THIS_MODULE,
	.read = tailor_example_read,
	.llseek = default_llseek,
};

static struct miscdevice tailor_example_device = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "tailor-example",
	.fops = &tailor_example_fops,
	.mode = 0444,
};

static int __init tailor_example_init(void)
{
	return misc_register(&tailor_example_device);
}
device_initcall(tailor_example_init);

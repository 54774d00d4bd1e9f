/*
 * Kernel modules listed in /etc/tailor/modules (one guest path per line, in
 * load order, optional parameters after a space; '#' comments). Modules
 * ending in .xz/.zst/.gz are passed with MODULE_INIT_COMPRESSED_FILE, which
 * needs Linux 6.4+ (Debian 12's 6.1 ships plain .ko files).
 * Like modprobe, a module also gets the NAME.param=value words of the kernel
 * command line (the kernel only applies those to built-in code). Debian's
 * modular virtio_mmio is built without VIRTIO_MMIO_CMDLINE_DEVICES and ignores
 * device=; the runner gives such kernels ACPI on microvm to find devices.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int load_with_params(const char *path, const char *params);

/* "virtio_mmio" from ".../virtio_mmio.ko.xz" (written into name). */
static void module_name(const char *path, char *name, size_t len)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strcspn(base, ".");
	snprintf(name, len, "%.*s", (int)(n < len ? n : len - 1), base);
}

static int load_one(const char *path, const char *list_params, const char *kernel_words)
{
	char name[128];
	module_name(path, name, sizeof name);
	char *from_cmdline = cl_module_params(kernel_words, name);
	size_t plen = strlen(list_params) + (from_cmdline ? strlen(from_cmdline) : 0) + 2;
	char *params = malloc(plen);
	if (!params || !from_cmdline) {
		free(params);
		free(from_cmdline);
		error_line("out of memory loading %s", path);
		return -1;
	}
	snprintf(params, plen, "%s%s%s", list_params, *list_params && *from_cmdline ? " " : "", from_cmdline);
	free(from_cmdline);
	int rc = load_with_params(path, params);
	free(params);
	return rc;
}

static int load_with_params(const char *path, const char *params)
{
	int flags = 0;
	if (ends_with(path, ".xz") || ends_with(path, ".zst") || ends_with(path, ".gz"))
		flags |= MODULE_INIT_COMPRESSED_FILE;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_line("cannot open kernel module %s: %s", path, strerror(errno));
		return -1;
	}
	long rc = syscall(SYS_finit_module, fd, params, flags);
	int e = errno;
	close(fd);
	if (rc < 0 && e != EEXIST) {
		error_line("cannot load kernel module %s: %s%s", path, strerror(e),
		           flags && e == EINVAL ? " (compressed modules need Linux 6.4+; store it uncompressed)"
		           : e == ENOENT       ? " (a module it depends on is not loaded: list dependencies first)"
		                                : "");
		return -1;
	}
	info("loaded %s%s%s%s", path, *params ? " " : "", params, rc < 0 ? " (already loaded)" : "");
	return 0;
}

int load_modules(const char *list_path, const char *kernel_words)
{
	int fd = open(list_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : (error_line("cannot read %s: %s", list_path, strerror(errno)), -1);
	size_t cap = 4096, len = 0;
	char *text = malloc(cap);
	for (;;) {
		if (!text) {
			close(fd);
			error_line("out of memory reading %s", list_path);
			return -1;
		}
		if (len + 1 >= cap)
			text = realloc(text, cap *= 2);
		if (!text)
			continue;
		ssize_t n = read(fd, text + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = 0;
	int rc = 0;
	for (char *line = text, *next; line && rc == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		char *params = line + strcspn(line, " \t\r");
		if (*params) {
			*params++ = 0;
			params += strspn(params, " \t");
			params[strcspn(params, "\r")] = 0;
		}
		rc = load_one(line, params, kernel_words);
	}
	free(text);
	return rc;
}

/* Mounting: the base filesystems every guest gets, and --mount-fs/--tmpfs. */
#include "init.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

/* Something is mounted on `path` when it sits on another device than its parent. */
static int is_mounted(const char *path)
{
	char parent[PATH_MAX];
	struct stat a, b;
	if (strlen(path) + 4 > sizeof parent || stat(path, &a) < 0)
		return 0;
	strcpy(parent, path);
	strcat(parent, "/..");
	if (stat(parent, &b) < 0)
		return 0;
	return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

int mkdir_parents(const char *path)
{
	char p[PATH_MAX];
	if (strlen(path) >= sizeof p) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(p, path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;
			*s = 0;
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return -1;
			*s = c;
			if (!c)
				return 0;
		}
	}
}

int mount_base(const char *type, const char *target, unsigned long flags, const char *data)
{
	if (mkdir(target, 0755) < 0 && errno != EEXIST) {
		error_line("cannot create %s for %s: %s%s", target, type, strerror(errno),
		           errno == EROFS ? " (the root is read-only: the image must contain this directory)" : "");
		return -1;
	}
	if (is_mounted(target)) {
		info("%s already mounted", target);
		return 0;
	}
	if (mount(type, target, type, flags, data) < 0) {
		/* a tiny kernel may leave sysfs out; nothing in the init needs it */
		if (errno == ENODEV && strcmp(type, "sysfs") == 0) {
			info("this kernel has no sysfs: /sys left empty");
			return 0;
		}
		error_line("cannot mount %s on %s: %s", type, target, strerror(errno));
		return -1;
	}
	info("mounted %s on %s", type, target);
	return 0;
}

int mount_user(const struct cl_mount *m)
{
	if (mkdir_parents(m->target) < 0) {
		error_line("cannot create mount point %s: %s%s", m->target, strerror(errno),
		           errno == EROFS ? " (the root is read-only: add the directory to the image)" : "");
		return -1;
	}
	/* drivers loaded a moment ago may still be probing: give a /dev node up to 5 s to appear */
	if (strncmp(m->source, "/dev/", 5) == 0) {
		struct stat st;
		uint64_t deadline = boottime_ns() + 5000000000ull;
		while (stat(m->source, &st) < 0 && boottime_ns() < deadline) {
			struct timespec ts = {0, 5000000L};
			nanosleep(&ts, NULL);
		}
	}
	unsigned long flags = m->readonly ? MS_RDONLY : 0;
	if (mount(m->source, m->target, m->type, flags, m->data) < 0) {
		int e = errno;
		const char *hint = "";
		if (e == ENODEV)
			hint = " (this kernel has no such filesystem: add its module to the image)";
		else if (e == ENOENT || e == ENXIO)
			hint = " (no such device: is the disk attached, and its driver in the image?)";
		error_line("cannot mount %s %s on %s: %s%s", m->type, m->source, m->target, strerror(e), hint);
		return -1;
	}
	info("mounted %s %s on %s", m->type, m->source, m->target);
	return 0;
}

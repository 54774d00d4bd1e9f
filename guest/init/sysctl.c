/* --sysctl: write a /proc/sys file (or one field of a vector such as tcp_wmem). */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int apply_sysctl(const struct cl_sysctl *s)
{
	char value[256];
	if (s->field < 0) {
		if (strlen(s->value) >= sizeof value) {
			error_line("--sysctl %s: value too long", s->name);
			return -1;
		}
		strcpy(value, s->value);
	} else {
		char cur[256];
		int fd = open(s->path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, cur, sizeof cur - 1);
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (n < 0) {
			error_line("--sysctl %s: cannot read %s: %s", s->name, s->path, strerror(e));
			return -1;
		}
		cur[n] = 0;
		if (cl_replace_field(cur, s->field, s->value, s->raise_last, value, sizeof value) < 0) {
			error_line("--sysctl %s: unexpected contents of %s", s->name, s->path);
			return -1;
		}
	}
	int fd = open(s->path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		error_line("--sysctl %s: %s%s", s->name, strerror(errno),
		           errno == ENOENT ? " (this kernel has no such setting)" : "");
		return -1;
	}
	ssize_t w = write(fd, value, strlen(value));
	int e = errno;
	close(fd);
	if (w < 0) {
		error_line("--sysctl %s=%s: %s", s->name, value, strerror(e));
		return -1;
	}
	info("sysctl %s: %s = %s", s->name, s->path, value);
	return 0;
}

/*
 * --sysctl names: Linux dotted names map to /proc/sys/...; the OSv/BSD names
 * the OSv guide uses (net.inet.tcp.sendspace, kern.ipc.somaxconn, ...) map
 * through a fixed table. Pure string handling (host-testable).
 */
#ifndef TAILOR_SYSCTL_MAP_H
#define TAILOR_SYSCTL_MAP_H

#include <stddef.h>

struct sysctl_target {
	const char *linux_name; /* dotted Linux name, e.g. net.ipv4.tcp_wmem */
	int field;              /* -1 whole value, else field of a vector */
	int raise_last;         /* also raise the vector's last field (max) */
	int ms_to_s;            /* BSD value in milliseconds, Linux in seconds */
};

/* True when `name` is in a BSD namespace (net.inet., net.inet6., kern., hw.). */
int sysctl_is_bsd_name(const char *name);

/*
 * Fill out[] (up to max) with the Linux targets of a BSD name; returns how
 * many (0 when the name is not in the table).
 */
size_t sysctl_bsd_targets(const char *name, const struct sysctl_target **out, size_t max);

/* A comma-separated list of every supported BSD name, for error messages. */
const char *sysctl_bsd_names(void);

/*
 * Check a Linux dotted name ([a-z0-9_-] words separated by single dots) and
 * write "/proc/sys/a/b/c" into path. Returns 0, or -1 if the name is invalid
 * or path is too small.
 */
int sysctl_proc_path(const char *name, char *path, size_t pathlen);

#endif

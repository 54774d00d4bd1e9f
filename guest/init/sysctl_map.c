#include "sysctl_map.h"

#include <string.h>

/*
 * OSv (FreeBSD network stack) names → Linux. Only pairs with the same
 * meaning are listed; a BSD name missing here is an error, never ignored.
 * sendspace/recvspace are the default socket buffer sizes: on Linux, the
 * middle field of tcp_wmem/tcp_rmem ("min default max"); the max is raised
 * so the default stays valid.
 */
static const struct {
	const char *bsd;
	struct sysctl_target t;
} table[] = {
	{"kern.hostname", {"kernel.hostname", -1, 0, 0}},
	{"kern.ipc.maxsockbuf", {"net.core.rmem_max", -1, 0, 0}},
	{"kern.ipc.maxsockbuf", {"net.core.wmem_max", -1, 0, 0}},
	{"kern.ipc.somaxconn", {"net.core.somaxconn", -1, 0, 0}},
	{"kern.maxfiles", {"fs.file-max", -1, 0, 0}},
	{"net.inet.ip.forwarding", {"net.ipv4.ip_forward", -1, 0, 0}},
	{"net.inet.ip.portrange.first", {"net.ipv4.ip_local_port_range", 0, 0, 0}},
	{"net.inet.ip.portrange.last", {"net.ipv4.ip_local_port_range", 1, 0, 0}},
	{"net.inet.ip.ttl", {"net.ipv4.ip_default_ttl", -1, 0, 0}},
	{"net.inet.tcp.ecn.enable", {"net.ipv4.tcp_ecn", -1, 0, 0}},
	{"net.inet.tcp.keepcnt", {"net.ipv4.tcp_keepalive_probes", -1, 0, 0}},
	{"net.inet.tcp.keepidle", {"net.ipv4.tcp_keepalive_time", -1, 0, 1}},
	{"net.inet.tcp.keepintvl", {"net.ipv4.tcp_keepalive_intvl", -1, 0, 1}},
	{"net.inet.tcp.recvspace", {"net.ipv4.tcp_rmem", 1, 1, 0}},
	{"net.inet.tcp.rfc1323", {"net.ipv4.tcp_timestamps", -1, 0, 0}},
	{"net.inet.tcp.rfc1323", {"net.ipv4.tcp_window_scaling", -1, 0, 0}},
	{"net.inet.tcp.sack.enable", {"net.ipv4.tcp_sack", -1, 0, 0}},
	{"net.inet.tcp.sendspace", {"net.ipv4.tcp_wmem", 1, 1, 0}},
	{"net.inet.tcp.syncookies", {"net.ipv4.tcp_syncookies", -1, 0, 0}},
	{"net.inet.udp.recvspace", {"net.core.rmem_default", -1, 0, 0}},
};

int sysctl_is_bsd_name(const char *name)
{
	static const char *const prefixes[] = {"net.inet.", "net.inet6.", "kern.", "hw."};
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

size_t sysctl_bsd_targets(const char *name, const struct sysctl_target **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(table[i].bsd, name) == 0 && n < max)
			out[n++] = &table[i].t;
	return n;
}

const char *sysctl_bsd_names(void)
{
	static char buf[1024];
	if (buf[0])
		return buf;
	size_t len = 0;
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		if (i > 0 && strcmp(table[i].bsd, table[i - 1].bsd) == 0)
			continue;
		size_t l = strlen(table[i].bsd);
		if (len + l + 3 >= sizeof buf)
			break;
		if (len) {
			memcpy(buf + len, ", ", 2);
			len += 2;
		}
		memcpy(buf + len, table[i].bsd, l);
		len += l;
		buf[len] = 0;
	}
	return buf;
}

int sysctl_proc_path(const char *name, char *path, size_t pathlen)
{
	static const char prefix[] = "/proc/sys/";
	size_t n = strlen(name);
	if (n == 0 || sizeof prefix + n > pathlen)
		return -1;
	int word = 0; /* length of the current word */
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (c == '.') {
			if (word == 0)
				return -1;
			word = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		           (c >= 'A' && c <= 'Z')) {
			word++;
		} else {
			return -1;
		}
	}
	if (word == 0)
		return -1;
	memcpy(path, prefix, sizeof prefix - 1);
	for (size_t i = 0; i <= n; i++)
		path[sizeof prefix - 1 + i] = name[i] == '.' ? '/' : name[i];
	return 0;
}

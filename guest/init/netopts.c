/*
 * The network options of the command line (--ip, --defaultgw, --nameserver):
 * checked and normalised here, pure string handling, so the host unit test
 * covers them with the rest of the parser. net.c applies them in the guest.
 */
#include "cmdline.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A dotted IPv4 address into out (16 bytes); 0, or -1 when it is not one. */
static int ipv4(const char *text, size_t len, char *out)
{
	char buf[32];
	struct in_addr a;
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, text, len);
	buf[len] = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	inet_ntop(AF_INET, &a, out, 16);
	return 0;
}

/* A netmask must be ones then zeros (255.255.255.0, not 255.0.255.0). */
static int contiguous(const char *mask)
{
	struct in_addr a;
	inet_pton(AF_INET, mask, &a);
	uint32_t m = ntohl(a.s_addr);
	return (~m & (~m + 1)) == 0;
}

int cl_net_ip(struct cl_net *n, const char *val, char *err, size_t errlen)
{
	static const char usage[] = "expected --ip=IF,ADDR,MASK or --ip=IF,ADDR/PREFIX (e.g. --ip=eth0,192.168.122.10,255.255.255.0)";
	const char *c1 = strchr(val, ',');
	if (!c1 || c1 == val) {
		snprintf(err, errlen, "--ip=%s: %s", val, usage);
		return -1;
	}
	size_t iflen = (size_t)(c1 - val);
	if (iflen >= sizeof n->ips[0].ifname) {
		snprintf(err, errlen, "--ip=%s: interface name longer than 15 characters", val);
		return -1;
	}
	if (n->nips == CL_MAX_IPS) {
		snprintf(err, errlen, "--ip: at most %d interfaces", CL_MAX_IPS);
		return -1;
	}
	struct cl_ip ip;
	memset(&ip, 0, sizeof ip);
	memcpy(ip.ifname, val, iflen);
	const char *addr = c1 + 1;
	const char *c2 = strchr(addr, ',');
	const char *slash = strchr(addr, '/');
	if (c2) {
		if (ipv4(addr, (size_t)(c2 - addr), ip.addr) < 0 || ipv4(c2 + 1, strlen(c2 + 1), ip.mask) < 0) {
			snprintf(err, errlen, "--ip=%s: %s", val, usage);
			return -1;
		}
		if (!contiguous(ip.mask)) {
			snprintf(err, errlen, "--ip=%s: netmask %s is not contiguous ones then zeros", val, ip.mask);
			return -1;
		}
	} else if (slash) {
		char *end;
		long prefix = strtol(slash + 1, &end, 10);
		if (ipv4(addr, (size_t)(slash - addr), ip.addr) < 0 || end == slash + 1 || *end || prefix < 0 || prefix > 32) {
			snprintf(err, errlen, "--ip=%s: %s", val, usage);
			return -1;
		}
		struct in_addr m = {htonl(prefix == 0 ? 0 : 0xffffffffu << (32 - prefix))};
		inet_ntop(AF_INET, &m, ip.mask, sizeof ip.mask);
	} else {
		snprintf(err, errlen, "--ip=%s: %s", val, usage);
		return -1;
	}
	for (size_t i = 0; i < n->nips; i++)
		if (strcmp(n->ips[i].ifname, ip.ifname) == 0) {
			snprintf(err, errlen, "--ip: interface %s given twice", ip.ifname);
			return -1;
		}
	n->ips[n->nips++] = ip;
	return 0;
}

int cl_net_gw(struct cl_net *n, const char *val, char *err, size_t errlen)
{
	if (ipv4(val, strlen(val), n->defaultgw) < 0) {
		snprintf(err, errlen, "--defaultgw=%s: expected an IPv4 address (e.g. --defaultgw=192.168.122.1)", val);
		return -1;
	}
	return 0;
}

int cl_net_nameserver(struct cl_net *n, const char *val, char *err, size_t errlen)
{
	if (n->nnameservers == CL_MAX_NAMESERVERS) {
		snprintf(err, errlen, "--nameserver: at most %d (the resolver reads no more)", CL_MAX_NAMESERVERS);
		return -1;
	}
	if (ipv4(val, strlen(val), n->nameservers[n->nnameservers]) < 0) {
		snprintf(err, errlen, "--nameserver=%s: expected an IPv4 address (e.g. --nameserver=10.0.2.3)", val);
		return -1;
	}
	n->nnameservers++;
	return 0;
}

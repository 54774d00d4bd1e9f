/*
 * A minimal DHCP client (RFC 2131) for the boot: DISCOVER, OFFER, REQUEST,
 * ACK over a UDP socket bound to the interface (SO_BINDTODEVICE) with the
 * broadcast flag set, so the replies reach an interface that has no address
 * yet. No lease renewal: a VM lives for one application run, and QEMU's
 * user-mode server gives 24-hour leases.
 */
#include "init.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct bootp {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	uint8_t sname[64];
	uint8_t file[128];
	uint8_t cookie[4];
	uint8_t options[312];
};

static const uint8_t cookie[4] = {99, 130, 83, 99};

enum { DISCOVER = 1, OFFER = 2, REQUEST = 3, ACK = 5, NAK = 6 };

static size_t put_request(struct bootp *b, uint32_t xid, const uint8_t mac[6], int type, uint32_t want, uint32_t server)
{
	memset(b, 0, sizeof *b);
	b->op = 1;
	b->htype = 1;
	b->hlen = 6;
	b->xid = xid;
	b->flags = htons(0x8000); /* broadcast the reply: we have no address to receive unicast on */
	memcpy(b->chaddr, mac, 6);
	memcpy(b->cookie, cookie, 4);
	uint8_t *o = b->options;
	*o++ = 53, *o++ = 1, *o++ = (uint8_t)type;
	if (want) {
		*o++ = 50, *o++ = 4;
		memcpy(o, &want, 4);
		o += 4;
	}
	if (server) {
		*o++ = 54, *o++ = 4;
		memcpy(o, &server, 4);
		o += 4;
	}
	*o++ = 55, *o++ = 3, *o++ = 1, *o++ = 3, *o++ = 6; /* ask for netmask, router, DNS */
	*o++ = 255;
	return (size_t)(o - (uint8_t *)b);
}

/* Option `code` (4-byte value) from a reply, or 0 if absent. type: option 53. */
static uint32_t option4(const struct bootp *b, size_t len, int code, int *type)
{
	const uint8_t *o = b->options, *end = (const uint8_t *)b + len;
	uint32_t v = 0;
	while (o < end && *o != 255) {
		if (*o == 0) {
			o++;
			continue;
		}
		if (o + 2 > end || o + 2 + o[1] > end)
			break;
		if (o[0] == 53 && o[1] == 1 && type)
			*type = o[2];
		if (o[0] == code && o[1] >= 4)
			memcpy(&v, o + 2, 4);
		o += 2 + o[1];
	}
	return v;
}

/* Wait up to ms for a reply to xid of the wanted type; returns its length or -1. */
static ssize_t await_reply(int fd, uint32_t xid, int want, struct bootp *r, int ms)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int left = ms - (int)((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return -1;
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, left) <= 0)
			continue;
		ssize_t n = recv(fd, r, sizeof *r, 0);
		int type = 0;
		if (n < (ssize_t)offsetof(struct bootp, options) || r->op != 2 || r->xid != xid || memcmp(r->cookie, cookie, 4) != 0)
			continue;
		option4(r, (size_t)n, 0, &type);
		if (type == want || type == NAK)
			return type == NAK ? -1 : n;
	}
}

int dhcp_configure(const char *ifname, struct cl_ip *ip, char gw[16], char dns[16], int timeout_ms)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(68)};
	struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(67), .sin_addr.s_addr = INADDR_BROADCAST};
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
	    bind(fd, (struct sockaddr *)&me, sizeof me) < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		info("dhcp on %s: %s", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	uint8_t mac[6];
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	uint32_t xid;
	memcpy(&xid, mac + 2, 4);
	xid ^= (uint32_t)boottime_ns();
	struct bootp q, r;
	ssize_t n = -1;
	/* a few tries inside the timeout: the first packet may go out before the link is ready */
	int tries = 3, slice = timeout_ms / tries;
	for (int i = 0; i < tries && n < 0; i++) {
		size_t len = put_request(&q, xid, mac, DISCOVER, 0, 0);
		if (sendto(fd, &q, len, 0, (struct sockaddr *)&server, sizeof server) < 0)
			info("dhcp discover on %s: %s", ifname, strerror(errno));
		n = await_reply(fd, xid, OFFER, &r, slice);
	}
	if (n >= 0) {
		uint32_t offered = r.yiaddr, sid = option4(&r, (size_t)n, 54, NULL);
		size_t len = put_request(&q, xid, mac, REQUEST, offered, sid);
		n = sendto(fd, &q, len, 0, (struct sockaddr *)&server, sizeof server) < 0 ? -1 : await_reply(fd, xid, ACK, &r, slice);
	}
	close(fd);
	if (n < 0)
		return -1;
	struct in_addr a = {r.yiaddr};
	uint32_t mask = option4(&r, (size_t)n, 1, NULL), router = option4(&r, (size_t)n, 3, NULL),
	         ns = option4(&r, (size_t)n, 6, NULL);
	snprintf(ip->ifname, sizeof ip->ifname, "%s", ifname);
	inet_ntop(AF_INET, &a, ip->addr, sizeof ip->addr);
	a.s_addr = mask ? mask : htonl(0xffffff00);
	inet_ntop(AF_INET, &a, ip->mask, sizeof ip->mask);
	gw[0] = dns[0] = 0;
	if (router) {
		a.s_addr = router;
		inet_ntop(AF_INET, &a, gw, 16);
	}
	if (ns) {
		a.s_addr = ns;
		inet_ntop(AF_INET, &a, dns, 16);
	}
	return 0;
}

/*
 * The guest network: loopback always up; each --ip interface configured
 * (address, netmask, up), --defaultgw as the default route, --nameserver
 * into /etc/resolv.conf. With no --ip and an eth0 present, eth0 asks DHCP
 * (dhcp.c; QEMU's user-mode server answers at once) and, with no answer in
 * 1.5 s, takes QEMU user-mode networking's fixed plan (10.0.2.15/24,
 * gateway 10.0.2.2), which is what `tailor run` gives by default anyway.
 * An image that needs the network (the kernel word tailor.net=1, written by
 * the image stage for a `net` need) without an eth0 is an error.
 * Plain ioctls on an AF_INET socket, no netlink, and no if_nametoindex():
 * musl's opens an AF_UNIX socket, which a kernel built with exactly the
 * image's needs may not have (CONFIG_UNIX is the unix-sockets feature).
 */
#include "init.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* QEMU user-mode networking (slirp) defaults */
static const struct cl_ip usernet_ip = {"eth0", "10.0.2.15", "255.255.255.0"};
static const char usernet_gw[] = "10.0.2.2";

static void set_sin(struct sockaddr *sa, const char *dotted)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, dotted, &sin->sin_addr);
}

/* The interface's index, 0 when there is none (SIOCGIFINDEX on any socket: no AF_UNIX needed). */
static int iface_index(int s, const char *ifname)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
	return ioctl(s, SIOCGIFINDEX, &ifr) == 0 ? ifr.ifr_ifindex : 0;
}

/* An interface appears when its driver probes, which may trail the module load a little. */
static int wait_for_interface(int s, const char *ifname, int ms)
{
	for (int waited = 0;; waited += 10) {
		if (iface_index(s, ifname) != 0)
			return waited;
		if (waited >= ms)
			return -1;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* Whether some device on a sysfs bus has `file` starting with `prefix` (e.g. virtio device id 0x0001). */
static int bus_has(const char *bus, const char *file, const char *prefix)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/sys/bus/%s/devices", bus);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		char path[352], text[16] = "";
		snprintf(path, sizeof path, "%s/%s/%s", dir, e->d_name, file);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, text, sizeof text - 1);
		close(fd);
		found = len > 0 && strncmp(text, prefix, strlen(prefix)) == 0;
	}
	closedir(d);
	return found;
}

/*
 * Whether the VM has a network card (a virtio device with id 1, or a PCI
 * device of class 02: network controller), so that eth0 is worth waiting for
 * while its driver probes; a VM without one (tailor run --no-network) must
 * not pay that wait. Seen even when the kernel has no driver for it.
 */
static int nic_present(void)
{
	return bus_has("virtio", "device", "0x0001") || bus_has("pci", "class", "0x02");
}

/* The driver behind an interface, for --verbose ("virtio_net"); "?" when sysfs does not say. */
static const char *driver_of(const char *ifname, char *buf, size_t len)
{
	char path[96];
	snprintf(path, sizeof path, "/sys/class/net/%s/device/driver", ifname);
	ssize_t n = readlink(path, buf, len - 1);
	if (n <= 0)
		return "?";
	buf[n] = 0;
	const char *slash = strrchr(buf, '/');
	return slash ? slash + 1 : buf;
}

/* Sets and clears interface flags (SIOCSIFFLAGS only when they change); -1 with errno on failure. */
static int link_flags(int s, const char *ifname, short set, short clear)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	short flags = (short)((ifr.ifr_flags | set) & ~clear);
	if (flags == ifr.ifr_flags)
		return 0;
	ifr.ifr_flags = flags;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static int link_up(int s, const char *ifname)
{
	return link_flags(s, ifname, IFF_UP | IFF_RUNNING, 0);
}

static int configure(int s, const struct cl_ip *ip)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ip->ifname);
	set_sin(&ifr.ifr_addr, ip->addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0) {
		error_line("--ip %s: cannot set address %s: %s", ip->ifname, ip->addr, strerror(errno));
		return -1;
	}
	set_sin(&ifr.ifr_netmask, ip->mask);
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0) {
		error_line("--ip %s: cannot set netmask %s: %s", ip->ifname, ip->mask, strerror(errno));
		return -1;
	}
	if (link_up(s, ip->ifname) < 0) {
		error_line("--ip %s: cannot bring the interface up: %s", ip->ifname, strerror(errno));
		return -1;
	}
	info("network: %s %s netmask %s", ip->ifname, ip->addr, ip->mask);
	return 0;
}

static int default_route(int s, const char *gw)
{
	struct rtentry rt;
	memset(&rt, 0, sizeof rt);
	set_sin(&rt.rt_dst, "0.0.0.0");
	set_sin(&rt.rt_genmask, "0.0.0.0");
	set_sin(&rt.rt_gateway, gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST) {
		error_line("--defaultgw=%s: cannot add the default route: %s%s", gw, strerror(errno),
		           errno == ENETUNREACH ? " (no --ip interface is on the gateway's network)" : "");
		return -1;
	}
	info("network: default route via %s", gw);
	return 0;
}

/*
 * /etc/resolv.conf from --nameserver: written beside and renamed; on a
 * read-only root the file goes to /tmp and is bind-mounted over the image's
 * /etc/resolv.conf (which must exist: the host-closure files bring one).
 */
static int write_resolv_conf(const struct cl_net *n)
{
	char text[256] = "";
	size_t len = 0;
	for (size_t i = 0; i < n->nnameservers; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "nameserver %s\n", n->nameservers[i]);
	if (len >= sizeof text)
		len = sizeof text - 1;
	const char *tmp = "/etc/.resolv.conf.tailor";
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		int ok = write(fd, text, len) == (ssize_t)len;
		close(fd);
		if (ok && rename(tmp, "/etc/resolv.conf") == 0)
			return 0;
		unlink(tmp);
	} else if (errno == EROFS || errno == EACCES) {
		const char *side = "/tmp/.tailor-resolv.conf";
		fd = open(side, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;
		if (fd >= 0)
			close(fd);
		if (ok && mount(side, "/etc/resolv.conf", NULL, MS_BIND, NULL) == 0)
			return 0;
		error_line("--nameserver: the root is read-only and /etc/resolv.conf cannot be covered (%s); "
		           "put an /etc/resolv.conf in the image", strerror(errno));
		return -1;
	}
	error_line("--nameserver: cannot write /etc/resolv.conf: %s", strerror(errno));
	return -1;
}

/* Whether the kernel words say the image needs the network (tailor.net=1). */
static int net_needed(const char *kernel_words)
{
	char *v = kernel_word(kernel_words, "tailor.net");
	int need = v && strcmp(v, "1") == 0;
	free(v);
	return need;
}

/* No eth0 although the image needs the network: say why. 0 when that is acceptable (no network card). */
static int missing_eth0(int nic)
{
	if (!nic) {
		/* tailor run --no-network: the user asked for a VM without a network device */
		say("tailor: warning: the image needs the network (tailor.net=1) but the VM has no network device: no eth0");
		return 0;
	}
	error_line("the image needs the network (tailor.net=1) and the VM has a network device, but the kernel made no "
	           "interface eth0 for it in 1 s: the kernel has no driver for that device (a custom kernel gets it from "
	           "the drivers profile: `tailor kernel config` shows it; kernel=stock loads virtio_net)");
	return -1;
}

int setup_network(const struct cl_net *n, const char *kernel_words)
{
	int need = net_needed(kernel_words);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		/* a kernel without IPv4: fine unless the image or the command line asks for the network */
		if (need || n->nips || n->defaultgw[0] || n->nnameservers) {
			error_line("%s but this kernel has no IPv4 networking (CONFIG_INET): %s",
			           need ? "the image needs the network (tailor.net=1)" : "network options given", strerror(errno));
			return -1;
		}
		info("network: this kernel has no IPv4 networking; nothing to set up");
		return 0;
	}
	int rc = 0;
	if (iface_index(s, "lo") != 0 && link_up(s, "lo") < 0) {
		error_line("cannot bring up lo: %s", strerror(errno));
		rc = -1;
	}
	const char *gw = n->defaultgw[0] ? n->defaultgw : NULL;
	for (size_t i = 0; rc == 0 && i < n->nips; i++) {
		if (wait_for_interface(s, n->ips[i].ifname, 5000) < 0) {
			error_line("--ip: no network interface %s (after 5 s); the image needs a network driver "
			           "(a module with `kernel: [net]`) and the VM a network device", n->ips[i].ifname);
			rc = -1;
		} else {
			rc = configure(s, &n->ips[i]);
		}
	}
	/* no --ip: DHCP on eth0 if there is one, else QEMU user-mode networking's addresses */
	int nic = nic_present();
	static char lease_gw[16];
	struct cl_net lease_dns;
	memset(&lease_dns, 0, sizeof lease_dns);
	int waited = rc == 0 && n->nips == 0 ? wait_for_interface(s, "eth0", nic ? 1000 : 0) : -2;
	char drv[64];
	if (waited >= 0) {
		info("network: eth0 (driver %s) after %d ms; asking DHCP", driver_of("eth0", drv, sizeof drv), waited);
		struct cl_ip lease;
		if (link_up(s, "eth0") == 0 && dhcp_configure("eth0", &lease, lease_gw, lease_dns.nameservers[0], 1500) == 0) {
			info("network: DHCP lease on eth0: %s/%s router %s dns %s", lease.addr, lease.mask,
			     lease_gw[0] ? lease_gw : "-", lease_dns.nameservers[0][0] ? lease_dns.nameservers[0] : "-");
			rc = configure(s, &lease);
			if (!gw && lease_gw[0])
				gw = lease_gw;
			lease_dns.nnameservers = lease_dns.nameservers[0][0] ? 1 : 0;
		} else {
			info("network: no DHCP answer on eth0; using QEMU user-mode addresses");
			rc = configure(s, &usernet_ip);
			if (!gw)
				gw = usernet_gw;
		}
	} else if (waited == -1 && need) {
		rc = missing_eth0(nic);
	} else if (waited == -1) {
		info("network: no eth0 (%s) and the image does not need the network (no tailor.net=1)",
		     nic ? "the VM has a network device the kernel has no driver for" : "no network device");
	}
	if (rc == 0 && gw)
		rc = default_route(s, gw);
	close(s);
	if (rc == 0 && n->nnameservers)
		rc = write_resolv_conf(n);
	else if (rc == 0 && lease_dns.nnameservers && write_resolv_conf(&lease_dns) < 0)
		info("network: the DHCP server's DNS is not in /etc/resolv.conf");
	return rc;
}

/*
 * Before power-off: every interface but lo goes down, so no NAPI poll is
 * left running when device_shutdown() breaks the virtqueues. Kernels with
 * virtio's shutdown hook and without the virtio_ring fix for it can spin
 * forever in virtnet_poll_cleantx there (a rare hang at reboot, seen under
 * TCG with Debian's 6.1.0-57: ksoftirqd soft lockups after the exit marker).
 * /proc/net/dev lists the interfaces without netlink or AF_UNIX.
 */
void network_down(void)
{
	FILE *f = fopen("/proc/net/dev", "re");
	if (!f)
		return;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char line[256];
	while (s >= 0 && fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue; /* the two header lines */
		*colon = 0;
		char *name = line + strspn(line, " ");
		if (strcmp(name, "lo") == 0)
			continue;
		if (link_flags(s, name, 0, IFF_UP) < 0)
			info("could not take %s down before power-off: %s", name, strerror(errno));
	}
	if (s >= 0)
		close(s);
	fclose(f);
}

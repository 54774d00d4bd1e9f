/*
 * Host unit test of the command-line parser (the same cmdline.c the guest
 * init uses), table-driven. Built by `make test` with ASan/UBSan when the
 * compiler has them, so leaks and overflows fail the run too.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "sysctl_map.h"

static int failures, passes;

static void check_str(const char *what, const char *got, const char *want)
{
	if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0)) {
		printf("FAIL %s\n  want: %s\n  got:  %s\n", what, want ? want : "(null)", got ? got : "(null)");
		failures++;
	} else {
		passes++;
	}
}

/* A compact, canonical rendering of a parse result. */
static void render(const struct cl_result *r, char *out, size_t n)
{
	size_t len = 0;
#define PUT(...) (len += (size_t)snprintf(out + len, len < n ? n - len : 0, __VA_ARGS__))
	out[0] = 0;
	if (r->verbose || r->bootchart || r->noinit || r->power_off_on_abort || r->meminfo)
		PUT("opts=%s%s%s%s%s ", r->verbose ? "V" : "", r->bootchart ? "B" : "", r->noinit ? "N" : "", r->meminfo ? "M" : "",
		    r->power_off_on_abort ? "P" : "");
	if (r->cwd)
		PUT("cwd=%s ", r->cwd);
	if (r->redirect)
		PUT("redir%s%s ", r->redirect_append ? ">>" : "=", r->redirect);
	for (size_t i = 0; i < r->nmounts; i++)
		PUT("mount(%s,%s,%s,%s,%s) ", r->mounts[i].type, r->mounts[i].source, r->mounts[i].target,
		    r->mounts[i].data ? r->mounts[i].data : "-", r->mounts[i].readonly ? "ro" : "rw");
	for (size_t i = 0; i < r->nsysctls; i++) {
		PUT("sysctl(%s=%s", r->sysctls[i].path, r->sysctls[i].value);
		if (r->sysctls[i].field >= 0)
			PUT("#%d%s", r->sysctls[i].field, r->sysctls[i].raise_last ? "^" : "");
		PUT(") ");
	}
	for (size_t i = 0; i < r->net.nips; i++)
		PUT("ip(%s,%s,%s) ", r->net.ips[i].ifname, r->net.ips[i].addr, r->net.ips[i].mask);
	if (r->net.defaultgw[0])
		PUT("gw=%s ", r->net.defaultgw);
	for (size_t i = 0; i < r->net.nnameservers; i++)
		PUT("ns=%s ", r->net.nameservers[i]);
	if (r->trace)
		PUT("trace=%s ", r->trace);
	for (size_t i = 0; i < r->ncmds; i++) {
		const struct cl_command *c = &r->cmds[i];
		PUT("{");
		for (size_t j = 0; j < c->argc; j++)
			PUT("%s%s", j ? "|" : "", c->argv[j]);
		PUT("}");
		if (c->cwd)
			PUT("<cwd=%s>", c->cwd);
		if (c->redirect)
			PUT("<redir%s%s>", c->redirect_append ? ">>" : "=", c->redirect);
		PUT("%s ", c->sep == CL_SEQ ? ";" : c->sep == CL_BG ? "&" : c->sep == CL_BG_NOWAIT ? "&!" : "!");
	}
	if (len > 0 && len < n && out[len - 1] == ' ')
		out[--len] = 0;
#undef PUT
}

/* runscript files for the tests */
static char *fake_read(void *ctx, const char *path, char *err, size_t errlen)
{
	(void)ctx;
	static const char *const files[][2] = {
		{"/s1", "/x 1; /y 2"},
		{"/loop", "runscript /loop"},
		{"/opts", "--env=Q=9 /q $Q"},
		{"/z", "/p $Z"},
		{"/bad", "/x \"oops"},
		{"/lines", "/l1 a\n\n/l2 b\n"},
		{"/empty", ""},
		/* OSv's sample runscripts have lines of blanks and ';': ignored */
		{"/voids", "\n;\n  ; ;\r\n/x 1;\n\t\f\v\n;;\n/y\n;"},
		{"/outer", "/a\nrunscript /bad"},
		{"/esc", "/e a\\tb \"\\n\""},
	};
	/* a script with a long path that runs itself: the cause must survive the path */
	if (strncmp(path, "/long", 5) == 0) {
		size_t n = strlen(path) + 16;
		char *s = malloc(n);
		if (s)
			snprintf(s, n, "runscript %s", path);
		return s;
	}
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		if (strcmp(path, files[i][0]) == 0)
			return strdup(files[i][1]);
	snprintf(err, errlen, "No such file or directory");
	return NULL;
}

struct case_ {
	const char *input;
	const char *want;       /* rendering, or NULL when an error is expected */
	const char *want_error; /* substring of the error */
	const char *env_check;  /* "I:NAME=VALUE" or "I:NAME!" (unset) for command I */
};

static char *const base_env[] = {"HOME=/root", "X=3", NULL};

static const struct case_ cases[] = {
	/* separators */
	{"/hello", "{/hello};", NULL, NULL},
	{"/a; /b", "{/a}; {/b};", NULL, NULL},
	{"/a & /b", "{/a}& {/b};", NULL, NULL},
	{"/a &! /b", "{/a}&! {/b};", NULL, NULL},
	{"/a ! /b", "{/a}! {/b};", NULL, NULL},
	{"/a;/b&/c&!/d!/e", "{/a}; {/b}& {/c}&! {/d}! {/e};", NULL, NULL},
	{"/a;", "{/a};", NULL, NULL},
	{"/a &", "{/a}&", NULL, NULL},
	{"/a &!", "{/a}&!", NULL, NULL},
	{"/a !", "{/a}!", NULL, NULL},
	{"/p a!b", "{/p|a}! {b};", NULL, NULL},
	{"", "", NULL, NULL},
	{"   \t ", "", NULL, NULL},
	{"\n", "", NULL, NULL},
	{"/a\n/b", "{/a}; {/b};", NULL, NULL},
	{"/a &\n/b\n", "{/a}& {/b};", NULL, NULL},
	{"/a\r\n", "{/a};", NULL, NULL},
	/* quoting and escapes */
	{"/p \"a b\" c", "{/p|a b|c}", NULL, NULL},
	{"/p \"a\\\"b\"", "{/p|a\"b};", NULL, NULL},
	{"/p a\\ b", "{/p|a b};", NULL, NULL},
	{"/p \\\"", "{/p|\"};", NULL, NULL},
	{"/p 'x $Y \"z'", "{/p|x $Y \"z};", NULL, NULL},
	{"/p \"\"", "{/p|};", NULL, NULL},
	{"/p ''", "{/p|};", NULL, NULL},
	{"/p \"a;b\" 'c&d' e\\;f g\\&\\!", "{/p|a;b|c&d|e;f|g&!};", NULL, NULL},
	{"/p a\"b c\"d", "{/p|ab cd};", NULL, NULL},
	/* OSv's control-character escapes, unquoted and in double quotes; other escapes are the character */
	{"/p a\\tb \"c\\nd\" \\a\\b\\f\\r\\v \\x \\\\ \"\\q\"", "{/p|a\tb|c\nd|\a\b\f\r\v|x|\\|q};", NULL, NULL},
	{"/p '\\t' \\\\t", "{/p|\\t|\\t};", NULL, NULL},
	{"--env=T=x\\ty /p $T", "{/p|x\ty};", NULL, NULL},
	/* lines of only blanks and ';' are ignored, as in OSv; ';;' inside a line stays an error */
	{";", "", NULL, NULL},
	{" ; ;\n/a", "{/a};", NULL, NULL},
	{"/a\n;\n\f\v;\n/b", "{/a}; {/b};", NULL, NULL},
	{"/a &\n;;\n/b", "{/a}& {/b};", NULL, NULL},
	{"--verbose\n;\n/a", "opts=V {/a};", NULL, NULL},
	/* expansion */
	{"--env=A=1 /p $A ${A}x \"$A\" \"x${A}y\"", "{/p|1|1x|1|x1y};", NULL, NULL},
	{"/p $UNSET x", "{/p|x};", NULL, NULL},
	{"/p \"$UNSET\"", "{/p|};", NULL, NULL},
	{"/p $UNSET", "{/p};", NULL, NULL},
	{"/p $ a$", "{/p|$|a$};", NULL, NULL},
	{"/p $1 \\$X '$X'", "{/p|$1|$X|$X};", NULL, NULL},
	{"/p $HOME $X", "{/p|/root|3};", NULL, NULL},
	{"--env=V=\"a b\" /p $V", "{/p|a b};", NULL, NULL},
	{"--env=S=x;y /p", NULL, "options with no program before ';'", NULL}, /* an unquoted ; ends the word */
	{"--env=S=\"x;y\" /p $S", "{/p|x;y};", NULL, NULL},
	{"--env=X=1 /a; /b $X", "{/a}; {/b|1};", NULL, "1:X=1"},
	{"/a; --env=Y=2 /b $Y; /c $Y", "{/a}; {/b|2}; {/c};", NULL, "1:Y=2"},
	{"/a; --env=Y=2 /b $Y; /c $Y", "{/a}; {/b|2}; {/c};", NULL, "2:Y!"},
	{"/a; --env=Y=2 /b $Y; /c $Y", "{/a}; {/b|2}; {/c};", NULL, "0:Y!"},
	{"--env=X?=5 /a $X", "{/a|3};", NULL, NULL},
	{"--env=NEW?=5 /a $NEW", "{/a|5};", NULL, NULL},
	{"--env X=1 /a $X", "{/a|1};", NULL, "0:X=1"},
	{"--env=HOME=/h /a", "{/a};", NULL, "0:HOME=/h"},
	{"/a", "{/a};", NULL, "0:HOME=/root"},
	/* per-command and global options */
	{"--cwd=/srv /a", "cwd=/srv {/a};", NULL, NULL},
	{"/a; --cwd=/x /b", "{/a}; {/b}<cwd=/x>;", NULL, NULL},
	{"--redirect=/tmp/o /a", "redir=/tmp/o {/a};", NULL, NULL},
	{"--redirect=>>/tmp/o /a", "redir>>/tmp/o {/a};", NULL, NULL},
	{"/a; --redirect=>>/log /b; --redirect /o /c", "{/a}; {/b}<redir>>/log>; {/c}<redir=/o>;", NULL, NULL},
	{"--redirect=>> /a", NULL, "--redirect needs a file", NULL},
	{"/a --verbose", "{/a|--verbose};", NULL, NULL},
	{"--env=A=1 -- --prog", "{--prog};", NULL, NULL},
	{"--verbose --bootchart --noinit --power-off-on-abort /a", "opts=VBNP {/a};", NULL, NULL},
	{"--bootchart", "opts=B", NULL, NULL},
	{"--meminfo /a", "opts=M {/a};", NULL, NULL},
	{"--verbose\n/a", "opts=V {/a};", NULL, NULL},
	{"--verbose=1 /a", NULL, "--verbose takes no value", NULL},
	/* filesystems */
	{"--mount-fs=rofs,/dev/vblk1,/data /a", "mount(erofs,/dev/vdb,/data,-,ro) {/a};", NULL, NULL},
	{"--mount-fs=ext4,/dev/vblk0,/ /a", "mount(ext4,/dev/vda,/,-,rw) {/a};", NULL, NULL},
	{"--mount-fs=ext4,/dev/vblk25,/z /a", "mount(ext4,/dev/vdz,/z,-,rw) {/a};", NULL, NULL},
	{"--mount-fs=virtiofs,myshare,/shared /a", "mount(virtiofs,myshare,/shared,-,rw) {/a};", NULL, NULL},
	{"--mount-fs=9p,tag,/mnt /a", "mount(9p,tag,/mnt,trans=virtio,version=9p2000.L,rw) {/a};", NULL, NULL},
	{"--mount-fs=btrfs,/dev/nvme0n1,/logs /a", "mount(btrfs,/dev/nvme0n1,/logs,-,rw) {/a};", NULL, NULL},
	{"--mount-fs ext4,/dev/vblk1,/d /a", "mount(ext4,/dev/vdb,/d,-,rw) {/a};", NULL, NULL},
	{"--mount-fs=zfs,/dev/vblk1,/data /a", NULL, "no ZFS in Linux", NULL},
	{"--mount-fs=ext4,/dev/vblk26,/d /a", NULL, "bad OSv device name", NULL},
	{"--mount-fs=ext4,/dev/vblkx,/d /a", NULL, "bad OSv device name", NULL},
	{"--mount-fs=ext4,/dev/vblk1 /a", NULL, "expected TYPE,DEVICE,PATH", NULL},
	{"--mount-fs=ext4,/dev/vblk1,/d,extra /a", NULL, "expected TYPE,DEVICE,PATH", NULL},
	{"--mount-fs=,/dev/vda,/d /a", NULL, "expected TYPE,DEVICE,PATH", NULL},
	{"--mount-fs=ext4,/dev/vblk1,data /a", NULL, "must be an absolute path", NULL},
	{"--mount-fs=Ext4!,/dev/vda,/d /a", NULL, "expected TYPE,DEVICE,PATH", NULL},
	{"--mount-fs=ext4,vda,/d /a", NULL, "must be a /dev path", NULL},
	{"--tmpfs=/tmp /a", "mount(tmpfs,tmpfs,/tmp,-,rw) {/a};", NULL, NULL},
	{"--tmpfs /tmp /a", "mount(tmpfs,tmpfs,/tmp,-,rw) {/a};", NULL, NULL},
	{"--tmpfs=/scratch,64m /a", "mount(tmpfs,tmpfs,/scratch,size=64m,rw) {/a};", NULL, NULL},
	{"--tmpfs=/s,50% /a", "mount(tmpfs,tmpfs,/s,size=50%,rw) {/a};", NULL, NULL},
	{"--tmpfs=/s,abc /a", NULL, "bad size", NULL},
	{"--tmpfs=/s,64mb /a", NULL, "bad size", NULL},
	{"--tmpfs=/s, /a", NULL, "bad size", NULL},
	{"--tmpfs=rel /a", NULL, "must be an absolute path", NULL},
	{"/a; --tmpfs=/x /b", NULL, "applies to the whole VM", NULL},
	/* sysctl */
	{"--sysctl=net.core.somaxconn=1024 /a", "sysctl(/proc/sys/net/core/somaxconn=1024) {/a};", NULL, NULL},
	{"--sysctl net.inet.tcp.sendspace=262144 --sysctl net.inet.tcp.recvspace=1000 /a",
	 "sysctl(/proc/sys/net/ipv4/tcp_wmem=262144#1^) sysctl(/proc/sys/net/ipv4/tcp_rmem=1000#1^) {/a};", NULL, NULL},
	{"--sysctl=kern.ipc.maxsockbuf=8388608 /a",
	 "sysctl(/proc/sys/net/core/rmem_max=8388608) sysctl(/proc/sys/net/core/wmem_max=8388608) {/a};", NULL, NULL},
	{"--sysctl=kern.ipc.somaxconn=4096 /a", "sysctl(/proc/sys/net/core/somaxconn=4096) {/a};", NULL, NULL},
	{"--sysctl=net.inet.tcp.keepidle=7200000 /a", "sysctl(/proc/sys/net/ipv4/tcp_keepalive_time=7200) {/a};", NULL, NULL},
	{"--sysctl=net.inet.tcp.keepintvl=1 /a", "sysctl(/proc/sys/net/ipv4/tcp_keepalive_intvl=1) {/a};", NULL, NULL},
	{"--sysctl=net.inet.ip.portrange.first=2000 /a", "sysctl(/proc/sys/net/ipv4/ip_local_port_range=2000#0) {/a};", NULL, NULL},
	{"--sysctl=fs.file-max=100 /a", "sysctl(/proc/sys/fs/file-max=100) {/a};", NULL, NULL},
	{"--sysctl=net.ipv4.tcp_wmem=\"4096 16384 65536\" /a", "sysctl(/proc/sys/net/ipv4/tcp_wmem=4096 16384 65536) {/a};", NULL, NULL},
	{"--sysctl=net.inet.tcp.nosuch=1 /a", NULL, "unknown OSv/BSD name 'net.inet.tcp.nosuch'", NULL},
	{"--sysctl=kern.nosuch=1 /a", NULL, "net.inet.tcp.sendspace", NULL},
	{"--sysctl=net..x=1 /a", NULL, "bad name", NULL},
	{"--sysctl=.net=1 /a", NULL, "bad name", NULL},
	{"--sysctl=net/x=1 /a", NULL, "bad name", NULL},
	{"--sysctl=foo /a", NULL, "expected NAME=VALUE", NULL},
	{"--sysctl=foo= /a", NULL, "expected NAME=VALUE", NULL},
	{"--sysctl=net.inet.tcp.sendspace=abc /a", NULL, "whole number", NULL},
	{"--sysctl=net.inet.tcp.sendspace=-5 /a", NULL, "whole number", NULL},
	/* unknown and unsupported options: errors, never ignored */
	{"--nosuchopt /a", NULL, "unknown option --nosuchopt", NULL},
	{"--nosuchopt=3 /a", NULL, "unknown option --nosuchopt", NULL},
	{"--verbos /a", NULL, "unknown option --verbos (did you mean --verbose?)", NULL},
	/* network options (netopts.c): OSv's IF,ADDR,MASK form, CIDR, Tailor's "--opt VALUE" form */
	{"--ip=eth0,1.2.3.4,255.0.0.0 /a", "ip(eth0,1.2.3.4,255.0.0.0) {/a};", NULL, NULL},
	{"--ip=eth0,192.168.122.10/24 --ip eth1,10.1.0.2/31 /a",
	 "ip(eth0,192.168.122.10,255.255.255.0) ip(eth1,10.1.0.2,255.255.255.254) {/a};", NULL, NULL},
	{"--ip=eth0,10.0.0.1/0 /a", "ip(eth0,10.0.0.1,0.0.0.0) {/a};", NULL, NULL},
	{"--ip=eth0,10.0.0.1/32 /a", "ip(eth0,10.0.0.1,255.255.255.255) {/a};", NULL, NULL},
	{"--defaultgw=1.2.3.1 /a", "gw=1.2.3.1 {/a};", NULL, NULL},
	{"--nameserver=1.1.1.1 --nameserver 8.8.8.8 /a", "ns=1.1.1.1 ns=8.8.8.8 {/a};", NULL, NULL},
	{"--ip=eth0,10.0.2.16,255.255.255.0 --defaultgw=10.0.2.2 --nameserver=10.0.2.3 /a",
	 "ip(eth0,10.0.2.16,255.255.255.0) gw=10.0.2.2 ns=10.0.2.3 {/a};", NULL, NULL},
	{"--ip=eth0,1.2.3.4 /a", NULL, "--ip=eth0,1.2.3.4: expected --ip=IF,ADDR,MASK", NULL},
	{"--ip=eth0 /a", NULL, "--ip=eth0: expected", NULL},
	{"--ip=,1.2.3.4/8 /a", NULL, "--ip=,1.2.3.4/8: expected", NULL},
	{"--ip=eth0,1.2.3/8 /a", NULL, "expected --ip=IF,ADDR,MASK", NULL},
	{"--ip=eth0,1.2.3.4/33 /a", NULL, "expected --ip=IF,ADDR,MASK", NULL},
	{"--ip=eth0,1.2.3.4/ /a", NULL, "expected --ip=IF,ADDR,MASK", NULL},
	{"--ip=eth0,1.2.3.4/8x /a", NULL, "expected --ip=IF,ADDR,MASK", NULL},
	{"--ip=eth0,1.2.3.4,255.0.255.0 /a", NULL, "netmask 255.0.255.0 is not contiguous", NULL},
	{"--ip=eth0,1.2.3.4,255.255.255.0.1 /a", NULL, "expected --ip=IF,ADDR,MASK", NULL},
	{"--ip=averyveryverylongname0,1.2.3.4/8 /a", NULL, "interface name longer than 15", NULL},
	{"--ip=eth0,1.2.3.4/8 --ip=eth0,1.2.3.5/8 /a", NULL, "interface eth0 given twice", NULL},
	{"--ip=a,1.1.1.1/8 --ip=b,1.1.1.1/8 --ip=c,1.1.1.1/8 --ip=d,1.1.1.1/8 --ip=e,1.1.1.1/8 /a", NULL, "at most 4 interfaces", NULL},
	{"--defaultgw=gateway /a", NULL, "--defaultgw=gateway: expected an IPv4 address", NULL},
	{"--defaultgw= /a", NULL, "--defaultgw needs a value", NULL},
	{"--nameserver=::1 /a", NULL, "--nameserver=::1: expected an IPv4 address", NULL},
	{"--nameserver=1.1.1.1 --nameserver=1.1.1.2 --nameserver=1.1.1.3 --nameserver=1.1.1.4 /a", NULL, "--nameserver: at most 3", NULL},
	{"/a ; --ip=eth0,1.2.3.4/8 /b", NULL, "--ip applies to the whole VM", NULL},
	{"--trace=sched* /a", "trace=sched* {/a};", NULL, NULL},
	{"--trace sched:sched_switch --trace=irq*,timer* /a", "trace=sched:sched_switch,irq*,timer* {/a};", NULL, NULL},
	{"--trace= /a", NULL, "--trace needs a value", NULL},
	{"/a; --trace=sched* /b", NULL, "--trace applies to the whole VM", NULL},
	{"--trace-list /a", NULL, "--trace-list is not supported", NULL},
	{"/a; --verbose /b", NULL, "--verbose applies to the whole VM", NULL},
	{"/a; --nosuch /b", NULL, "unknown option --nosuch", NULL},
	/* malformed input */
	{"/p \"abc", NULL, "unterminated double quote", NULL},
	{"/p 'abc", NULL, "unterminated single quote", NULL},
	{"/p abc\\", NULL, "trailing backslash", NULL},
	{"/p \"abc\\", NULL, "unterminated double quote", NULL},
	{"/a;;/b", NULL, "empty command before ';'", NULL},
	{"/a ; ; ", NULL, "empty command before ';'", NULL},
	{"; /a", NULL, "';' with no command before it", NULL},
	{"& /a", NULL, "'&' with no command before it", NULL},
	{"&! /a", NULL, "'&!' with no command before it", NULL},
	{"!", NULL, "'!' with no command before it", NULL},
	{"/a & & /b", NULL, "empty command before '&'", NULL},
	{"--env=A=1 ; /a", NULL, "options with no program before ';'", NULL},
	{"/a; --env=A=1", NULL, "no program after them", NULL},
	{"--env /a", NULL, "expected NAME=VALUE", NULL},
	{"/a; --env", NULL, "--env needs a value", NULL},
	{"--env", NULL, "--env needs a value", NULL},
	{"--cwd ; /a", NULL, "--cwd needs a value", NULL},
	{"--cwd= /a", NULL, "--cwd needs a value", NULL},
	{"--env=1A=2 /a", NULL, "expected NAME=VALUE", NULL},
	{"--env==x /a", NULL, "expected NAME=VALUE", NULL},
	{"--env=A /a", NULL, "expected NAME=VALUE", NULL},
	{"/p ${UNCLOSED", NULL, "unterminated ${", NULL},
	{"/p ${}", NULL, "bad variable name", NULL},
	{"/p ${A-B}", NULL, "bad variable name", NULL},
	{"/p \"${A\"", NULL, "unterminated", NULL},
	/* runscript */
	{"runscript /s1", "{/x|1}; {/y|2};", NULL, NULL},
	{"/a; runscript /s1 & /b", "{/a}; {/x|1}; {/y|2}& {/b};", NULL, NULL},
	{"runscript /lines", "{/l1|a}; {/l2|b};", NULL, NULL},
	{"runscript /empty; /a", "{/a};", NULL, NULL},
	{"runscript /opts", "{/q|9};", NULL, "0:Q=9"},
	{"--env=Z=1 runscript /z", "{/p|1};", NULL, NULL},
	{"runscript /loop", NULL, "nested more than 8 deep (does a script run itself?): runscript /loop (in runscript /loop x8)", NULL},
	{"runscript /voids", "{/x|1}; {/y};", NULL, NULL},
	{"runscript /esc", "{/e|a\tb|\n};", NULL, NULL},
	{"runscript /outer", NULL, "unterminated double quote in the command line (in runscript /bad, run by /outer)", NULL},
	{"runscript /missing", NULL, "runscript /missing: No such file or directory", NULL},
	{"runscript", NULL, "runscript needs exactly one argument", NULL},
	{"runscript /a /b", NULL, "runscript needs exactly one argument", NULL},
	{"runscript /bad", NULL, "unterminated double quote in the command line (in runscript /bad)", NULL},
	{"/a; --env=A=1 runscript /s1", NULL, "options before runscript", NULL},
};

static void run_case(size_t idx, const struct case_ *c)
{
	struct cl_result r;
	char what[300], got[8192];
	snprintf(what, sizeof what, "case %zu: %.200s", idx, c->input);
	int rc = cl_parse(c->input, base_env, fake_read, NULL, &r);
	if (c->want) {
		if (rc != 0) {
			printf("FAIL %s\n  want: %s\n  got error: %s\n", what, c->want, r.err);
			failures++;
			return;
		}
		render(&r, got, sizeof got);
		/* accept wants written with or without the final ';' of a plain last command */
		char want[8192];
		snprintf(want, sizeof want, "%s", c->want);
		size_t wl = strlen(want), gl = strlen(got);
		if (wl > 0 && want[wl - 1] == '}' && gl > 0 && got[gl - 1] == ';')
			strcat(want, ";");
		check_str(what, got, want);
		if (c->env_check) {
			size_t i = (size_t)atoi(c->env_check);
			const char *spec = strchr(c->env_check, ':') + 1;
			char name[64];
			const char *eq = strchr(spec, '='), *bang = strchr(spec, '!');
			size_t nl = eq ? (size_t)(eq - spec) : (size_t)(bang - spec);
			snprintf(name, sizeof name, "%.*s", (int)nl, spec);
			snprintf(what + strlen(what), sizeof what - strlen(what), " [env %s]", c->env_check);
			if (i >= r.ncmds) {
				printf("FAIL %s: no command %zu\n", what, i);
				failures++;
			} else {
				check_str(what, cl_getenv(r.cmds[i].envp, name), eq ? eq + 1 : NULL);
			}
		}
		cl_free(&r);
	} else {
		if (rc == 0) {
			render(&r, got, sizeof got);
			printf("FAIL %s\n  want error containing: %s\n  got: %s\n", what, c->want_error, got);
			failures++;
			cl_free(&r);
			return;
		}
		if (!strstr(r.err, c->want_error)) {
			printf("FAIL %s\n  want error containing: %s\n  got error: %s\n", what, c->want_error, r.err);
			failures++;
		} else {
			passes++;
		}
		if (r.ncmds || r.cmds || r.mounts || r.sysctls) {
			printf("FAIL %s: a failed parse must leave an empty result\n", what);
			failures++;
		}
	}
}

static void test_long_inputs(void)
{
	/* one 100 000-character word */
	size_t n = 100000;
	char *s = malloc(n + 4);
	memcpy(s, "/p ", 3);
	memset(s + 3, 'a', n);
	s[n + 3] = 0;
	struct cl_result r;
	int rc = cl_parse(s, base_env, NULL, NULL, &r);
	if (rc != 0 || r.ncmds != 1 || r.cmds[0].argc != 2 || strlen(r.cmds[0].argv[1]) != n) {
		printf("FAIL long word: rc=%d %s\n", rc, r.err);
		failures++;
	} else {
		passes++;
	}
	if (rc == 0)
		cl_free(&r);
	free(s);
	/* 5000 commands */
	s = malloc(5000 * 4 + 1);
	for (int i = 0; i < 5000; i++)
		memcpy(s + i * 4, "/a; ", 4);
	s[5000 * 4] = 0;
	rc = cl_parse(s, base_env, NULL, NULL, &r);
	if (rc != 0 || r.ncmds != 5000) {
		printf("FAIL 5000 commands: rc=%d ncmds=%zu %s\n", rc, rc == 0 ? r.ncmds : 0, r.err);
		failures++;
	} else {
		passes++;
	}
	if (rc == 0)
		cl_free(&r);
	/* the same with a malformed end: the error must still be reported, nothing leaked */
	s[5000 * 4 - 1] = ';';
	rc = cl_parse(s, base_env, NULL, NULL, &r);
	if (rc == 0 || !strstr(r.err, "empty command")) {
		printf("FAIL 5000 commands then ';;': rc=%d %s\n", rc, r.err);
		failures++;
		if (rc == 0)
			cl_free(&r);
	} else {
		passes++;
	}
	free(s);
	/* 200 000 unset variables: dropped words must not recurse */
	s = malloc(200000 * 3 + 8);
	memcpy(s, "/p ", 3);
	for (int i = 0; i < 200000; i++)
		memcpy(s + 3 + i * 3, "$U ", 3);
	memcpy(s + 3 + 200000 * 3, "end", 4);
	rc = cl_parse(s, base_env, NULL, NULL, &r);
	if (rc != 0 || r.ncmds != 1 || r.cmds[0].argc != 2 || strcmp(r.cmds[0].argv[1], "end") != 0) {
		printf("FAIL 200000 unset variables: rc=%d %s\n", rc, r.err);
		failures++;
	} else {
		passes++;
	}
	if (rc == 0)
		cl_free(&r);
	free(s);
	/* a very long variable name */
	char name[400];
	memset(name, 'V', sizeof name - 1);
	name[sizeof name - 1] = 0;
	char input[500];
	snprintf(input, sizeof input, "/p $%s", name);
	rc = cl_parse(input, base_env, NULL, NULL, &r);
	if (rc == 0 || !strstr(r.err, "variable name too long")) {
		printf("FAIL long variable name: rc=%d %s\n", rc, r.err);
		failures++;
		if (rc == 0)
			cl_free(&r);
	} else {
		passes++;
	}
	/* a 300-character script path nested 8 deep: the cause survives, the chain is cut with "..." */
	char longpath[320] = "/long";
	memset(longpath + 5, 'd', 295);
	longpath[300] = 0;
	char longcmd[340];
	snprintf(longcmd, sizeof longcmd, "runscript %s", longpath);
	rc = cl_parse(longcmd, base_env, fake_read, NULL, &r);
	size_t el = rc ? strlen(r.err) : 0;
	if (rc == 0 || strncmp(r.err, "runscript nested more than 8 deep", 33) != 0 || el != sizeof r.err - 1 ||
	    strcmp(r.err + el - 3, "...") != 0) {
		printf("FAIL long nested runscript path: rc=%d %s\n", rc, r.err);
		failures++;
		if (rc == 0)
			cl_free(&r);
	} else {
		passes++;
	}
	/* runscript without a reader */
	rc = cl_parse("runscript /s1", base_env, NULL, NULL, &r);
	if (rc == 0 || !strstr(r.err, "runscript is not available")) {
		printf("FAIL runscript without reader: rc=%d %s\n", rc, r.err);
		failures++;
		if (rc == 0)
			cl_free(&r);
	} else {
		passes++;
	}
}

static void test_helpers(void)
{
	check_str("dashdash", cl_after_dashdash("console=ttyS0 quiet -- /a b"), "/a b");
	check_str("dashdash none", cl_after_dashdash("console=ttyS0 quiet"), NULL);
	check_str("dashdash first", cl_after_dashdash("a -- b -- c"), "b -- c");
	check_str("dashdash at end", cl_after_dashdash("x --\n"), "\n");
	check_str("dashdash not an option", cl_after_dashdash("x --verbose"), NULL);
	static const char *const strip[][2] = {
		{"/a b virtio_mmio.device=512@0xfeb00e00:12", "/a b"},
		{"/a virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11\n", "/a"},
		{"/a virtio_mmio.device=512@0xfeb00e00:12 b", "/a virtio_mmio.device=512@0xfeb00e00:12 b"},
		{"/a \"x virtio_mmio.device=512@0xfeb00e00:12\"", "/a \"x virtio_mmio.device=512@0xfeb00e00:12\""},
		{"virtio_mmio.device=512@0xfeb00e00:12", ""},
		{"virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11", ""},
		{"virtio_mmio.device=", "virtio_mmio.device="},
		{"/a virtio_mmio.device=1;reboot", "/a virtio_mmio.device=1;reboot"},
		{"/a\n", "/a"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof strip / sizeof strip[0]; i++) {
		char buf[256], what[64];
		snprintf(buf, sizeof buf, "%s", strip[i][0]);
		cl_strip_appended(buf);
		snprintf(what, sizeof what, "strip appended %zu", i);
		check_str(what, buf, strip[i][1]);
	}
	/* the runner's one-word encoding of long command lines (src/run/app-cmdline.ts) */
	static const char *const decode[][3] = {
		{"%:/hello%20a%20%22b%20c%22%3b%20false\n", "1", "/hello a \"b c\"; false"},
		{"%:x%25y%0Az virtio_mmio.device=512@0xfeb00e00:12", "1", "x%y\nz"},
		{"/hello%20a b", "0", "/hello%20a b"},
		{"%:bad%2", "-1", NULL},
		{"%:bad%zz", "-1", NULL},
		{"%:nul%00", "-1", NULL},
		{"%:", "1", ""},
	};
	for (size_t i = 0; i < sizeof decode / sizeof decode[0]; i++) {
		char buf[256], what[64], rcs[8];
		snprintf(buf, sizeof buf, "%s", decode[i][0]);
		int rc = cl_decode_app(buf);
		snprintf(rcs, sizeof rcs, "%d", rc);
		snprintf(what, sizeof what, "decode rc %zu", i);
		check_str(what, rcs, decode[i][1]);
		snprintf(what, sizeof what, "decode text %zu", i);
		if (decode[i][2])
			check_str(what, buf, decode[i][2]);
	}
	static const char *const params[][3] = {
		{"console=ttyS0 virtio_mmio.device=512@0xfeb00e00:12 quiet virtio-mmio.device=512@0xfeb00c00:11", "virtio_mmio",
		 "device=512@0xfeb00e00:12 device=512@0xfeb00c00:11"},
		{"foo.bar=\"a b\" foo.x=1 foobar.y=2 foo=3 foo.", "foo", "bar=\"a b\" x=1"},
		{"console=ttyS0", "virtio_mmio", ""},
		{"", "x", ""},
	};
	for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
		char what[64];
		snprintf(what, sizeof what, "module params %zu", i);
		char *got = cl_module_params(params[i][0], params[i][1]);
		check_str(what, got, params[i][2]);
		free(got);
	}
	/* the word scanner both the module parameters and the root switch read with */
	const char *cur = "  a \"b c\"d\te\n", *w;
	size_t wl;
	char words[128] = "";
	while ((w = cl_next_word(&cur, &wl)))
		snprintf(words + strlen(words), sizeof words - strlen(words), "[%.*s]", (int)wl, w);
	check_str("next word", words, "[a][\"b c\"d][e]");
	check_str("next word at the end", cl_next_word(&cur, &wl) ? "word" : "NULL", "NULL");
	char out[128];
	int rc = cl_replace_field("4096\t16384\t4194304\n", 1, "262144", 1, out, sizeof out);
	check_str("replace field", rc == 0 ? out : "(error)", "4096\t262144\t4194304");
	rc = cl_replace_field("4096\t16384\t4194304\n", 1, "8388608", 1, out, sizeof out);
	check_str("replace field raises max", rc == 0 ? out : "(error)", "4096\t8388608\t8388608");
	rc = cl_replace_field("4096\t16384\t4194304\n", 1, "8388608", 0, out, sizeof out);
	check_str("replace field no raise", rc == 0 ? out : "(error)", "4096\t8388608\t4194304");
	rc = cl_replace_field("32768\t60999\n", 0, "2000", 0, out, sizeof out);
	check_str("replace first of two", rc == 0 ? out : "(error)", "2000\t60999");
	check_str("replace field out of range", cl_replace_field("1 2 3", 5, "9", 0, out, sizeof out) < 0 ? "-1" : out, "-1");
	check_str("replace field not numeric", cl_replace_field("a b", 0, "9", 0, out, sizeof out) < 0 ? "-1" : out, "-1");
	check_str("replace field too small", cl_replace_field("1 2 3", 0, "9", 0, out, 3) < 0 ? "-1" : out, "-1");
	char path[64];
	check_str("proc path", sysctl_proc_path("net.core.x", path, sizeof path) == 0 ? path : "-1", "/proc/sys/net/core/x");
	check_str("proc path trailing dot", sysctl_proc_path("a.", path, sizeof path) == 0 ? path : "-1", "-1");
	check_str("proc path empty", sysctl_proc_path("", path, sizeof path) == 0 ? path : "-1", "-1");
	check_str("proc path too long", sysctl_proc_path("net.core.somaxconn", path, 12) == 0 ? path : "-1", "-1");
	check_str("bsd name", sysctl_is_bsd_name("net.inet.tcp.x") ? "y" : "n", "y");
	check_str("linux name", sysctl_is_bsd_name("net.ipv4.tcp_wmem") ? "y" : "n", "n");
	check_str("kernel. is linux", sysctl_is_bsd_name("kernel.hostname") ? "y" : "n", "n");
	/* --trace patterns: the init's own matcher agrees with the host libc's fnmatch */
	static const char *const globs[] = {"sched*", "*switch", "sched:sched_*", "*", "", "s?hed", "*_*_*", "sched_[a-w]*",
	                                    "sched_[!w]*", "[]x]*", "[!]]*", "a\\*b", "\\*", "ab[", "**x**", "*?",
	                                    "sched_\\[x", "[^s]*", "irq*:*entry"};
	static const char *const texts[] = {"sched", "sched_switch", "sched:sched_wakeup", "", "]x", "a*b", "axb", "*",
	                                    "ab[", "[a-", "irq:irq_handler_entry", "sched_[x", "x", "timer:timer_start"};
	for (size_t i = 0; i < sizeof globs / sizeof globs[0]; i++)
		for (size_t j = 0; j < sizeof texts / sizeof texts[0]; j++) {
			char what[96];
			snprintf(what, sizeof what, "glob '%s' on '%s'", globs[i], texts[j]);
			check_str(what, cl_glob_match(globs[i], texts[j]) ? "match" : "no", fnmatch(globs[i], texts[j], 0) == 0 ? "match" : "no");
		}
}

int main(void)
{
	size_t n = sizeof cases / sizeof cases[0];
	for (size_t i = 0; i < n; i++)
		run_case(i, &cases[i]);
	test_long_inputs();
	test_helpers();
	printf("cmdline-test: %d passed, %d failed (%zu table cases)\n", passes, failures, n);
	return failures ? 1 : 0;
}

/* Shared pieces of the Tailor guest init (PID 1). */
#ifndef TAILOR_INIT_H
#define TAILOR_INIT_H

#include <stdint.h>

#include "cmdline.h"

/* console.c: markers and messages, one write per line */
extern int verbose;
extern int console_fd; /* where markers and errors go (fd 1 of init) */
uint64_t boottime_ns(void);
void console_ensure(void);
/* Wait until the console has sent everything written to it. */
void console_drain(void);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void error_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void phase_end(const char *name, int print_marker);
void bootchart_table(void);
void bootchart_replay(void);

/* meminfo.c: --meminfo prints /proc/meminfo and /proc/iomem as tailor:mem lines (at app start) */
void meminfo_dump(void);

/* mounts.c */
int mount_base(const char *type, const char *target, unsigned long flags, const char *data);
int mount_user(const struct cl_mount *m);
int mkdir_parents(const char *path);

/* kmod.c: loads /etc/tailor/modules, with module parameters from the kernel command-line words */
int load_modules(const char *list_path, const char *kernel_words);

/* rootswitch.c: with tailor.root= on an initramfs, mount the disk root and exec its /init; 0 when not asked */
int switch_root_if_asked(const char *kernel_words);
/* rootswitch.c: the value of kernel word NAME=... (malloc'd, without quotes), or NULL */
char *kernel_word(const char *words, const char *name);

/* net.c: loopback, --ip/--defaultgw/--nameserver, else DHCP or QEMU user-mode addresses on eth0;
 * tailor.net=1 among the kernel words: the image needs the network (no eth0 is an error) */
int setup_network(const struct cl_net *n, const char *kernel_words);
/* every interface but lo down, before power-off (no NAPI poll left when the devices shut down) */
void network_down(void);
/* dhcp.c: one DHCP exchange on ifname (which must be up); 0 with the lease, -1 with no answer in timeout_ms */
int dhcp_configure(const char *ifname, struct cl_ip *ip, char gw[16], char dns[16], int timeout_ms);

/* sysctl.c */
int apply_sysctl(const struct cl_sysctl *s);

/* trace.c: --trace: enable matching tracefs events; after the app, print the trace as a marked block */
int trace_start(const char *patterns);
void trace_collect(void);

/* run.c: runs the commands; returns the exit status for tailor:exit */
int run_commands(const struct cl_result *res, int global_redirect_fd);
void stop_everything(void);

#endif

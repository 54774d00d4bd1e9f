/*
 * The OSv-style command line of a Tailor guest: options and the command
 * grammar (see docs/guest-protocol.md). Pure string handling, no syscalls,
 * so the same source builds for the host unit test (make test) and the guest.
 */
#ifndef TAILOR_CMDLINE_H
#define TAILOR_CMDLINE_H

#include <stddef.h>

/* What ends a command: how the init waits for it. */
enum cl_sep {
	CL_SEQ,        /* ';' or end of line: run and wait */
	CL_BG,         /* '&': background, joined at the end */
	CL_BG_NOWAIT,  /* '&!': background, never waited for */
	CL_MAIN,       /* '!': wait; when it exits, stop all the others */
};

/* One filesystem to mount (--mount-fs, --tmpfs), already in Linux terms. */
struct cl_mount {
	char *type;    /* e.g. erofs, ext4, tmpfs, virtiofs, 9p */
	char *source;  /* device path, tag, or "tmpfs" */
	char *target;  /* absolute mount point */
	char *data;    /* mount data (e.g. "size=64m"), or NULL */
	int readonly;  /* mount with MS_RDONLY */
};

/* One --sysctl, mapped to a /proc/sys file. */
struct cl_sysctl {
	char *name;    /* as the user wrote it, for messages */
	char *path;    /* /proc/sys/... */
	char *value;   /* value to write (already converted) */
	int field;     /* -1: write value; else replace this 0-based field of a
	                  space-separated vector (e.g. tcp_wmem's default) */
	int raise_last; /* with field: also raise the last field (the max) to
	                  at least value */
};

/* --ip, --defaultgw, --nameserver (netopts.c), as dotted IPv4 text; applied by net.c. */
#define CL_MAX_IPS 4
#define CL_MAX_NAMESERVERS 3
struct cl_ip {
	char ifname[16];
	char addr[16];
	char mask[16];
};
struct cl_net {
	struct cl_ip ips[CL_MAX_IPS];
	size_t nips;
	char defaultgw[16];  /* "" when not given */
	char nameservers[CL_MAX_NAMESERVERS][16];
	size_t nnameservers;
};
int cl_net_ip(struct cl_net *n, const char *val, char *err, size_t errlen);
int cl_net_gw(struct cl_net *n, const char *val, char *err, size_t errlen);
int cl_net_nameserver(struct cl_net *n, const char *val, char *err, size_t errlen);

struct cl_command {
	char **argv;      /* NULL-terminated */
	size_t argc;
	char **envp;      /* NULL-terminated "K=V": the full environment */
	char *cwd;        /* per-command --cwd, or NULL */
	char *redirect;   /* per-command --redirect, or NULL */
	int redirect_append;
	enum cl_sep sep;
};

struct cl_result {
	/* options before the first program: they apply to the whole VM */
	int verbose, bootchart, noinit, power_off_on_abort, meminfo;
	char *cwd;
	char *redirect;
	int redirect_append;
	struct cl_mount *mounts;
	size_t nmounts;
	struct cl_sysctl *sysctls;
	size_t nsysctls;
	struct cl_net net;
	char *trace; /* --trace patterns, comma-separated (several --trace joined), or NULL */
	struct cl_command *cmds;
	size_t ncmds;
	char err[512]; /* set when cl_parse fails */
};

/*
 * Reads a runscript file: returns malloc'd contents, or NULL with a message
 * in err (size errlen).
 */
typedef char *(*cl_read_file_fn)(void *ctx, const char *path, char *err, size_t errlen);

/*
 * Parse `text` (the application command line). `envp` is the initial
 * environment (NULL-terminated). Returns 0, or -1 with res->err set (the
 * result is then freed already). Free a success with cl_free.
 */
int cl_parse(const char *text, char *const *envp, cl_read_file_fn read_file, void *ctx,
             struct cl_result *res);
void cl_free(struct cl_result *res);

/* Look up the value of `name` in a NULL-terminated "K=V" list, or NULL. */
const char *cl_getenv(char *const *envp, const char *name);

/*
 * Replace field `field` of the whitespace-separated vector `cur` with `val`
 * (and raise the last field to at least val when raise_last). Writes into
 * out; returns 0, or -1 if cur has too few fields, a field is not a number,
 * or out is too small.
 */
int cl_replace_field(const char *cur, int field, const char *val, int raise_last, char *out,
                     size_t outlen);

/* The text of everything after the first " -- " in a kernel command line, or NULL. */
const char *cl_after_dashdash(const char *kernel_cmdline);

/*
 * Remove the virtio_mmio.device=... words QEMU's microvm machine appends to
 * the kernel command line (after our " -- " part!) unless the runner sets
 * auto-kernel-cmdline=off. Edits text in place.
 */
void cl_strip_appended(char *text);

/*
 * A runner may pass a long application command line as ONE kernel word
 * (Linux panics on the 33rd word after " -- "): CL_ENCODED_PREFIX followed
 * by the line with every byte <= 0x20, '"', '%' and 0x7f written as %XX.
 * Decodes such a text in place: returns 1 if it was encoded, 0 if not
 * (text untouched), -1 for a bad %XX escape.
 */
#define CL_ENCODED_PREFIX "%:"
int cl_decode_app(char *text);

/* Where those appended words (and trailing blanks) start in text. */
size_t cl_appended_start(const char *text);

/*
 * The next kernel command-line word at *cursor (blanks skipped; a word ends
 * at a blank outside double quotes, as the kernel splits): its start, with
 * its length in *len, and *cursor moved past it. NULL at the end.
 */
const char *cl_next_word(const char **cursor, size_t *len);

/*
 * The parameters for kernel module `module` found in kernel command-line
 * words ("virtio_mmio.device=512@0x1000:5" gives "device=512@0x1000:5"),
 * space-separated, as modprobe would pass them. malloc'd; NULL if out of memory.
 */
char *cl_module_params(const char *words, const char *module);

/* glob.c: 1 when text matches the shell pattern ('*', '?', '[...]', '\\' escapes), else 0 */
int cl_glob_match(const char *pattern, const char *text);

#endif

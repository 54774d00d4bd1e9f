/*
 * OSv-style command-line parser (grammar in docs/guest-protocol.md).
 * Words are read one at a time and expanded at once, so an --env given
 * earlier on the line is visible to a $VAR later on the same line.
 */
#include "cmdline.h"
#include "sysctl_map.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RUNSCRIPT_DEPTH 8

/* A growable NULL-terminated array of owned strings. */
struct strvec {
	char **v;
	size_t n, cap;
};

/* A growable byte buffer. */
struct buf {
	char *s;
	size_t n, cap;
};

enum tok_kind { T_WORD, T_SEP, T_NEWLINE, T_END };

struct token {
	enum tok_kind kind;
	enum cl_sep sep;     /* for T_SEP */
	const char *septext; /* for T_SEP: ";", "&", "&!", "!" */
	char *word;          /* for T_WORD (owned by the token) */
};

struct parser {
	const char *p;      /* read position */
	struct cl_result *res;
	struct strvec genv; /* the global environment */
	cl_read_file_fn read_file;
	void *ctx;
	int depth;
	/* the runscripts an error came through, innermost first (see note_script) */
	struct buf chain;
	char *chain_path; /* the latest one, not yet in chain */
	int chain_reps;   /* how many times in a row chain_path was noted */
};

/* The command being built. */
struct cmd {
	int global;         /* no program before it: its options are global */
	struct strvec argv;
	struct strvec env;  /* per-command environment (unused when global) */
	char *cwd, *redirect;
	int redirect_append;
	int nopts;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
	/* keep the first error: it names the real cause */
	if (ps->res->err[0])
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->res->err, sizeof ps->res->err, fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(struct parser *ps) { return fail(ps, "out of memory while parsing the command line"); }

static void sv_free(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

/* Append s (taking ownership); keeps the array NULL-terminated. */
static int sv_push(struct strvec *sv, char *s)
{
	if (!s)
		return -1;
	if (sv->n + 2 > sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 8;
		char **v = realloc(sv->v, cap * sizeof *v);
		if (!v) {
			free(s);
			return -1;
		}
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

static int sv_copy(struct strvec *dst, const struct strvec *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (sv_push(dst, strdup(src->v[i])) < 0)
			return -1;
	if (!dst->v) { /* always hand out a valid (empty) array */
		dst->v = calloc(1, sizeof *dst->v);
		dst->cap = dst->v ? 1 : 0;
	}
	return dst->v ? 0 : -1;
}

const char *cl_getenv(char *const *envp, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
			return envp[i] + len + 1;
	return NULL;
}

/* Set NAME=VALUE in env (replacing an earlier value); keep_existing for "?=". */
static int env_set(struct strvec *env, const char *name, size_t namelen, const char *value,
                   int keep_existing)
{
	for (size_t i = 0; i < env->n; i++) {
		if (strncmp(env->v[i], name, namelen) == 0 && env->v[i][namelen] == '=') {
			if (keep_existing)
				return 0;
			free(env->v[i]);
			env->v[i] = NULL;
			size_t l = namelen + 1 + strlen(value) + 1;
			char *s = malloc(l);
			if (!s)
				return -1;
			snprintf(s, l, "%.*s=%s", (int)namelen, name, value);
			env->v[i] = s;
			return 0;
		}
	}
	size_t l = namelen + 1 + strlen(value) + 1;
	char *s = malloc(l);
	if (!s)
		return -1;
	snprintf(s, l, "%.*s=%s", (int)namelen, name, value);
	return sv_push(env, s);
}

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p)
			return -1;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
	return 0;
}

static int is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
/* blanks within a line: OSv's set (isspace) without the newline, which separates commands */
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* \a \b \f \n \r \t \v are control characters (OSv's loader does the same, quoted or not);
 * any other escaped character stands for itself. */
static char unescape(char c)
{
	static const char from[] = "abfnrtv", to[] = "\a\b\f\n\r\t\v";
	const char *k = c ? strchr(from, c) : NULL;
	return k ? to[k - from] : c;
}

/* Expand $NAME or ${NAME} at ps->p (which points at '$'). */
static int expand_var(struct parser *ps, struct strvec *env, struct buf *b)
{
	const char *p = ps->p + 1;
	const char *name;
	size_t len;
	if (*p == '{') {
		name = ++p;
		while (*p && *p != '}')
			p++;
		if (!*p)
			return fail(ps, "unterminated ${ in the command line");
		len = (size_t)(p - name);
		int ok = len > 0 && is_name_start(name[0]);
		for (size_t i = 1; ok && i < len; i++)
			ok = is_name_char(name[i]);
		if (!ok)
			return fail(ps, "bad variable name ${%.*s}: use letters, digits and _", (int)len, name);
		p++; /* the '}' */
	} else if (is_name_start(*p)) {
		name = p;
		while (is_name_char(*p))
			p++;
		len = (size_t)(p - name);
	} else {
		/* a lone '$' is literal */
		ps->p++;
		return buf_add(b, "$", 1) < 0 ? oom(ps) : 0;
	}
	ps->p = p;
	char tmp[256];
	if (len >= sizeof tmp)
		return fail(ps, "variable name too long: %.40s...", name);
	memcpy(tmp, name, len);
	tmp[len] = 0;
	/* an unset variable expands to nothing, as in a shell */
	const char *val = cl_getenv(env->v, tmp);
	if (val && buf_add(b, val, strlen(val)) < 0)
		return oom(ps);
	return 0;
}

/* One character of an unquoted or double-quoted word: \x (the caller checked that x
 * exists), $VAR, or the character itself. 0, or -1 after fail(). */
static int word_char(struct parser *ps, struct strvec *env, struct buf *b)
{
	if (*ps->p == '$')
		return expand_var(ps, env, b);
	int escaped = *ps->p == '\\';
	char c = escaped ? unescape(ps->p[1]) : *ps->p;
	if (buf_add(b, &c, 1) < 0)
		return oom(ps);
	ps->p += escaped ? 2 : 1;
	return 0;
}

/*
 * Read one token; words are expanded with env. Returns 1 (and no token) for
 * an unquoted word that expanded to nothing, which is dropped (shell rule).
 */
static int read_token(struct parser *ps, struct strvec *env, struct token *t)
{
	memset(t, 0, sizeof *t);
	while (is_space(*ps->p))
		ps->p++;
	char c = *ps->p;
	if (c == 0) {
		t->kind = T_END;
		return 0;
	}
	if (c == '\n') {
		ps->p++;
		t->kind = T_NEWLINE;
		return 0;
	}
	if (c == ';' || c == '!' || c == '&') {
		t->kind = T_SEP;
		if (c == '&' && ps->p[1] == '!') {
			t->sep = CL_BG_NOWAIT;
			t->septext = "&!";
			ps->p += 2;
			return 0;
		}
		t->sep = c == ';' ? CL_SEQ : c == '&' ? CL_BG : CL_MAIN;
		t->septext = c == ';' ? ";" : c == '&' ? "&" : "!";
		ps->p++;
		return 0;
	}
	struct buf b = {0};
	int quoted = 0;
	while ((c = *ps->p) && !is_space(c) && c != '\n' && c != ';' && c != '&' && c != '!') {
		if (c == '\\' && !ps->p[1]) {
			free(b.s);
			return fail(ps, "trailing backslash at the end of the command line");
		}
		if (c == '\'') {
			/* single quotes: literal, no escapes, no expansion */
			const char *end = strchr(ps->p + 1, '\'');
			if (!end) {
				free(b.s);
				return fail(ps, "unterminated single quote in the command line");
			}
			if (buf_add(&b, ps->p + 1, (size_t)(end - ps->p - 1)) < 0)
				goto nomem;
			ps->p = end + 1;
			quoted = 1;
		} else if (c == '"') {
			ps->p++;
			quoted = 1;
			for (;;) {
				c = *ps->p;
				if (!c || (c == '\\' && !ps->p[1])) {
					free(b.s);
					return fail(ps, "unterminated double quote in the command line");
				}
				if (c == '"') {
					ps->p++;
					break;
				}
				if (word_char(ps, env, &b) < 0) {
					free(b.s);
					return -1;
				}
			}
		} else if (word_char(ps, env, &b) < 0) {
			free(b.s);
			return -1;
		}
	}
	if (!b.s && !quoted)
		return 1;
	if (!b.s && buf_add(&b, "", 0) < 0)
		goto nomem;
	t->kind = T_WORD;
	t->word = b.s;
	return 0;
nomem:
	free(b.s);
	return oom(ps);
}

/* At the start of a line: skip it if it holds only blanks and ';' (OSv ignores such
 * lines, and its sample runscripts have them). */
static void skip_void_line(struct parser *ps)
{
	const char *q = ps->p;
	while (is_space(*q) || *q == ';')
		q++;
	if (*q == '\n' || !*q)
		ps->p = q;
}

/* The next token, skipping words that expanded to nothing (a loop: no recursion on long input). */
static int next_token(struct parser *ps, struct strvec *env, struct token *t)
{
	int rc;
	while ((rc = read_token(ps, env, t)) == 1)
		;
	return rc;
}

/* ---- options ---- */

enum opt_id {
	O_ENV, O_CWD, O_REDIRECT, O_MOUNT_FS, O_TMPFS, O_SYSCTL,
	O_VERBOSE, O_BOOTCHART, O_NOINIT, O_POWER_OFF_ON_ABORT, O_MEMINFO,
	O_IP, O_DEFAULTGW, O_NAMESERVER, O_TRACE,
};

static const struct {
	const char *name;
	enum opt_id id;
	int takes_value;
	int per_command; /* allowed before any command, not only the first */
	const char *usage;
} options[] = {
	{"env", O_ENV, 1, 1, "--env=NAME=VALUE"},
	{"cwd", O_CWD, 1, 1, "--cwd=DIR"},
	{"redirect", O_REDIRECT, 1, 1, "--redirect=FILE or --redirect=>>FILE"},
	{"mount-fs", O_MOUNT_FS, 1, 0, "--mount-fs=TYPE,DEVICE,PATH"},
	{"tmpfs", O_TMPFS, 1, 0, "--tmpfs=PATH[,SIZE]"},
	{"sysctl", O_SYSCTL, 1, 0, "--sysctl=NAME=VALUE"},
	{"verbose", O_VERBOSE, 0, 0, "--verbose"},
	{"bootchart", O_BOOTCHART, 0, 0, "--bootchart"},
	{"noinit", O_NOINIT, 0, 0, "--noinit"},
	{"meminfo", O_MEMINFO, 0, 0, "--meminfo"},
	{"power-off-on-abort", O_POWER_OFF_ON_ABORT, 0, 0, "--power-off-on-abort"},
	{"ip", O_IP, 1, 0, "--ip=IF,ADDR,MASK or --ip=IF,ADDR/PREFIX"},
	{"defaultgw", O_DEFAULTGW, 1, 0, "--defaultgw=ADDR"},
	{"nameserver", O_NAMESERVER, 1, 0, "--nameserver=ADDR"},
	{"trace", O_TRACE, 1, 0, "--trace=PATTERN[,PATTERN...] (tracefs events: sched*, sched:sched_switch, irq)"},
};

/* OSv loader options Tailor knows but does not implement: an error, never ignored. */
static const char *const unsupported[] = {
	"trace-backtrace", "trace-list", "leak",
	"nomount", "nopivot", "rootfs", "assign-net", "maxnic", "norandom", "noshutdown",
	"disable_rofs_cache", "import-env", "pass-env", "sampler", "nopci", "console", "delay",
};

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	size_t prev[41], cur[41];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof cur);
	}
	return prev[lb];
}

static int add_mount(struct parser *ps, const char *type, const char *source, const char *target,
                     const char *data, int readonly)
{
	struct cl_result *r = ps->res;
	struct cl_mount *m = realloc(r->mounts, (r->nmounts + 1) * sizeof *m);
	if (!m)
		return oom(ps);
	r->mounts = m;
	m = &r->mounts[r->nmounts];
	memset(m, 0, sizeof *m);
	m->type = strdup(type);
	m->source = strdup(source);
	m->target = strdup(target);
	m->data = data ? strdup(data) : NULL;
	m->readonly = readonly;
	r->nmounts++; /* counted before the check so cl_free releases it */
	if (!m->type || !m->source || !m->target || (data && !m->data))
		return oom(ps);
	return 0;
}

static int check_mount_point(struct parser *ps, const char *opt, const char *path)
{
	if (path[0] != '/')
		return fail(ps, "%s: mount point '%s' must be an absolute path", opt, path);
	return 0;
}

static int opt_mount_fs(struct parser *ps, const char *val)
{
	char type[64], dev[256], path[1024];
	const char *c1 = strchr(val, ',');
	const char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
	if (!c1 || !c2 || strchr(c2 + 1, ',') || c1 == val || c2 == c1 + 1 || !c2[1])
		return fail(ps, "--mount-fs=%s: expected TYPE,DEVICE,PATH (e.g. --mount-fs=ext4,/dev/vblk1,/data)", val);
	if ((size_t)(c1 - val) >= sizeof type || (size_t)(c2 - c1 - 1) >= sizeof dev || strlen(c2 + 1) >= sizeof path)
		return fail(ps, "--mount-fs=%.60s...: value too long", val);
	snprintf(type, sizeof type, "%.*s", (int)(c1 - val), val);
	snprintf(dev, sizeof dev, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
	snprintf(path, sizeof path, "%s", c2 + 1);
	if (check_mount_point(ps, "--mount-fs", path) < 0)
		return -1;
	for (const char *t = type; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') || *t == '_'))
			return fail(ps, "--mount-fs: bad filesystem type '%s'", type);
	if (strcmp(type, "zfs") == 0)
		return fail(ps, "--mount-fs: there is no ZFS in Linux; build the disk with fs=btrfs (compression, snapshots, checksums) or fs=ext4");
	/* OSv names its virtio disks /dev/vblkN; Linux calls them /dev/vda, vdb, ... */
	char linuxdev[256];
	if (strncmp(dev, "/dev/vblk", 9) == 0) {
		char *end;
		long n = strtol(dev + 9, &end, 10);
		if (!dev[9] || *end || n < 0 || n > 25)
			return fail(ps, "--mount-fs: bad OSv device name '%s' (expected /dev/vblk0 .. /dev/vblk25)", dev);
		snprintf(linuxdev, sizeof linuxdev, "/dev/vd%c", (char)('a' + n));
	} else {
		snprintf(linuxdev, sizeof linuxdev, "%s", dev);
	}
	if (strcmp(type, "rofs") == 0 || strcmp(type, "erofs") == 0)
		return add_mount(ps, "erofs", linuxdev, path, NULL, 1);
	if (strcmp(type, "squashfs") == 0 || strcmp(type, "iso9660") == 0)
		return add_mount(ps, type, linuxdev, path, NULL, 1);
	if (strcmp(type, "virtiofs") == 0)
		return add_mount(ps, "virtiofs", dev, path, NULL, 0); /* DEVICE is the tag */
	if (strcmp(type, "9p") == 0)
		return add_mount(ps, "9p", dev, path, "trans=virtio,version=9p2000.L", 0);
	if (strcmp(type, "tmpfs") == 0 || strcmp(type, "ramfs") == 0)
		return add_mount(ps, type, type, path, NULL, 0);
	if (linuxdev[0] != '/')
		return fail(ps, "--mount-fs: device '%s' must be a /dev path (or /dev/vblkN)", dev);
	return add_mount(ps, type, linuxdev, path, NULL, 0);
}

static int opt_tmpfs(struct parser *ps, const char *val)
{
	char path[1024], data[64];
	const char *comma = strchr(val, ',');
	size_t plen = comma ? (size_t)(comma - val) : strlen(val);
	if (plen == 0 || plen >= sizeof path)
		return fail(ps, "--tmpfs=%.60s: expected PATH[,SIZE] (e.g. --tmpfs=/tmp,64m)", val);
	snprintf(path, sizeof path, "%.*s", (int)plen, val);
	if (check_mount_point(ps, "--tmpfs", path) < 0)
		return -1;
	if (!comma)
		return add_mount(ps, "tmpfs", "tmpfs", path, NULL, 0);
	/* SIZE: digits with an optional k/m/g suffix, or a percentage of RAM */
	const char *s = comma + 1, *q = s;
	while (*q >= '0' && *q <= '9')
		q++;
	if (q == s || (*q && !(strchr("kKmMgG%", *q) && !q[1])) || strlen(s) > 20)
		return fail(ps, "--tmpfs=%s: bad size '%s' (use e.g. 64m, 1g, 512k or 50%%)", val, s);
	snprintf(data, sizeof data, "size=%s", s);
	return add_mount(ps, "tmpfs", "tmpfs", path, data, 0);
}

static int add_sysctl(struct parser *ps, const char *name, const char *linux_name, const char *value,
                      int field, int raise_last)
{
	char path[512];
	if (sysctl_proc_path(linux_name, path, sizeof path) < 0)
		return fail(ps, "--sysctl: bad name '%s' (expected dotted words such as net.core.somaxconn)", name);
	struct cl_result *r = ps->res;
	struct cl_sysctl *s = realloc(r->sysctls, (r->nsysctls + 1) * sizeof *s);
	if (!s)
		return oom(ps);
	r->sysctls = s;
	s = &r->sysctls[r->nsysctls++];
	s->name = strdup(name);
	s->path = strdup(path);
	s->value = strdup(value);
	s->field = field;
	s->raise_last = raise_last;
	if (!s->name || !s->path || !s->value)
		return oom(ps);
	return 0;
}

static int opt_sysctl(struct parser *ps, const char *val)
{
	const char *eq = strchr(val, '=');
	if (!eq || eq == val || !eq[1])
		return fail(ps, "--sysctl=%s: expected NAME=VALUE (e.g. --sysctl=net.core.somaxconn=1024)", val);
	char name[256];
	if ((size_t)(eq - val) >= sizeof name)
		return fail(ps, "--sysctl: name too long");
	snprintf(name, sizeof name, "%.*s", (int)(eq - val), val);
	const char *value = eq + 1;
	if (!sysctl_is_bsd_name(name))
		return add_sysctl(ps, name, name, value, -1, 0);
	const struct sysctl_target *t[4];
	size_t n = sysctl_bsd_targets(name, t, 4);
	if (n == 0)
		return fail(ps, "--sysctl: unknown OSv/BSD name '%s'; Tailor maps: %s (or use the Linux name, e.g. net.ipv4.tcp_wmem)",
		            name, sysctl_bsd_names());
	for (size_t i = 0; i < n; i++) {
		char conv[32];
		const char *v = value;
		if (t[i]->ms_to_s || t[i]->field >= 0) {
			char *end;
			unsigned long long x = strtoull(value, &end, 10);
			if (*end || value[0] == '-' || value[0] == '+')
				return fail(ps, "--sysctl=%s: value must be a whole number", val);
			if (t[i]->ms_to_s) {
				/* BSD counts milliseconds, Linux seconds: round up, at least 1 */
				x = (x + 999) / 1000;
				if (x == 0)
					x = 1;
				snprintf(conv, sizeof conv, "%llu", x);
				v = conv;
			}
		}
		if (add_sysctl(ps, name, t[i]->linux_name, v, t[i]->field, t[i]->raise_last) < 0)
			return -1;
	}
	return 0;
}

static int opt_env(struct parser *ps, struct cmd *c, const char *val)
{
	const char *eq = strchr(val, '=');
	size_t namelen = eq ? (size_t)(eq - val) : 0;
	int keep = 0;
	if (namelen > 0 && val[namelen - 1] == '?') { /* OSv's NAME?=VALUE: only if unset */
		keep = 1;
		namelen--;
	}
	int ok = eq && namelen > 0 && is_name_start(val[0]);
	for (size_t i = 1; ok && i < namelen; i++)
		ok = is_name_char(val[i]);
	if (!ok)
		return fail(ps, "--env=%s: expected NAME=VALUE with a name of letters, digits and _", val);
	struct strvec *env = c->global ? &ps->genv : &c->env;
	if (env_set(env, val, namelen, eq + 1, keep) < 0)
		return oom(ps);
	return 0;
}

static int opt_redirect(struct parser *ps, struct cmd *c, const char *val)
{
	int append = strncmp(val, ">>", 2) == 0;
	const char *file = append ? val + 2 : val;
	if (!*file)
		return fail(ps, "--redirect needs a file: --redirect=FILE or --redirect=>>FILE");
	char **dst = c->global ? &ps->res->redirect : &c->redirect;
	free(*dst);
	*dst = strdup(file);
	if (!*dst)
		return oom(ps);
	if (c->global)
		ps->res->redirect_append = append;
	else
		c->redirect_append = append;
	return 0;
}

/* Handle one option word (starting with "--"); may read its value from the next word. */
static int handle_option(struct parser *ps, struct cmd *c, const char *word)
{
	const char *name = word + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	size_t i;
	for (i = 0; i < sizeof options / sizeof options[0]; i++)
		if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
			break;
	if (i == sizeof options / sizeof options[0]) {
		for (size_t u = 0; u < sizeof unsupported / sizeof unsupported[0]; u++)
			if (strlen(unsupported[u]) == len && strncmp(unsupported[u], name, len) == 0)
				return fail(ps, "option --%.*s is not supported by the Tailor init yet", (int)len, name);
		char shortname[48];
		snprintf(shortname, sizeof shortname, "%.*s", (int)(len < 47 ? len : 47), name);
		for (size_t k = 0; k < sizeof options / sizeof options[0]; k++)
			if (edit_distance(shortname, options[k].name) <= 2)
				return fail(ps, "unknown option --%.*s (did you mean --%s?)", (int)len, name, options[k].name);
		return fail(ps, "unknown option --%.*s", (int)len, name);
	}
	if (!c->global && !options[i].per_command)
		return fail(ps, "--%s applies to the whole VM: put it before the first program", options[i].name);
	char *owned = NULL;
	const char *val = NULL;
	if (options[i].takes_value) {
		if (eq) {
			val = eq + 1;
		} else {
			/* Tailor's own "--opt VALUE" form (OSv's loader reads only --opt=VALUE) */
			struct token t;
			if (next_token(ps, c->global ? &ps->genv : &c->env, &t) < 0)
				return -1;
			if (t.kind != T_WORD)
				return fail(ps, "--%s needs a value: %s", options[i].name, options[i].usage);
			val = owned = t.word;
		}
		if (!*val) {
			free(owned);
			return fail(ps, "--%s needs a value: %s", options[i].name, options[i].usage);
		}
	} else if (eq) {
		return fail(ps, "--%s takes no value", options[i].name);
	}
	int rc = 0;
	struct cl_result *r = ps->res;
	switch (options[i].id) {
	case O_ENV: rc = opt_env(ps, c, val); break;
	case O_CWD: {
		char **dst = c->global ? &r->cwd : &c->cwd;
		free(*dst);
		*dst = strdup(val);
		rc = *dst ? 0 : oom(ps);
		break;
	}
	case O_REDIRECT: rc = opt_redirect(ps, c, val); break;
	case O_MOUNT_FS: rc = opt_mount_fs(ps, val); break;
	case O_TMPFS: rc = opt_tmpfs(ps, val); break;
	case O_SYSCTL: rc = opt_sysctl(ps, val); break;
	case O_VERBOSE: r->verbose = 1; break;
	case O_BOOTCHART: r->bootchart = 1; break;
	case O_MEMINFO: r->meminfo = 1; break;
	case O_NOINIT: r->noinit = 1; break;
	case O_POWER_OFF_ON_ABORT: r->power_off_on_abort = 1; break;
	case O_TRACE: {
		/* several --trace options add up, as in OSv */
		size_t had = r->trace ? strlen(r->trace) : 0;
		char *joined = realloc(r->trace, had + strlen(val) + 2);
		if (!joined) {
			rc = oom(ps);
			break;
		}
		if (had)
			joined[had++] = ',';
		strcpy(joined + had, val);
		r->trace = joined;
		break;
	}
	case O_IP:
	case O_DEFAULTGW:
	case O_NAMESERVER: {
		char msg[256];
		int (*set)(struct cl_net *, const char *, char *, size_t) =
			options[i].id == O_IP ? cl_net_ip : options[i].id == O_DEFAULTGW ? cl_net_gw : cl_net_nameserver;
		rc = set(&r->net, val, msg, sizeof msg) < 0 ? fail(ps, "%s", msg) : 0;
		break;
	}
	}
	free(owned);
	return rc;
}

/* ---- commands ---- */

static void cmd_free(struct cmd *c)
{
	sv_free(&c->argv);
	sv_free(&c->env);
	free(c->cwd);
	free(c->redirect);
	memset(c, 0, sizeof *c);
}

static int parse_text(struct parser *ps, const char *text);

/* Move the pending runscript of the error chain into the chain text ("A, run by B x3"). */
static int flush_script(struct parser *ps)
{
	if (!ps->chain_path)
		return 0;
	char reps[24] = "";
	if (ps->chain_reps > 1)
		snprintf(reps, sizeof reps, " x%d", ps->chain_reps);
	int rc = (ps->chain.n && buf_add(&ps->chain, ", run by ", 9) < 0) ||
	         buf_add(&ps->chain, ps->chain_path, strlen(ps->chain_path)) < 0 ||
	         buf_add(&ps->chain, reps, strlen(reps)) < 0 ? -1 : 0;
	free(ps->chain_path);
	ps->chain_path = NULL;
	return rc;
}

/* An error came out of runscript `path`: remember it (the same script in a row counts up). */
static void note_script(struct parser *ps, const char *path)
{
	if (ps->chain_path && strcmp(ps->chain_path, path) == 0) {
		ps->chain_reps++;
		return;
	}
	flush_script(ps);
	ps->chain_path = strdup(path);
	ps->chain_reps = 1;
}

/*
 * After the error: " (in runscript A, run by B ...)" behind the cause, so a long
 * chain or long paths are cut at the end and never hide the cause.
 */
static void finish_chain(struct parser *ps)
{
	flush_script(ps);
	char *err = ps->res->err;
	size_t size = sizeof ps->res->err, len = strlen(err);
	if (ps->chain.n && len + 20 < size) {
		int w = snprintf(err + len, size - len, " (in runscript %s)", ps->chain.s);
		if (w < 0 || (size_t)w >= size - len)
			memcpy(err + size - 4, "...", 4); /* cut: say so */
	}
	free(ps->chain.s);
	ps->chain = (struct buf){0};
}

static int run_script(struct parser *ps, struct cmd *c, enum cl_sep sep)
{
	if (c->argv.n != 2)
		return fail(ps, "runscript needs exactly one argument: runscript FILE");
	if (!c->global && c->nopts)
		return fail(ps, "options before runscript are not supported after the first command: put them in %s",
		            c->argv.v[1]);
	if (!ps->read_file)
		return fail(ps, "runscript is not available here");
	/* the cause first, the (maybe long) path after it */
	if (ps->depth >= MAX_RUNSCRIPT_DEPTH)
		return fail(ps, "runscript nested more than %d deep (does a script run itself?): runscript %.200s",
		            MAX_RUNSCRIPT_DEPTH, c->argv.v[1]);
	char why[256] = "";
	char *text = ps->read_file(ps->ctx, c->argv.v[1], why, sizeof why);
	if (!text)
		return fail(ps, "runscript %.200s: %s", c->argv.v[1], why[0] ? why : "cannot read it");
	size_t before = ps->res->ncmds;
	const char *saved = ps->p;
	ps->depth++;
	int rc = parse_text(ps, text);
	ps->depth--;
	ps->p = saved;
	free(text);
	if (rc < 0) {
		note_script(ps, c->argv.v[1]); /* say where the error came from */
		return -1;
	}
	/* the separator after "runscript FILE" applies to the script's last command */
	if (ps->res->ncmds > before && sep != CL_SEQ)
		ps->res->cmds[ps->res->ncmds - 1].sep = sep;
	return 0;
}

static int finish_command(struct parser *ps, struct cmd *c, enum cl_sep sep)
{
	if (strcmp(c->argv.v[0], "runscript") == 0)
		return run_script(ps, c, sep);
	struct cl_result *r = ps->res;
	struct cl_command *cc = realloc(r->cmds, (r->ncmds + 1) * sizeof *cc);
	if (!cc)
		return oom(ps);
	r->cmds = cc;
	cc = &r->cmds[r->ncmds];
	memset(cc, 0, sizeof *cc);
	struct strvec env = {0};
	if (sv_copy(&env, c->global ? &ps->genv : &c->env) < 0) {
		sv_free(&env);
		return oom(ps);
	}
	cc->envp = env.v;
	cc->argv = c->argv.v;
	cc->argc = c->argv.n;
	cc->cwd = c->cwd;
	cc->redirect = c->redirect;
	cc->redirect_append = c->redirect_append;
	cc->sep = sep;
	r->ncmds++;
	/* ownership moved to the result */
	c->argv.v = NULL;
	c->argv.n = 0;
	c->cwd = c->redirect = NULL;
	return 0;
}

static int parse_text(struct parser *ps, const char *text)
{
	ps->p = text;
	int line_start = 1;
	for (;;) {
		struct cmd c = {0};
		c.global = ps->res->ncmds == 0;
		if (!c.global && sv_copy(&c.env, &ps->genv) < 0)
			return oom(ps);
		int opts_phase = 1;
		for (;;) {
			struct token t;
			if (line_start)
				skip_void_line(ps);
			if (next_token(ps, c.global ? &ps->genv : &c.env, &t) < 0) {
				cmd_free(&c);
				return -1;
			}
			line_start = t.kind == T_NEWLINE;
			if (t.kind == T_WORD) {
				int rc = 0;
				if (opts_phase && strncmp(t.word, "--", 2) == 0) {
					if (t.word[2] == 0)
						opts_phase = 0; /* "--" ends the options */
					else
						rc = handle_option(ps, &c, t.word);
					c.nopts++;
					free(t.word);
				} else {
					opts_phase = 0;
					rc = sv_push(&c.argv, t.word) < 0 ? oom(ps) : 0;
				}
				if (rc < 0) {
					cmd_free(&c);
					return -1;
				}
				continue;
			}
			if (c.argv.n == 0) {
				if (t.kind == T_NEWLINE)
					continue; /* a blank line, or options continued on the next line */
				if (t.kind == T_END) {
					int global = c.global, nopts = c.nopts;
					cmd_free(&c);
					if (nopts && !global)
						return fail(ps, "options at the end of the command line with no program after them");
					return 0;
				}
				const char *sep = t.septext;
				int nopts = c.nopts;
				cmd_free(&c);
				if (nopts)
					return fail(ps, "options with no program before '%s'", sep);
				if (ps->res->ncmds == 0 && ps->depth == 0)
					return fail(ps, "'%s' with no command before it", sep);
				return fail(ps, "empty command before '%s'", sep);
			}
			int rc = finish_command(ps, &c, t.kind == T_SEP ? t.sep : CL_SEQ);
			cmd_free(&c);
			if (rc < 0)
				return -1;
			if (t.kind == T_END)
				return 0;
			break;
		}
	}
}

int cl_parse(const char *text, char *const *envp, cl_read_file_fn read_file, void *ctx,
             struct cl_result *res)
{
	memset(res, 0, sizeof *res);
	struct parser ps = {.res = res, .read_file = read_file, .ctx = ctx};
	int rc = 0;
	for (size_t i = 0; envp && envp[i] && rc == 0; i++)
		rc = sv_push(&ps.genv, strdup(envp[i]));
	if (rc < 0)
		rc = oom(&ps);
	if (rc == 0)
		rc = parse_text(&ps, text);
	sv_free(&ps.genv);
	finish_chain(&ps);
	if (rc < 0) {
		char err[sizeof res->err];
		memcpy(err, res->err, sizeof err);
		cl_free(res);
		memcpy(res->err, err, sizeof err);
		return -1;
	}
	return 0;
}

void cl_free(struct cl_result *res)
{
	for (size_t i = 0; i < res->ncmds; i++) {
		struct cl_command *c = &res->cmds[i];
		for (size_t j = 0; c->argv && c->argv[j]; j++)
			free(c->argv[j]);
		free(c->argv);
		for (size_t j = 0; c->envp && c->envp[j]; j++)
			free(c->envp[j]);
		free(c->envp);
		free(c->cwd);
		free(c->redirect);
	}
	free(res->cmds);
	free(res->trace);
	for (size_t i = 0; i < res->nmounts; i++) {
		free(res->mounts[i].type);
		free(res->mounts[i].source);
		free(res->mounts[i].target);
		free(res->mounts[i].data);
	}
	free(res->mounts);
	for (size_t i = 0; i < res->nsysctls; i++) {
		free(res->sysctls[i].name);
		free(res->sysctls[i].path);
		free(res->sysctls[i].value);
	}
	free(res->sysctls);
	free(res->cwd);
	free(res->redirect);
	memset(res, 0, sizeof *res);
}

int cl_replace_field(const char *cur, int field, const char *val, int raise_last, char *out,
                     size_t outlen)
{
	/* split cur into at most 8 numeric fields */
	char fields[8][32];
	int n = 0;
	const char *p = cur;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (n == 8)
			return -1;
		size_t l = 0;
		while (p[l] && p[l] != ' ' && p[l] != '\t' && p[l] != '\n')
			l++;
		if (l >= sizeof fields[0])
			return -1;
		for (size_t i = 0; i < l; i++)
			if (p[i] < '0' || p[i] > '9')
				return -1;
		memcpy(fields[n], p, l);
		fields[n][l] = 0;
		n++;
		p += l;
	}
	if (field < 0 || field >= n || strlen(val) >= sizeof fields[0])
		return -1;
	snprintf(fields[field], sizeof fields[0], "%s", val);
	if (raise_last && field != n - 1 && strtoull(fields[n - 1], NULL, 10) < strtoull(val, NULL, 10))
		snprintf(fields[n - 1], sizeof fields[0], "%s", val);
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + len, outlen - len, i ? "\t%s" : "%s", fields[i]);
		if (w < 0 || (size_t)w >= outlen - len)
			return -1;
		len += (size_t)w;
	}
	return 0;
}

const char *cl_after_dashdash(const char *kernel_cmdline)
{
	const char *p = strstr(kernel_cmdline, " -- ");
	if (p)
		return p + 4;
	/* " --" at the very end (nothing after it) means an empty command line */
	size_t n = strlen(kernel_cmdline);
	while (n && (kernel_cmdline[n - 1] == '\n' || kernel_cmdline[n - 1] == ' '))
		n--;
	if (n >= 3 && strncmp(kernel_cmdline + n - 3, " --", 3) == 0)
		return kernel_cmdline + n;
	return NULL;
}

/* A word QEMU's microvm appends to the kernel command line: virtio_mmio.device=SIZE@ADDR:IRQ[:ID]. */
static int is_appended_device_word(const char *w, size_t n)
{
	static const char prefix[] = "virtio_mmio.device=";
	size_t pl = sizeof prefix - 1;
	if (n <= pl || strncmp(w, prefix, pl) != 0)
		return 0;
	for (size_t i = pl; i < n; i++) {
		char c = w[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '@' || c == ':'))
			return 0;
	}
	return 1;
}

size_t cl_appended_start(const char *text)
{
	size_t n = strlen(text);
	for (;;) {
		while (n && (text[n - 1] == ' ' || text[n - 1] == '\n' || text[n - 1] == '\t'))
			n--;
		size_t start = n;
		while (start && text[start - 1] != ' ' && text[start - 1] != '\n' && text[start - 1] != '\t')
			start--;
		/* whole words only (an empty application part leaves just these words) */
		if (start == n || !is_appended_device_word(text + start, n - start))
			return n;
		n = start;
	}
}

void cl_strip_appended(char *text) { text[cl_appended_start(text)] = 0; }

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int cl_decode_app(char *text)
{
	size_t pl = sizeof CL_ENCODED_PREFIX - 1;
	if (strncmp(text, CL_ENCODED_PREFIX, pl) != 0)
		return 0;
	char *out = text;
	const char *p = text + pl;
	/* the encoded line is one word: it ends at the first blank (trailing newline of /proc/cmdline) */
	while (*p && *p != ' ' && *p != '\n' && *p != '\t') {
		if (*p == '%') {
			int hi = hex_value(p[1]), lo = hi < 0 ? -1 : hex_value(p[2]);
			if (lo < 0 || (hi == 0 && lo == 0))
				return -1;
			*out++ = (char)(hi * 16 + lo);
			p += 3;
		} else {
			*out++ = *p++;
		}
	}
	*out = 0;
	return 1;
}

/* Module names treat '-' and '_' alike. */
static int same_module_char(char a, char b) { return a == b || ((a == '-' || a == '_') && (b == '-' || b == '_')); }

const char *cl_next_word(const char **cursor, size_t *len)
{
	const char *p = *cursor;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (!*p) {
		*cursor = p;
		return NULL;
	}
	/* a word ends at a blank outside double quotes (the kernel's rule) */
	const char *w = p;
	int inq = 0;
	while (*p && (inq || (*p != ' ' && *p != '\t' && *p != '\n'))) {
		if (*p == '"')
			inq = !inq;
		p++;
	}
	*len = (size_t)(p - w);
	*cursor = p;
	return w;
}

char *cl_module_params(const char *words, const char *module)
{
	struct buf out = {0};
	size_t ml = strlen(module);
	const char *p = words, *w;
	size_t wl;
	while ((w = cl_next_word(&p, &wl))) {
		size_t i = 0;
		while (i < ml && i < wl && same_module_char(w[i], module[i]))
			i++;
		if (i == ml && wl > ml + 1 && w[ml] == '.') {
			if ((out.n && buf_add(&out, " ", 1) < 0) || buf_add(&out, w + ml + 1, wl - ml - 1) < 0) {
				free(out.s);
				return NULL;
			}
		}
	}
	if (!out.s && buf_add(&out, "", 0) < 0)
		return NULL;
	return out.s;
}

/*
 * Tailor httpserver: OSv's monitoring REST API as one small static program.
 *
 * Read-only JSON paths (GET, HEAD): /os/version /os/uptime /os/date
 * /os/cmdline /os/hostname /os/memory/free /os/memory/total /os/threads
 * /hardware/processor/count. Values are bare JSON values, as in OSv's API.
 * With --allow-mutations: POST /os/shutdown powers the VM off, only with
 * "Authorization: Bearer <token>" matching the configured token (compared in
 * constant time) and a body that is empty or valid JSON.
 *
 * Why one process and poll(): no threads (the kernel needs no futex for us),
 * no fork per request, and one place that bounds everything: at most
 * MAX_CONNS connections, LINE_MAX_REQ bytes of request line (414), REQ_MAX
 * bytes of request head (431), BODY_MAX bytes of body (413), idle_ms per
 * request (408). When every slot is taken and a client waits, the connection
 * idle the longest (no request in progress for EVICT_IDLE_MS) makes room.
 * There are no file endpoints: paths are matched exactly, never mapped to
 * files. Errors are JSON: {"message": ..., "code": N}.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 32
#define REQ_MAX 8192  /* request line + headers */
#define LINE_MAX_REQ 4096 /* the request line alone */
#define TARGET_MAX 2048 /* the path and query */
#define BODY_MAX 1024 /* POST bodies carry no parameters yet, but must be small JSON */
#define JSON_DEPTH 32 /* nesting limit of a JSON body: the validator recurses */
#define EVICT_IDLE_MS 1000 /* an idle connection may give its slot to a waiting client after this */
#define OUT_MAX 32768
#define DEFAULT_TOKEN_FILE "/etc/httpserver/token"

static long idle_ms = 10000; /* --request-timeout-ms: a request must arrive within this */
static int allow_mutations;
static int test_no_poweroff;
static char api_token[257];
static size_t api_token_len;

struct conn {
	int fd;               /* -1: free slot */
	long long deadline;   /* ms, CLOCK_MONOTONIC: the next request must be complete by then */
	long long idle_since; /* ms: accepted or last answered; no request bytes since */
	size_t in_len, out_len, out_off;
	int close_after;      /* close once the response is sent */
	int shutdown_after;   /* power off once the response is sent */
	char in[REQ_MAX + BODY_MAX];
	char out[OUT_MAX];
};
static struct conn conns[MAX_CONNS];

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (n > b->cap - b->len)
		n = b->cap - b->len; /* callers size buffers so this never cuts JSON */
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void putf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned min;
	unsigned cp;
	if (s[0] < 0x80)
		return 1;
	else if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : len;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD so the output always parses. */
static void json_str(struct buf *b, const char *s, size_t n)
{
	put(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t l = utf8_len((const unsigned char *)s + i, n - i);
		if (c == '"' || c == '\\')
			putf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			putf(b, "\\u%04x", c);
		else if (l == 0)
			putf(b, "\\ufffd");
		else {
			put(b, s + i, l);
			i += l;
			continue;
		}
		i++;
	}
	put(b, "\"", 1);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whole small file (/proc, /sys, token) into buf, NUL-terminated; length or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len < size - 1) {
		ssize_t r = read(fd, buf + len, size - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

/* ---- the monitoring endpoints: each writes one JSON value, returns an HTTP status ---- */

static int fail(struct buf *b, const char *what)
{
	putf(b, "{\"message\": \"cannot read %s: %s\", \"code\": 500}", what, strerror(errno));
	return 500;
}

static int ep_version(struct buf *b)
{
	struct utsname u;
	char s[300];
	if (uname(&u) < 0)
		return fail(b, "uname");
	int n = snprintf(s, sizeof s, "%s %s (Tailor)", u.sysname, u.release);
	json_str(b, s, (size_t)n < sizeof s ? (size_t)n : sizeof s - 1);
	return 200;
}

static int ep_uptime(struct buf *b)
{
	char s[128];
	if (read_small_file("/proc/uptime", s, sizeof s) <= 0)
		return fail(b, "/proc/uptime");
	s[strcspn(s, " \n")] = 0; /* "123.45 678.90": seconds up, then idle */
	putf(b, "%s", s);
	return 200;
}

static int meminfo(struct buf *b, const char *key)
{
	static char s[8192];
	if (read_small_file("/proc/meminfo", s, sizeof s) <= 0)
		return fail(b, "/proc/meminfo");
	size_t klen = strlen(key);
	for (char *line = s; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			unsigned long long kib = strtoull(line + klen + 1, NULL, 10);
			putf(b, "%llu", kib * 1024);
			return 200;
		}
	}
	errno = ENOENT;
	return fail(b, key);
}

static int ep_memory_free(struct buf *b) { return meminfo(b, "MemFree"); }
static int ep_memory_total(struct buf *b) { return meminfo(b, "MemTotal"); }

static int ep_date(struct buf *b)
{
	struct timespec ts;
	struct tm tm;
	char s[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(s + n, sizeof s - n, ".%03ldZ", ts.tv_nsec / 1000000);
	json_str(b, s, strlen(s));
	return 200;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* ---- JSON validity of a request body (RFC 8259), without building anything ---- */

struct json_in {
	const char *s;
	size_t n, i;
	int depth;
};

static void json_ws(struct json_in *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\r' || p->s[p->i] == '\n'))
		p->i++;
}

static int json_digits(struct json_in *p)
{
	size_t start = p->i;
	while (p->i < p->n && isdigit((unsigned char)p->s[p->i]))
		p->i++;
	return p->i > start;
}

static int json_string(struct json_in *p)
{
	for (p->i++; p->i < p->n;) {
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == '"') {
			p->i++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (++p->i >= p->n)
				return 0;
			if (p->s[p->i] == 'u') {
				for (int k = 1; k <= 4; k++)
					if (p->i + k >= p->n || hex_digit(p->s[p->i + k]) < 0)
						return 0;
				p->i += 5;
			} else if (p->s[p->i] && strchr("\"\\/bfnrt", p->s[p->i]))
				p->i++;
			else
				return 0;
			continue;
		}
		size_t l = utf8_len((const unsigned char *)p->s + p->i, p->n - p->i);
		if (!l)
			return 0;
		p->i += l;
	}
	return 0;
}

static int json_number(struct json_in *p)
{
	if (p->s[p->i] == '-')
		p->i++;
	if (p->i < p->n && p->s[p->i] == '0')
		p->i++;
	else if (!json_digits(p))
		return 0;
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (!json_digits(p))
			return 0;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (!json_digits(p))
			return 0;
	}
	return 1;
}

static int json_literal(struct json_in *p, const char *word)
{
	size_t l = strlen(word);
	if (p->n - p->i < l || memcmp(p->s + p->i, word, l) != 0)
		return 0;
	p->i += l;
	return 1;
}

static int json_value(struct json_in *p)
{
	json_ws(p);
	if (p->i >= p->n)
		return 0;
	char c = p->s[p->i];
	if (c == '"')
		return json_string(p);
	if (c == 't' || c == 'f' || c == 'n')
		return json_literal(p, c == 't' ? "true" : c == 'f' ? "false" : "null");
	if (c == '-' || isdigit((unsigned char)c))
		return json_number(p);
	if (c != '{' && c != '[')
		return 0;
	char close = c == '{' ? '}' : ']';
	if (++p->depth > JSON_DEPTH)
		return 0;
	p->i++;
	json_ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		p->depth--;
		return 1;
	}
	for (;;) {
		if (c == '{') { /* "key" : */
			json_ws(p);
			if (p->i >= p->n || p->s[p->i] != '"' || !json_string(p))
				return 0;
			json_ws(p);
			if (p->i >= p->n || p->s[p->i++] != ':')
				return 0;
		}
		if (!json_value(p))
			return 0;
		json_ws(p);
		if (p->i >= p->n)
			return 0;
		if (p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->s[p->i] != close)
			return 0;
		p->i++;
		p->depth--;
		return 1;
	}
}

/* 1 if s[0..n) is one JSON value with optional blanks around it. */
static int json_valid(const char *s, size_t n)
{
	struct json_in p = {s, n, 0, 0};
	if (!json_value(&p))
		return 0;
	json_ws(&p);
	return p.i == n;
}

/*
 * A long application part travels as one %XX-encoded word, ` -- %:...`
 * (docs/guest-protocol.md): decode that word in place, so /os/cmdline shows
 * the command line as given and the token search below sees it as given.
 */
static size_t decode_app_word(char *s, size_t n)
{
	char *sep = memmem(s, n, " -- %:", 6);
	if (!sep)
		return n;
	size_t i = (size_t)(sep - s) + 6, o = (size_t)(sep - s) + 4;
	for (; i < n && s[i] != ' '; o++) {
		int hi = -1, lo = -1;
		if (s[i] == '%' && i + 2 < n) {
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
		}
		if (hi >= 0 && lo >= 0) {
			s[o] = (char)(hi << 4 | lo);
			i += 3;
		} else
			s[o] = s[i++];
	}
	memmove(s + o, s + i, n - i); /* words after it (QEMU microvm appends some) stay as they are */
	return o + (n - i);
}

static const char *cmdline_file = "/proc/cmdline"; /* --test-cmdline-file: host tests give their own */

/* The kernel command line, with API tokens replaced: this path is read-only and unauthenticated. */
static int ep_cmdline(struct buf *b)
{
	static const char *secret_prefixes[] = {"TAILOR_API_TOKEN=", "--api-token=", "--api-token "};
	static char s[4096], r[sizeof s + 64];
	ssize_t got = read_small_file(cmdline_file, s, sizeof s);
	if (got < 0)
		return fail(b, cmdline_file);
	size_t n = decode_app_word(s, (size_t)got), o = 0, i = 0;
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	while (i < n && o < sizeof r - 16) {
		size_t pl = 0, vl = 0;
		for (size_t k = 0; k < sizeof secret_prefixes / sizeof *secret_prefixes && !pl; k++)
			if (strncmp(s + i, secret_prefixes[k], strlen(secret_prefixes[k])) == 0)
				pl = strlen(secret_prefixes[k]);
		if (pl) {
			memcpy(r + o, s + i, pl);
			o += pl;
			i += pl;
			while (i + vl < n && !isspace((unsigned char)s[i + vl]) && s[i + vl] != '"' && s[i + vl] != '\'')
				vl++;
		} else if (api_token_len && n - i >= api_token_len && memcmp(s + i, api_token, api_token_len) == 0)
			vl = api_token_len;
		if (vl) {
			memcpy(r + o, "<redacted>", 10);
			o += 10;
			i += vl;
		} else if (!pl)
			r[o++] = s[i++];
	}
	json_str(b, r, o);
	return 200;
}

static int ep_hostname(struct buf *b)
{
	char s[256];
	if (gethostname(s, sizeof s) < 0)
		return fail(b, "hostname");
	s[sizeof s - 1] = 0;
	json_str(b, s, strlen(s));
	return 200;
}

/* Online CPUs from /sys ("0-3,6"); sysconf when /sys is not mounted. */
static int ep_cpu_count(struct buf *b)
{
	char s[512];
	long count = 0;
	if (read_small_file("/sys/devices/system/cpu/online", s, sizeof s) > 0) {
		for (char *p = s; *p && *p != '\n';) {
			char *end;
			long lo = strtol(p, &end, 10), hi = lo;
			if (end == p)
				break;
			if (*end == '-')
				hi = strtol(end + 1, &end, 10);
			count += hi - lo + 1;
			p = *end == ',' ? end + 1 : end;
		}
	}
	if (count <= 0)
		count = sysconf(_SC_NPROCESSORS_ONLN);
	putf(b, "%ld", count);
	return 200;
}

/* All threads in the system: the total in /proc/loadavg ("0.00 0.01 0.05 1/123 456"). */
static int ep_threads(struct buf *b)
{
	char s[256];
	if (read_small_file("/proc/loadavg", s, sizeof s) <= 0)
		return fail(b, "/proc/loadavg");
	char *slash = strchr(s, '/');
	if (!slash) {
		errno = EINVAL;
		return fail(b, "/proc/loadavg");
	}
	putf(b, "%ld", strtol(slash + 1, NULL, 10));
	return 200;
}

struct route {
	const char *path;
	int (*get)(struct buf *); /* read-only GET/HEAD path, or NULL for a mutating POST path */
};
static const struct route routes[] = {
	{"/os/version", ep_version},
	{"/os/uptime", ep_uptime},
	{"/os/date", ep_date},
	{"/os/cmdline", ep_cmdline},
	{"/os/hostname", ep_hostname},
	{"/os/memory/free", ep_memory_free},
	{"/os/memory/total", ep_memory_total},
	{"/os/threads", ep_threads},
	{"/hardware/processor/count", ep_cpu_count},
	{"/os/shutdown", NULL},
};

/* ---- power-off ---- */

/* Only a Tailor guest is powered off: its PID 1 is /init. Anywhere else (a host) we just exit. */
static int in_tailor_guest(void)
{
	char exe[64];
	ssize_t n = readlink("/proc/1/exe", exe, sizeof exe - 1);
	return n == 5 && memcmp(exe, "/init", 5) == 0;
}

static void power_off(void)
{
	if (test_no_poweroff || !in_tailor_guest()) {
		fprintf(stderr, "httpserver: shutdown requested; %s, so the server exits instead of powering off\n",
			test_no_poweroff ? "--test-no-poweroff is set" : "this is not a Tailor guest (PID 1 is not /init)");
		exit(0);
	}
	/* the exit marker of docs/guest-protocol.md, then the same power-off as the init's */
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		static const char marker[] = "tailor:exit status=0\n";
		ssize_t w = write(fd, marker, sizeof marker - 1);
		(void)w;
		close(fd);
	}
	sync();
	reboot(RB_AUTOBOOT);
	fprintf(stderr, "httpserver: power-off failed: %s\n", strerror(errno));
	exit(1);
}

/* ---- HTTP ---- */

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	default: return "HTTP Version Not Supported";
	}
}

/* Queue a response; body is one JSON value (no body sent for HEAD). extra: more header lines. */
static void respond(struct conn *c, int code, const char *body, size_t body_len, int head_only, const char *extra)
{
	char date[64];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	struct buf out = {c->out, 0, sizeof c->out};
	putf(&out,
	     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	     "Cache-Control: no-store\r\nDate: %s\r\nServer: tailor-httpserver\r\nConnection: %s\r\n%s\r\n",
	     code, reason(code), body_len + 1, date, c->close_after ? "close" : "keep-alive", extra ? extra : "");
	if (!head_only) {
		put(&out, body, body_len);
		put(&out, "\n", 1);
	}
	c->out_len = out.len;
	c->out_off = 0;
}

static void respond_error(struct conn *c, int code, int head_only, const char *extra, const char *fmt, ...)
{
	char msg[512], body[sizeof msg * 6 + 64]; /* every byte of msg may need a \\u escape */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct buf b = {body, 0, sizeof body};
	put(&b, "{\"message\": ", 12);
	json_str(&b, msg, strlen(msg));
	putf(&b, ", \"code\": %d}", code);
	if (code >= 400 && code != 401 && code != 403 && code != 404 && code != 405)
		c->close_after = 1; /* the stream may be out of step: do not read another request from it */
	respond(c, code, body, b.len, head_only, extra);
}

static int is_tchar(int ch)
{
	return isalnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Compare without an early exit, so response times do not tell how much of a guess was right. */
static int token_matches(const char *given, size_t len)
{
	unsigned diff = len != api_token_len;
	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)given[i] ^ (unsigned char)api_token[i < api_token_len ? i : 0];
	return (api_token_len > 0) & (diff == 0); /* & not &&: no branch on the comparison either */
}

static void handle_shutdown(struct conn *c, const char *auth, const char *body, size_t body_len)
{
	if (!allow_mutations) {
		respond_error(c, 403, 0, NULL,
			      "mutating endpoints are off in the monitoring API; use the httpserver-api module "
			      "(or start the server with --allow-mutations)");
		return;
	}
	if (!api_token_len) {
		respond_error(c, 403, 0, NULL,
				     "no API token is configured, so mutating endpoints are refused: boot with "
				     "--env=TAILOR_API_TOKEN=<token>, put the token in " DEFAULT_TOKEN_FILE
				     " in the image, or start the server with --api-token <token>");
		return;
	}
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
		respond_error(c, 401, 0, "WWW-Authenticate: Bearer realm=\"tailor\"\r\n",
			      "this endpoint needs the header 'Authorization: Bearer <token>'");
		return;
	}
	const char *tok = auth + 7;
	while (*tok == ' ')
		tok++;
	if (!token_matches(tok, strlen(tok))) {
		respond_error(c, 403, 0, NULL, "the API token is wrong");
		return;
	}
	if (body_len && !json_valid(body, body_len)) {
		respond_error(c, 400, 0, NULL, "the request body is not valid JSON (send none, or e.g. {})");
		return;
	}
	static const char ok[] = "{\"message\": \"powering off\", \"code\": 200}";
	c->close_after = 1;
	c->shutdown_after = 1;
	respond(c, 200, ok, sizeof ok - 1, 0, NULL);
}

/* End of the request head (just past its empty line), or 0 if it has not all arrived. */
static size_t head_end(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\n')
			continue;
		if (i + 1 < n && s[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* One request from c->in, if it is complete: 1 = a response was queued, 0 = need more bytes. */
static int process(struct conn *c)
{
	if (c->in_len >= LINE_MAX_REQ && !memchr(c->in, '\n', LINE_MAX_REQ)) {
		respond_error(c, 414, 0, NULL, "the request line exceeds %d bytes", LINE_MAX_REQ);
		return 1;
	}
	size_t end = head_end(c->in, c->in_len < REQ_MAX ? c->in_len : REQ_MAX);
	if (!end) {
		if (c->in_len >= REQ_MAX) {
			respond_error(c, 431, 0, NULL, "the request line and headers exceed %d bytes", REQ_MAX);
			return 1;
		}
		return 0;
	}
	if (memchr(c->in, 0, end)) { /* the parser below works on C strings */
		c->in_len = 0;
		respond_error(c, 400, 0, NULL, "malformed request: a NUL byte in the request line or a header");
		return 1;
	}
	char head[REQ_MAX + 1];
	memcpy(head, c->in, end);
	head[end] = 0;

	/* request line: METHOD SP /path SP HTTP/1.x */
	char *line = head, *next = strchr(line, '\n');
	*next = 0;
	if (next > line && next[-1] == '\r')
		next[-1] = 0;
	char *method = line, *sp1 = strchr(line, ' '), *target, *sp2, *version;
	if (!sp1 || !(sp2 = strchr(sp1 + 1, ' ')) || strchr(sp2 + 1, ' ')) {
		c->in_len = 0;
		respond_error(c, 400, 0, NULL, "malformed request line (expected: METHOD /path HTTP/1.1)");
		return 1;
	}
	*sp1 = *sp2 = 0;
	target = sp1 + 1;
	version = sp2 + 1;
	if (strlen(target) > TARGET_MAX) {
		c->in_len = 0;
		respond_error(c, 414, 0, NULL, "the path exceeds %d bytes", TARGET_MAX);
		return 1;
	}
	int bad = !*method || strlen(method) > 16 || target[0] != '/';
	for (char *p = method; *p; p++)
		bad |= !is_tchar((unsigned char)*p);
	for (char *p = target; *p; p++)
		bad |= (unsigned char)*p <= 0x20 || *p == 0x7f;
	int minor = -1;
	if (!strcmp(version, "HTTP/1.1"))
		minor = 1;
	else if (!strcmp(version, "HTTP/1.0"))
		minor = 0;
	else if (!bad && strncmp(version, "HTTP/", 5) == 0 && isdigit((unsigned char)version[5]) && version[6] == '.' &&
		 isdigit((unsigned char)version[7]) && !version[8]) {
		c->in_len = 0;
		respond_error(c, 505, 0, NULL, "HTTP version %s is not supported; use HTTP/1.1", version);
		return 1;
	}
	if (bad || minor < 0) {
		c->in_len = 0;
		respond_error(c, 400, 0, NULL, "malformed request line (expected: METHOD /path HTTP/1.1)");
		return 1;
	}

	/* headers */
	long long content_length = 0;
	int has_length = 0, has_host = 0, conn_close = minor == 0, conn_keep = 0, chunked = 0;
	const char *auth = NULL;
	for (line = next + 1; *line && *line != '\r' && *line != '\n'; line = next + 1) {
		next = strchr(line, '\n');
		*next = 0;
		if (next > line && next[-1] == '\r')
			next[-1] = 0;
		char *colon = strchr(line, ':');
		int badh = !colon || colon == line;
		for (char *p = line; !badh && p < colon; p++)
			badh |= !is_tchar((unsigned char)*p);
		for (char *p = colon ? colon + 1 : line; !badh && *p; p++)
			badh |= ((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f;
		if (badh) {
			c->in_len = 0;
			respond_error(c, 400, 0, NULL, "malformed header line (expected: Name: value)");
			return 1;
		}
		*colon = 0;
		char *value = colon + 1, *vend = value + strlen(value);
		while (*value == ' ' || *value == '\t')
			value++;
		while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
			*--vend = 0;
		if (!strcasecmp(line, "Host"))
			has_host++;
		else if (!strcasecmp(line, "Authorization"))
			auth = value;
		else if (!strcasecmp(line, "Transfer-Encoding"))
			chunked = 1;
		else if (!strcasecmp(line, "Connection")) {
			conn_close |= strcasestr(value, "close") != NULL;
			conn_keep |= strcasestr(value, "keep-alive") != NULL;
		} else if (!strcasecmp(line, "Content-Length")) {
			char *e;
			errno = 0;
			long long v = strtoll(value, &e, 10);
			if (!isdigit((unsigned char)*value) || *e || errno || (has_length && v != content_length)) {
				c->in_len = 0;
				respond_error(c, 400, 0, NULL, "invalid Content-Length: %s", value);
				return 1;
			}
			content_length = v;
			has_length = 1;
		}
	}
	if (minor == 0 && conn_keep && !conn_close)
		conn_close = 0;
	else if (minor == 0)
		conn_close = 1;
	c->close_after = conn_close;
	if (minor == 1 && has_host != 1) {
		c->in_len = 0;
		respond_error(c, 400, 0, NULL, "an HTTP/1.1 request needs exactly one Host header");
		return 1;
	}
	if (chunked) {
		c->in_len = 0;
		respond_error(c, 501, 0, NULL, "Transfer-Encoding is not supported; send a Content-Length body");
		return 1;
	}
	if (content_length > BODY_MAX) {
		c->in_len = 0;
		respond_error(c, 413, 0, NULL, "request bodies are limited to %d bytes", BODY_MAX);
		return 1;
	}
	if (c->in_len < end + (size_t)content_length)
		return 0; /* the body has not all arrived */
	/* the request is complete: keep its body, drop it from the input, keep any pipelined bytes */
	char body[BODY_MAX];
	size_t body_len = (size_t)content_length;
	memcpy(body, c->in + end, body_len);
	size_t used = end + body_len;
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;

	/* route: the query string is not part of the path */
	target[strcspn(target, "?")] = 0;
	const struct route *r = NULL;
	for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
		if (!strcmp(routes[i].path, target))
			r = &routes[i];
	int head_only = !strcmp(method, "HEAD");
	if (!r) {
		respond_error(c, 404, head_only, NULL, "no such path: %s", target);
		return 1;
	}
	if (r->get && (head_only || !strcmp(method, "GET"))) {
		char body[26 * 1024]; /* fits /os/cmdline (4 KiB) even if every byte needs \u escaping */
		struct buf b = {body, 0, sizeof body};
		int code = r->get(&b);
		respond(c, code, body, b.len, head_only, NULL);
	} else if (!r->get && !strcmp(method, "POST")) {
		handle_shutdown(c, auth, body, body_len);
	} else {
		respond_error(c, 405, head_only, r->get ? "Allow: GET, HEAD\r\n" : "Allow: POST\r\n",
			      "%s does not take %s; use %s", target, method, r->get ? "GET or HEAD" : "POST");
	}
	return 1;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
}

/* After a power-off response: let the client read it (it closes first), but never wait long. */
static void finish_and_power_off(struct conn *c)
{
	char sink[512];
	shutdown(c->fd, SHUT_WR);
	long long until = now_ms() + 1000;
	for (long long left; (left = until - now_ms()) > 0;) {
		struct pollfd p = {c->fd, POLLIN, 0};
		if (poll(&p, 1, (int)left) <= 0 || read(c->fd, sink, sizeof sink) <= 0)
			break;
	}
	conn_close(c);
	power_off();
}

/* Send what is queued; then close, power off, or go on with the next request. */
static void conn_write(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0) {
			c->close_after = 1;
			c->shutdown_after = 0;
			c->out_len = c->out_off = 0;
			break;
		}
		c->out_off += (size_t)w;
	}
	c->out_len = c->out_off = 0;
	if (c->shutdown_after) {
		finish_and_power_off(c);
		return;
	}
	if (c->close_after) {
		conn_close(c);
		return;
	}
	c->idle_since = now_ms();
	c->deadline = c->idle_since + idle_ms;
	if (process(c)) /* a pipelined request already waiting */
		conn_write(c);
}

static void conn_read(struct conn *c)
{
	ssize_t r = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r <= 0) {
		conn_close(c);
		return;
	}
	c->in_len += (size_t)r;
	if (process(c))
		conn_write(c);
}

static const char usage[] =
	"usage: httpserver [--port N] [--bind ADDR] [--request-timeout-ms MS] [--allow-mutations]"
	" [--api-token TOKEN | --api-token-file PATH] [--test-no-poweroff] [--test-cmdline-file PATH]\n"
	"       (the token may also come from the environment variable TAILOR_API_TOKEN,"
	" else from " DEFAULT_TOKEN_FILE ")\n";

static void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("httpserver: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	fputs(usage, stderr);
	exit(2);
}

static void set_token(const char *tok, const char *from)
{
	size_t n = strlen(tok);
	while (n && isspace((unsigned char)tok[n - 1]))
		n--; /* a token file usually ends with a newline */
	if (n == 0)
		return;
	if (n > sizeof api_token - 1)
		usage_error("the API token from %s is longer than %zu characters", from, sizeof api_token - 1);
	for (size_t i = 0; i < n; i++)
		if (tok[i] <= 0x20 || tok[i] >= 0x7f)
			usage_error("the API token from %s may only have visible ASCII characters (no spaces)", from);
	memcpy(api_token, tok, n);
	api_token[n] = 0;
	api_token_len = n;
}

int main(int argc, char **argv)
{
	long port = 8000;
	const char *bind_addr = "0.0.0.0", *token_arg = NULL, *token_file = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t nl = eq ? (size_t)(eq - a) : strlen(a);
		const char *val = eq ? eq + 1 : NULL;
#define OPT(name) (nl == strlen(name) && !strncmp(a, name, nl))
#define VALUE() (val ? val : i + 1 < argc ? argv[++i] : (usage_error("%s needs a value", a), ""))
		if (OPT("--port")) {
			const char *v = VALUE();
			char *e;
			port = strtol(v, &e, 10);
			if (!*v || *e || port < 0 || port > 65535)
				usage_error("--port %s: expected a TCP port number 0-65535 (0: any free port)", v);
		} else if (OPT("--request-timeout-ms")) {
			const char *v = VALUE();
			char *e;
			idle_ms = strtol(v, &e, 10);
			if (!*v || *e || idle_ms < 1 || idle_ms > 3600000)
				usage_error("--request-timeout-ms %s: expected milliseconds, 1-3600000", v);
		} else if (OPT("--bind"))
			bind_addr = VALUE();
		else if (OPT("--api-token"))
			token_arg = VALUE();
		else if (OPT("--api-token-file"))
			token_file = VALUE();
		else if (OPT("--allow-mutations") && !val)
			allow_mutations = 1;
		else if (OPT("--test-no-poweroff") && !val)
			test_no_poweroff = 1;
		else if (OPT("--test-cmdline-file"))
			cmdline_file = VALUE();
		else if (OPT("--help") && !val) {
			fputs(usage, stdout);
			return 0;
		}
		else
			usage_error("unknown argument %s", a);
	}
	/* token: the flag, else the environment, else the file */
	static char file_buf[1024];
	const char *env = getenv("TAILOR_API_TOKEN");
	if (token_arg)
		set_token(token_arg, "--api-token");
	else if (env && *env)
		set_token(env, "TAILOR_API_TOKEN");
	else if (read_small_file(token_file ? token_file : DEFAULT_TOKEN_FILE, file_buf, sizeof file_buf) >= 0)
		set_token(file_buf, token_file ? token_file : DEFAULT_TOKEN_FILE);
	else if (token_file)
		usage_error("--api-token-file %s: %s", token_file, strerror(errno));

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1)
		usage_error("--bind %s: expected an IPv4 address such as 0.0.0.0 or 127.0.0.1", bind_addr);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 64) < 0) {
		fprintf(stderr, "httpserver: cannot listen on %s:%ld: %s\n", bind_addr, port, strerror(errno));
		return 1;
	}
	socklen_t salen = sizeof sa;
	getsockname(lfd, (struct sockaddr *)&sa, &salen);
	signal(SIGPIPE, SIG_IGN);
	printf("httpserver: listening on %s:%d (%s)\n", bind_addr, ntohs(sa.sin_port),
	       !allow_mutations ? "read-only" : api_token_len ? "mutations on, API token set" : "mutations on, but no API token: refused");
	fflush(stdout);

	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	struct pollfd pfd[MAX_CONNS + 1];
	for (;;) {
		int active = 0, evictable = -1;
		long long now = now_ms(), next_deadline = now + idle_ms, next_evictable = next_deadline;
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];
			if (c->fd >= 0 && now >= c->deadline) {
				if (c->in_len == 0)
					conn_close(c); /* idle keep-alive connection */
				else {
					c->in_len = 0;
					c->close_after = 1;
					c->deadline = now + 1000; /* time to send the 408 */
					respond_error(c, 408, 0, NULL, "the request did not arrive within %ld ms", idle_ms);
					conn_write(c);
				}
			}
			pfd[i + 1].fd = c->fd;
			pfd[i + 1].events = c->out_len ? POLLOUT : POLLIN;
			if (c->fd >= 0) {
				active++;
				if (c->deadline < next_deadline)
					next_deadline = c->deadline;
				if (c->in_len == 0 && c->out_len == 0) { /* idle: it may give its slot away */
					long long at = c->idle_since + EVICT_IDLE_MS;
					if (at <= now && (evictable < 0 || c->idle_since < conns[evictable].idle_since))
						evictable = i;
					else if (at > now && at < next_evictable)
						next_evictable = at;
				}
			}
		}
		int full = active == MAX_CONNS;
		if (full && next_evictable < next_deadline)
			next_deadline = next_evictable; /* wake up when an idle connection may make room */
		pfd[0].fd = lfd;
		/* full: new clients wait in the backlog, unless an idle connection can make room */
		pfd[0].events = !full || evictable >= 0 ? POLLIN : 0;
		int timeout = next_deadline > now ? (int)(next_deadline - now) : 0;
		if (poll(pfd, MAX_CONNS + 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "httpserver: poll: %s\n", strerror(errno));
			return 1;
		}
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];
			if (c->fd < 0 || pfd[i + 1].fd != c->fd || !pfd[i + 1].revents)
				continue;
			if (pfd[i + 1].revents & POLLOUT)
				conn_write(c);
			else
				conn_read(c); /* POLLIN, POLLHUP, POLLERR: read tells which */
		}
		if (pfd[0].revents & POLLIN) {
			struct conn *idle = evictable >= 0 ? &conns[evictable] : NULL;
			if (full && idle && idle->fd >= 0 && idle->in_len == 0 && idle->out_len == 0)
				conn_close(idle); /* a client waits and every slot is taken: the longest idle one goes */
			for (int i = 0; i < MAX_CONNS; i++) {
				if (conns[i].fd >= 0)
					continue;
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (fd < 0)
					break; /* EAGAIN, or out of files: try again on the next round */
				conns[i].fd = fd;
				conns[i].in_len = conns[i].out_len = conns[i].out_off = 0;
				conns[i].close_after = conns[i].shutdown_after = 0;
				conns[i].idle_since = now_ms();
				conns[i].deadline = conns[i].idle_since + idle_ms;
			}
		}
	}
}

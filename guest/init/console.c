/* Console output: every line is one write(2), so lines never interleave. */
#include "init.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int verbose;
int console_fd = 1;

uint64_t boottime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The kernel gives init /dev/console as fds 0-2 only if the image has it; else open it now. */
void console_ensure(void)
{
	if (fcntl(1, F_GETFD) >= 0 && fcntl(2, F_GETFD) >= 0)
		return;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static void vline(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "%s", prefix);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	/* init's own fd 1 stays the console even when commands are redirected */
	ssize_t w = write(console_fd, line, len);
	(void)w;
}

void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
}

void error_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("tailor:error ", fmt, ap);
	va_end(ap);
}

void info(const char *fmt, ...)
{
	if (!verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	vline("tailor: ", fmt, ap);
	va_end(ap);
}

/* Boot phases for --bootchart: the end time of each, since the kernel started. */
static struct {
	const char *name;
	uint64_t ns;
} phases[16];
static int nphases;

void phase_end(const char *name, int print_marker)
{
	uint64_t ns = boottime_ns();
	if (nphases < (int)(sizeof phases / sizeof phases[0])) {
		phases[nphases].name = name;
		phases[nphases].ns = ns;
		nphases++;
	}
	if (print_marker)
		say("tailor:phase name=%s boottime_ns=%llu", name, (unsigned long long)ns);
}

/* Print the markers of the phases recorded before --bootchart was known. */
void bootchart_replay(void)
{
	for (int i = 0; i < nphases; i++)
		say("tailor:phase name=%s boottime_ns=%llu", phases[i].name, (unsigned long long)phases[i].ns);
}

/* OSv-style table: "<phase>: <ms since boot>ms, (+<ms since previous>ms)". */
void bootchart_table(void)
{
	uint64_t prev = 0;
	say("tailor bootchart (CLOCK_BOOTTIME, ms since the kernel started):");
	for (int i = 0; i < nphases; i++) {
		uint64_t t = phases[i].ns, d = t - prev;
		say("\t%s: %llu.%02llums, (+%llu.%02llums)", phases[i].name,
		    (unsigned long long)(t / 1000000), (unsigned long long)(t / 10000 % 100),
		    (unsigned long long)(d / 1000000), (unsigned long long)(d / 10000 % 100));
		prev = t;
	}
}

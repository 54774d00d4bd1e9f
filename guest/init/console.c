/* Console output: every line is one write(2), so lines never interleave. */
#include "init.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
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
	if (fcntl(1, F_GETFD) < 0 || fcntl(2, F_GETFD) < 0) {
		int fd = open("/dev/console", O_RDWR | O_NOCTTY);
		if (fd < 0)
			return;
		for (int i = 0; i < 3; i++)
			if (fcntl(i, F_GETFD) < 0)
				dup2(fd, i);
		if (fd > 2)
			close(fd);
	}
	/*
	 * The init holds the console's session, as a shell does, and commands run
	 * as its jobs. When a session leader with a controlling serial console
	 * exits, the kernel hangs the console up and drops whatever the UART has
	 * not sent yet (under TCG, the last lines of the app's output). An init
	 * that ran the root switch has done this already (both calls then fail).
	 */
	if (isatty(0)) {
		setsid();
		ioctl(0, TIOCSCTTY, 1);
	}
	/* job control must never stop the init when a job holds the terminal (tcdrain, reads) */
	signal(SIGTTOU, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
}

void console_drain(void)
{
	if (isatty(console_fd))
		tcdrain(console_fd);
}

/* One console line. With escape, control characters in the text (a \n or \t from
 * the command line inside a message) are written as \xNN: a message stays one line. */
static void vline(const char *prefix, int escape, const char *fmt, va_list ap)
{
	char text[1024], line[1024];
	int m = vsnprintf(text, sizeof text, fmt, ap);
	size_t tl = m < 0 ? 0 : (size_t)m < sizeof text ? (size_t)m : sizeof text - 1;
	size_t len = (size_t)snprintf(line, sizeof line, "%s", prefix);
	for (size_t i = 0; i < tl && len < sizeof line - 6; i++) {
		unsigned char c = (unsigned char)text[i];
		if (escape && (c < 0x20 || c == 0x7f))
			len += (size_t)snprintf(line + len, 5, "\\x%02x", c);
		else
			line[len++] = (char)c;
	}
	line[len++] = '\n';
	/* init's own fd 1 stays the console even when commands are redirected */
	ssize_t w = write(console_fd, line, len);
	(void)w;
}

void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("", 0, fmt, ap);
	va_end(ap);
}

void error_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("tailor:error ", 1, fmt, ap);
	va_end(ap);
}

void info(const char *fmt, ...)
{
	if (!verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	vline("tailor: ", 1, fmt, ap);
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

/*
 * --trace=PATTERNS: enable the kernel tracepoints (tracefs events) matching
 * OSv-style globs before the application runs, and ship the trace to the
 * host on the console afterwards, as a marked block the runner saves as
 * build/<name>/trace.out (docs/guest-protocol.md):
 *   tailor:trace-begin events=N
 *   tailor:trace-event SUBSYSTEM:EVENT      (one per enabled event)
 *   tailor:trace LINE                      (the lines of tracefs "trace")
 *   tailor:trace-end lines=N
 * A pattern with ':' matches "subsystem:event"; without, it matches the
 * event name or the subsystem name (so sched* enables every sched:* event).
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EVENTS 512

static const char *trace_dir;
static char *enabled[MAX_EVENTS];
static int nenabled;

static int write_file(const char *dir, const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Mount tracefs where it lives (/sys/kernel/tracing); a kernel without sysfs gets /tmp/tracing. */
static const char *mount_tracefs(void)
{
	static const char *const dirs[] = {"/sys/kernel/tracing", "/tmp/tracing"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		if (i > 0)
			mkdir(dirs[i], 0700);
		if (mount("tracefs", dirs[i], "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0 || errno == EBUSY)
			return dirs[i];
		if (errno == ENODEV) {
			error_line("--trace: the kernel has no tracefs; build with conf_tracing=1 (custom kernel: FTRACE, TRACING, "
			           "EVENT_TRACING) or use kernel=stock");
			return NULL;
		}
	}
	error_line("--trace: cannot mount tracefs: %s", strerror(errno));
	return NULL;
}

/* Does "sub:event" match one of the comma-separated patterns? */
static int matches(const char *patterns, const char *sub, const char *event, const char *full)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", patterns);
	char *save = NULL;
	for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (strchr(p, ':') ? cl_glob_match(p, full) : cl_glob_match(p, event) || cl_glob_match(p, sub))
			return 1;
	}
	return 0;
}

int trace_start(const char *patterns)
{
	trace_dir = mount_tracefs();
	if (!trace_dir)
		return -1;
	char path[512];
	snprintf(path, sizeof path, "%s/available_events", trace_dir);
	FILE *f = fopen(path, "re");
	if (!f) {
		error_line("--trace: cannot read %s: %s (the kernel needs EVENT_TRACING: conf_tracing=1)", path, strerror(errno));
		return -1;
	}
	write_file(trace_dir, "tracing_on", "0");
	write_file(trace_dir, "trace", ""); /* start empty */
	char line[256];
	int available = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		available++;
		*colon = 0;
		const char *sub = line, *event = colon + 1;
		char full[300];
		snprintf(full, sizeof full, "%s:%s", sub, event);
		if (!matches(patterns, sub, event, full) || nenabled == MAX_EVENTS)
			continue;
		char rel[300];
		snprintf(rel, sizeof rel, "events/%s/%s/enable", sub, event);
		if (write_file(trace_dir, rel, "1") < 0) {
			info("--trace: cannot enable %s: %s", full, strerror(errno));
			continue;
		}
		enabled[nenabled++] = strdup(full);
	}
	fclose(f);
	if (nenabled == 0) {
		error_line("--trace=%s matches none of the kernel's %d tracepoints (run with --trace=* to see them all)", patterns,
		           available);
		return -1;
	}
	info("--trace: %d of %d tracepoints enabled", nenabled, available);
	if (write_file(trace_dir, "tracing_on", "1") < 0) {
		error_line("--trace: cannot turn tracing on: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void trace_collect(void)
{
	if (!trace_dir)
		return;
	write_file(trace_dir, "tracing_on", "0");
	say("tailor:trace-begin events=%d", nenabled);
	for (int i = 0; i < nenabled; i++)
		say("tailor:trace-event %s", enabled[i]);
	char path[512];
	snprintf(path, sizeof path, "%s/trace", trace_dir);
	FILE *f = fopen(path, "re");
	long lines = 0;
	if (f) {
		char line[900];
		while (fgets(line, sizeof line, f)) {
			size_t len = strcspn(line, "\n");
			int whole = line[len] == '\n';
			line[len] = 0;
			say("tailor:trace %s", line);
			lines++;
			/* a longer line than the buffer: drop its rest rather than split it into two records */
			while (!whole && fgets(line, sizeof line, f))
				whole = strchr(line, '\n') != NULL;
		}
		fclose(f);
	} else {
		error_line("--trace: cannot read %s: %s", path, strerror(errno));
	}
	say("tailor:trace-end lines=%ld", lines);
}

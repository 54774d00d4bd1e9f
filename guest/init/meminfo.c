/*
 * --meminfo: the guest's memory as the kernel reports it, printed at app
 * start for `tailor size --memory`: every line of /proc/meminfo and
 * /proc/iomem as "tailor:mem FILE: LINE" (one console write per line), then
 * "tailor:mem end lines=N": QEMU's UART drops characters when the host does
 * not drain the console fast enough, so the host checks it got every line.
 */
#include <stdio.h>
#include <string.h>

#include "init.h"

static int dump(const char *path)
{
	int n = 0;
	char line[256];
	FILE *f = fopen(path, "re");

	if (!f) {
		say("tailor:mem %s: (unreadable)", path);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		say("tailor:mem %s: %s", path, line);
		n++;
	}
	fclose(f);
	return n;
}

void meminfo_dump(void)
{
	int n = dump("/proc/meminfo");

	n += dump("/proc/iomem");
	say("tailor:mem end lines=%d", n);
}

/*
 * Test-only harness for test/unit/fuzz-cloud-init.test.ts: the guest's
 * #cloud-config parser (guest/cloud-init/cloud-init.c, included whole) run on
 * many documents in one process, without applying any of them. Input on
 * stdin: records of a 4-byte little-endian length and that many bytes. For
 * each record it prints "--doc N--" on stderr (so the parser's messages can be
 * told apart) and "N ok" or "N bad" on stdout, checking the document the way
 * the guest's main does (NUL bytes, then parse).
 */
#define main cloud_init_main
#include "../../guest/cloud-init/cloud-init.c"
#undef main

static int read_exact(void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(STDIN_FILENO, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int main(void)
{
	for (int doc = 0;; doc++) {
		unsigned char h[4];
		if (read_exact(h, 4) != 0)
			return 0;
		size_t len = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24;
		char *data = malloc(len + 1);
		if (!data || read_exact(data, len) != 0)
			return 1;
		data[len] = '\0';
		say(STDERR_FILENO, "--doc %d--", doc);
		/* a fresh parser state for each document */
		free(lines);
		lines = NULL;
		nlines = nfiles = nenvs = ncmds = 0;
		hostname = NULL;
		int bad = 0;
		if (memchr(data, '\0', len)) {
			fail("the user data contains a NUL byte (a #cloud-config text is expected)");
			bad = 1;
		} else
			bad = parse(data) != 0;
		printf("%d %s\n", doc, bad ? "bad" : "ok");
		fflush(stdout);
		/* the parsed values point into data: free it only after the next reset */
		static char *previous;
		free(previous);
		previous = data;
	}
}

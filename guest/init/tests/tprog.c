/*
 * Test program for the init's real-guest test (test/e2e/init-guest.test.ts).
 *   tprog print WORDS...   print the words (joined by spaces)
 *   tprog args WORDS...    print each argument in brackets: args: [a] [b c]; control
 *                          characters as \xNN (args: [a\x09b])
 *   tprog exit N           exit with status N
 *   tprog env NAME         print NAME=VALUE or NAME is unset
 *   tprog sleep MS TEXT    sleep, then print TEXT
 *   tprog cat FILE         copy FILE to stdout
 *   tprog pwd              print the working directory
 *   tprog abort            die with SIGABRT
 *   tprog orphan           leave a child that exits 300 ms later (init must reap it)
 *   tprog zombies          print zombies=N, the number of zombie processes
 *   tprog tty              print tty=ok when /dev/tty (a controlling terminal) opens
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: tprog print|args|exit|env|sleep|cat|pwd|lines|tty|abort ...\n");
		return 64;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "print") == 0) {
		for (int i = 2; i < argc; i++)
			printf("%s%s", argv[i], i + 1 < argc ? " " : "");
		printf("\n");
		return 0;
	}
	if (strcmp(cmd, "args") == 0) {
		printf("args:");
		for (int i = 2; i < argc; i++) {
			printf(" [");
			for (const unsigned char *c = (const unsigned char *)argv[i]; *c; c++)
				printf(*c < 0x20 || *c == 0x7f ? "\\x%02x" : "%c", *c);
			printf("]");
		}
		printf("\n");
		return 0;
	}
	if (strcmp(cmd, "exit") == 0 && argc == 3)
		return atoi(argv[2]);
	if (strcmp(cmd, "env") == 0 && argc == 3) {
		const char *v = getenv(argv[2]);
		if (v)
			printf("%s=%s\n", argv[2], v);
		else
			printf("%s is unset\n", argv[2]);
		return 0;
	}
	if (strcmp(cmd, "sleep") == 0 && argc == 4) {
		long ms = atol(argv[2]);
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		printf("%s\n", argv[3]);
		return 0;
	}
	if (strcmp(cmd, "cat") == 0 && argc == 3) {
		FILE *f = fopen(argv[2], "r");
		if (!f) {
			perror(argv[2]);
			return 1;
		}
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, f)) > 0)
			fwrite(buf, 1, n, stdout);
		fclose(f);
		return 0;
	}
	if (strcmp(cmd, "pwd") == 0) {
		char buf[4096];
		printf("pwd=%s\n", getcwd(buf, sizeof buf) ? buf : "?");
		return 0;
	}
	if (strcmp(cmd, "orphan") == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			struct timespec ts = {0, 300000000L};
			nanosleep(&ts, NULL);
			_exit(0);
		}
		printf("orphan=%d\n", (int)pid);
		return pid > 0 ? 0 : 1;
	}
	if (strcmp(cmd, "zombies") == 0) {
		DIR *d = opendir("/proc");
		int n = 0;
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char path[300], buf[512];
			if (e->d_name[0] < '0' || e->d_name[0] > '9')
				continue;
			snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
			FILE *f = fopen(path, "r");
			if (!f)
				continue;
			size_t len = fread(buf, 1, sizeof buf - 1, f);
			fclose(f);
			buf[len] = 0;
			/* the state follows the ")" that ends the command name */
			char *close = strrchr(buf, ')');
			if (close && close[1] == ' ' && close[2] == 'Z')
				n++;
		}
		if (d)
			closedir(d);
		printf("zombies=%d\n", n);
		return 0;
	}
	if (strcmp(cmd, "lines") == 0 && argc == 3) {
		/* numbered lines as fast as the console takes them, then exit at once */
		long n = atol(argv[2]);
		for (long i = 1; i <= n; i++)
			printf("line %ld of %ld\n", i, n);
		return 0;
	}
	if (strcmp(cmd, "tty") == 0) {
		int fd = open("/dev/tty", O_RDWR);
		printf("tty=%s\n", fd >= 0 ? "ok" : strerror(errno));
		return 0;
	}
	if (strcmp(cmd, "abort") == 0) {
		abort();
	}
	fprintf(stderr, "tprog: bad arguments for %s\n", cmd);
	return 64;
}

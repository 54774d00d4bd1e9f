/*
 * pg-start USER DIR PROGRAM [ARG...]: give DIR (recursively) to USER, drop
 * root for USER (uid, gid, no supplementary groups), then exec PROGRAM.
 * PostgreSQL refuses to run as root and wants its data directory owned by
 * the user it runs as, with mode 0700; every file of a Tailor image belongs
 * to root. USER comes from the image's /etc/passwd (the module's own).
 */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uid_t uid;
static gid_t gid;

static int give(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (lchown(path, uid, gid) == 0)
		return 0;
	fprintf(stderr, "pg-start: chown %s: %s%s\n", path, strerror(errno),
	        errno == EROFS ? " (the data directory must be writable: use fs=ramfs, ext4 or btrfs)" : "");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: pg-start USER DATADIR PROGRAM [ARG...]\n");
		return 2;
	}
	struct passwd *pw = getpwnam(argv[1]);
	if (!pw) {
		fprintf(stderr, "pg-start: no user %s in /etc/passwd\n", argv[1]);
		return 1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (nftw(argv[2], give, 16, FTW_PHYS) != 0)
		return 1;
	if (chmod(argv[2], 0700) < 0) {
		fprintf(stderr, "pg-start: chmod %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		fprintf(stderr, "pg-start: cannot become %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	execv(argv[3], argv + 3);
	fprintf(stderr, "pg-start: %s: %s\n", argv[3], strerror(errno));
	return 127;
}

/*
 * Disk roots with a modular kernel (Debian's: virtio_blk, erofs, ext4 and
 * btrfs are modules). The image boots a small initramfs holding this same
 * init, the modules and /etc/tailor/modules; the kernel command line names
 * the real root with tailor.root=DEV tailor.rootfstype=TYPE
 * [tailor.rootflags=DATA] [ro]. Here the init loads the modules, mounts the
 * root, empties the initramfs (its memory is freed), moves the root over /
 * (MS_MOVE + chroot, as switch_root does) and executes the root's /init,
 * which then goes on as usual. A kernel with the drivers built in gets
 * root= instead and never comes here.
 */
#include "init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define RAMFS_MAGIC_ 0x858458f6u
#define TMPFS_MAGIC_ 0x01021994u
#define NEWROOT "/newroot"

/* The value of kernel word NAME=... (malloc'd, without quotes), or NULL. */
char *kernel_word(const char *words, const char *name)
{
	size_t nl = strlen(name);
	const char *p = words, *w;
	size_t wl;
	while ((w = cl_next_word(&p, &wl))) {
		if (wl >= nl && strncmp(w, name, nl) == 0 && (w[nl] == '=' || (wl == nl && name[nl - 1] != '='))) {
			const char *v = w[nl] == '=' ? w + nl + 1 : w + nl;
			size_t vl = (size_t)(p - v);
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
				v++, vl -= 2;
			return strndup(v, vl);
		}
	}
	return NULL;
}

/* Delete the initramfs' files (they live in RAM), staying on its device. */
static void empty_dir(int dirfd, dev_t root_dev)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != root_dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub >= 0)
				empty_dir(sub, root_dev);
			unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd, e->d_name, 0);
		}
	}
	closedir(d);
}

int switch_root_if_asked(const char *kernel_words)
{
	char *dev = kernel_word(kernel_words, "tailor.root");
	if (!dev)
		return 0;
	struct statfs sf;
	if (statfs("/", &sf) < 0 || ((unsigned)sf.f_type != RAMFS_MAGIC_ && (unsigned)sf.f_type != TMPFS_MAGIC_)) {
		free(dev); /* already on the disk root: the initramfs part is done */
		return 0;
	}
	char *type = kernel_word(kernel_words, "tailor.rootfstype");
	char *data = kernel_word(kernel_words, "tailor.rootflags");
	char *ro = kernel_word(kernel_words, "ro");
	if (!type) {
		error_line("tailor.root=%s needs tailor.rootfstype=TYPE on the kernel command line", dev);
		return -1;
	}
	if (load_modules("/etc/tailor/modules", kernel_words) < 0)
		return -1;
	struct cl_mount m = {.type = type, .source = dev, .target = NEWROOT, .data = data, .readonly = ro != NULL};
	if (mount_user(&m) < 0)
		return -1;
	static const char *const moved[] = {"/dev", "/proc", "/sys"};
	for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++) {
		char to[64];
		snprintf(to, sizeof to, NEWROOT "%s", moved[i]);
		if (mount(moved[i], to, NULL, MS_MOVE, NULL) < 0 && strcmp(moved[i], "/sys") != 0) {
			error_line("cannot move %s to the root on %s (%s): %s (the root image must contain %s)", moved[i], dev,
			           type, strerror(errno), moved[i]);
			return -1;
		}
	}
	struct stat st;
	int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd >= 0 && fstat(rootfd, &st) == 0)
		empty_dir(rootfd, st.st_dev);
	else if (rootfd >= 0)
		close(rootfd);
	if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		error_line("cannot switch to the root on %s (%s): %s", dev, type, strerror(errno));
		return -1;
	}
	info("switched to the %s root on %s", type, dev);
	char *const argv[] = {"/init", NULL};
	extern char **environ;
	execve("/init", argv, environ);
	error_line("cannot run /init on the root %s (%s): %s", dev, type, strerror(errno));
	return -1;
}

/*
 * Tailor guest init: PID 1 of a Tailor VM, the counterpart of OSv's loader.
 * Mounts the base filesystems, loads the image's kernel modules, reads the
 * OSv-style command line, applies its options, runs the commands, prints the
 * console markers of docs/guest-protocol.md and powers the VM off.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The --mount-fs/--tmpfs mounts done so far, unmounted at power-off. */
static const struct cl_mount *user_mounts;
static size_t user_mounts_done;

/* Never returns: PID 1 exiting would panic the kernel. */
static void __attribute__((noreturn)) finish(int status)
{
	stop_everything();
	say("tailor:exit status=%d", status);
	/* unmount in reverse order so disk filesystems are left clean (errors change nothing now) */
	while (user_mounts_done > 0) {
		const struct cl_mount *m = &user_mounts[--user_mounts_done];
		if (umount(m->target) < 0)
			info("could not unmount %s: %s", m->target, strerror(errno));
	}
	sync();
	/* the host's deadline for the reboot starts here, after anything that may take long */
	say("tailor:power-off");
	network_down();
	/* reboot does not wait for the UART: let it send the marker and what came before */
	console_drain();
	reboot(RB_AUTOBOOT);
	/* reboot failed (not PID 1?): stay alive rather than panic the kernel */
	error_line("reboot: %s", strerror(errno));
	for (;;)
		pause();
}

/* Read a whole file (for /proc/cmdline, /etc/tailor/cmdline and runscript). */
static char *read_text(void *ctx, const char *path, char *err, size_t errlen)
{
	(void)ctx;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *text = malloc(cap);
	while (text) {
		if (len + 1 >= cap) {
			char *bigger = realloc(text, cap *= 2);
			if (!bigger) {
				free(text);
				text = NULL;
				break;
			}
			text = bigger;
		}
		ssize_t n = read(fd, text + len, cap - len - 1);
		if (n < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			free(text);
			text = NULL;
			break;
		}
		if (n == 0) {
			text[len] = 0;
			break;
		}
		len += (size_t)n;
	}
	if (!text && !err[0])
		snprintf(err, errlen, "out of memory");
	close(fd);
	return text;
}

/*
 * Split /proc/cmdline: the application command line is everything after the
 * first " -- " (else NULL: use /etc/tailor/cmdline); the kernel words are
 * what comes before, plus any virtio_mmio.device= words QEMU appended after
 * our part (they are module parameters, see kmod.c).
 */
static void read_kernel_cmdline(char **kernel_words, char **app)
{
	char err[256] = "";
	char *kernel = read_text(NULL, "/proc/cmdline", err, sizeof err);
	if (!kernel) {
		error_line("cannot read /proc/cmdline: %s", err);
		finish(1);
	}
	*app = NULL;
	const char *after = cl_after_dashdash(kernel);
	if (!after) {
		*kernel_words = kernel;
		return;
	}
	size_t cut = cl_appended_start(after);
	size_t before = (size_t)(after - kernel);
	*kernel_words = malloc(before + strlen(after + cut) + 2);
	*app = strndup(after, cut);
	if (!*kernel_words || !*app) {
		error_line("out of memory");
		finish(1);
	}
	if (cl_decode_app(*app) < 0) {
		error_line("bad %%XX escape in the encoded command line after \" -- \" (%s...)", CL_ENCODED_PREFIX);
		finish(2);
	}
	sprintf(*kernel_words, "%.*s %s", (int)before, kernel, after + cut);
	free(kernel);
}

/* The image's default command line, when the kernel command line has no " -- ". */
static char *image_cmdline(void)
{
	char err[256] = "";
	char *text = read_text(NULL, "/etc/tailor/cmdline", err, sizeof err);
	if (!text && strcmp(err, strerror(ENOENT)) != 0) {
		error_line("cannot read /etc/tailor/cmdline: %s", err);
		finish(1);
	}
	return text ? text : strdup("");
}

int main(void)
{
	extern char **environ;
	umask(022);
	phase_end("kernel", 0);
	if (mount_base("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
	    mount_base("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
	    mount_base("devtmpfs", "/dev", MS_NOSUID, "mode=0755") < 0) {
		console_ensure();
		finish(1);
	}
	console_ensure();
	phase_end("base-mounts", 0);

	/* parse first: a bad command line stops before any work, and --verbose covers module loading */
	char *kernel_words, *text;
	read_kernel_cmdline(&kernel_words, &text);
	/* an initramfs that only carries the modules for a disk root: mount it, switch, exec its /init */
	if (switch_root_if_asked(kernel_words) < 0)
		finish(1);
	if (!getenv("PATH"))
		setenv("PATH", DEFAULT_PATH, 1);
	if (!text)
		text = image_cmdline();
	struct cl_result res;
	if (!text || cl_parse(text, environ, read_text, NULL, &res) < 0) {
		error_line("%s", text ? res.err : "out of memory");
		finish(2);
	}
	free(text);
	verbose = res.verbose;
	phase_end("cmdline", 0);
	/* --bootchart: print the markers of the phases so far, then each as it ends */
	if (res.bootchart)
		bootchart_replay();

	if (load_modules("/etc/tailor/modules", kernel_words) < 0)
		finish(1);
	phase_end("modules", res.bootchart);

	/* /tmp is a tmpfs (needed on a read-only root) unless --tmpfs/--mount-fs puts something there */
	int user_tmp = 0;
	for (size_t i = 0; i < res.nmounts; i++)
		user_tmp |= strcmp(res.mounts[i].target, "/tmp") == 0;
	if (!user_tmp && mount_base("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		finish(1);
	user_mounts = res.mounts;
	for (size_t i = 0; i < res.nmounts; i++) {
		if (mount_user(&res.mounts[i]) < 0)
			finish(1);
		user_mounts_done = i + 1;
	}
	phase_end("filesystems", res.bootchart);
	if (setup_network(&res.net, kernel_words) < 0)
		finish(1);
	free(kernel_words);
	phase_end("network", res.bootchart);
	for (size_t i = 0; i < res.nsysctls; i++)
		if (apply_sysctl(&res.sysctls[i]) < 0)
			finish(1);
	phase_end("sysctl", res.bootchart);
	if (res.trace && trace_start(res.trace) < 0)
		finish(1);

	if (res.cwd && chdir(res.cwd) < 0) {
		error_line("--cwd=%s: %s", res.cwd, strerror(errno));
		finish(1);
	}
	int redirect_fd = -1;
	if (res.redirect) {
		redirect_fd = open(res.redirect, O_WRONLY | O_CREAT | O_CLOEXEC | (res.redirect_append ? O_APPEND : O_TRUNC),
		                   0644);
		if (redirect_fd < 0) {
			error_line("--redirect=%s: %s", res.redirect, strerror(errno));
			finish(1);
		}
	}
	if (res.meminfo)
		meminfo_dump();
	phase_end("app-start", res.bootchart);
	if (res.bootchart)
		bootchart_table();
	if (res.noinit || res.ncmds == 0) {
		/* nothing to run: still mark the moment so the host can time the boot */
		say("tailor:app-start boottime_ns=%llu cmd=", (unsigned long long)boottime_ns());
		finish(0);
	}
	int status = run_commands(&res, redirect_fd);
	if (res.trace)
		trace_collect();
	finish(status);
}

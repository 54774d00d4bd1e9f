/*
 * Running the commands with OSv's separators:
 *   ;  run and wait      &  background, joined at the end
 *   &! background, never waited      !  wait, then stop all the others
 * As PID 1 the init also reaps orphans (any child it did not start).
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct proc {
	pid_t pid;
	int done;
	int status;       /* exit status, 128+signal when killed */
	int signaled;
	int stopped_by_us;
};

static struct proc *procs;
static size_t nprocs;
static int abort_status = -1; /* >= 0 once a command died of a signal under --power-off-on-abort */
static int power_off_on_abort;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Reap one child (blocking or not); returns 0 if one was reaped. */
static int reap(int block)
{
	int st;
	pid_t pid = waitpid(-1, &st, block ? 0 : WNOHANG);
	if (pid <= 0)
		return -1;
	for (size_t i = 0; i < nprocs; i++) {
		if (procs[i].pid != pid || procs[i].done)
			continue;
		procs[i].done = 1;
		procs[i].signaled = WIFSIGNALED(st);
		procs[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (procs[i].signaled && !procs[i].stopped_by_us) {
			info("command %zu killed by signal %d", i + 1, WTERMSIG(st));
			if (power_off_on_abort && abort_status < 0)
				abort_status = procs[i].status;
		}
		return 0;
	}
	return 0; /* an orphan: reaped and forgotten */
}

static void child(const struct cl_command *c, int global_redirect_fd)
{
	/* back to a plain process: default signals, nothing blocked */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/*
	 * A waited-for command is the foreground job of the init's console session
	 * (console_ensure), as in a shell: Ctrl-C on the serial line reaches it and
	 * /dev/tty opens, and its exit hangs nothing up, so none of its output is
	 * lost. A background command is a session of its own, with no terminal.
	 */
	if ((c->sep == CL_SEQ || c->sep == CL_MAIN) && isatty(0)) {
		setpgid(0, 0);
		/* taking the terminal works while SIGTTOU is still ignored, as the init left it */
		tcsetpgrp(0, getpid());
	} else {
		setsid();
	}
	/* an ignored signal stays ignored across exec: give the command the defaults */
	signal(SIGTTOU, SIG_DFL);
	signal(SIGTTIN, SIG_DFL);
	if (c->cwd && chdir(c->cwd) < 0) {
		error_line("cannot run %s: --cwd=%s: %s", c->argv[0], c->cwd, strerror(errno));
		_exit(127);
	}
	int fd = global_redirect_fd;
	if (c->redirect) {
		fd = open(c->redirect, O_WRONLY | O_CREAT | O_CLOEXEC | (c->redirect_append ? O_APPEND : O_TRUNC), 0644);
		if (fd < 0) {
			error_line("cannot run %s: --redirect=%s: %s", c->argv[0], c->redirect, strerror(errno));
			_exit(127);
		}
	}
	/* keep the console for our own error lines: an exec failure must not land in the redirect file */
	if (fd >= 0) {
		int saved = fcntl(1, F_DUPFD_CLOEXEC, 3);
		if (saved >= 0)
			console_fd = saved;
	}
	if (fd >= 0 && (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)) {
		error_line("cannot run %s: redirect: %s", c->argv[0], strerror(errno));
		_exit(127);
	}
	/* execvp searches the PATH of environ, so switch to the command's environment first */
	environ = c->envp;
	execvp(c->argv[0], c->argv);
	int e = errno;
	/* `true` and `false` work even in an image without them (as shell builtins do) */
	if (e == ENOENT && strcmp(c->argv[0], "true") == 0)
		_exit(0);
	if (e == ENOENT && strcmp(c->argv[0], "false") == 0)
		_exit(1);
	error_line("cannot run %s: %s", c->argv[0], strerror(e));
	_exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

static int spawn(const struct cl_command *c, int global_redirect_fd)
{
	pid_t pid = fork();
	if (pid < 0) {
		error_line("cannot run %s: fork: %s", c->argv[0], strerror(errno));
		return -1;
	}
	if (pid == 0)
		child(c, global_redirect_fd);
	procs[nprocs].pid = pid;
	nprocs++;
	return 0;
}

/* Stop every other process: SIGTERM, up to 1 s grace, then SIGKILL. */
/* PID 1 inherits every orphan, so having no children means no user process is left.
 * (kill(-1, 0) is no test for that: it keeps succeeding, so the grace period ran out every time.) */
static int no_children(void)
{
	siginfo_t si;
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

void stop_everything(void)
{
	for (size_t i = 0; i < nprocs; i++)
		if (!procs[i].done)
			procs[i].stopped_by_us = 1;
	if (kill(-1, SIGTERM) < 0 && errno == ESRCH) {
		while (reap(0) == 0)
			;
		return;
	}
	for (int waited = 0; waited < 1000; waited += 10) {
		while (reap(0) == 0)
			;
		if (no_children())
			return;
		sleep_ms(10);
	}
	kill(-1, SIGKILL);
	while (reap(1) == 0)
		;
}

int run_commands(const struct cl_result *res, int global_redirect_fd)
{
	power_off_on_abort = res->power_off_on_abort;
	procs = calloc(res->ncmds ? res->ncmds : 1, sizeof *procs);
	if (!procs) {
		error_line("out of memory");
		return 1;
	}
	int failed_to_start = -1; /* index of a command that could not even fork */
	for (size_t i = 0; i < res->ncmds && abort_status < 0; i++) {
		const struct cl_command *c = &res->cmds[i];
		if (i == 0) {
			/* one word on one line whatever the program is called: blanks and controls become '_' */
			char name[256];
			snprintf(name, sizeof name, "%s", c->argv[0]);
			for (char *q = name; *q; q++)
				if ((unsigned char)*q <= ' ' || *q == 0x7f)
					*q = '_';
			say("tailor:app-start boottime_ns=%llu cmd=%s", (unsigned long long)boottime_ns(), name);
		}
		info("command %zu: %s (%s)", i + 1, c->argv[0],
		     c->sep == CL_SEQ ? ";" : c->sep == CL_BG ? "&" : c->sep == CL_BG_NOWAIT ? "&!" : "!");
		if (spawn(c, global_redirect_fd) < 0) {
			procs[nprocs++].done = 1;
			procs[nprocs - 1].status = 127;
			if (failed_to_start < 0)
				failed_to_start = (int)i;
			continue;
		}
		struct proc *p = &procs[nprocs - 1];
		if (c->sep == CL_SEQ || c->sep == CL_MAIN)
			while (!p->done && abort_status < 0 && reap(1) == 0)
				;
		if (c->sep == CL_MAIN) {
			stop_everything();
			break;
		}
	}
	/* join the '&' commands; '&!' ones are not waited for */
	for (size_t i = 0; i < nprocs && abort_status < 0; i++)
		while (!procs[i].done && res->cmds[i].sep != CL_BG_NOWAIT && abort_status < 0 && reap(1) == 0)
			;
	if (abort_status >= 0) {
		/* the aborted command keeps its status; the usual rule below picks the first failure */
		info("a command aborted: --power-off-on-abort stops everything");
		stop_everything();
	}
	/* the first failing command (in command-line order) decides the status */
	for (size_t i = 0; i < nprocs; i++) {
		if (res->cmds[i].sep == CL_BG_NOWAIT || procs[i].stopped_by_us || !procs[i].done)
			continue;
		if (procs[i].status != 0)
			return procs[i].status;
	}
	return 0;
}

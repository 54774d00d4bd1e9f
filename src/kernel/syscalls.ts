/**
 * The system call → kernel feature table, beside the feature table
 * (features.ts): which named feature provides a system call, a socket
 * family or an fcntl() command, so that `tailor kernel learn` can turn a
 * syscall trace into a module's `kernel:` line, and name the feature a
 * call that returned ENOSYS would have needed.
 *
 * Calls that are not here are always built in (read, mmap, clone ...) or
 * gated by a symbol no module asks for; `syscallGates` names the Kconfig
 * symbol for those (from the kernel's kernel/sys_ni.c COND_SYSCALL list and
 * the Makefiles that build each call), so an ENOSYS is never unexplained.
 */
import { kernelFeatures } from './features.ts';

/**
 * x86-64 system call names by number (the `common` and `64` rows of Linux
 * 6.1's arch/x86/entry/syscalls/syscall_64.tbl; 335..423 are unused).
 */
const low = (
  'read write open close stat fstat lstat poll lseek mmap mprotect munmap ' +
  'brk rt_sigaction rt_sigprocmask rt_sigreturn ioctl pread64 pwrite64 readv writev access pipe select ' +
  'sched_yield mremap msync mincore madvise shmget shmat shmctl dup dup2 pause nanosleep ' +
  'getitimer alarm setitimer getpid sendfile socket connect accept sendto recvfrom sendmsg recvmsg ' +
  'shutdown bind listen getsockname getpeername socketpair setsockopt getsockopt clone fork vfork execve ' +
  'exit wait4 kill uname semget semop semctl shmdt msgget msgsnd msgrcv msgctl ' +
  'fcntl flock fsync fdatasync truncate ftruncate getdents getcwd chdir fchdir rename mkdir ' +
  'rmdir creat link unlink symlink readlink chmod fchmod chown fchown lchown umask ' +
  'gettimeofday getrlimit getrusage sysinfo times ptrace getuid syslog getgid setuid setgid geteuid ' +
  'getegid setpgid getppid getpgrp setsid setreuid setregid getgroups setgroups setresuid getresuid setresgid ' +
  'getresgid getpgid setfsuid setfsgid getsid capget capset rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack ' +
  'utime mknod uselib personality ustat statfs fstatfs sysfs getpriority setpriority sched_setparam sched_getparam ' +
  'sched_setscheduler sched_getscheduler sched_get_priority_max sched_get_priority_min sched_rr_get_interval mlock munlock mlockall munlockall vhangup modify_ldt pivot_root ' +
  '_sysctl prctl arch_prctl adjtimex setrlimit chroot sync acct settimeofday mount umount2 swapon ' +
  'swapoff reboot sethostname setdomainname iopl ioperm create_module init_module delete_module get_kernel_syms query_module quotactl ' +
  'nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid readahead setxattr lsetxattr fsetxattr getxattr ' +
  'lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr tkill time futex sched_setaffinity ' +
  'sched_getaffinity set_thread_area io_setup io_destroy io_getevents io_submit io_cancel get_thread_area lookup_dcookie epoll_create epoll_ctl_old epoll_wait_old ' +
  'remap_file_pages getdents64 set_tid_address restart_syscall semtimedop fadvise64 timer_create timer_settime timer_gettime timer_getoverrun timer_delete clock_settime ' +
  'clock_gettime clock_getres clock_nanosleep exit_group epoll_wait epoll_ctl tgkill utimes vserver mbind set_mempolicy get_mempolicy ' +
  'mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key request_key keyctl ioprio_set ' +
  'ioprio_get inotify_init inotify_add_watch inotify_rm_watch migrate_pages openat mkdirat mknodat fchownat futimesat newfstatat unlinkat ' +
  'renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll unshare set_robust_list get_robust_list splice ' +
  'tee sync_file_range vmsplice move_pages utimensat epoll_pwait signalfd timerfd_create eventfd fallocate timerfd_settime timerfd_gettime ' +
  'accept4 signalfd4 eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev rt_tgsigqueueinfo perf_event_open recvmmsg ' +
  'fanotify_init fanotify_mark prlimit64 name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu process_vm_readv process_vm_writev ' +
  'kcmp finit_module sched_setattr sched_getattr renameat2 seccomp getrandom memfd_create kexec_file_load bpf execveat userfaultfd ' +
  'membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc pkey_free statx io_pgetevents rseq'
).split(' ');
const highStart = 424;
const high = (
  'pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig fsmount fspick pidfd_open clone3 ' +
  'close_range openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2 mount_setattr quotactl_fd landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret ' +
  'process_mrelease futex_waitv set_mempolicy_home_node'
).split(' ');

/** The name of x86-64 system call `nr`, or `syscall_<nr>` for a number Linux 6.1 does not define. */
export function syscallName(nr: number): string {
  const name = nr >= 0 && nr < low.length ? low[nr] : nr >= highStart ? high[nr - highStart] : undefined;
  return name ?? `syscall_${nr}`;
}

/** The number of a system call name (for tests and recorded traces). */
export function syscallNumber(name: string): number | undefined {
  const i = low.indexOf(name);
  if (i >= 0) return i;
  const j = high.indexOf(name);
  return j >= 0 ? highStart + j : undefined;
}

/** Which kernel feature provides each system call. Calls not listed need no named feature. */
export const syscallFeatures: Readonly<Record<string, readonly string[]>> = {
  aio: ['io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents'],
  'io-uring': ['io_uring_setup', 'io_uring_enter', 'io_uring_register'],
  epoll: ['epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2'],
  eventfd: ['eventfd', 'eventfd2'],
  timerfd: ['timerfd_create', 'timerfd_settime', 'timerfd_gettime'],
  signalfd: ['signalfd', 'signalfd4'],
  inotify: ['inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch'],
  fanotify: ['fanotify_init', 'fanotify_mark'],
  futex: ['futex', 'futex_waitv', 'set_robust_list', 'get_robust_list'],
  sysvipc: ['shmget', 'shmat', 'shmctl', 'shmdt', 'semget', 'semop', 'semtimedop', 'semctl', 'msgget', 'msgsnd', 'msgrcv', 'msgctl'],
  'posix-mqueue': ['mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedreceive', 'mq_notify', 'mq_getsetattr'],
  'file-locking': ['flock'],
  memfd: ['memfd_create'],
  multiuser: ['setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'getresuid', 'setresgid', 'getresgid', 'setfsuid', 'setfsgid', 'setgroups', 'getgroups', 'capget', 'capset'],
  advise: ['madvise', 'process_madvise', 'fadvise64'],
  rseq: ['rseq'],
  membarrier: ['membarrier'],
  fhandle: ['name_to_handle_at', 'open_by_handle_at'],
  kcmp: ['kcmp'],
  'cross-memory-attach': ['process_vm_readv', 'process_vm_writev'],
  userfaultfd: ['userfaultfd'],
  bpf: ['bpf'],
  seccomp: ['seccomp'],
  'perf-events': ['perf_event_open'],
  keys: ['add_key', 'request_key', 'keyctl'],
  block: ['ioprio_set', 'ioprio_get'],
};

/**
 * Socket calls: built with CONFIG_NET. They justify no feature by
 * themselves; the families of the sockets the application made do
 * (`socket(AF_INET)` → net). With no socket() call seen, they mean net.
 */
export const socketCalls: readonly string[] = [
  'socket', 'socketpair', 'bind', 'listen', 'accept', 'accept4', 'connect', 'getsockname', 'getpeername',
  'setsockopt', 'getsockopt', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'shutdown',
];

/** Socket address families (the first argument of socket() and socketpair()), with the feature that provides each. */
export const socketFamilies: Readonly<Record<number, { readonly name: string; readonly feature?: string }>> = {
  1: { name: 'AF_UNIX', feature: 'unix-sockets' },
  2: { name: 'AF_INET', feature: 'net' },
  10: { name: 'AF_INET6', feature: 'ipv6' },
  16: { name: 'AF_NETLINK', feature: 'net' },
  17: { name: 'AF_PACKET', feature: 'packet-sockets' },
  40: { name: 'AF_VSOCK', feature: 'vsock' },
};

export function socketFamilyName(family: number): string {
  return socketFamilies[family]?.name ?? `AF_${family}`;
}

/** fcntl() commands that take file locks (F_GETLK, F_SETLK, F_SETLKW, F_OFD_*, leases): file-locking. */
export const fcntlLockCommands: Readonly<Record<number, string>> = {
  5: 'F_GETLK',
  6: 'F_SETLK',
  7: 'F_SETLKW',
  36: 'F_OFD_GETLK',
  37: 'F_OFD_SETLK',
  38: 'F_OFD_SETLKW',
  1024: 'F_SETLEASE',
  1025: 'F_GETLEASE',
};

/**
 * The Kconfig symbol behind system calls that no named feature provides
 * (an ENOSYS from one of them is reported with its symbol).
 */
export const syscallGates: Readonly<Record<string, string>> = {
  ...Object.fromEntries(['mbind', 'set_mempolicy', 'get_mempolicy', 'migrate_pages', 'move_pages', 'set_mempolicy_home_node'].map((s) => [s, 'NUMA'])),
  ...Object.fromEntries(['swapon', 'swapoff'].map((s) => [s, 'SWAP'])),
  ...Object.fromEntries(['init_module', 'finit_module', 'delete_module'].map((s) => [s, 'MODULES'])),
  ...Object.fromEntries(['kexec_load', 'kexec_file_load'].map((s) => [s, 'KEXEC'])),
  ...Object.fromEntries(['quotactl', 'quotactl_fd'].map((s) => [s, 'QUOTACTL'])),
  ...Object.fromEntries(['landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self'].map((s) => [s, 'SECURITY_LANDLOCK'])),
  ...Object.fromEntries(['pkey_mprotect', 'pkey_alloc', 'pkey_free'].map((s) => [s, 'X86_INTEL_MEMORY_PROTECTION_KEYS'])),
  acct: 'BSD_PROCESS_ACCT',
  syslog: 'PRINTK',
  uselib: 'USELIB',
  sysfs: 'SYSFS_SYSCALL',
  modify_ldt: 'MODIFY_LDT_SYSCALL',
  memfd_secret: 'SECRETMEM',
  process_mrelease: 'MMU',
};

/**
 * Calls kernel/sys_ni.c lists as optional that an x86-64 kernel always has
 * (MMU, clone3, execveat, copy_file_range) or never has (lookup_dcookie,
 * whose implementation is gone): no feature can change them.
 */
export const ungatedOnX86_64: readonly string[] = [
  'mremap', 'mprotect', 'msync', 'mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall', 'mincore', 'remap_file_pages',
  'clone3', 'execveat', 'copy_file_range', 'lookup_dcookie',
];

const featureOfSyscall = new Map<string, string>();
for (const [feature, calls] of Object.entries(syscallFeatures)) for (const c of calls) featureOfSyscall.set(c, feature);

/** The feature that provides system call `name`, if one does. */
export function featureForSyscall(name: string): string | undefined {
  return featureOfSyscall.get(name);
}

/** What a call that returned ENOSYS was missing: a feature, else a Kconfig symbol, else nothing known. */
export function missingFor(name: string): { feature?: string; kconfig?: string } {
  const feature = featureOfSyscall.get(name);
  if (feature) return { feature, kconfig: Object.keys(kernelFeatures[feature]!.kconfig).at(-1) };
  if (socketCalls.includes(name)) return { feature: 'net', kconfig: 'NET' };
  const gate = syscallGates[name];
  return gate ? { kconfig: gate } : {};
}

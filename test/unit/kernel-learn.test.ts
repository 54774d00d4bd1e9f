// tailor kernel learn, the analysis: the x86-64 syscall numbers, the syscall → feature table
// (checked against the kernel source's own lists when the custom-kernel stage has unpacked it),
// and the mapping of recorded raw_syscalls traces to a kernel: line and an ENOSYS report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelFeatures } from '../../src/kernel/features.ts';
import {
  fcntlLockCommands, featureForSyscall, missingFor, socketCalls, socketFamilies, syscallFeatures, syscallGates, syscallName, syscallNumber, ungatedOnX86_64,
} from '../../src/kernel/syscalls.ts';
import { compareWithDeclared, formatLearnReport, learnFromRecords } from '../../src/analyze/learn.ts';
import { lostEvents } from '../../src/analyze/learn-run.ts';
import { parseTrace } from '../../src/analyze/trace.ts';
import { cacheDir } from '../../src/util/paths.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'learn');
const sourceDir = (() => {
  const base = cacheDir('src');
  if (!existsSync(base)) return undefined;
  return readdirSync(base).map((d) => join(base, d)).find((d) => existsSync(join(d, 'kernel', 'sys_ni.c')));
})();

test('syscall numbers follow the x86-64 table, both ranges, and round-trip', () => {
  const known: [number, string][] = [[0, 'read'], [9, 'mmap'], [41, 'socket'], [59, 'execve'], [72, 'fcntl'], [73, 'flock'], [206, 'io_setup'], [232, 'epoll_wait'], [319, 'memfd_create'], [334, 'rseq'], [424, 'pidfd_send_signal'], [425, 'io_uring_setup'], [435, 'clone3'], [450, 'set_mempolicy_home_node']];
  for (const [nr, name] of known) {
    assert.equal(syscallName(nr), name);
    assert.equal(syscallNumber(name), nr);
  }
  assert.equal(syscallName(335), 'syscall_335');
  assert.equal(syscallName(451), 'syscall_451');
  assert.equal(syscallName(-1), 'syscall_-1');
  assert.equal(syscallNumber('no_such_call'), undefined);
});

test('the table names known features and known calls, each call once', () => {
  const seen = new Map<string, string>();
  for (const [feature, calls] of Object.entries(syscallFeatures)) {
    assert.ok(kernelFeatures[feature], `syscallFeatures: unknown feature ${feature}`);
    for (const c of calls) {
      assert.notEqual(syscallNumber(c), undefined, `${feature}: ${c} is no x86-64 system call`);
      assert.equal(seen.get(c), undefined, `${c} is in ${seen.get(c)} and ${feature}`);
      seen.set(c, feature);
      assert.equal(featureForSyscall(c), feature);
    }
  }
  for (const f of Object.values(socketFamilies)) if (f.feature) assert.ok(kernelFeatures[f.feature], f.name);
  for (const c of [...socketCalls, ...Object.keys(syscallGates), ...ungatedOnX86_64]) assert.notEqual(syscallNumber(c), undefined, c);
  assert.equal(fcntlLockCommands[6], 'F_SETLK');
  // the examples of the issue
  assert.equal(featureForSyscall('io_setup'), 'aio');
  assert.equal(featureForSyscall('shmget'), 'sysvipc');
  assert.equal(featureForSyscall('inotify_init1'), 'inotify');
  assert.equal(featureForSyscall('flock'), 'file-locking');
  assert.equal(featureForSyscall('memfd_create'), 'memfd');
  assert.equal(featureForSyscall('madvise'), 'advise');
  assert.deepEqual(missingFor('madvise'), { feature: 'advise', kconfig: 'ADVISE_SYSCALLS' });
  assert.deepEqual(missingFor('io_setup'), { feature: 'aio', kconfig: 'AIO' });
  assert.deepEqual(missingFor('sysfs'), { kconfig: 'SYSFS_SYSCALL' });
  assert.deepEqual(missingFor('read'), {});
});

test('every optional system call of the kernel source (sys_ni.c) is in the table', { skip: sourceDir ? false : 'the kernel source is not unpacked (the custom-kernel stage unpacks it on its first build)' }, () => {
  const ni = readFileSync(join(sourceDir!, 'kernel', 'sys_ni.c'), 'utf8');
  const covered = new Set([...Object.values(syscallFeatures).flat(), ...socketCalls, ...Object.keys(syscallGates), ...ungatedOnX86_64]);
  const optional = [...ni.matchAll(/^COND_SYSCALL\((\w+)\)/gm)].map((m) => m[1]!).filter((n) => syscallNumber(n) !== undefined);
  assert.ok(optional.length > 120, `only ${optional.length} optional calls read`);
  assert.deepEqual(optional.filter((n) => !covered.has(n)), []);
  // and the numbers are the kernel's own
  const tbl = readFileSync(join(sourceDir!, 'arch', 'x86', 'entry', 'syscalls', 'syscall_64.tbl'), 'utf8');
  for (const m of tbl.matchAll(/^(\d+)\s+(common|64)\s+(\w+)/gm)) assert.equal(syscallName(Number(m[1])), m[3], `number ${m[1]}`);
});

test('a recorded redis trace (stock kernel, redis-benchmark SET/GET) gives its kernel: line', () => {
  const t = parseTrace(readFileSync(join(fixtures, 'redis-stock.trace'), 'utf8'));
  const r = learnFromRecords(t.records);
  assert.deepEqual(r.features.map((f) => f.feature), ['advise', 'epoll', 'futex', 'net', 'rseq']);
  assert.deepEqual(r.families, ['AF_INET']);
  assert.ok(r.tasks.includes('redis-server'));
  assert.deepEqual(r.missing, [], 'nothing fails on the stock kernel');
  assert.ok(r.features.find((f) => f.feature === 'epoll')!.calls.includes('epoll_wait'));
  // the init's calls, and its child's before exec (setsid, TIOCSCTTY), are Tailor's, not redis's
  assert.equal(r.calls.find((c) => c.call === 'setsid'), undefined);
  assert.ok(!r.features.some((f) => f.missing));
  const text = formatLearnReport(r, { declared: ['net', 'epoll', 'eventfd'], kernelLabel: 'the stock kernel' });
  assert.match(text, /^kernel: \[advise, epoll, futex, net, rseq\]$/m);
  assert.match(text, /^ {2}net +socket\(AF_INET\)/m);
  assert.match(text, /not used in this run: eventfd/);
  assert.deepEqual(compareWithDeclared(r, ['net', 'epoll', 'eventfd', 'erofs']), { undeclared: ['advise', 'futex', 'rseq'], unused: ['eventfd'] });
});

test('a recorded postgres trace (stock kernel, psql and pgbench -S) needs SysV IPC, unix sockets and user IDs', () => {
  const r = learnFromRecords(parseTrace(readFileSync(join(fixtures, 'postgres-stock.trace'), 'utf8')).records);
  assert.deepEqual(r.features.map((f) => f.feature), ['advise', 'epoll', 'futex', 'ipv6', 'multiuser', 'net', 'rseq', 'signalfd', 'sysvipc', 'unix-sockets']);
  assert.deepEqual(r.families, ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
  assert.deepEqual(r.features.find((f) => f.feature === 'sysvipc')!.calls, ['shmat', 'shmctl', 'shmdt', 'shmget']);
  assert.deepEqual(r.features.find((f) => f.feature === 'multiuser')!.calls, ['setgid', 'setgroups', 'setuid']);
  assert.deepEqual(r.tasks, ['postgres']);
});

/** raw_syscalls lines as tracefs prints them. */
function traceOf(lines: [pid: number, task: string, nr: number, args: string, ret: number][]): string {
  const out = ['# tracer: nop', '# entries-in-buffer/entries-written: 10/10   #P:1'];
  let t = 1;
  for (const [pid, task, nr, args, ret] of lines) {
    const head = `${task}-${pid}`.padStart(20) + `     [000] .....     ${(t++ / 1000).toFixed(6)}:`;
    out.push(`${head} sys_enter: NR ${nr} (${args})`, `${head} sys_exit: NR ${nr} = ${ret}`);
  }
  return out.join('\n') + '\n';
}

test('calls that fail for want of a feature are reported with it: ENOSYS, and EAFNOSUPPORT for a socket family', () => {
  const a = (s: string) => [...s.split(', '), '0', '0', '0', '0', '0'].slice(0, 6).join(', ');
  const t = parseTrace(
    traceOf([
      [1, 'init', 57, a('0'), 80], // the init forks the app ...
      [80, 'postgres', 112, a('0'), 80], // ... whose setsid before exec is Tailor's
      [80, 'postgres', 59, a('1'), 0],
      [80, 'postgres', 29, a('0'), -38], // shmget → ENOSYS
      [80, 'postgres', 41, a('1'), -97], // socket(AF_UNIX) → EAFNOSUPPORT
      [80, 'postgres', 41, a('2'), 5], // socket(AF_INET) works
      [80, 'postgres', 72, a('5, 6'), -22], // fcntl(F_SETLK): EINVAL, not a missing-feature errno
      [80, 'postgres', 28, a('7f00'), -38], // madvise
      [80, 'postgres', 139, a('0'), -38], // sysfs: no feature, a symbol
      [80, 'postgres', 0, a('3'), -38], // read never fails for want of a feature, still reported
    ]),
  );
  const r = learnFromRecords(t.records);
  assert.deepEqual(r.features.map((f) => [f.feature, f.missing]), [['advise', true], ['file-locking', false], ['net', false], ['sysvipc', true], ['unix-sockets', true]]);
  assert.equal(r.calls.find((c) => c.call === 'setsid'), undefined);
  assert.deepEqual(
    r.missing.map((m) => [m.call, m.errno, m.feature ?? null, m.kconfig ?? null]),
    [
      ['madvise', 38, 'advise', 'ADVISE_SYSCALLS'],
      ['read', 38, null, null],
      ['shmget', 38, 'sysvipc', 'SYSVIPC'],
      ['socket(AF_UNIX)', 97, 'unix-sockets', 'UNIX'],
      ['sysfs', 38, null, 'SYSFS_SYSCALL'],
    ],
  );
  const text = formatLearnReport(r, { kernelLabel: 'this kernel' });
  assert.match(text, /shmget ×1 returned ENOSYS → feature sysvipc \(CONFIG_SYSVIPC\)/);
  assert.match(text, /socket\(AF_UNIX\) ×1 returned EAFNOSUPPORT → feature unix-sockets/);
  assert.match(text, /sysfs ×1 returned ENOSYS → CONFIG_SYSFS_SYSCALL \(no Tailor feature\)/);
});

test('lostEvents reads the ring buffer header', () => {
  assert.equal(lostEvents(['# tracer: nop', '# entries-in-buffer/entries-written: 548/560   #P:1']), 12);
  assert.equal(lostEvents(['# entries-in-buffer/entries-written: 548/548   #P:1']), 0);
  assert.equal(lostEvents([]), 0);
});

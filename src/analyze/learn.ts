/**
 * `tailor kernel learn`, the analysis half: a raw_syscalls trace (every
 * sys_enter/sys_exit of the guest, from build/<name>/learn/trace.out) →
 * the system calls and socket families the application used → the kernel
 * features that provide them (src/kernel/syscalls.ts), each with the calls
 * that justify it, and the calls that failed because the kernel lacks a
 * feature (ENOSYS; EAFNOSUPPORT for a socket family).
 */
import { kernelFeatures } from '../kernel/features.ts';
import { fcntlLockCommands, featureForSyscall, missingFor, socketCalls, socketFamilies, socketFamilyName, syscallFeatures, syscallName } from '../kernel/syscalls.ts';
import type { TraceRecord } from './trace.ts';

/** The tracepoints learn enables (the init's --trace patterns). */
export const learnTracePatterns = 'raw_syscalls:sys_enter,raw_syscalls:sys_exit';

export const ENOSYS = 38;
export const EAFNOSUPPORT = 97;

export interface CallUse {
  /** System call, qualified where the qualifier decides the feature: `socket(AF_UNIX)`, `fcntl(F_SETLK)`. */
  readonly call: string;
  readonly count: number;
  /** Failed calls by errno number. */
  readonly errors: Readonly<Record<number, number>>;
  /** The feature that provides it, when one does. */
  readonly feature?: string;
}

export interface MissingCall {
  readonly call: string;
  readonly count: number;
  readonly errno: number;
  /** The feature that would provide it, when Tailor has one. */
  readonly feature?: string;
  /** Its Kconfig symbol. */
  readonly kconfig?: string;
}

export interface LearnedFeature {
  readonly feature: string;
  /** The calls that justify it (qualified, e.g. socket(AF_INET)). */
  readonly calls: readonly string[];
  /** Every one of its calls failed for want of it (this kernel lacks the feature). */
  readonly missing: boolean;
}

export interface LearnReport {
  readonly totalCalls: number;
  /** Processes (comm) whose calls were counted. */
  readonly tasks: readonly string[];
  readonly calls: readonly CallUse[];
  readonly families: readonly string[];
  readonly features: readonly LearnedFeature[];
  readonly missing: readonly MissingCall[];
}

interface Acc {
  count: number;
  errors: Record<number, number>;
}

const enterRe = /^NR (-?\d+) \(([0-9a-f]+), ([0-9a-f]+), ([0-9a-f]+), ([0-9a-f]+), ([0-9a-f]+), ([0-9a-f]+)\)/;
const exitRe = /^NR (-?\d+) = (-?\d+)/;

/** The name a call is counted under: socket() and socketpair() with their family, fcntl() lock commands with theirs. */
export function qualifiedCall(name: string, args: readonly bigint[] | undefined): string {
  if (!args) return name;
  if (name === 'socket' || name === 'socketpair') return `${name}(${socketFamilyName(Number(args[0]))})`;
  if (name === 'fcntl') {
    const cmd = fcntlLockCommands[Number(args[1])];
    return cmd ? `fcntl(${cmd})` : name;
  }
  return name;
}

/** The feature a qualified call needs: a socket family's, a lock command's, else the syscall table's. */
export function featureForCall(call: string): string | undefined {
  const m = /^(\w+)\((\w+)\)$/.exec(call);
  if (m && (m[1] === 'socket' || m[1] === 'socketpair')) {
    return Object.values(socketFamilies).find((f) => f.name === m[2])?.feature;
  }
  if (m && m[1] === 'fcntl') return 'file-locking';
  return featureForSyscall(call);
}

/** Whether a failure says the kernel lacks what the call needs. */
function failsForWant(call: string, errno: number): boolean {
  return errno === ENOSYS || (errno === EAFNOSUPPORT && /^socket(pair)?\(/.test(call));
}

const forkCalls = new Set(['clone', 'clone3', 'fork', 'vfork']);
const execCalls = new Set(['execve', 'execveat']);

/**
 * Count the application's system calls in raw_syscalls records. A sys_exit
 * is matched to its task's last sys_enter of the same number (the arguments
 * qualify socket() and fcntl()); an exit without its enter (a call under way
 * when tracing started) still counts, unqualified. The init (PID 1) is
 * Tailor's, and so are its children until their execve() succeeds: tracefs
 * names a PID by its last comm, so the name cannot tell them apart.
 */
export function countCalls(records: readonly TraceRecord[]): { calls: Map<string, Acc>; tasks: Set<string>; total: number } {
  const initChildren = new Set<number>();
  for (const r of records) {
    if (r.pid !== 1 || r.event !== 'sys_exit') continue;
    const m = exitRe.exec(r.details);
    if (m && forkCalls.has(syscallName(Number(m[1]))) && Number(m[2]) > 0) initChildren.add(Number(m[2]));
  }
  const pending = new Map<number, { nr: number; args: bigint[] }>();
  const calls = new Map<string, Acc>();
  const tasks = new Set<string>();
  let total = 0;
  const add = (call: string, errno?: number) => {
    const a = calls.get(call) ?? { count: 0, errors: {} };
    a.count++;
    if (errno !== undefined) a.errors[errno] = (a.errors[errno] ?? 0) + 1;
    calls.set(call, a);
    total++;
  };
  const tailors = (pid: number) => pid === 1 || initChildren.has(pid);
  for (const r of records) {
    if (r.event === 'sys_enter') {
      const m = enterRe.exec(r.details);
      if (m) pending.set(r.pid, { nr: Number(m[1]), args: m.slice(2, 8).map((h) => BigInt(`0x${h}`)) });
      continue;
    }
    if (r.event !== 'sys_exit') continue;
    const m = exitRe.exec(r.details);
    if (!m) continue;
    const nr = Number(m[1]);
    const ret = Number(m[2]);
    const open = pending.get(r.pid);
    pending.delete(r.pid);
    const name = syscallName(nr);
    if (tailors(r.pid)) {
      // From its successful exec on, the init's child is the application.
      if (r.pid !== 1 && execCalls.has(name) && ret === 0) initChildren.delete(r.pid);
      continue;
    }
    tasks.add(r.task);
    add(qualifiedCall(name, open && open.nr === nr ? open.args : undefined), ret < 0 && ret > -4096 ? -ret : undefined);
  }
  // Calls still under way when tracing stopped (a server blocked in epoll_wait): counted, with no result.
  const lastTask = new Map(records.map((r) => [r.pid, r.task]));
  for (const [pid, open] of pending) {
    const task = lastTask.get(pid);
    if (task === undefined || tailors(pid)) continue;
    tasks.add(task);
    add(qualifiedCall(syscallName(open.nr), open.args));
  }
  return { calls, tasks, total };
}

/** The whole analysis of one trace's records. */
export function learnFromRecords(records: readonly TraceRecord[]): LearnReport {
  const { calls, tasks, total } = countCalls(records);
  const uses: CallUse[] = [...calls.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([call, a]) => {
      const feature = featureForCall(call);
      return { call, count: a.count, errors: a.errors, ...(feature ? { feature } : {}) };
    });

  const missing: MissingCall[] = [];
  for (const u of uses) {
    for (const [errnoText, n] of Object.entries(u.errors)) {
      const errno = Number(errnoText);
      if (!failsForWant(u.call, errno)) continue;
      const plain = u.call.replace(/\(.*$/, '');
      const want = u.feature ? { feature: u.feature, kconfig: mainSymbol(u.feature) } : missingFor(plain);
      missing.push({ call: u.call, count: n, errno, ...want });
    }
  }

  const families = uses.filter((u) => /^socket(pair)?\(/.test(u.call)).map((u) => /\((\w+)\)/.exec(u.call)![1]!);
  const byFeature = new Map<string, { calls: string[]; allFailed: boolean }>();
  const justify = (feature: string, call: string, failed: boolean) => {
    const f = byFeature.get(feature) ?? { calls: [], allFailed: true };
    if (!f.calls.includes(call)) f.calls.push(call);
    f.allFailed &&= failed;
    byFeature.set(feature, f);
  };
  const wantFailures = (u: CallUse) => Object.entries(u.errors).filter(([e]) => failsForWant(u.call, Number(e))).reduce((s, [, n]) => s + n, 0);
  for (const u of uses) if (u.feature) justify(u.feature, u.call, wantFailures(u) === u.count);
  // Plain socket calls (bind, accept4 ...) need CONFIG_NET: they justify net when no socket() told the family.
  const socketUses = uses.filter((u) => socketCalls.includes(u.call));
  if (socketUses.length && !families.length) for (const u of socketUses) justify('net', u.call, wantFailures(u) === u.count);

  const features: LearnedFeature[] = [...byFeature.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([feature, f]) => ({ feature, calls: f.calls, missing: f.allFailed }));
  return { totalCalls: total, tasks: [...tasks].sort(), calls: uses, families: [...new Set(families)].sort(), features, missing };
}

/** The feature's own Kconfig symbol (its table entry lists the menus it hides behind first). */
export function mainSymbol(feature: string): string | undefined {
  return Object.keys(kernelFeatures[feature]?.kconfig ?? {}).at(-1);
}

/** Features a syscall trace can show at all (the others, such as erofs or virtio-blk, come from fs= and drivers). */
export function learnableFeatures(): Set<string> {
  return new Set([...Object.keys(syscallFeatures), ...Object.values(socketFamilies).flatMap((f) => (f.feature ? [f.feature] : []))]);
}

export interface Comparison {
  /** Learned, and not among the image's needs. */
  readonly undeclared: readonly string[];
  /** Among the image's needs (and learnable), but no call used them. */
  readonly unused: readonly string[];
}

/** Learned features against the needs the image declared (build.json kernelNeeds). */
export function compareWithDeclared(report: LearnReport, declared: readonly string[]): Comparison {
  const learnable = learnableFeatures();
  const learned = new Set(report.features.map((f) => f.feature));
  return {
    undeclared: [...learned].filter((f) => !declared.includes(f)).sort(),
    unused: declared.filter((d) => learnable.has(d) && !learned.has(d)).sort(),
  };
}

const errnoNames: Readonly<Record<number, string>> = { [ENOSYS]: 'ENOSYS', [EAFNOSUPPORT]: 'EAFNOSUPPORT' };

function listCalls(calls: readonly string[], max = 8): string {
  return calls.length <= max ? calls.join(', ') : `${calls.slice(0, max).join(', ')}, and ${calls.length - max} more`;
}

/** The report as text: the kernel: line, the justification per feature, the ENOSYS list, the comparison. */
export function formatLearnReport(report: LearnReport, o: { declared?: readonly string[]; kernelLabel: string }): string {
  const out: string[] = [];
  out.push(`${report.totalCalls} system calls (${report.calls.length} distinct) by ${report.tasks.join(', ') || 'no application process'}; socket families: ${report.families.join(', ') || 'none'}`);
  out.push('');
  out.push(`kernel: [${report.features.map((f) => f.feature).join(', ')}]`);
  const width = Math.max(0, ...report.features.map((f) => f.feature.length));
  for (const f of report.features) {
    out.push(`  ${f.feature.padEnd(width)}  ${listCalls(f.calls)}${f.missing ? `  (not in this kernel: every call failed)` : ''}`);
  }
  if (report.missing.length) {
    out.push('');
    out.push(`calls that failed because ${o.kernelLabel} lacks a feature:`);
    for (const m of report.missing) {
      const want = m.feature ? `feature ${m.feature}${m.kconfig ? ` (CONFIG_${m.kconfig})` : ''}` : m.kconfig ? `CONFIG_${m.kconfig} (no Tailor feature)` : 'no known Kconfig symbol';
      out.push(`  ${m.call} ×${m.count} returned ${errnoNames[m.errno] ?? m.errno} → ${want}`);
    }
  }
  if (o.declared) {
    const c = compareWithDeclared(report, o.declared);
    if (c.undeclared.length || c.unused.length) out.push('');
    if (c.undeclared.length) out.push(`used but not among the image's kernel needs: ${c.undeclared.join(', ')}`);
    if (c.unused.length) out.push(`among the image's kernel needs but not used in this run: ${c.unused.join(', ')}`);
  }
  return out.join('\n') + '\n';
}

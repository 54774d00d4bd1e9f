/**
 * Application benchmark: redis and nginx in a Tailor VM vs the same host
 * binary run directly on the host, in one run, as a ratio. Per image: its
 * size on disk and the boot-to-ready time (QEMU spawn to the first correct
 * answer through the forwarded port, polled every 50 ms).
 *
 *   npm run bench:apps -- [--requests 20000] [--duration 5] [--tap] [--json]
 *
 * redis: redis-benchmark -q -t ping,set,get -n N -c 10 (requests/s).
 * nginx: wrk -t1 -c10 -dDs on the module's static page (requests/s).
 * Network paths: host loopback (the baseline), VM over QEMU user-mode
 * networking (slirp, a forwarded 127.0.0.1 port), and with --tap a host tap
 * device (created for the run with `ip tuntap`, deleted after; needs root).
 * Under TCG the guest CPU is emulated, so the VM/host ratio mostly measures
 * emulation, not Tailor; compare rows of the same run only.
 */
import { Command } from 'commander';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { addMeasureOptions, measureOptions, runBenchScript, type MeasureOptionSpec } from '../src/analyze/bench-script.ts';
import { loadBuildFolder } from '../src/run/build-folder.ts';
import { chooseAccel } from '../src/run/kvm-probe.ts';
import { buildQemuCommand } from '../src/run/qemu.ts';
import { bootQemu, defaultHypervisor, type BootOutcome } from '../src/run/runner.ts';
import { parsePositiveInt } from '../src/run/run-args.ts';
import type { NetworkRequest } from '../src/run/network.ts';
import type { Accel } from '../src/run/types.ts';
import { freePort } from '../src/util/free-port.ts';

const repo = resolve(import.meta.dirname, '..');
const tailor = join(repo, 'bin', 'tailor.js');

interface Row {
  app: 'redis' | 'nginx';
  test: string;
  where: string;
  rps: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One request/response over TCP: resolves with the reply text, or undefined on any failure. */
function exchange(host: string, port: number, payload: string, timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((res) => {
    let text = '';
    const s = connect({ host, port });
    const done = (v: string | undefined) => {
      s.destroy();
      res(v);
    };
    s.setTimeout(timeoutMs, () => done(undefined));
    s.on('connect', () => s.write(payload));
    s.on('data', (b) => {
      text += b.toString();
      if (/\r\n/.test(text)) done(text);
    });
    s.on('error', () => done(undefined));
    s.on('end', () => done(text || undefined));
  });
}

const readiness = {
  redis: { payload: 'PING\r\n', ok: (t: string) => t.startsWith('+PONG') },
  nginx: { payload: 'GET / HTTP/1.0\r\n\r\n', ok: (t: string) => /^HTTP\/1\.\d 200/.test(t) },
};

async function waitReady(app: 'redis' | 'nginx', host: string, port: number, deadlineMs: number, alive: () => boolean): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    // short: with user-mode networking QEMU accepts at once and holds the connection until the guest listens
    const r = await exchange(host, port, readiness[app].payload, 300);
    if (r && readiness[app].ok(r)) return;
    if (!alive()) throw new Error(`${app} ended before it answered`);
    if (Date.now() - t0 > deadlineMs) throw new Error(`${app} did not answer on ${host}:${port} within ${deadlineMs} ms`);
    await sleep(50);
  }
}

function redisBenchmark(host: string, port: number, n: number): Row[] {
  const r = spawnSync('redis-benchmark', ['-h', host, '-p', String(port), '-q', '-t', 'ping,set,get', '-n', String(n), '-c', '10'], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  const rows: Row[] = [];
  // "PING_INLINE: 12345.68 requests per second, p50=0.399 msec"; -q output uses \r-separated progress
  for (const m of r.stdout.replace(/\r/g, '\n').matchAll(/^([A-Z_]+): ([\d.]+) requests per second/gm)) {
    rows.push({ app: 'redis', test: m[1]!, where: '', rps: Number(m[2]) });
  }
  if (rows.length === 0) throw new Error(`redis-benchmark gave no figures:\n${r.stdout}\n${r.stderr}`);
  return rows;
}

function wrk(host: string, port: number, seconds: number): Row[] {
  const r = spawnSync('wrk', ['-t1', '-c10', `-d${seconds}s`, `http://${host}:${port}/`], { encoding: 'utf8', timeout: (seconds + 60) * 1000 });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`wrk gave no figure:\n${r.stdout}\n${r.stderr}`);
  if (/Non-2xx or 3xx responses/.test(r.stdout)) throw new Error(`wrk saw error responses:\n${r.stdout}`);
  return [{ app: 'nginx', test: 'GET / (wrk -c10)', where: '', rps: Number(m[1]) }];
}

function load(app: 'redis' | 'nginx', host: string, port: number, o: { requests: number; duration: number }): Row[] {
  return app === 'redis' ? redisBenchmark(host, port, o.requests) : wrk(host, port, o.duration);
}

/** The host baseline: the same binary with the same settings as the module, on a loopback port. */
async function hostRun(app: 'redis' | 'nginx', o: { requests: number; duration: number }, scratch: string): Promise<Row[]> {
  const port = await freePort();
  let child: ChildProcess;
  if (app === 'redis') {
    child = spawn('/usr/bin/redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--dir', scratch], {
      stdio: 'ignore',
    });
  } else {
    const conf = readFileSync(join(repo, 'modules', 'nginx', 'nginx.conf'), 'utf8')
      .replace('listen 80;', `listen 127.0.0.1:${port};`)
      .replace('root /srv/www;', `root ${join(repo, 'modules', 'nginx', 'html')};`)
      .replaceAll('/tmp/', `${scratch}/`);
    writeFileSync(join(scratch, 'nginx.conf'), conf);
    child = spawn('/usr/sbin/nginx', ['-e', 'stderr', '-c', join(scratch, 'nginx.conf')], { stdio: 'ignore' });
  }
  try {
    await waitReady(app, '127.0.0.1', port, 10_000, () => child.exitCode === null);
    return load(app, '127.0.0.1', port, o).map((r) => ({ ...r, where: 'host (loopback)' }));
  } finally {
    child.kill('SIGTERM');
  }
}

interface VmResult {
  rows: Row[];
  readyMs: number;
}

/** Boot the build with `network`, wait for the app, load it through `host:port`, stop the VM. */
async function vmRun(
  app: 'redis' | 'nginx',
  buildDir: string,
  network: NetworkRequest,
  target: { host: string; port: number; label: string },
  o: { requests: number; duration: number; memoryMiB: number; accel?: Accel; timeout: number },
  execute?: string,
): Promise<VmResult> {
  const build = loadBuildFolder(buildDir);
  const { accel } = await chooseAccel(o.accel);
  const hypervisor = defaultHypervisor(build, undefined, network);
  const cmd = buildQemuCommand(build.dir, build.record, { hypervisor, accel, memoryMiB: o.memoryMiB, cpus: 1, network, execute });
  const abort = new AbortController();
  const t0 = performance.now();
  let outcome: BootOutcome | undefined;
  const done = bootQemu(cmd, { console: null, timeoutMs: 600_000, signal: abort.signal }).then((x) => (outcome = x));
  try {
    await waitReady(app, target.host, target.port, o.timeout * 1000, () => outcome === undefined);
    const readyMs = performance.now() - t0;
    const rows = load(app, target.host, target.port, o).map((r) => ({ ...r, where: `VM, ${target.label}, ${accel}` }));
    return { rows, readyMs };
  } catch (e) {
    abort.abort();
    const o2 = await done;
    throw new Error(`${(e as Error).message}\nconsole:\n${o2.console.slice(-2000)}\n${o2.qemuStderr}`);
  } finally {
    abort.abort();
    await done;
  }
}

function sh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

/** A tap device for the run: host 192.168.231.1/24, guest .2. Undefined (with the reason) when the host does not allow it. */
function makeTap(name: string): { ok: true } | { ok: false; why: string } {
  const steps: [string, string[]][] = [
    ['ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']],
    ['ip', ['addr', 'add', '192.168.231.1/24', 'dev', name]],
    ['ip', ['link', 'set', name, 'up']],
  ];
  for (const [c, a] of steps) {
    const r = sh(c, a);
    if (!r.ok) {
      sh('ip', ['link', 'del', name]);
      return { ok: false, why: `${c} ${a.join(' ')}: ${r.out}` };
    }
  }
  return { ok: true };
}

function buildImage(image: string, name: string): string {
  const r = spawnSync(process.execPath, [tailor, 'build', `image=${image}`, `name=${name}`, 'kernel=stock', 'fs=ramfs'], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`tailor build image=${image} failed:\n${r.stdout}\n${r.stderr}`);
  return join(repo, 'build', name);
}

function imageBytes(buildDir: string): { kernel: number; root: number } {
  const rec = loadBuildFolder(buildDir).record;
  return { kernel: rec.kernel.bzImage.bytes, root: (rec.initrd ?? rec.rootDisk)!.bytes };
}

const spec: MeasureOptionSpec = { timeout: 180, timeoutHelp: 'seconds from QEMU start until the app must answer', memsize: '256' };

async function main(): Promise<void> {
  const program = addMeasureOptions(
    new Command('bench:apps')
      .option('--requests <n>', 'redis-benchmark -n', '20000')
      .option('--duration <s>', 'wrk duration, seconds', '5')
      .option('--tap', 'also measure over a host tap device (created and deleted by the bench; root)'),
    spec,
  ).parse();
  const m = measureOptions(program, spec);
  const f = program.opts<{ requests: string; duration: string; tap?: boolean }>();
  const o = {
    requests: parsePositiveInt('--requests', f.requests),
    duration: parsePositiveInt('--duration', f.duration),
    memoryMiB: m.memoryMiB!,
    ...(m.accel ? { accel: m.accel } : {}),
    timeout: m.timeout,
  };
  const scratch = mkdtempSync(join(tmpdir(), 'tailor-bench-apps-'));
  const rows: Row[] = [];
  const images: Record<string, { kernel: number; root: number; readyMs: Record<string, number> }> = {};
  const notes: string[] = [];
  const log = (s: string) => process.stderr.write(`bench:apps: ${s}\n`);
  try {
    for (const app of ['redis', 'nginx'] as const) {
      log(`building image=${app}`);
      const dir = buildImage(app, `bench-${app}`);
      images[app] = { ...imageBytes(dir), readyMs: {} };
      log(`${app} on the host`);
      rows.push(...(await hostRun(app, o, scratch)));
      const guestPort = app === 'redis' ? 6379 : 80;
      const port = await freePort();
      log(`${app} in the VM, user-mode networking (127.0.0.1:${port} -> ${guestPort})`);
      const user = await vmRun(app, dir, { mode: 'user', forwards: [{ host: port, guest: guestPort }] }, { host: '127.0.0.1', port, label: 'user-mode net' }, o);
      rows.push(...user.rows);
      images[app]!.readyMs['user-mode net'] = user.readyMs;
      if (f.tap) {
        const tapName = 'tailortap0';
        const made = makeTap(tapName);
        if (!made.ok) {
          notes.push(`tap: not measured: ${made.why}`);
        } else {
          try {
            const cmdline = `--ip=eth0,192.168.231.2/24 ${loadBuildFolder(dir).record.appCmdline}`;
            for (const vhost of [false, true]) {
              if (vhost && !existsSync('/dev/vhost-net')) {
                notes.push('vhost: not measured: /dev/vhost-net is missing (modprobe vhost_net)');
                continue;
              }
              const label = vhost ? 'tap+vhost' : 'tap';
              log(`${app} in the VM, ${label}`);
              try {
                const r = await vmRun(app, dir, { mode: 'tap', tapDevice: tapName, vhost, queues: 1 }, { host: '192.168.231.2', port: guestPort, label }, o, cmdline);
                rows.push(...r.rows);
                images[app]!.readyMs[label] = r.readyMs;
              } catch (e) {
                notes.push(`${label} (${app}): failed: ${(e as Error).message.split('\n').slice(0, 3).join(' / ')}`);
              }
            }
          } finally {
            sh('ip', ['link', 'del', tapName]);
          }
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  // ratio of each VM row to the host row of the same test
  const hostRps = new Map(rows.filter((r) => r.where.startsWith('host')).map((r) => [`${r.app}/${r.test}`, r.rps]));
  const table = rows.map((r) => ({ ...r, ratio: r.rps / (hostRps.get(`${r.app}/${r.test}`) ?? NaN) }));
  if (m.json) {
    process.stdout.write(`${JSON.stringify({ rows: table, images, notes: [...new Set(notes)], settings: o }, null, 2)}\n`);
    return;
  }
  const lines = ['| app | test | where | requests/s | VM/host |', '|---|---|---|---:|---:|'];
  for (const r of table) lines.push(`| ${r.app} | ${r.test} | ${r.where} | ${r.rps.toFixed(0)} | ${r.where.startsWith('host') ? '1' : r.ratio.toFixed(3)} |`);
  lines.push('', '| image | kernel (bzImage) | initramfs | boot-to-ready |', '|---|---:|---:|---|');
  for (const [app, i] of Object.entries(images)) {
    const ready = Object.entries(i.readyMs).map(([k, v]) => `${k}: ${Math.round(v)} ms`).join(', ');
    lines.push(`| ${app} | ${(i.kernel / 2 ** 20).toFixed(2)} MiB | ${(i.root / 2 ** 20).toFixed(2)} MiB | ${ready} |`);
  }
  lines.push(
    '',
    `redis-benchmark -q -t ping,set,get -n ${o.requests} -c 10; wrk -t1 -c10 -d${o.duration}s; guest ${o.memoryMiB} MiB, 1 vCPU, q35 virtio-net-pci, Debian's stock kernel, fs=ramfs.`,
    'boot-to-ready: QEMU spawn to the first correct answer (PONG / HTTP 200) through the same network path, polled every 50 ms, 300 ms per attempt.',
    ...new Set(notes),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

await runBenchScript(import.meta.url, main);

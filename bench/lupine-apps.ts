/**
 * The applications of `npm run bench:lupine` (Lupine Linux's set): how each
 * is built, which profile suits it, how a host client tells that it answers
 * (one request, one correct reply), and the load that measures its
 * throughput from the host through the forwarded port.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export interface LoadResult {
  /** Requests (or transactions) per second. */
  readonly perSecond: number;
  /** What was measured, e.g. "redis-benchmark SET+GET -c 10". */
  readonly what: string;
}

export interface LupineApp {
  readonly name: string;
  /** Build arguments besides the kernel/profile ones (moduleRoot: where the bench writes its own modules). */
  readonly args: (moduleRoot: string) => string[];
  /** The built-in profile that suits it (conf/profiles/NAME.mk). */
  readonly suited: string;
  /** Guest TCP port; undefined for hello (it prints a line and exits). */
  readonly port?: number;
  /** One readiness probe through 127.0.0.1:hostPort. */
  readonly ready?: (port: number) => Promise<boolean>;
  /** The throughput load; resolves with the rate. */
  readonly load?: (port: number, o: { seconds: number; requests: number }) => Promise<LoadResult>;
  /** Guest memory for the timed boots (MiB); the memory bisection starts there. */
  readonly memoryMiB: number;
}

/**
 * Send `payload`, collect the reply until `done` says it is whole (or the peer closes, or the deadline).
 * The deadline is generous: under TCG on a loaded host a first reply (Python, a postgres backend) takes seconds.
 */
export function ask(port: number, payload: string, done: (reply: string) => boolean, timeoutMs = 5000): Promise<string | undefined> {
  return new Promise((resolvePromise) => {
    let reply = '';
    const s = connect({ host: '127.0.0.1', port });
    const finish = (v: string | undefined) => {
      s.destroy();
      resolvePromise(v);
    };
    s.setTimeout(timeoutMs, () => finish(undefined));
    s.on('connect', () => s.write(payload));
    s.on('data', (b) => {
      reply += b.toString('latin1');
      if (done(reply)) finish(reply);
    });
    s.on('error', () => finish(undefined));
    s.on('end', () => finish(reply || undefined));
  });
}

const httpOk = async (port: number) => /^HTTP\/1\.[01] 200/.test((await ask(port, 'GET / HTTP/1.0\r\n\r\n', (r) => r.includes('\r\n\r\n'))) ?? '');

/** stdout of a command, '' when it fails or times out; `env` is added to this process's environment. */
function runAsync(cmd: string, args: string[], timeoutMs: number, env: Readonly<Record<string, string>> = {}): Promise<string> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } }, (err, stdout) => resolvePromise(err ? '' : stdout));
  });
}

function run(cmd: string, args: string[], timeoutMs: number): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${(r.stdout + r.stderr).trim().split('\n').slice(-4).join('\n')}`);
  return r.stdout;
}

async function wrk(port: number, o: { seconds: number }): Promise<LoadResult> {
  const out = run('wrk', ['-t1', '-c10', `-d${o.seconds}s`, `http://127.0.0.1:${port}/`], (o.seconds + 60) * 1000);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk gave no figure:\n${out}`);
  if (/Non-2xx or 3xx responses/.test(out)) throw new Error(`wrk saw error responses:\n${out}`);
  return { perSecond: Number(m[1]), what: `wrk -t1 -c10 -d${o.seconds}s GET /` };
}

async function redisBenchmark(port: number, o: { requests: number }): Promise<LoadResult> {
  const out = run('redis-benchmark', ['-p', String(port), '-q', '-t', 'set,get', '-n', String(o.requests), '-c', '10'], 900_000).replace(/\r/g, '\n');
  const rates = [...out.matchAll(/^(SET|GET): ([\d.]+) requests per second/gm)].map((m) => Number(m[2]));
  if (rates.length !== 2) throw new Error(`redis-benchmark gave no SET/GET figures:\n${out}`);
  return { perSecond: (rates[0]! + rates[1]!) / 2, what: `redis-benchmark -t set,get -n ${o.requests} -c 10 (mean of SET and GET)` };
}

/** memcached text protocol: one connection, set then get, for `seconds`; operations per second. */
function memcachedLoop(port: number, o: { seconds: number }): Promise<LoadResult> {
  return new Promise((resolvePromise, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const end = performance.now() + o.seconds * 1000;
    let ops = 0;
    let buf = '';
    let i = 0;
    let t0 = 0;
    const next = () => {
      if (performance.now() >= end) {
        s.end('quit\r\n');
        resolvePromise({ perSecond: (ops * 1000) / (performance.now() - t0), what: `memcached set+get loop, 1 connection, ${o.seconds} s (operations/s)` });
        return;
      }
      i++;
      s.write(`set k${i % 1000} 0 0 5\r\nvalue\r\nget k${i % 1000}\r\n`);
    };
    s.on('connect', () => {
      t0 = performance.now();
      next();
    });
    s.on('data', (b) => {
      buf += b.toString('latin1');
      // STORED\r\nVALUE k 0 5\r\nvalue\r\nEND\r\n
      while (buf.includes('END\r\n')) {
        const cut = buf.indexOf('END\r\n') + 5;
        if (!buf.slice(0, cut).startsWith('STORED\r\nVALUE ')) return reject(new Error(`memcached replied ${JSON.stringify(buf.slice(0, 80))}`));
        buf = buf.slice(cut);
        ops += 2;
        next();
      }
    });
    s.on('error', reject);
  });
}

async function pgbench(port: number, o: { seconds: number }, scratch: string): Promise<LoadResult> {
  const script = join(scratch, 'select1.sql');
  writeFileSync(script, 'SELECT 1;\n');
  // A backend is a fork plus its start-up: under TCG that takes seconds, so give the run at least 10 s.
  const seconds = Math.max(10, o.seconds);
  const out = run('pgbench', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-n', '-c', '2', '-T', String(seconds), '-f', script, 'postgres'], (seconds + 120) * 1000);
  const m = /tps = ([\d.]+)/.exec(out);
  if (!m) throw new Error(`pgbench gave no tps (no transaction finished in ${seconds} s?): ${out.trim().split('\n').slice(-3).join(' | ')}`);
  return { perSecond: Number(m[1]), what: `pgbench -c 2 -T ${seconds} SELECT 1 (transactions/s, without connection time)` };
}

/** A module directory for the node row: an HTTP server script on port 8080 (the node module runs nothing itself). */
export function nodeServerModule(root: string): string {
  const dir = join(root, 'lupine-node-http');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'server.js'), "require('http').createServer((req, res) => res.end('hello from node\\n')).listen(8080, '0.0.0.0');\n");
  writeFileSync(join(dir, 'usr.manifest'), '[manifest]\n/app/server.js: ${MODULE_DIR}/server.js\n');
  writeFileSync(join(dir, 'module.yaml'), 'description: bench:lupine node HTTP server\nrequires: [node]\nkernel: [net, epoll, eventfd, futex, advise]\nrun: /usr/bin/node /app/server.js\n');
  return dir;
}

export function lupineApps(scratch: string): LupineApp[] {
  return [
    { name: 'hello', args: () => ['image=native-example'], suited: 'minimal', memoryMiB: 256 },
    {
      name: 'redis', args: () => ['image=redis'], suited: 'database', port: 6379, memoryMiB: 256,
      ready: async (p) => (await ask(p, 'PING\r\n', (r) => r.includes('\r\n')))?.startsWith('+PONG') === true,
      load: (p, o) => redisBenchmark(p, o),
    },
    { name: 'nginx', args: () => ['image=nginx'], suited: 'webserver', port: 80, memoryMiB: 256, ready: httpOk, load: (p, o) => wrk(p, o) },
    {
      name: 'memcached', args: () => ['image=memcached'], suited: 'database', port: 11211, memoryMiB: 256,
      ready: async (p) => (await ask(p, 'version\r\n', (r) => r.includes('\r\n')))?.startsWith('VERSION ') === true,
      load: (p, o) => memcachedLoop(p, o),
    },
    {
      name: 'postgres', args: () => ['image=postgres'], suited: 'database', port: 5432, memoryMiB: 512,
      // Asynchronous, so that probes overlap while the guest boots (bench/lupine.ts).
      ready: async (p) => (await runAsync('psql', ['-h', '127.0.0.1', '-p', String(p), '-U', 'postgres', '-Atc', 'SELECT 1'], 30_000, { PGCONNECT_TIMEOUT: '5' })).trim() === '1',
      load: (p, o) => pgbench(p, o, scratch),
    },
    { name: 'node', args: (root) => ['image=lupine-node-http', `--module-path=${root}`], suited: 'webserver', port: 8080, memoryMiB: 512, ready: httpOk, load: (p, o) => wrk(p, o) },
    { name: 'python3', args: () => ['image=python3'], suited: 'webserver', port: 8000, memoryMiB: 256, ready: httpOk, load: (p, o) => wrk(p, o) },
    { name: 'java', args: () => ['image=java-jlink'], suited: 'java', port: 8080, memoryMiB: 512, ready: httpOk, load: (p, o) => wrk(p, o) },
  ];
}

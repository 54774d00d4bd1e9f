// guest/httpserver on the host: the same C source the guest runs, built with
// the host compiler (ASan/UBSan when available) and run on 127.0.0.1 with a
// port the kernel picks. Each endpoint's JSON is compared with what the host
// itself reports; malformed, oversized and unauthorised requests are refused.
// Shutdown runs with --test-no-poweroff: the server exits instead of rebooting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { cpus, hostname, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/util/paths.ts';
import { exec, hasCommand } from '../../src/util/exec.ts';
import { encodeAppCmdline } from '../../src/run/app-cmdline.ts';
import { exchange, json, request, type RawResponse } from './httpserver-http.ts';

const sourceDir = join(repoRoot, 'guest', 'httpserver');
let outDir = '';
let binary = '';
let skipReason = '';

before(async () => {
  if (!(await hasCommand('gcc')) || !(await hasCommand('make'))) {
    skipReason = 'gcc or make is not installed (apt-get install build-essential)';
    return;
  }
  outDir = await mkdtemp(join(tmpdir(), 'tailor-httpserver-'));
  await exec('make', ['-s', '-C', sourceDir, `O=${outDir}`, 'host']);
  binary = join(outDir, 'httpserver-host');
});
after(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

interface Server {
  readonly port: number;
  readonly proc: ChildProcess;
  readonly stderr: () => string;
  /** Resolves with the exit code (or 128+signal) when the server exits. */
  readonly exited: Promise<number>;
}

/** Start the server on a free loopback port; it is killed when the test ends. */
async function startServer(
  t: { after: (fn: () => void) => void },
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Server> {
  // no TAILOR_API_TOKEN from the caller's environment; leaks are not this test's subject
  const { TAILOR_API_TOKEN: _drop, ...base } = process.env;
  const proc = spawn(binary, ['--bind', '127.0.0.1', '--port', '0', ...args], {
    env: { ...base, ASAN_OPTIONS: 'detect_leaks=0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number>((r) => proc.on('exit', (code, sig) => r(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15))));
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not report its port within 5 s; stderr:\n${err}`)), 5000);
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^httpserver: listening on 127\.0\.0\.1:(\d+) /m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening; stderr:\n${err}`));
    });
  });
  return { port, proc, stderr: () => err, exited };
}

/** Resolve with the exit code, or fail if the process is still running after ms. */
function exitWithin(s: Server, ms: number): Promise<number> {
  return Promise.race([
    s.exited,
    new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`server still running after ${ms} ms`)), ms).unref()),
  ]);
}

function assertJsonError(r: RawResponse, status: number, message?: RegExp): void {
  assert.equal(r.status, status, `expected ${status}, got ${r.statusLine}: ${r.body}`);
  const body = json(r) as { message: unknown; code: unknown };
  assert.equal(body.code, status);
  assert.equal(typeof body.message, 'string');
  if (message) assert.match(body.message as string, message);
}

const uptimeNow = async () => Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
const meminfoBytes = async (key: string) => {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(await readFile('/proc/meminfo', 'utf8'));
  assert.ok(m, `no ${key} in /proc/meminfo`);
  return Number(m[1]) * 1024;
};

test('every monitoring path answers JSON that matches what the host reports', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startServer(t);
  const get = async (path: string) => {
    const r = await request(s.port, 'GET', path);
    assert.equal(r.status, 200, `${path}: ${r.statusLine} ${r.body}`);
    assert.equal(r.headers.get('content-length'), String(Buffer.byteLength(r.body)));
    return json(r);
  };

  assert.equal(await get('/os/version'), `Linux ${release()} (Tailor)`);

  const before = await uptimeNow();
  const up = await get('/os/uptime');
  const afterUp = await uptimeNow();
  assert.equal(typeof up, 'number');
  assert.ok((up as number) >= before - 0.01 && (up as number) <= afterUp + 0.01, `uptime ${up} not in [${before}, ${afterUp}]`);

  const total = await get('/os/memory/total');
  assert.equal(total, await meminfoBytes('MemTotal'));
  const free = await get('/os/memory/free');
  assert.ok(Number.isInteger(free) && (free as number) > 0 && (free as number) <= (total as number), `free ${free} of ${total}`);

  const date = await get('/os/date');
  assert.match(date as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Math.abs(Date.parse(date as string) - Date.now()) < 5000, `date ${date} is not now`);

  assert.equal(await get('/os/cmdline'), (await readFile('/proc/cmdline', 'utf8')).trimEnd());
  assert.equal(await get('/os/hostname'), hostname());
  assert.equal(await get('/hardware/processor/count'), cpus().length);

  const threads = await get('/os/threads');
  const loadavgThreads = Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[3]!.split('/')[1]);
  assert.ok(Number.isInteger(threads) && (threads as number) >= 1, `threads ${threads}`);
  assert.ok(Math.abs((threads as number) - loadavgThreads) <= 50, `threads ${threads}, /proc/loadavg says ${loadavgThreads}`);

  // the query string is not part of the path
  assert.equal(await get('/os/hostname?pretty=1'), hostname());
});

test('HEAD gives the same headers as GET and no body', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startServer(t);
  const g = await request(s.port, 'GET', '/os/version');
  const h = await request(s.port, 'HEAD', '/os/version');
  assert.equal(h.status, 200);
  assert.equal(h.body, '');
  assert.equal(h.headers.get('content-length'), g.headers.get('content-length'));
  assert.equal(h.headers.get('content-type'), 'application/json');
  // an unknown path by HEAD: 404, still without a body
  const ex = await exchange(s.port, 'HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /os/hostname HTTP/1.1\r\nHost: x\r\n\r\n', {
    responses: 2,
    headOnly: [true, false],
  });
  assert.equal(ex.responses[0]!.status, 404);
  assert.equal(ex.responses[1]!.status, 200, 'the request after a bodiless 404 was not parsed in step');
});

test('unknown paths get 404 and wrong methods 405 with Allow, as JSON', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startServer(t);
  assertJsonError(await request(s.port, 'GET', '/os/nothing'), 404, /no such path: \/os\/nothing/);
  assertJsonError(await request(s.port, 'GET', '/os/uptime/'), 404);
  assertJsonError(await request(s.port, 'DELETE', '/'), 404);
  const post = await request(s.port, 'POST', '/os/uptime', { 'Content-Length': '0' });
  assertJsonError(post, 405, /use GET or HEAD/);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  const getShutdown = await request(s.port, 'GET', '/os/shutdown');
  assertJsonError(getShutdown, 405, /use POST/);
  assert.equal(getShutdown.headers.get('allow'), 'POST');
  assertJsonError(await request(s.port, 'PUT', '/os/date'), 405);
});

test('malformed requests get 400 (or 505/501) as JSON and the connection is closed', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startServer(t);
  const cases: [string, number, RegExp][] = [
    ['HELLO\r\n\r\n', 400, /request line/],
    ['GET /os/uptime\r\nHost: x\r\n\r\n', 400, /request line/],
    ['GET /os/uptime HTTP/1.1 extra\r\nHost: x\r\n\r\n', 400, /request line/],
    ['GET os/uptime HTTP/1.1\r\nHost: x\r\n\r\n', 400, /request line/],
    ['G(T /os/uptime HTTP/1.1\r\nHost: x\r\n\r\n', 400, /request line/],
    ['GET /os/up\x01time HTTP/1.1\r\nHost: x\r\n\r\n', 400, /request line/],
    ['GET /os/uptime HTTQ/1.1\r\nHost: x\r\n\r\n', 400, /request line/],
    ['GET /os/uptime HTTP/1.1\r\n\r\n', 400, /Host/],
    ['GET /os/uptime HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, /Host/],
    ['GET /os/uptime HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n', 400, /header/],
    ['GET /os/uptime HTTP/1.1\r\nHost : x\r\n\r\n', 400, /header/],
    ['GET /os/uptime HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n', 400, /header/],
    ['GET /os/uptime HTTP/1.1\r\nHost: x\r\nX-A: b\x00c\r\n\r\n', 400, /NUL byte/],
    ['GET /os/\x00uptime HTTP/1.1\r\nHost: x\r\n\r\n', 400, /NUL byte/],
    ['GET /os/uptime HTTP/1.1\r\nHost: x\r\nX-A: b\x7fc\r\n\r\n', 400, /header/],
    ['POST /os/uptime HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, /Content-Length/],
    ['POST /os/uptime HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400, /Content-Length/],
    ['POST /os/uptime HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 400, /Content-Length/],
    ['GET /os/uptime HTTP/2.0\r\nHost: x\r\n\r\n', 505, /HTTP\/2\.0 is not supported/],
    ['POST /os/shutdown HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 501, /Transfer-Encoding/],
  ];
  for (const [req, status, message] of cases) {
    const ex = await exchange(s.port, req, { waitClose: true, timeoutMs: 3000 });
    assert.equal(ex.responses.length, 1, `${JSON.stringify(req)}: ${ex.raw}`);
    assertJsonError(ex.responses[0]!, status, message);
    assert.ok(ex.closed, `${JSON.stringify(req)}: connection left open after ${status}`);
  }
  // and the server is still fine
  assert.equal((await request(s.port, 'GET', '/os/uptime')).status, 200);
});

test('requests over the size limits get 414 / 431 / 413, are not read further, and the server still answers', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startServer(t);
  // headers over 8 KiB, and headers that never end within the limit
  const big = `GET /os/uptime HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`;
  let ex = await exchange(s.port, big, { waitClose: true });
  assert.equal(ex.responses.length, 1, ex.raw);
  assertJsonError(ex.responses[0]!, 431, /8192 bytes/);
  assert.ok(ex.closed);
  ex = await exchange(s.port, `GET /os/uptime HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(2000)}`, { waitClose: true });
  assertJsonError(ex.responses[0]!, 431);
  // a request line that never ends within 4 KiB, one that ends after it, and a path over 2 KiB
  ex = await exchange(s.port, `GET /${'x'.repeat(20000)}`, { waitClose: true });
  assertJsonError(ex.responses[0]!, 414, /request line exceeds 4096 bytes/);
  assert.ok(ex.closed);
  ex = await exchange(s.port, `GET /${'x'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`, { waitClose: true });
  assertJsonError(ex.responses[0]!, 414, /request line/);
  ex = await exchange(s.port, `GET /os/uptime?${'q'.repeat(3000)} HTTP/1.1\r\nHost: x\r\n\r\n`, { waitClose: true });
  assertJsonError(ex.responses[0]!, 414, /path exceeds 2048 bytes/);
  assert.ok(ex.closed);
  assert.equal((await request(s.port, 'GET', `/os/uptime?${'q'.repeat(2000)}`)).status, 200, 'a path just under the limit is served');
  // a body over 1 KiB is refused before it is read
  ex = await exchange(s.port, 'POST /os/shutdown HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n', { waitClose: true });
  assertJsonError(ex.responses[0]!, 413, /1024 bytes/);
  assert.ok(ex.closed);
  // a body within the limit is read and skipped: the next request is parsed in step
  ex = await exchange(
    s.port,
    `POST /os/uptime HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${'b'.repeat(1000)}GET /os/hostname HTTP/1.1\r\nHost: x\r\n\r\n`,
    { responses: 2 },
  );
  assert.deepEqual(ex.responses.map((r) => r.status), [405, 200]);
  assert.equal(json(ex.responses[1]!), hostname());
});

test('keep-alive: pipelined requests are answered in order; a request split into bytes still works', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startServer(t);
  const paths = ['/os/hostname', '/os/nope', '/os/version', '/hardware/processor/count'];
  const ex = await exchange(s.port, paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''), { responses: 4 });
  assert.deepEqual(ex.responses.map((r) => r.status), [200, 404, 200, 200]);
  assert.equal(json(ex.responses[0]!), hostname());
  assert.equal(json(ex.responses[3]!), cpus().length);
  assert.ok(ex.responses.every((r) => r.headers.get('connection') === 'keep-alive'));
  assert.ok(!ex.closed, 'the server closed a keep-alive connection');

  const bytes = [...'GET /os/hostname HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'];
  const split = await exchange(s.port, bytes, { chunkDelayMs: 2, waitClose: true });
  assert.equal(split.responses[0]?.status, 200, split.raw);

  // HTTP/1.0 closes unless asked to keep alive; bare LF line ends are accepted
  const old = await exchange(s.port, 'GET /os/hostname HTTP/1.0\n\n', { waitClose: true });
  assert.equal(old.responses[0]?.status, 200, old.raw);
  assert.equal(old.responses[0]!.headers.get('connection'), 'close');
  assert.ok(old.closed);
});

test('incomplete requests time out with 408; idle connections are closed; more clients than slots all get answers', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startServer(t, ['--request-timeout-ms', '300']);
  const started = Date.now();
  const ex = await exchange(s.port, 'GET /os/uptime HTTP/1.1\r\nHost: x\r\n', { waitClose: true, timeoutMs: 3000 });
  assertJsonError(ex.responses[0]!, 408, /300 ms/);
  assert.ok(ex.closed);
  assert.ok(Date.now() - started >= 250, 'the 408 came before the timeout');
  const idle = await exchange(s.port, '', { waitClose: true, timeoutMs: 3000 });
  assert.ok(idle.closed && idle.responses.length === 0, `idle connection: ${idle.raw}`);

  // 40 clients at once, more than the 32 connection slots: the rest wait in the backlog
  const all = await Promise.all(
    Array.from({ length: 40 }, () => exchange(s.port, 'GET /os/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { waitClose: true })),
  );
  assert.deepEqual(all.map((e) => e.responses[0]?.status), Array(40).fill(200));
});

test('slow clients: more drip-feeders than slots all get 408 in bounded time, a normal client still gets through', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const timeoutMs = 1000;
  const s = await startServer(t, ['--request-timeout-ms', String(timeoutMs)]);
  const started = Date.now();
  // 40 clients (32 slots) sending one byte every 150 ms: none completes a request within the timeout
  const slow = Array.from({ length: 40 }, () =>
    exchange(s.port, [...'GET /os/uptime HTTP/1.1\r\nHost: x\r\n\r\n'], { chunkDelayMs: 150, waitClose: true, timeoutMs: 15_000 }),
  );
  await new Promise((r) => setTimeout(r, 100));
  const normal = exchange(s.port, 'GET /os/hostname HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { waitClose: true, timeoutMs: 15_000 });
  const done = await Promise.all(slow);
  const slowMs = Date.now() - started;
  for (const ex of done) {
    assert.equal(ex.responses.length, 1, ex.raw);
    assertJsonError(ex.responses[0]!, 408, /1000 ms/);
    assert.ok(ex.closed);
  }
  const n = await normal;
  assert.equal(n.responses[0]?.status, 200, n.raw);
  // two rounds of slots, each ended by the request timeout
  assert.ok(slowMs < 6 * timeoutMs, `the slow clients took ${slowMs} ms to be sent away`);
  t.diagnostic(`40 drip-fed clients answered 408 within ${slowMs} ms (timeout ${timeoutMs} ms)`);
  assert.equal((await request(s.port, 'GET', '/os/uptime')).status, 200);
});

test('idle connections filling every slot make room for a new client long before the request timeout', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const timeoutMs = 20_000;
  const s = await startServer(t, ['--request-timeout-ms', String(timeoutMs)]);
  // 32 clients connect and send nothing (after a first answered request, a keep-alive client looks the same)
  const idle = await Promise.all(
    Array.from({ length: 32 }, () => new Promise<Socket>((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port: s.port }, () => resolve(sock));
      sock.on('error', reject);
    })),
  );
  t.after(() => idle.forEach((sock) => sock.destroy()));
  const closedByServer = idle.map((sock) => new Promise<void>((r) => sock.on('close', () => r())));
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  const r = await request(s.port, 'GET', '/os/hostname', {}, { timeoutMs: timeoutMs + 5000 });
  const waited = Date.now() - started;
  assert.equal(r.status, 200);
  assert.ok(waited < timeoutMs / 2, `the new client waited ${waited} ms for a slot`);
  // exactly one idle client made room (the longest idle)
  const gone = await Promise.race([Promise.any(closedByServer).then(() => true), new Promise((res) => setTimeout(() => res(false), 2000))]);
  assert.ok(gone, 'no idle connection was closed');
  t.diagnostic(`a new client got its answer after ${waited} ms with every slot held by an idle connection (request timeout ${timeoutMs} ms)`);
});

test('path traversal: no path reaches a file; every spelling is 404 and the server still answers', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startServer(t);
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const path of [
    '/../../../../etc/passwd', '/os/../../etc/passwd', '/os/version/../../../etc/passwd', '/os/../os/version', '/./os/version',
    '//os/version', '/os//version', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/os/%2e%2e/os/version', '/os/version%00',
    '/etc/passwd', '/proc/self/environ', '/os/cmdline/..', '/os/version/', '/OS/VERSION', '/\\..\\etc\\passwd',
  ]) {
    const r = await request(s.port, 'GET', path);
    assertJsonError(r, 404, /no such path/);
    assert.ok(!r.body.includes('root:'), `${path} leaked ${passwd.split('\n')[0]}`);
  }
  assert.equal((await request(s.port, 'GET', '/os/version')).status, 200);
});

test('POST /os/shutdown with a body: malformed JSON is 400 and nothing happens; no token is 401 whatever the body', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const token = 'tok-json-5511';
  const s = await startServer(t, ['--allow-mutations', '--test-no-poweroff', '--api-token', token]);
  const post = (body: string, auth: string | null = `Bearer ${token}`) =>
    exchange(
      s.port,
      `POST /os/shutdown HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth ? `Authorization: ${auth}\r\n` : ''}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      { waitClose: true },
    );
  for (const body of [
    '{', '}', '{"a":}', '{"a" 1}', '{a: 1}', "{'a': 1}", '[1,]', '[1 2]', '{"a":1,}', 'tru', 'nul', '01', '1.', '.5', '-', '1e', '"abc',
    '"\\x"', '"\\u12G4"', '"a\tb"', '{} {}', '[]]', '\u0000', 'NaN', '[' .repeat(100) + ']'.repeat(100), '\xff', 'x'.repeat(1024),
  ]) {
    const ex = await post(body);
    assert.equal(ex.responses.length, 1, `${JSON.stringify(body)}: ${ex.raw}`);
    assertJsonError(ex.responses[0]!, 400, /not valid JSON/);
    assert.equal(s.proc.exitCode, null, `${JSON.stringify(body)} shut the server down`);
  }
  // without the token (or with a wrong one) the body is never looked at: 401 / 403, no mutation
  assertJsonError((await post('{', null)).responses[0]!, 401);
  assertJsonError((await post('{}', 'Bearer nope')).responses[0]!, 403);
  assertJsonError((await post('{}', `Basic ${token}`)).responses[0]!, 401);
  // the token elsewhere than the Authorization header does not count
  const elsewhere = await exchange(s.port, `POST /os/shutdown?token=${token} HTTP/1.1\r\nHost: x\r\nX-Api-Token: ${token}\r\nCookie: token=${token}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, { waitClose: true });
  assertJsonError(elsewhere.responses[0]!, 401);
  assert.equal((await request(s.port, 'GET', '/os/uptime')).status, 200, 'the server still answers');
  // valid JSON of every kind is accepted: here a nested object with escapes and numbers
  const ok = await post('  {"reason": "t\\u00e9st \\"q\\"", "n": [-1.5e3, 0, true, false, null, {}]}\n');
  assert.equal(ok.responses[0]?.status, 200, ok.raw);
  assert.equal(await exitWithin(s, 3000), 0);
});

test('the token comparison does not branch on the secret (valgrind memcheck, ctgrind style); an early-exit compare is caught', async (t) => {
  if (skipReason) return t.skip(skipReason);
  if (!(await hasCommand('valgrind')) || !existsSync('/usr/include/valgrind/memcheck.h')) {
    return t.skip('valgrind is not installed (apt-get install valgrind): it checks the token comparison');
  }
  await exec('make', ['-s', '-C', sourceDir, `O=${outDir}`, 'token-check']);
  const check = join(outDir, 'token-ct-check');
  const real = await exec('valgrind', ['-q', '--error-exitcode=99', check], { allowFailure: true });
  assert.equal(real.code, 0, `token_matches depends on the secret's bytes:\n${real.stderr}`);
  assert.match(real.stdout, /6 guesses answered right/);
  const control = await exec('valgrind', ['-q', '--error-exitcode=99', check, '--control'], { allowFailure: true });
  assert.equal(control.code, 99, `memcheck missed the early-exit comparison:\n${control.stderr}`);
  assert.match(control.stderr, /Conditional jump or move depends on uninitialised value/);
});

test('read-only server: POST /os/shutdown is refused (403) and the server keeps running', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startServer(t, ['--test-no-poweroff', '--api-token', 'sesame-0123456789']);
  const r = await request(s.port, 'POST', '/os/shutdown', { Authorization: 'Bearer sesame-0123456789', 'Content-Length': '0' });
  assertJsonError(r, 403, /httpserver-api/);
  assert.equal((await request(s.port, 'GET', '/os/uptime')).status, 200);
  assert.equal(s.proc.exitCode, null);
});

test('mutations without any token configured are refused with how to set one', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const s = await startServer(t, ['--allow-mutations', '--test-no-poweroff', '--api-token-file', '/dev/null']);
  const r = await request(s.port, 'POST', '/os/shutdown', { Authorization: 'Bearer anything', 'Content-Length': '0' });
  assertJsonError(r, 403, /no API token is configured.*TAILOR_API_TOKEN/);
  assert.equal(s.proc.exitCode, null);
});

test('POST /os/shutdown: no token 401, wrong token 403, right token 200 and the server exits 0', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const token = 'tok-4f9a1c77e2';
  const s = await startServer(t, ['--allow-mutations', '--test-no-poweroff'], { TAILOR_API_TOKEN: token });
  const missing = await request(s.port, 'POST', '/os/shutdown', { 'Content-Length': '0' });
  assertJsonError(missing, 401, /Authorization: Bearer/);
  assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer /);
  assertJsonError(await request(s.port, 'POST', '/os/shutdown', { Authorization: `Basic ${token}` }), 401);
  assertJsonError(await request(s.port, 'POST', '/os/shutdown', { Authorization: 'Bearer tok-4f9a1c77e' }), 403, /wrong/);
  assertJsonError(await request(s.port, 'POST', '/os/shutdown', { Authorization: `Bearer ${token}x` }), 403, /wrong/);
  assertJsonError(await request(s.port, 'POST', '/os/shutdown', { Authorization: 'Bearer ' }), 401);
  assert.equal(s.proc.exitCode, null, 'refused requests must not stop the server');

  // with a (small, ignored) body, like clients that always send {}
  const ex = await exchange(s.port, `POST /os/shutdown HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 2\r\n\r\n{}`, {
    waitClose: true,
  });
  assert.ok(ex.closed, 'the server did not close after the power-off response');
  const ok = ex.responses[0]!;
  assert.equal(ok?.status, 200, ex.raw);
  assert.equal(ok.headers.get('connection'), 'close');
  assert.deepEqual(json(ok), { message: 'powering off', code: 200 });
  assert.equal(await exitWithin(s, 3000), 0);
  assert.match(s.stderr(), /--test-no-poweroff is set/);
});

test('token sources: --api-token beats the environment; a token file may end in a newline; cmdline hides the token', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const dir = await mkdtemp(join(tmpdir(), 'tailor-httpserver-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  await writeFile(file, 'from-file-123\n');

  const a = await startServer(t, ['--allow-mutations', '--test-no-poweroff', '--api-token', 'from-flag'], { TAILOR_API_TOKEN: 'from-env' });
  assertJsonError(await request(a.port, 'POST', '/os/shutdown', { Authorization: 'Bearer from-env' }), 403);
  assert.equal((await request(a.port, 'POST', '/os/shutdown', { Authorization: 'Bearer from-flag' })).status, 200);
  assert.equal(await exitWithin(a, 3000), 0);

  const b = await startServer(t, ['--allow-mutations', '--test-no-poweroff', '--api-token-file', file]);
  assertJsonError(await request(b.port, 'POST', '/os/shutdown', { Authorization: 'Bearer from-file-12' }), 403);
  assert.equal((await request(b.port, 'POST', '/os/shutdown', { Authorization: 'Bearer from-file-123' })).status, 200);
  assert.equal(await exitWithin(b, 3000), 0);

  // /os/cmdline is unauthenticated: the configured token never appears in it
  const cmdline = (await readFile('/proc/cmdline', 'utf8')).trimEnd();
  const word = cmdline.split(/\s+/).filter((w) => w.length >= 4 && /^[!-~]+$/.test(w)).sort((x, y) => y.length - x.length)[0];
  if (!word) return t.skip(`no word of 4+ visible characters in /proc/cmdline to use as a token: ${cmdline}`);
  const c = await startServer(t, ['--api-token', word]);
  const shown = json(await request(c.port, 'GET', '/os/cmdline')) as string;
  assert.ok(!shown.includes(word), `token ${word} shown in ${shown}`);
  assert.equal(shown, cmdline.split(word).join('<redacted>'));
});

test('/os/cmdline: the %XX-encoded application word is shown decoded, and tokens are hidden in every form', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const dir = await mkdtemp(join(tmpdir(), 'tailor-httpserver-cmdline-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'cmdline');
  const s = await startServer(t, ['--api-token', 'own-tok-99', '--test-cmdline-file', file]);
  const kernel = 'console=ttyS0 quiet reboot=t rdinit=/init';
  const shown = async (content: string | Buffer) => {
    await writeFile(file, content);
    return json(await request(s.port, 'GET', '/os/cmdline')) as string;
  };
  const app = `--env=TAILOR_API_TOKEN=abc123 --env=GREETING="50% off" /httpserver --port 8000 &! /hello; /app --password own-tok-99`;
  const expected = `${kernel} -- --env=TAILOR_API_TOKEN=<redacted> --env=GREETING="50% off" /httpserver --port 8000 &! /hello; /app --password <redacted>`;
  // plain, as the kernel has it
  assert.equal(await shown(`${kernel} -- ${app}\n`), expected);
  // one word, encoded the way the run stage encodes long lines, with QEMU microvm's words appended after it
  const encoded = encodeAppCmdline(app);
  assert.ok(encoded.startsWith('%:') && !encoded.includes(' ') && encoded.includes('%25'), encoded);
  const microvm = 'virtio_mmio.device=512@0xfeb00e00:12';
  assert.equal(await shown(`${kernel} -- ${encoded} ${microvm}\n`), `${expected} ${microvm}`);
  assert.equal(await shown(`${kernel} -- ${encoded}\n`), expected);
  // the other flag spellings
  assert.equal(await shown('-- /httpserver --api-token s3cret --port 1\n'), '-- /httpserver --api-token <redacted> --port 1');
  assert.equal(await shown('-- /httpserver --api-token=s3cret\n'), '-- /httpserver --api-token=<redacted>');
  assert.equal(await shown(`-- --env='TAILOR_API_TOKEN=q1' /x\n`), `-- --env='TAILOR_API_TOKEN=<redacted>' /x`);
  // broken escapes stay literal; bytes that are not UTF-8 still give valid JSON
  assert.equal(await shown('a -- %:x%zzy%4\n'), 'a -- x%zzy%4');
  assert.equal(await shown(Buffer.from([0x61, 0x20, 0xff, 0xc3, 0x28, 0x0a])), 'a \ufffd\ufffd(');
});

test('bad command-line arguments exit 2 with a message naming the argument', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const cases: [string[], RegExp][] = [
    [['--port', '70000'], /--port 70000: expected a TCP port/],
    [['--port', 'http'], /--port http/],
    [['--port'], /--port needs a value/],
    [['--frobnicate'], /unknown argument --frobnicate/],
    [['--allow-mutations=yes'], /unknown argument --allow-mutations=yes/],
    [['--bind', 'localhost'], /--bind localhost: expected an IPv4 address/],
    [['--api-token', 'has space'], /visible ASCII/],
    [['--api-token-file', '/nonexistent/token'], /--api-token-file \/nonexistent\/token: No such file/],
    [['--request-timeout-ms', '0'], /--request-timeout-ms 0/],
  ];
  for (const [args, message] of cases) {
    const r = await exec(binary, args, { allowFailure: true, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /usage: httpserver/);
  }
  const help = await exec(binary, ['--help'], { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
  assert.match(help.stdout, /^usage: httpserver .*--allow-mutations/);
});

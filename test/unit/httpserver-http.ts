// A raw HTTP/1.1 client for the httpserver tests (unit and e2e): it sends the
// exact bytes a test wants (malformed ones too) and parses what comes back
// without the leniency of a real client library. Every exchange has a deadline.
import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly statusLine: string;
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

export interface Exchange {
  readonly responses: RawResponse[];
  /** The server closed the connection before the deadline. */
  readonly closed: boolean;
  /** Everything received, for assertion messages. */
  readonly raw: string;
}

export interface ExchangeOptions {
  host?: string;
  /** Resolve once this many complete responses arrived (default 1) ... */
  responses?: number;
  /** ... or, with waitClose, only when the server closes the connection. */
  waitClose?: boolean;
  /** responses[i] is to a HEAD request: it has headers only. */
  headOnly?: boolean[];
  /** Pause between the chunks of a request given as an array. */
  chunkDelayMs?: number;
  timeoutMs?: number;
}

/** Complete responses at the start of `buf`; the rest is left alone. */
function parseResponses(buf: Buffer, headOnly: boolean[]): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) return out;
    const head = buf.subarray(at, end).toString('latin1').split('\r\n');
    const statusLine = head[0]!;
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
    if (!m) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
    const headers = new Map<string, string>();
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`bad header line: ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).toLowerCase();
      if (headers.has(name)) throw new Error(`duplicate header ${name}`);
      headers.set(name, line.slice(colon + 1).trim());
    }
    const length = headOnly[out.length] ? 0 : Number(headers.get('content-length') ?? NaN);
    if (!Number.isInteger(length)) throw new Error(`response without a Content-Length: ${statusLine}`);
    if (buf.length < end + 4 + length) return out;
    out.push({ status: Number(m[1]), statusLine, headers, body: buf.subarray(end + 4, end + 4 + length).toString('utf8') });
    at = end + 4 + length;
  }
}

export function exchange(port: number, request: string | Buffer | (string | Buffer)[], o: ExchangeOptions = {}): Promise<Exchange> {
  const want = o.responses ?? 1;
  const headOnly = o.headOnly ?? [];
  const chunks = Array.isArray(request) ? request : [request];
  return new Promise((resolve, reject) => {
    const sock = connect({ host: o.host ?? '127.0.0.1', port });
    const got: Buffer[] = [];
    let closed = false;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      const all = Buffer.concat(got);
      if (err) return reject(err);
      try {
        resolve({ responses: parseResponses(all, headOnly), closed, raw: all.toString('latin1') });
      } catch (e) {
        reject(new Error(`${(e as Error).message}\nreceived:\n${all.toString('latin1')}`));
      }
    };
    const timer = setTimeout(() => finish(), o.timeoutMs ?? 5000);
    sock.on('data', (b: Buffer) => {
      got.push(b);
      if (o.waitClose) return;
      try {
        if (parseResponses(Buffer.concat(got), headOnly).length >= want) finish();
      } catch (e) {
        finish(e as Error);
      }
    });
    sock.on('close', () => {
      closed = true;
      finish();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      // a reset after the server answered and closed is a close, not a failure
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return;
      finish(e);
    });
    sock.on('connect', async () => {
      for (const [i, c] of chunks.entries()) {
        if (i > 0 && o.chunkDelayMs) await new Promise((r) => setTimeout(r, o.chunkDelayMs));
        if (settled || sock.destroyed) return;
        sock.write(c);
      }
    });
  });
}

/** One GET/HEAD/POST with Connection: close; the server must answer and close. */
export async function request(
  port: number,
  method: string,
  path: string,
  extraHeaders: Record<string, string> = {},
  o: ExchangeOptions = {},
): Promise<RawResponse> {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: tailor-test', 'Connection: close'];
  for (const [k, v] of Object.entries(extraHeaders)) lines.push(`${k}: ${v}`);
  const ex = await exchange(port, `${lines.join('\r\n')}\r\n\r\n`, { ...o, headOnly: [method === 'HEAD'], waitClose: true });
  if (ex.responses.length !== 1) throw new Error(`${method} ${path}: expected one response, got ${ex.responses.length}:\n${ex.raw}`);
  if (!ex.closed) throw new Error(`${method} ${path}: the server did not close after Connection: close`);
  return ex.responses[0]!;
}

/** The JSON body of a response, checked to be served as JSON. */
export function json(r: RawResponse): unknown {
  if (r.headers.get('content-type') !== 'application/json') throw new Error(`not JSON: ${r.statusLine} ${r.headers.get('content-type')}`);
  return JSON.parse(r.body);
}

import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that nobody listens on right now (the kernel picks it; free again when this resolves). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

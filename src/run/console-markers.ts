/**
 * Reading the guest console: the init's markers (docs/guest-protocol.md),
 * kernel panics, and the last lines for error messages. Fed raw chunks as
 * they arrive; a marker may be split across chunks.
 */

export interface AppStartMarker {
  /** Guest CLOCK_BOOTTIME when the first program was exec'd, ns. */
  readonly boottimeNs: number;
  readonly cmd?: string;
}

export type ConsoleEvent =
  | { readonly kind: 'app-start'; readonly marker: AppStartMarker }
  | { readonly kind: 'exit'; readonly status: number }
  | { readonly kind: 'power-off' }
  | { readonly kind: 'init-error'; readonly message: string }
  | { readonly kind: 'panic'; readonly line: string };

// Firmware on pc/q35 prints without a trailing newline ("Booting from ROM.."),
// so a marker is recognised anywhere in a line, not only at its start.
const appStartRe = /tailor:app-start boottime_ns=(\d+)(?: cmd=(\S*))?/;
const exitRe = /tailor:exit status=(\d+)/;
const powerOffRe = /tailor:power-off$/;
const errorRe = /tailor:error (.*)$/;
// CSI sequences (ESC [ ... letter) and two-byte escapes such as ESC c (terminal reset).
const ansiRe = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[@-Z\\-_a-z]/g;
const panicRe = /Kernel panic - not syncing: ?(.*)$/;

/** One complete console line → the event it carries, if any. */
export function parseConsoleLine(rawLine: string): ConsoleEvent | undefined {
  const line = rawLine.replace(/\r$/, '');
  let m = appStartRe.exec(line);
  if (m) return { kind: 'app-start', marker: { boottimeNs: Number(m[1]), ...(m[2] ? { cmd: m[2] } : {}) } };
  m = exitRe.exec(line);
  if (m) return { kind: 'exit', status: Number(m[1]) };
  if (powerOffRe.test(line)) return { kind: 'power-off' };
  m = errorRe.exec(line);
  if (m) return { kind: 'init-error', message: m[1]!.trim() };
  m = panicRe.exec(line);
  if (m) return { kind: 'panic', line: line.trim() };
  return undefined;
}

/** Splits a stream into lines, reports events, remembers the whole text and the last lines. */
export class ConsoleScanner {
  private pending = '';
  private readonly chunks: string[] = [];
  private readonly tail: string[] = [];
  constructor(
    private readonly onEvent: (e: ConsoleEvent) => void,
    private readonly tailLines = 20,
  ) {}

  push(chunk: string): void {
    this.chunks.push(chunk);
    const text = this.pending + chunk;
    const lines = text.split('\n');
    this.pending = lines.pop()!;
    for (const line of lines) this.line(line);
  }

  /** Flush a last unterminated line (QEMU exited). */
  end(): void {
    if (this.pending !== '') this.line(this.pending);
    this.pending = '';
  }

  get text(): string {
    return this.chunks.join('');
  }

  /** The last console lines (for an error message). */
  lastLines(n = this.tailLines): string[] {
    return this.tail.slice(-n);
  }

  private line(line: string): void {
    // Firmware's terminal control sequences (screen clears) would garble error messages.
    const clean = line.replace(/\r$/, '').replace(ansiRe, '');
    this.tail.push(clean);
    if (this.tail.length > this.tailLines) this.tail.shift();
    const e = parseConsoleLine(clean);
    if (e) this.onEvent(e);
  }
}

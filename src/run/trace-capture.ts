/**
 * `--trace` on the application command line: the init prints the kernel
 * trace as a marked block on the console (docs/guest-protocol.md). The
 * runner keeps the block off the user's terminal (a summary line instead)
 * and saves it as build/<name>/trace.out for `tailor trace`.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { writeFileAtomic } from '../util/atomic.ts';

/** Whether an application command line asks for a trace (an option word before the program). */
export function wantsTrace(appCmdline: string): boolean {
  return /(^|\s)--trace(=|\s)/.test(appCmdline);
}

const blockLine = /^tailor:trace(-event)? /;

/** A console copy that drops the trace block's lines (they can be thousands); everything else passes unchanged. */
export function traceConsoleFilter(out: NodeJS.WritableStream): Writable {
  let pending = '';
  const pass = (line: string) => {
    if (!blockLine.test(line.replace(/^\r/, ''))) out.write(line);
  };
  return new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      const text = pending + chunk.toString();
      const lines = text.split(/(?<=\n)/);
      pending = lines.at(-1)!.endsWith('\n') ? '' : lines.pop()!;
      for (const l of lines) pass(l);
      cb();
    },
    final(cb) {
      if (pending) pass(pending);
      cb();
    },
  });
}

export interface CapturedTrace {
  readonly events: readonly string[];
  readonly lines: readonly string[];
  /** The init's tailor:trace-end line was seen (the block is whole). */
  readonly complete: boolean;
}

/** The trace block of a console text, or undefined when there is none. */
export function extractTrace(consoleText: string): CapturedTrace | undefined {
  let inBlock = false;
  let complete = false;
  const events: string[] = [];
  const lines: string[] = [];
  for (const raw of consoleText.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('tailor:trace-begin')) {
      inBlock = true;
      continue;
    }
    if (!inBlock) continue;
    if (line.startsWith('tailor:trace-end')) {
      complete = true;
      break;
    }
    if (line.startsWith('tailor:trace-event ')) events.push(line.slice('tailor:trace-event '.length).trim());
    else if (line.startsWith('tailor:trace ')) lines.push(line.slice('tailor:trace '.length));
  }
  return inBlock ? { events, lines, complete } : undefined;
}

/** trace.out: a header naming the enabled events, then tracefs's own text. */
export function formatTraceFile(t: CapturedTrace): string {
  return [`# tailor trace: ${t.events.length} events enabled${t.complete ? '' : ' (INCOMPLETE: the guest stopped mid-transfer)'}`, ...t.events.map((e) => `# tailor:event ${e}`), ...t.lines].join('\n') + '\n';
}

/** Save the console's trace block as <buildDir>/trace.out; returns its path and line count, or undefined. */
export async function saveTrace(buildDir: string, consoleText: string): Promise<{ path: string; lines: number; complete: boolean } | undefined> {
  const t = extractTrace(consoleText);
  if (!t) return undefined;
  const path = join(buildDir, 'trace.out');
  await writeFileAtomic(path, formatTraceFile(t));
  return { path, lines: t.lines.length, complete: t.complete };
}

/**
 * Kernel build progress on stderr: a one-line bar (objects compiled out of
 * the expected count, elapsed time) on a terminal, a line every 15 s
 * otherwise (logs, CI).
 */
export interface Progress {
  /** Feed one line of make output. */
  line(text: string): void;
  done(): void;
  readonly objects: number;
}

const compiledLine = /^\s+(CC|AS)\s+\S+\.o$/;

export function isCompileLine(text: string): boolean {
  return compiledLine.test(text);
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function createProgress(label: string, expected: number | undefined, stream: NodeJS.WriteStream = process.stderr): Progress {
  const start = Date.now();
  const tty = stream.isTTY === true;
  let objects = 0;
  let lastDraw = 0;
  const total = expected ?? 700; // a tinyconfig-based kernel compiles ~650-1500 objects
  const render = (): string => {
    const frac = Math.min(objects / total, 0.99);
    const width = 30;
    const filled = Math.round(frac * width);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${objects}/${expected ? '' : '~'}${total} objects ${clock(Date.now() - start)}`;
  };
  return {
    get objects() {
      return objects;
    },
    line(text: string) {
      if (compiledLine.test(text)) objects++;
      else if (tty) return;
      const now = Date.now(); // off a terminal, link steps (no CC lines) still get their periodic line
      if (tty && now - lastDraw > 200) {
        stream.write(`\r${render()}\x1b[K`);
        lastDraw = now;
      } else if (!tty && now - lastDraw > 15000) {
        stream.write(`${render()}\n`);
        lastDraw = now;
      }
    },
    done() {
      const final = `${label}: ${objects} objects compiled in ${clock(Date.now() - start)}`;
      stream.write(tty ? `\r${final}\x1b[K\n` : `${final}\n`);
    },
  };
}

/**
 * Reader for profiles: the `key = value` subset of make that OSv's conf/*.mk
 * files use (=, :=, ?=, +=, # comments, backslash continuations, include).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { UsageError } from '../errors.ts';

export type AssignOp = '=' | ':=' | '?=' | '+=';

export interface ProfileAssignment {
  readonly key: string;
  readonly op: AssignOp;
  readonly value: string;
  readonly file: string;
  readonly line: number;
}

const assignment = /^([A-Za-z_][A-Za-z0-9_.-]*)\s*(\+=|:=|\?=|=)\s*(.*)$/;
const include = /^-?include\s+(.+)$/;

/** Read a profile file and everything it includes, in order. */
export function readProfileFile(file: string, seen: readonly string[] = []): ProfileAssignment[] {
  const path = resolve(file);
  if (seen.includes(path)) {
    throw new UsageError(`profile include cycle: ${[...seen, path].join(' -> ')}`, 'remove one of the include lines');
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read profile ${path}: ${(err as Error).message}`);
  }
  const out: ProfileAssignment[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = stripComment(lines[i]!);
    // A trailing backslash joins the next line, as in make.
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = `${line.slice(0, -1)} ${stripComment(lines[++i]!)}`;
    }
    line = line.trim();
    if (line === '') continue;
    const inc = include.exec(line);
    if (inc) {
      const target = inc[1]!.trim();
      const incPath = isAbsolute(target) ? target : resolve(dirname(path), target);
      if (!existsSync(incPath)) {
        if (line.startsWith('-')) continue; // make's -include: optional
        throw new UsageError(`${path}:${lineNo}: included file ${target} not found (looked for ${incPath})`);
      }
      if (!statSync(incPath).isFile()) throw new UsageError(`${path}:${lineNo}: included ${target} is not a file (${incPath})`);
      if (incPath === path || seen.includes(incPath)) {
        throw new UsageError(`${path}:${lineNo}: profile include cycle: ${[...seen, path, incPath].join(' -> ')}`, 'remove one of the include lines');
      }
      out.push(...readProfileFile(incPath, [...seen, path]));
      continue;
    }
    const m = assignment.exec(line);
    if (!m) {
      throw new UsageError(
        `${path}:${lineNo}: cannot read "${line}"`,
        'profile lines are `key = value`, `key := value`, `key += value`, `include file.mk` or # comments',
      );
    }
    out.push({ key: m[1]!, op: m[2] as AssignOp, value: m[3]!.trim(), file: path, line: lineNo });
  }
  return out;
}

function stripComment(line: string): string {
  const at = line.search(/(^|[^\\])#/);
  const cut = at < 0 ? line : line.slice(0, line[at] === '#' ? at : at + 1);
  return cut.replace(/\\#/g, '#').trimEnd();
}

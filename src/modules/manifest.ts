/**
 * OSv's usr.manifest syntax:
 *   /guest/path: host/path          a file (host path relative to the module folder)
 *   /guest/dir/**: host/dir/**      a whole tree, recursively
 *   /usr/lib/&/libz.so.1: /usr/lib/x86_64-linux-gnu/&   `&` stands for the rest of the path
 *   /guest/link: ->target           a symlink in the guest
 *   /usr/bin/x: ->/usr/bin/x        a link to itself means "this file from the host"
 *   !host/path                      a host path taken literally (symlinks not followed)
 *   [manifest] section headers and # comments are accepted.
 * Variables: ${MODULE_DIR} (the module folder), ${MODULE_BUILD} (where its build command writes).
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import type { ManifestEntry } from './types.ts';

export interface ManifestLine {
  readonly guest: string;
  readonly host: string;
  readonly line: number;
}

export interface ManifestContext {
  readonly module: string;
  readonly file: string;
  readonly variables: Readonly<Record<string, string>>;
  readonly baseDir: string;
  /** false: do not require host files to exist yet (e.g. before the module's build has run). */
  readonly requireFiles?: boolean;
}

/** Parse the text of a usr.manifest into lines (no file system access). */
export function parseManifest(text: string, file: string): ManifestLine[] {
  const out: ManifestLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '' || /^\[[A-Za-z_-]+\]$/.test(line)) return;
    const colon = line.indexOf(': ');
    const guest = (colon < 0 ? line.replace(/:$/, '') : line.slice(0, colon)).trim();
    const host = colon < 0 ? '' : line.slice(colon + 2).trim();
    if (!guest.startsWith('/')) {
      throw new UsageError(`${file}:${i + 1}: "${raw.trim()}": the guest path must be absolute`, 'write /guest/path: host/path');
    }
    if (host === '' && !line.endsWith(':')) {
      throw new UsageError(`${file}:${i + 1}: "${raw.trim()}" has no host path`, 'write /guest/path: host/path (note the space after the colon)');
    }
    out.push({ guest, host, line: i + 1 });
  });
  return out;
}

/** Expand variables, `&`, `/**` and links into manifest entries. Host files must exist. */
export function expandManifest(lines: readonly ManifestLine[], ctx: ManifestContext): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const l of lines) {
    const where = `${ctx.file}:${l.line}`;
    const guest = substitute(l.guest, ctx, where);
    const host = substitute(l.host, ctx, where);
    if (guest.includes('..')) throw new UsageError(`${where}: guest path ${guest} may not contain ..`);
    if (host === '') {
      out.push({ guestPath: normalizeGuest(guest), source: { kind: 'dir' }, module: ctx.module });
      continue;
    }
    if (host.startsWith('->')) {
      const target = host.slice(2).trim();
      if (target === guest) {
        out.push({ guestPath: normalizeGuest(guest), source: { kind: 'file', path: requireHostFile(target, where, false, ctx.requireFiles) }, module: ctx.module });
      } else {
        out.push({ guestPath: normalizeGuest(guest), source: { kind: 'symlink', target }, module: ctx.module });
      }
      continue;
    }
    const literal = host.startsWith('!');
    const hostPath = resolve(ctx.baseDir, literal ? host.slice(1) : host);
    if (guest.endsWith('/**') || hostPath.endsWith('/**')) {
      if (!(guest.endsWith('/**') && hostPath.endsWith('/**'))) {
        throw new UsageError(`${where}: /** must end both the guest and the host path`);
      }
      const guestDir = guest.slice(0, -3);
      const hostDir = hostPath.slice(0, -3);
      if (!existsSync(hostDir)) throw new UsageError(`${where}: ${hostDir} does not exist`);
      if (!statSync(hostDir).isDirectory()) throw new UsageError(`${where}: ${hostDir} is not a directory, so /** has nothing to copy`, 'drop /** from both paths to copy the one file');
      for (const rel of walk(hostDir)) {
        const src = join(hostDir, rel);
        const st = lstatSync(src);
        const g = normalizeGuest(posix.join(guestDir, rel));
        if (st.isSymbolicLink()) {
          out.push({ guestPath: g, source: { kind: 'symlink', target: readlinkSync(src) }, module: ctx.module });
        } else if (st.isDirectory()) {
          out.push({ guestPath: g, source: { kind: 'dir', path: src }, module: ctx.module });
        } else out.push({ guestPath: g, source: { kind: 'file', path: src }, module: ctx.module });
      }
      continue;
    }
    if (guest.includes('/&/')) {
      if (!hostPath.endsWith('/&')) throw new UsageError(`${where}: a guest path with /&/ needs a host path ending in /&`);
      const [prefix, suffix] = splitOnce(guest, '/&/');
      const src = hostPath.slice(0, -1) + suffix;
      out.push({ guestPath: normalizeGuest(`${prefix}/${suffix}`), source: { kind: 'file', path: requireHostFile(src, where, literal, ctx.requireFiles) }, module: ctx.module });
      continue;
    }
    out.push({ guestPath: normalizeGuest(guest), source: { kind: 'file', path: requireHostFile(hostPath, where, literal, ctx.requireFiles) }, module: ctx.module });
  }
  return out;
}

function substitute(text: string, ctx: ManifestContext, where: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = ctx.variables[name];
    if (v === undefined) {
      throw new UsageError(`${where}: unknown variable \${${name}}`, `known: ${Object.keys(ctx.variables).map((k) => `\${${k}}`).join(', ')}`);
    }
    return v;
  });
}

function requireHostFile(path: string, where: string, literal = false, mustExist = true): string {
  if (!isAbsolute(path)) throw new UsageError(`${where}: host path ${path} must be absolute`);
  if (!existsSync(path)) {
    if (!mustExist) return path;
    throw new UsageError(`${where}: ${path} does not exist`, 'check the path, or build the module first (its build: command)');
  }
  return literal ? path : realpathSync(path);
}

function normalizeGuest(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/$/, '') : n;
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return [s.slice(0, i), s.slice(i + sep.length)];
}

function* walk(dir: string, rel = ''): Generator<string> {
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    yield r;
    const st = lstatSync(join(dir, r));
    if (st.isDirectory()) yield* walk(dir, r);
  }
}


export function readManifestFile(file: string): ManifestLine[] {
  return parseManifest(readFileSync(file, 'utf8'), file);
}

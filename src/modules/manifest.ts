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
 * As in OSv: a relative guest path is placed under / (with a note), `/**` at the
 * guest root puts a whole tree there. A relative host path is relative to the
 * module folder (OSv: its build output folder, which Tailor does not have).
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import type { ManifestEntry } from './types.ts';

export interface ManifestLine {
  readonly guest: string;
  readonly host: string;
  readonly line: number;
  /** The guest path was written relative (OSv places it under /). */
  readonly relative?: boolean;
}

export interface ManifestContext {
  readonly module: string;
  readonly file: string;
  readonly variables: Readonly<Record<string, string>>;
  readonly baseDir: string;
  /** false: do not require host files to exist yet (e.g. before the module's build has run). */
  readonly requireFiles?: boolean;
  /** Notes for the user (a relative guest path placed under /), `file:line: ...`. */
  readonly notes?: string[];
  /** With requireFiles false: lines whose host files do not exist yet (made by the module's build). */
  readonly pending?: string[];
}

/** Parse the text of a usr.manifest into lines (no file system access). */
export function parseManifest(text: string, file: string): ManifestLine[] {
  const out: ManifestLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '' || /^\[[A-Za-z_-]+\]$/.test(line)) return;
    const colon = line.indexOf(': ');
    const written = (colon < 0 ? line.replace(/:$/, '') : line.slice(0, colon)).trim();
    const host = colon < 0 ? '' : line.slice(colon + 2).trim();
    if (host === '' && !line.endsWith(':')) {
      throw new UsageError(`${file}:${i + 1}: "${raw.trim()}" has no host path`, 'write /guest/path: host/path (note the space after the colon)');
    }
    // OSv places a relative guest path under / (a variable such as ${MODULE_DIR} is not a guest path).
    const relative = !written.startsWith('/') && !written.startsWith('${');
    if (!written.startsWith('/') && !relative) {
      throw new UsageError(`${file}:${i + 1}: "${raw.trim()}": the guest path must be absolute`, 'write /guest/path: host/path');
    }
    out.push({ guest: relative ? `/${written}` : written, host, line: i + 1, ...(relative ? { relative } : {}) });
  });
  return out;
}

/** Expand variables, `&`, `/**` and links into manifest entries. Host files must exist. */
export function expandManifest(lines: readonly ManifestLine[], ctx: ManifestContext): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const l of lines) {
    const where = `${ctx.file}:${l.line}`;
    const guest = substituteVariables(l.guest, ctx.variables, where);
    const host = substituteVariables(l.host, ctx.variables, where);
    if (guest.includes('..')) throw new UsageError(`${where}: guest path ${guest} may not contain ..`);
    if (l.relative) ctx.notes?.push(`${where}: the guest path ${l.guest.slice(1)} is relative: placed at ${l.guest} (as OSv does)`);
    if (host === '') {
      out.push({ guestPath: normalizeGuest(guest), source: { kind: 'dir' }, module: ctx.module });
      continue;
    }
    if (host.startsWith('->')) {
      const target = host.slice(2).trim();
      if (target === guest) {
        out.push({ guestPath: normalizeGuest(guest), source: { kind: 'file', path: requireHostFile(target, where, false, ctx) }, module: ctx.module });
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
      const guestDir = guest.slice(0, -3) || '/'; // `/**` is the guest root
      const hostDir = hostPath.slice(0, -3);
      if (!existsSync(hostDir)) {
        if (ctx.requireFiles === false) {
          ctx.pending?.push(`${where}: ${guest} <- ${hostDir}/** (made by the build)`);
          continue;
        }
        throw new UsageError(`${where}: ${hostDir} does not exist`, "check the path, or have the module's build: command create it");
      }
      if (!statSync(hostDir).isDirectory()) throw new UsageError(`${where}: ${hostDir} is not a folder (a /** line copies a whole folder)`, `for one file write ${guestDir === '/' ? '/NAME' : guestDir}: ${hostDir}`);
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
      out.push({ guestPath: normalizeGuest(`${prefix}/${suffix}`), source: { kind: 'file', path: requireHostFile(src, where, literal, ctx) }, module: ctx.module });
      continue;
    }
    out.push({ guestPath: normalizeGuest(guest), source: { kind: 'file', path: requireHostFile(hostPath, where, literal, ctx) }, module: ctx.module });
  }
  return out;
}

/** Replace ${NAME} by its value; an unknown name is an error at `where` (OSv's ${OSV_BASE} gets a hint of its own). */
export function substituteVariables(text: string, variables: Readonly<Record<string, string>>, where: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = variables[name];
    if (v === undefined && name === 'OSV_BASE') {
      throw new UsageError(
        `${where}: \${OSV_BASE} (the OSv source tree) has no meaning here`,
        "a module's own files are under ${MODULE_DIR} (${OSV_BASE}/apps/NAME/x becomes ${MODULE_DIR}/x); files from OSv's tree must be copied into the module",
      );
    }
    if (v === undefined) {
      throw new UsageError(`${where}: unknown variable \${${name}}`, `known: ${Object.keys(variables).map((k) => `\${${k}}`).join(', ')}`);
    }
    return v;
  });
}

function requireHostFile(path: string, where: string, literal: boolean, ctx: ManifestContext): string {
  if (!isAbsolute(path)) throw new UsageError(`${where}: host path ${path} must be absolute`);
  if (!existsSync(path)) {
    if (ctx.requireFiles === false) {
      ctx.pending?.push(`${where}: ${path} (made by the build)`);
      return path;
    }
    throw new UsageError(`${where}: ${path} does not exist`, 'check the path, or build the module first (its build: command)');
  }
  if ((literal ? lstatSync(path) : statSync(path)).isDirectory()) {
    throw new UsageError(`${where}: ${path} is a folder, where a file is expected`, 'for the whole folder write /guest/dir/**: host/dir/**');
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

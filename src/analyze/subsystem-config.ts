/**
 * Which Kconfig option pulls a kernel subsystem (source directory) in: the
 * `obj-$(CONFIG_X) += dir/` line of its parent Makefile, walked up until a
 * CONFIG symbol gates it; then why that symbol is on (the fragment line that
 * set it, else "selected or defaulted by Kconfig").
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface SubsystemOrigin {
  /** Gating Kconfig symbol without CONFIG_, or undefined when always built (obj-y). */
  readonly symbol?: string;
  /** Human reason: fragment reason(s), or how Kconfig turned it on. */
  readonly reason: string;
}

/** The CONFIG symbol a Makefile line gates `entry` (a "name/" or "name.o") with; 'y' for obj-y. */
export function gateInMakefile(makefileText: string, entry: string): string | undefined {
  const text = makefileText.replace(/\\\n/g, ' ');
  const esc = entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^\\s*(?:obj|core|drivers|libs)-(\\$\\(CONFIG_([A-Za-z0-9_]+)\\)|y)\\s*[+:]?=.*(?:^|\\s)${esc}(?:\\s|$)`, 'm');
  const m = re.exec(text);
  if (!m) return undefined;
  return m[2] ?? 'y';
}

/**
 * Walk from an object (e.g. drivers/xen/events/events_base.o: its own
 * Makefile line, then its directories') upwards; the first CONFIG gate found
 * is the subsystem's switch. `fragment` maps symbol → reason text.
 */
export function subsystemOrigin(sourceDir: string, object: string, fragment: ReadonlyMap<string, string>): SubsystemOrigin {
  let d = object;
  while (d.includes('/')) {
    const parent = dirname(d);
    const mk = ['Makefile', 'Kbuild'].map((f) => join(sourceDir, parent, f)).find((p) => existsSync(p));
    const entry = d === object ? basename(d) : `${basename(d)}/`;
    const gate = mk ? gateInMakefile(readFileSync(mk, 'utf8'), entry) : undefined;
    if (gate && gate !== 'y') return { symbol: gate, reason: fragment.get(gate) ?? 'selected or defaulted by Kconfig' };
    d = parent;
  }
  // Top-level dirs (kernel, mm, fs, init, lib, block) are always built when the kernel is.
  return { reason: 'core (always built)' };
}

/** symbol → reason from a cache folder's fragment.json (with reasons) or fragment.txt (without). */
export function readFragmentReasons(cacheDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const json = join(cacheDir, 'fragment.json');
  if (existsSync(json)) {
    const lines = JSON.parse(readFileSync(json, 'utf8')) as { symbol: string; value: string; reasons: string[] }[];
    for (const l of lines) if (l.value !== 'n') out.set(l.symbol, l.reasons.join('; '));
    return out;
  }
  const txt = join(cacheDir, 'fragment.txt');
  if (!existsSync(txt)) return out;
  for (const line of readFileSync(txt, 'utf8').split('\n')) {
    const m = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m && m[2] !== 'n') out.set(m[1]!, `CONFIG_${m[1]}=${m[2]} in the fragment`);
  }
  return out;
}

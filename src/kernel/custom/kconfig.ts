/**
 * Reading the kernel's Kconfig world: a .config file as a symbol map, and the
 * `depends on` lines of a symbol from the Kconfig sources (the kconfig tools
 * print them only interactively, so we read the sources ourselves).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Symbol (without CONFIG_) → value ('y', 'm', '0x200000', '"text"'); symbols "is not set" map to 'n'. */
export function parseDotConfig(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) values.set(set[1]!, set[2]!);
    const unset = /^# CONFIG_([A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) values.set(unset[1]!, 'n');
  }
  return values;
}

/** The value a symbol has in a parsed .config: absent means n (not visible, or not set). */
export function valueIn(config: ReadonlyMap<string, string>, symbol: string): string {
  return config.get(symbol) ?? 'n';
}

/** One line of a fragment file: CONFIG_X=y or `# CONFIG_X is not set`. */
export function kconfigLine(symbol: string, value: string): string {
  return value === 'n' ? `# CONFIG_${symbol} is not set` : `CONFIG_${symbol}=${value}`;
}

export interface SymbolDefinition {
  /** Kconfig file, relative to the source tree. */
  readonly file: string;
  readonly line: number;
  /** The definition's own `depends on` expressions. */
  readonly dependsOn: readonly string[];
  /** `if EXPR` blocks and `menu` dependencies around it in the same file (outer first). */
  readonly enclosedBy: readonly string[];
}

async function kconfigFiles(dir: string, srcArch: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (e.name === '.git' || e.name === 'Documentation' || e.name === 'tools' || e.name === 'scripts') continue;
      if (rel === 'arch' && e.name !== srcArch) continue; // the target architecture's only
      out.push(...(await kconfigFiles(dir, srcArch, path)));
    } else if (e.name.startsWith('Kconfig')) out.push(path);
  }
  return out;
}

interface ParsedKconfig {
  /** file → [sourced file, conditions around the `source` line] */
  readonly sources: Map<string, { target: string; conds: string[] }[]>;
  readonly files: Map<string, string[]>;
}

const parsedTrees = new Map<string, Promise<ParsedKconfig>>();

/** Conditions (`if EXPR`, menu `depends on`) in force at each line of a Kconfig file. */
function scanFile(lines: readonly string[], visit: (i: number, conds: string[]) => void): void {
  const stack: string[][] = [];
  let lastMenu: string[] | undefined;
  let helpIndent = -1; // inside a help text: lines indented deeper than its `help` keyword (or blank)
  const indent = (l: string) => l.replace(/\t/g, '        ').search(/\S/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (helpIndent >= 0) {
      if (l.trim() === '' || indent(l) > helpIndent) continue;
      helpIndent = -1;
    }
    if (/^\s*(---)?help(---)?\s*$/.test(l)) { helpIndent = indent(l); continue; }
    const ifm = /^\s*if\s+(.+)$/.exec(l);
    if (ifm) { stack.push([ifm[1]!.trim()]); lastMenu = undefined; continue; }
    if (/^\s*endif\b/.test(l)) { stack.pop(); continue; }
    if (/^\s*menu\s+"/.test(l)) { lastMenu = []; stack.push(lastMenu); continue; }
    if (/^\s*endmenu\b/.test(l)) { stack.pop(); continue; }
    const menuDep = /^\s*depends\s+on\s+(.*)$/.exec(l);
    if (menuDep && lastMenu) { lastMenu.push(menuDep[1]!.trim()); continue; }
    if (/^\s*(menu)?config\s|^\s*(choice|comment|source)\b/.test(l)) lastMenu = undefined;
    visit(i, stack.flat());
  }
}

async function parseTree(sourceDir: string, srcArch: string): Promise<ParsedKconfig> {
  const files = new Map<string, string[]>();
  const sources = new Map<string, { target: string; conds: string[] }[]>();
  for (const file of await kconfigFiles(sourceDir, srcArch)) {
    const lines = (await readFile(join(sourceDir, file), 'utf8')).split('\n');
    files.set(file, lines);
    const out: { target: string; conds: string[] }[] = [];
    scanFile(lines, (i, conds) => {
      const m = /^\s*(o|r|or)?source\s+"([^"]+)"/.exec(lines[i]!);
      if (m) out.push({ target: m[2]!.replace('$(SRCARCH)', srcArch), conds });
    });
    sources.set(file, out);
  }
  return { files, sources };
}

/** Conditions a file inherits from the `source` lines that include it (outer first). */
function inherited(tree: ParsedKconfig, file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  for (const [parent, list] of tree.sources) {
    const hit = list.find((s) => s.target === file);
    if (hit) return [...inherited(tree, parent, seen), ...hit.conds];
  }
  return [];
}

/** Every `config SYMBOL` / `menuconfig SYMBOL` definition with its dependencies, across the tree (`srcArch`'s arch/ folder and generic). */
export async function findSymbolDefinitions(sourceDir: string, symbol: string, srcArch = 'x86'): Promise<SymbolDefinition[]> {
  let pending = parsedTrees.get(`${srcArch}:${sourceDir}`);
  if (!pending) parsedTrees.set(`${srcArch}:${sourceDir}`, (pending = parseTree(sourceDir, srcArch)));
  const tree = await pending;
  const defs: SymbolDefinition[] = [];
  const start = new RegExp(`^\\s*(menu)?config\\s+${symbol}\\s*$`);
  for (const [file, lines] of tree.files) {
    if (!lines.some((l) => l.includes(symbol))) continue;
    scanFile(lines, (i, conds) => {
      if (!start.test(lines[i]!)) return;
      const dependsOn: string[] = [];
      for (let j = i + 1; j < lines.length; j++) {
        const d = lines[j]!;
        if (/^\s*(menu)?config\s|^\s*(endmenu|endif|endchoice|choice|menu|if|source|comment|help|---help---)\b/.test(d)) break;
        const dep = /^\s*depends\s+on\s+(.*)$/.exec(d);
        if (dep) dependsOn.push(dep[1]!.trim());
      }
      defs.push({ file, line: i + 1, dependsOn, enclosedBy: [...inherited(tree, file), ...conds] });
    });
  }
  return defs;
}

/** The symbols named in a Kconfig expression (for showing their current values). */
export function symbolsIn(expression: string): string[] {
  return [...new Set(expression.match(/\b[A-Z][A-Z0-9_]+\b/g) ?? [])].filter((s) => s !== 'y' && s !== 'n' && s !== 'm');
}

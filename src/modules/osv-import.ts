/**
 * `tailor modules import DIR`: an OSv module folder (module.py, usr.manifest,
 * Makefile) becomes a module.yaml beside them. module.py is parsed, never run
 * (osv-python.ts); what it does through OSv's module API is translated:
 *
 *   api.require('x') / api.require_running('x')  → requires: [x]
 *   api.require_if_other_module_present('x', 'y') → requires_if_present
 *   provides = ['java']                           → provides: [java]
 *   default = api.run('/app --flag')              → run: /app --flag
 *   NAME = api.run(...) / api.run_java(...)       → configs: {NAME: ...} (image=DIR.NAME)
 *   api.run_java(classpath=, jvm_args=, args=)    → {java: {classpath, main | jar, jvm_options, args}}
 *   api.run_on_init('/setup')                     → run_on_init: [/setup]
 *   usr_files = FileMap(); usr_files.add(H).to(G).include(P).exclude(P) → files:
 *   a Makefile with a module: target             → build: make module
 *
 * Every statement it cannot translate is reported with its line; then
 * nothing is written unless the caller asks for a partial module.yaml.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import YAML from 'yaml';
import { UsageError } from '../errors.ts';
import { parseManifest } from './manifest.ts';
import { parseModulePy, type Expr, type Statement } from './osv-python.ts';

export interface Untranslated {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly reason: string;
}

type JavaYaml = { java: { classpath?: string[]; main?: string; jar?: string; jvm_options?: string[]; args?: string[] } };
type RunYaml = string | JavaYaml;

export interface ImportResult {
  readonly dir: string;
  /** The module.yaml document, as plain data in key order. */
  readonly module: Record<string, unknown>;
  readonly untranslated: readonly Untranslated[];
  /** What the user should know (e.g. a manifest written by the build). */
  readonly notes: readonly string[];
}

interface FileMapEntry {
  from: string;
  to?: string;
  include: string[];
  exclude: string[];
  line: number;
}

type Value =
  | string
  | number
  | boolean
  | null
  | Value[]
  | { readonly kind: 'api' }
  | { readonly kind: 'apifn'; readonly name: string }
  | { readonly kind: 'os' | 'ospath' | 'filemapClass' }
  | { readonly kind: 'ospathfn'; readonly name: string }
  | { readonly kind: 'filemap'; readonly entries: FileMapEntry[] }
  | { readonly kind: 'method'; readonly target: FileMapEntry | { kind: 'filemap'; entries: FileMapEntry[] }; readonly name: string }
  | { readonly kind: 'entry'; readonly entry: FileMapEntry }
  | { readonly kind: 'link'; readonly guest: string }
  | { readonly kind: 'listmethod'; readonly list: Value[]; readonly name: string }
  | { readonly kind: 'run'; readonly run: RunYaml }
  | { readonly kind: 'none' };

class Untranslatable extends Error {}

const apiFunctions = new Set(['require', 'require_running', 'require_if_other_module_present', 'run', 'run_java', 'run_on_init']);

/** Translate the folder's module.py (+ Makefile, usr.manifest) without writing anything. */
export function translateOsvModule(dir: string): ImportResult {
  const py = join(dir, 'module.py');
  if (!existsSync(py)) throw new UsageError(`${dir}: no module.py in that folder`, 'give the folder of an OSv module (the one holding module.py)');
  const name = basename(dir);
  const text = readFileSync(py, 'utf8');
  const lines = text.split('\n');
  const untranslated: Untranslated[] = [];
  const notes: string[] = [];
  const requires: string[] = [];
  const conditional: { require: string; if_present: string }[] = [];
  const runOnInit: string[] = [];
  const configs = new Map<string, RunYaml>();
  let provides: string[] = [];
  const env = new Map<string, Value>();

  const fail = (st: { line: number; endLine: number }, reason: string) => {
    for (let l = st.line; l <= st.endLine; l++) {
      const t = lines[l - 1]?.trim() ?? '';
      if (t !== '' && !t.startsWith('#')) untranslated.push({ file: py, line: l, text: t, reason: l === st.line ? reason : 'continued' });
    }
  };

  /** A host path from module.py: ${OSV_BASE}/apps/NAME or ${OSV_BASE}/modules/NAME become the module folder. */
  const hostPath = (p: string): string => {
    const own = new RegExp(`^\\$\\{OSV_BASE\\}/(apps|modules)/${name.replace(/[.+-]/g, '\\$&')}(/|$)`);
    if (own.test(p)) return p.replace(own, (_m, _a, slash: string) => `\${MODULE_DIR}${slash}`).replace(/\/$/, '') || '${MODULE_DIR}';
    if (p.includes('${OSV_BASE}')) throw new Untranslatable(`${p} is in OSv's source tree, outside this module: copy what it needs into the module folder`);
    return p;
  };

  const str = (v: Value, what: string): string => {
    if (typeof v !== 'string') throw new Untranslatable(`${what} must be a string literal (or a name bound to one)`);
    return v;
  };
  const strList = (v: Value, what: string): string[] => {
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new Untranslatable(`${what} must be a list of strings`);
    return list as string[];
  };

  const evaluate = (e: Expr): Value => {
    switch (e.kind) {
      case 'str':
        if (!e.parts) return e.value;
        return e.parts.map((p) => (typeof p === 'string' ? p : str(lookup(p.name), `{${p.name}}`))).join('');
      case 'num':
      case 'const':
        return e.value;
      case 'list':
        return e.items.map(evaluate);
      case 'dict':
        throw new Untranslatable('a dict is only translated as run_java(sysprops=...)');
      case 'name':
        return lookup(e.id);
      case 'add': {
        const l = evaluate(e.left);
        const r = evaluate(e.right);
        if (typeof l === 'string' && typeof r === 'string') return l + r;
        if (Array.isArray(l) && Array.isArray(r)) return [...l, ...r];
        throw new Untranslatable('+ is translated for two strings or two lists');
      }
      case 'format':
        return percentFormat(str(evaluate(e.left), 'the left side of %'), evaluate(e.right));
      case 'attr': {
        const o = evaluate(e.object);
        if (Array.isArray(o) && (e.name === 'append' || e.name === 'extend')) return { kind: 'listmethod', list: o, name: e.name };
        if (isObj(o, 'api') && apiFunctions.has(e.name)) return { kind: 'apifn', name: e.name };
        if (isObj(o, 'api')) throw new Untranslatable(`api.${e.name} has no Tailor equivalent`);
        if (isObj(o, 'os') && e.name === 'path') return { kind: 'ospath' };
        if (isObj(o, 'ospath') && e.name === 'join') return { kind: 'ospathfn', name: e.name };
        if (isObj(o, 'filemap') && (e.name === 'add' || e.name === 'link')) return { kind: 'method', target: o as { kind: 'filemap'; entries: FileMapEntry[] }, name: e.name };
        if (isObj(o, 'entry') && ['to', 'include', 'exclude', 'allow_symlink'].includes(e.name)) return { kind: 'method', target: (o as { entry: FileMapEntry }).entry, name: e.name };
        if (isObj(o, 'link') && e.name === 'to') return { kind: 'method', target: { from: (o as { guest: string }).guest, include: [], exclude: [], line: currentLine }, name: 'linkTo' };
        throw new Untranslatable(`.${e.name} is not translated`);
      }
      case 'call':
        return call(e);
    }
  };

  const lookup = (id: string): Value => {
    const v = env.get(id);
    if (v === undefined) throw new Untranslatable(`${id} is not a name module.py binds to a literal or an OSv API`);
    return v;
  };

  const call = (e: Extract<Expr, { kind: 'call' }>): Value => {
    const fn = evaluate(e.fn);
    const args = e.args.map(evaluate);
    const kwargs = new Map(e.kwargs.map(([k, v]) => [k, v] as const));
    const kw = (k: string): Value | undefined => (kwargs.has(k) ? evaluate(kwargs.get(k)!) : undefined);
    const onlyKw = (allowed: string[]) => {
      for (const k of kwargs.keys()) if (!allowed.includes(k)) throw new Untranslatable(`the argument ${k}= is not translated`);
    };
    if (isObj(fn, 'ospathfn')) return posix.join(...args.map((a) => str(a, 'os.path.join arguments')));
    if (isObj(fn, 'listmethod')) {
      const m = fn as Extract<Value, { kind: 'listmethod' }>;
      if (args.length !== 1 || kwargs.size) throw new Untranslatable(`.${m.name} takes one argument`);
      if (m.name === 'append') m.list.push(args[0]!);
      else if (Array.isArray(args[0])) m.list.push(...args[0]);
      else throw new Untranslatable('.extend takes a list');
      return { kind: 'none' };
    }
    if (isObj(fn, 'filemapClass')) return { kind: 'filemap', entries: [] };
    if (isObj(fn, 'method')) {
      const m = fn as Extract<Value, { kind: 'method' }>;
      if (m.name === 'link') return { kind: 'link', guest: str(args[0] ?? null, 'usr_files.link()') };
      if (m.name === 'linkTo') {
        const target = str(args[0] ?? null, '.to()');
        throw new Untranslatable(`a symlink: write it in usr.manifest as "${(m.target as FileMapEntry).from}: ->${target}"`);
      }
      if (m.name === 'add') {
        onlyKw([]);
        const entry: FileMapEntry = { from: hostPath(str(args[0] ?? null, 'usr_files.add()')), include: [], exclude: [], line: currentLine };
        (m.target as { entries: FileMapEntry[] }).entries.push(entry);
        return { kind: 'entry', entry };
      }
      const entry = m.target as FileMapEntry;
      onlyKw([]);
      if (m.name === 'allow_symlink') return { kind: 'entry', entry }; // symlinks are kept as symlinks here anyway
      if (m.name === 'to') entry.to = str(args[0] ?? null, '.to()');
      else for (const a of args) (m.name === 'include' ? entry.include : entry.exclude).push(str(a, `.${m.name}()`));
      return { kind: 'entry', entry };
    }
    if (!isObj(fn, 'apifn')) throw new Untranslatable('a call of something other than the OSv module API, os.path.join or FileMap');
    const api = (fn as { name: string }).name;
    switch (api) {
      case 'require':
      case 'require_running':
        onlyKw([]);
        if (args.length !== 1) throw new Untranslatable(`api.${api} takes one module name`);
        if (!requires.includes(str(args[0]!, 'the module name'))) requires.push(args[0] as string);
        if (api === 'require_running') notes.push(`module.py: api.require_running('${args[0] as string}') became a plain requires: Tailor runs every module's run command`);
        return { kind: 'none' };
      case 'require_if_other_module_present':
        onlyKw([]);
        if (args.length !== 2) throw new Untranslatable('api.require_if_other_module_present takes two module names');
        conditional.push({ require: str(args[0]!, 'the module name'), if_present: str(args[1]!, 'the other module name') });
        return { kind: 'none' };
      case 'run_on_init':
        onlyKw([]);
        if (args.length !== 1) throw new Untranslatable('api.run_on_init takes one command line');
        runOnInit.push(commandLine(str(args[0]!, 'the command line')));
        return { kind: 'none' };
      case 'run': {
        onlyKw(['cmdline']);
        const cmd = args[0] ?? kw('cmdline');
        if (cmd === undefined) throw new Untranslatable('api.run needs a command line');
        return { kind: 'run', run: commandLine(str(cmd, 'the command line')) };
      }
      case 'run_java': {
        onlyKw(['args', 'classpath', 'jvm_args', 'main_class', 'sysprops']);
        if (args.length) throw new Untranslatable('api.run_java is translated with keyword arguments (args=, classpath=, jvm_args=)');
        const sysprops = kwargs.has('sysprops') ? sysPropOptions(kwargs.get('sysprops')!) : [];
        return {
          kind: 'run',
          run: javaRun(
            strList(kw('args') ?? [], 'args='),
            strList(kw('classpath') ?? [], 'classpath='),
            [...strList(kw('jvm_args') ?? [], 'jvm_args='), ...sysprops],
            kwargs.has('main_class') ? str(kw('main_class')!, 'main_class=') : undefined,
          ),
        };
      }
    }
    throw new Untranslatable(`api.${api} is not translated`);
  };

  const sysPropOptions = (e: Expr): string[] => {
    if (e.kind !== 'dict') throw new Untranslatable('sysprops= must be a dict literal');
    return e.entries.map(([k, v]) => `-D${str(evaluate(k), 'a property name')}=${String(evaluate(v))}`);
  };

  let currentLine = 0;
  for (const st of parseModulePy(text)) {
    currentLine = st.line;
    try {
      handle(st);
    } catch (err) {
      if (!(err instanceof Untranslatable)) throw err;
      fail(st, err.message);
    }
  }

  function handle(st: Statement): void {
    switch (st.kind) {
      case 'unsupported':
        throw new Untranslatable(st.reason);
      case 'import':
        bindImport(st);
        return;
      case 'expr': {
        const v = evaluate(st.value);
        if (isObj(v, 'run')) throw new Untranslatable('a run configuration must be assigned to a name (default = api.run(...))');
        return;
      }
      case 'assign': {
        const v = evaluate(st.value);
        if (st.target === 'provides') {
          provides = strList(v, 'provides');
          return;
        }
        if (isObj(v, 'run')) {
          configs.set(st.target, (v as { run: RunYaml }).run);
          return;
        }
        if (st.target === 'usr_files' && !isObj(v, 'filemap')) throw new Untranslatable('usr_files is translated when it is a FileMap()');
        if (st.target !== 'usr_files' && isObj(v, 'filemap')) throw new Untranslatable('OSv reads only the FileMap named usr_files');
        env.set(st.target, v);
        return;
      }
    }
  }

  function bindImport(st: Extract<Statement, { kind: 'import' }>): void {
    for (const n of st.names) {
      const [nm, alias] = n.split(/\s+as\s+/).map((x) => x.trim());
      const bound = alias || nm!;
      if (st.from === 'osv.modules' && nm === 'api') env.set(bound, { kind: 'api' });
      else if (st.from === 'osv.modules.api' && nm === '*') for (const f of apiFunctions) env.set(f, { kind: 'apifn', name: f });
      else if (st.from === 'osv.modules.api' && apiFunctions.has(nm!)) env.set(bound, { kind: 'apifn', name: nm! });
      else if (st.from === 'osv.modules.filemap' && nm === 'FileMap') env.set(bound, { kind: 'filemapClass' });
      else if (!st.from && (nm === 'os' || nm === 'os.path')) env.set('os', { kind: 'os' });
      // Any other import is harmless until something uses it (then that statement is reported).
    }
  }

  // The usr_files FileMap object collects its entries as later statements call add(); gather them now.
  const usr = env.get('usr_files');
  const maps = usr && isObj(usr, 'filemap') ? (usr as { entries: FileMapEntry[] }).entries : [];
  const files = maps.flatMap((m) => {
    if (m.to === undefined) {
      untranslated.push({ file: py, line: m.line, text: lines[m.line - 1]?.trim() ?? '', reason: 'usr_files.add(...) without .to(GUEST_PATH)' });
      return [];
    }
    return [{ from: m.from, to: m.to.startsWith('/') ? m.to : `/${m.to}`, ...(m.include.length ? { include: m.include } : {}), ...(m.exclude.length ? { exclude: m.exclude } : {}) }];
  });

  const build = makefileBuild(dir, notes);
  checkManifest(dir, name, build !== undefined, untranslated, notes);

  const module: Record<string, unknown> = { description: `${name}, imported from OSv's module.py by tailor modules import` };
  if (requires.length) module.requires = requires;
  if (conditional.length) module.requires_if_present = conditional;
  if (provides.length) module.provides = provides;
  if (build) module.build = build;
  if (configs.has('default')) module.run = configs.get('default');
  const named = [...configs].filter(([k]) => k !== 'default');
  if (named.length) {
    for (const [k] of named) if (!/^[A-Za-z0-9_-]+$/.test(k)) untranslated.push({ file: py, line: 0, text: k, reason: 'a configuration name is letters, digits, _ and -' });
    module.configs = Object.fromEntries(named);
  }
  if (runOnInit.length) module.run_on_init = runOnInit;
  if (files.length) module.files = files;
  untranslated.sort((a, b) => a.line - b.line);
  return { dir, module, untranslated, notes };
}

/** Python's 'text %s' % value (or a tuple of values): %s, %d and %%. */
function percentFormat(template: string, value: Value): string {
  const values = Array.isArray(value) ? [...value] : [value];
  const out = template.replace(/%([%sd])/g, (_m, c: string) => {
    if (c === '%') return '%';
    if (values.length === 0) throw new Untranslatable('% formatting with fewer values than fields');
    const v = values.shift()!;
    if (typeof v !== 'string' && typeof v !== 'number') throw new Untranslatable('% formatting of something other than a string or number');
    return String(v);
  });
  if (/%[^%sd]/.test(template.replace(/%%/g, ''))) throw new Untranslatable('% formatting other than %s and %d');
  if (values.length) throw new Untranslatable('% formatting with more values than fields');
  return out;
}

function isObj(v: Value | undefined, kind: string): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { kind: string }).kind === kind;
}

/** OSv's Java launcher `/java.so ARGS` (or `java.so`, after any --options of the init) is `java ARGS` here. */
function commandLine(cmd: string): string {
  return cmd.trim().replace(/^((?:--\S+\s+)*)\/?java\.so(\s|$)/, '$1java$2');
}

/** run_java: args are java's own (options, then -jar JAR or the main class, then the program's arguments). */
function javaRun(args: string[], classpath: string[], jvmOptions: string[], mainClass?: string): JavaYaml {
  const java: JavaYaml['java'] = {};
  const cp = [...classpath];
  const opts = [...jvmOptions];
  let i = 0;
  if (mainClass === undefined) {
    for (; i < args.length; i++) {
      const a = args[i]!;
      if (a === '-jar') {
        java.jar = args[++i];
        i++;
        break;
      }
      if (a === '-cp' || a === '-classpath') cp.push(...(args[++i] ?? '').split(':').filter(Boolean));
      else if (a.startsWith('-')) opts.push(a);
      else {
        java.main = a;
        i++;
        break;
      }
    }
    if (java.jar === undefined && java.main === undefined) throw new Untranslatable('api.run_java: no main class or -jar in args=');
  } else java.main = mainClass;
  if (cp.length) java.classpath = cp;
  if (opts.length) java.jvm_options = opts;
  const rest = args.slice(i);
  if (rest.length) java.args = rest;
  if (java.jar !== undefined && cp.length) throw new Untranslatable('api.run_java: a class path together with -jar (java ignores it)');
  return { java };
}

/** build: from the Makefile: `make module` (what OSv runs) when it has that target. */
function makefileBuild(dir: string, notes: string[]): string | undefined {
  const makefile = ['Makefile', 'makefile', 'GNUmakefile'].find((f) => existsSync(join(dir, f)));
  if (!makefile) return undefined;
  const text = readFileSync(join(dir, makefile), 'utf8');
  if (/^module\s*:/m.test(text)) return 'make module';
  notes.push(`${makefile} has no module: target (OSv runs make module): build: runs plain make`);
  return 'make';
}

/** usr.manifest is read by Tailor as it is; report what it cannot take and whether the build writes it. */
function checkManifest(dir: string, name: string, hasBuild: boolean, untranslated: Untranslated[], notes: string[]): void {
  const file = join(dir, 'usr.manifest');
  const makefile = ['Makefile', 'makefile', 'GNUmakefile'].map((f) => join(dir, f)).find((f) => existsSync(f));
  const writtenByBuild = hasBuild && makefile !== undefined && readFileSync(makefile, 'utf8').includes('usr.manifest');
  if (writtenByBuild) notes.push('usr.manifest is written by the Makefile: Tailor reads it after the build (tailor modules deps shows it as "after build")');
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  try {
    parseManifest(text, file);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const m = /:(\d+): /.exec(err.message);
    untranslated.push({ file, line: m ? Number(m[1]) : 0, text: err.message, reason: err.hint ?? 'fix the line' });
  }
  text.split('\n').forEach((raw, i) => {
    if (!raw.includes('${OSV_BASE}')) return;
    const own = new RegExp(`\\$\\{OSV_BASE\\}/(apps|modules)/${name.replace(/[.+-]/g, '\\$&')}(?=/|$)`, 'g');
    const fixed = raw.replace(own, '${MODULE_DIR}');
    untranslated.push({
      file,
      line: i + 1,
      text: raw.trim(),
      reason: fixed.includes('${OSV_BASE}') ? "${OSV_BASE} is OSv's source tree: copy the file into the module" : `write: ${fixed.trim()}`,
    });
  });
}

/** The module.yaml text for a translation (with a header, and the untranslated lines as comments when partial). */
export function moduleYamlText(result: ImportResult): string {
  const head = [`# Written by \`tailor modules import\` from ${join(result.dir, 'module.py')}; edit freely.`];
  for (const u of result.untranslated) head.push(`# TODO ${basename(u.file)}:${u.line}: ${u.text} -- ${u.reason}`);
  return `${head.join('\n')}\n${YAML.stringify(result.module, { lineWidth: 0 })}`;
}

/** Translate and write DIR/module.yaml (via a temporary file). Refuses to overwrite unless force. */
export function importOsvModule(dir: string, options: { force?: boolean; partial?: boolean } = {}): ImportResult {
  const out = join(dir, 'module.yaml');
  if (existsSync(out) && !options.force) throw new UsageError(`${out} already exists`, 'pass --force to replace it');
  const result = translateOsvModule(dir);
  if (result.untranslated.length && !options.partial) return result;
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, moduleYamlText(result));
  renameSync(tmp, out);
  return result;
}

/**
 * A module's run configurations (OSv's `default = api.run(...)`, one per
 * name, chosen with image=MODULE.CONFIG) and the Java run form (OSv's
 * api.run_java), which becomes a `java` command line in the init's grammar.
 *
 * module.yaml:
 *   run: /hello                       # the `default` configuration
 *   run: {java: {classpath: [/app/a.jar], main: app.Main, jvm_options: [-Xmx64m], args: [x]}}
 *   configs:                          # more named configurations
 *     loud: /hello --loud
 */
import { UsageError } from '../errors.ts';

export interface JavaRun {
  /** Class path entries, joined with `:`. */
  readonly classpath: readonly string[];
  /** Main class (`-cp ... MAIN`); exclusive with jar. */
  readonly main?: string;
  /** Executable jar (`-jar JAR`); exclusive with main. */
  readonly jar?: string;
  /** JVM options before the class: -Xmx64m, -Dkey=value ... */
  readonly jvmOptions: readonly string[];
  readonly args: readonly string[];
}

export interface RunConfig {
  /** The command line the init runs (OSv grammar). */
  readonly command: string;
  /** Set when the configuration was written in the Java form. */
  readonly java?: JavaRun;
}

export const defaultConfig = 'default';

/** A word of the init's command grammar: quoted when it holds anything but plain characters. */
export function quoteWord(word: string): string {
  if (/^[A-Za-z0-9_./:=+,@%-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `java [JVM options] (-cp CLASSPATH MAIN | -jar JAR) [args]`: the launcher found in PATH (/usr/bin/java with the openjdk module). */
export function javaCommand(j: JavaRun): string {
  const words = ['java', ...j.jvmOptions];
  if (j.jar !== undefined) words.push('-jar', j.jar);
  else words.push('-cp', j.classpath.join(':'), j.main!);
  words.push(...j.args);
  return words.map(quoteWord).join(' ');
}

const javaKeys = new Set(['classpath', 'main', 'jar', 'jvm_options', 'args']);

/** One configuration's value in module.yaml: a command line, or {java: {...}}. */
export function parseRunConfig(value: unknown, where: string): RunConfig {
  if (typeof value === 'string') {
    if (value.trim() === '') throw new UsageError(`${where}: the command line is empty`, 'write the command the init runs, e.g. /hello');
    return { command: value };
  }
  const j = (value as Record<string, unknown> | null)?.java;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length !== 1 || typeof j !== 'object' || j === null || Array.isArray(j)) {
    throw new UsageError(`${where}: must be a command line or {java: {classpath, main | jar, jvm_options, args}}`);
  }
  const r = j as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!javaKeys.has(k)) throw new UsageError(`${where}.java: unknown key ${k}`, `java run keys: ${[...javaKeys].join(', ')}`);
  }
  const list = (k: string): string[] => {
    const v = r[k] ?? [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' || typeof x === 'number')) throw new UsageError(`${where}.java.${k} must be a list of words`);
    return v.map(String);
  };
  const text = (k: string): string | undefined => {
    const v = r[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') throw new UsageError(`${where}.java.${k} must be text`);
    return v;
  };
  const main = text('main');
  const jar = text('jar');
  if ((main === undefined) === (jar === undefined)) {
    throw new UsageError(`${where}.java: give exactly one of main: (a class, run with the classpath) or jar: (an executable jar)`);
  }
  const java: JavaRun = { classpath: list('classpath'), main, jar, jvmOptions: list('jvm_options'), args: list('args') };
  if (main !== undefined && java.classpath.length === 0) {
    throw new UsageError(`${where}.java: main: ${main} needs a classpath: (the jars or folders holding it, guest paths)`);
  }
  if (jar !== undefined && java.classpath.length > 0) {
    throw new UsageError(`${where}.java: java ignores the class path with jar:`, "list the jar's dependencies in its manifest (Class-Path:), or use main: with classpath:");
  }
  return { command: javaCommand(java), java };
}

/** `run:` (the default configuration) and `configs:` (named ones) of a module.yaml. */
export function parseRunConfigs(run: unknown, configs: unknown, file: string): Record<string, RunConfig> {
  const out: Record<string, RunConfig> = {};
  if (run !== undefined && run !== null) out[defaultConfig] = parseRunConfig(run, `${file}: run`);
  if (configs === undefined || configs === null) return out;
  if (typeof configs !== 'object' || Array.isArray(configs)) {
    throw new UsageError(`${file}: configs must map configuration names to command lines`, 'e.g. configs: {loud: /hello --loud}; choose one with image=MODULE.loud');
  }
  for (const [name, value] of Object.entries(configs)) {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new UsageError(`${file}: configs.${name}: a configuration name is letters, digits, _ and -`);
    if (name === defaultConfig && out[defaultConfig]) throw new UsageError(`${file}: both run: and configs.default give the default configuration`, 'keep one of them');
    out[name] = parseRunConfig(value, `${file}: configs.${name}`);
  }
  return out;
}

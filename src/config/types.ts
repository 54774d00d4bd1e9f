/** Output of stage 1 (config): what every later stage reads. */

export type OptionValue = boolean | number | string | string[];

/** Where a resolved value came from, for `tailor config` and error messages. */
export type ValueSource =
  | { kind: 'default' }
  | { kind: 'profile'; name: string; file: string; line: number } // built-in conf/profiles
  | { kind: 'project-profile'; name: string; file: string; line: number } // ./conf/profiles
  | { kind: 'project-file'; file: string } // ./tailor.yaml
  | { kind: 'command-line'; arg: string }
  | { kind: 'derived'; reason: string }; // e.g. from conf_drivers_profile or an implication rule

export interface ResolvedValue {
  readonly value: OptionValue;
  readonly source: ValueSource;
}

/**
 * A validated, frozen configuration. `options` holds every schema option
 * (defaults included) under its schema name; list options are string[],
 * bool options boolean, int options number, enum/string options string.
 */
export interface BuildConfig {
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly sources: Readonly<Record<string, ValueSource>>;
  /** --profile=NAME given (configuration profile), if any. */
  readonly profileName?: string;
  /** sha256 over the options (not their sources): same options, same hash. */
  readonly hash: string;
  /** Non-fatal findings (an option without effect in this combination, an alias used). */
  readonly warnings: readonly string[];
  /** Extra module search paths (from --module-path), in lookup order; modules=/abs/path is handled by the modules stage. */
  readonly modulePaths: readonly string[];
  /** Directory the configuration was resolved in (project root for ./modules, ./conf/profiles). */
  readonly cwd: string;
}

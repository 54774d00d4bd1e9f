/** The shape of one option in the schema (src/config/schema.ts): each option is defined once, here. */

/** Kconfig symbol assignments, e.g. { XEN: 'y', XEN_PVHVM: 'y' } or { KALLSYMS: 'n' }. Names without CONFIG_. */
export type KconfigAssignments = Readonly<Record<string, string>>;

export interface KernelMapping {
  /** Symbols set when a bool option is 1. */
  readonly whenOn?: KconfigAssignments;
  /** Symbols set when a bool option is 0. */
  readonly whenOff?: KconfigAssignments;
  /** For enums: symbols per value. */
  readonly perValue?: Readonly<Record<string, KconfigAssignments>>;
}

interface OptionBase {
  readonly name: string;
  readonly help: string;
  /** Section for `tailor options` and docs. */
  readonly group: 'image' | 'filesystem' | 'kernel' | 'drivers' | 'memory' | 'compiler' | 'output';
  /** Other names accepted for this option (with a note when used), e.g. zfs_compression. */
  readonly aliases?: readonly string[];
  /** What the option changes later, for docs and for the kernel stage. */
  readonly kernel?: KernelMapping;
  /** Where the value has an effect beyond the kernel (init flags, image settings), in words. */
  readonly effect?: string;
  /** Where OSv's meaning differs from ours, in words (docs). */
  readonly osvNote?: string;
  /**
   * Returns why the option has no effect in this combination (a warning), or
   * undefined when it does. Called only for values that differ from the default.
   */
  readonly noEffect?: (options: Readonly<Record<string, unknown>>) => string | undefined;
}

export type OptionSpec =
  | (OptionBase & { readonly type: 'bool'; readonly default: boolean })
  | (OptionBase & { readonly type: 'int'; readonly default: number; readonly unit?: string; readonly min?: number; readonly max?: number })
  | (OptionBase & { readonly type: 'enum'; readonly default: string; readonly values: readonly string[]; readonly rejected?: Readonly<Record<string, string>> })
  | (OptionBase & { readonly type: 'list'; readonly default: readonly string[] })
  | (OptionBase & { readonly type: 'string'; readonly default: string });

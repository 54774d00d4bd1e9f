/** Output of stage 2 (modules): the image's files, kernel needs and run command. */

/** Named kernel features a module can ask for (mapped to Kconfig symbols / .ko files by the kernel stage). */
export type KernelNeed = string; // e.g. 'net', 'unix-sockets', 'epoll', 'block', 'virtio-net'

export type ManifestSource =
  | { kind: 'file'; path: string } // host file (absolute path) copied in
  | { kind: 'dir'; path?: string } // directory (copied recursively from path when given by /**)
  | { kind: 'symlink'; target: string }; // `->target` in usr.manifest: a symlink in the guest

export interface ManifestEntry {
  /** Absolute guest path. */
  readonly guestPath: string;
  readonly source: ManifestSource;
  /** Module that contributed it (for size analysis and error messages). */
  readonly module: string;
}

export interface ResolvedModule {
  readonly name: string;
  readonly dir: string;
  readonly description: string;
  readonly requires: readonly string[];
  readonly kernelNeeds: readonly KernelNeed[];
  /** OSv-style command line this module runs (api.run; the chosen run configuration), if any. */
  readonly run?: string;
  /** The run configuration chosen with image=NAME.CONFIG, when one was. */
  readonly config?: string;
  /** Commands run before every application (api.run_on_init). */
  readonly runOnInit?: readonly string[];
  /** Shell command run in `dir` before packing (builds the module's files), if any. */
  readonly build?: string;
}

export interface ModulePlan {
  /** Dependencies first, then dependents; the image= modules last. */
  readonly order: readonly ResolvedModule[];
  /** Merged manifest, sorted by guest path; later modules override earlier ones. */
  readonly manifest: readonly ManifestEntry[];
  /** Union of all modules' kernel needs, sorted. */
  readonly kernelNeeds: readonly KernelNeed[];
  /** The image's default command line (OSv grammar: `;`, `&`, `&!`, `!`), joined from modules' run_on_init and run. */
  readonly command?: string;
  /** Notes for the user: a relative guest path placed under /, a module that shadows a built-in one. */
  readonly notes?: readonly string[];
  /** Previews only (requireFiles false): manifest lines and file maps whose files the module's build has yet to make. */
  readonly pending?: readonly string[];
}

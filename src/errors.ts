/**
 * Errors a user can act on. The CLI prints `message` (and `hint`) without a
 * stack trace unless --verbose; `exitCode` 2 means the input was wrong.
 */
export class TailorError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  constructor(message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
    this.hint = options.hint;
  }
}

/** Bad input from the user: unknown option, wrong value, missing module, cycle. Exit code 2. */
export class UsageError extends TailorError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: 2, hint });
  }
}

/** A host tool or package is missing; the hint carries the apt command. */
export class MissingToolError extends TailorError {
  constructor(tool: string, aptPackage: string, why: string) {
    super(`${tool} is not installed (${why})`, {
      exitCode: 1,
      hint: `install it with: apt-get install -y ${aptPackage}`,
    });
  }
}

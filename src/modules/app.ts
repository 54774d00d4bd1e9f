/**
 * app=/usr/bin/foo [args]: an implicit module made of one host program. These
 * helpers say what it is called and whether it replaces the default image=
 * (a user who names only app= wants that program, not native-example too).
 */
import { posix } from 'node:path';
import type { BuildConfig } from '../config/types.ts';
import { UsageError } from '../errors.ts';

export interface AppSpec {
  /** The host binary (first word of app=). */
  readonly binary: string;
  /** The whole app= value: the image's command for this program. */
  readonly command: string;
  /** Name of the implicit module: the binary's file name. */
  readonly name: string;
}

/** The app= option parsed, or undefined when it is not set. */
export function appSpec(config: BuildConfig): AppSpec | undefined {
  const command = String(config.options.app ?? '').trim();
  if (command === '') return undefined;
  const binary = command.split(/\s+/)[0]!;
  if (!binary.startsWith('/')) {
    throw new UsageError(`app=${command}: "${binary}" is not an absolute path`, `write the full path, e.g. app=/usr/bin/${binary} (see: command -v ${binary})`);
  }
  const name = posix.basename(binary);
  if (!/^[A-Za-z0-9_.+-]+$/.test(name)) throw new UsageError(`app=${command}: the file name ${name} cannot name a module`, 'use a binary whose name is letters, digits, _ . + -');
  return { binary, command, name };
}

/** True when app= is set and image= was not given anywhere: the default image is then left out. */
export function appReplacesDefaultImage(config: BuildConfig): boolean {
  return appSpec(config) !== undefined && (config.sources.image?.kind ?? 'default') === 'default';
}

/**
 * Runs each module's `build:` command (in dependency order) before its
 * manifest is read, with the compiler settings the build options ask for.
 */
import { statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { replaceDir, tempDirFor } from './stale-temps.ts';
import { join } from 'node:path';
import type { BuildConfig } from '../config/types.ts';
import { MissingToolError, TailorError } from '../errors.ts';
import type { ModuleDefinition } from '../modules/module-file.ts';
import { exec, hasCommand } from '../util/exec.ts';
import { targetArch } from '../config/arch.ts';

/** CFLAGS for modules built from source: opt, march, mtune, cflags, and PGO. */
export function moduleCflags(config: BuildConfig): string {
  const o = config.options;
  const flags = [String(o.opt), `-march=${String(o.march)}`, `-mtune=${String(o.mtune)}`, ...(o.cflags as string[])];
  if (o.profile === 'generate') flags.push('-fprofile-generate');
  if (o.profile === 'use') flags.push('-fprofile-use', '-Wno-missing-profile');
  if (o.mode === 'debug') flags.push('-g');
  return flags.join(' ');
}

/** Every Debian package the image's modules take files from must be installed: one error naming all that are missing. */
export function checkModulePackages(modules: readonly ModuleDefinition[]): void {
  const missing = modules.flatMap((m) =>
    Object.entries(m.packages)
      .filter(([, file]) => !isRegularFile(file))
      .map(([pkg, file]) => ({ module: m.name, pkg, file })),
  );
  if (missing.length === 0) return;
  const what = missing.map((x) => `module ${x.module}: needs the Debian package ${x.pkg} (${x.file} is missing)`).join('; ');
  throw new TailorError(what, { hint: `install it with: apt-get install -y ${[...new Set(missing.map((x) => x.pkg))].join(' ')}` });
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export async function runModuleBuilds(modules: readonly ModuleDefinition[], config: BuildConfig, buildRoot: string): Promise<void> {
  checkModulePackages(modules);
  const needsBuild = modules.filter((m) => m.build);
  if (needsBuild.length === 0) return;
  const arch = targetArch(config.options.arch);
  const cc = arch.guest.cc;
  if (!(await hasCommand(cc))) throw new MissingToolError(cc, arch.guest.ccPackage, `modules are built from source as static ${arch.guest.libc} binaries for ${arch.title}`);
  for (const m of needsBuild) {
    // Built from scratch beside its final folder and swapped in: a killed build never leaves a
    // half-written binary in build/.modules/NAME for the next build to take as done.
    const out = tempDirFor(buildRoot, m.name);
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    const env = {
      ...process.env,
      CC: cc,
      CFLAGS: moduleCflags(config),
      MODULE_DIR: m.dir,
      MODULE_BUILD: out,
    };
    const r = await exec('sh', ['-c', m.build!], { cwd: m.dir, env, allowFailure: true });
    if (r.code !== 0) {
      await rm(out, { recursive: true, force: true });
      throw new TailorError(`module ${m.name}: its build command failed (exit ${r.code}): ${m.build}\n${(r.stderr || r.stdout).trim().split('\n').slice(-10).join('\n')}`, {
        hint: `fix the module in ${m.dir}, or run the command there by hand with CC=${cc}`,
      });
    }
    await replaceDir(out, join(buildRoot, m.name));
  }
}

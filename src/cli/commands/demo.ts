import type { Command } from 'commander';
import { resolveConfig } from '../../config/index.ts';

/**
 * `npm run demo`: what a new user runs first. Installs the missing host
 * packages, builds native-example and boots it, printing what it does.
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description('install what is missing, build the native-example image and boot it')
    .option('--no-install', 'do not install missing Debian packages')
    .action(async (flags: { install: boolean }) => {
      const say = (m: string) => process.stderr.write(`tailor demo: ${m}\n`);
      const { doctorReport, fixHost } = await import('../../host/doctor.ts');
      const report = await doctorReport();
      if (report.missingPackages.length > 0) {
        if (!flags.install) say(`missing packages: ${report.missingPackages.join(' ')} (not installing: --no-install)`);
        else {
          say(`installing ${report.missingPackages.join(' ')}`);
          await fixHost(report.missingPackages, say);
        }
      }
      // The minimal profile: a custom kernel (cached after the first build, a few minutes) that boots in a fraction of the stock kernel's time.
      const args = ['--profile=minimal', 'image=native-example', 'fs=ramfs'];
      say(`tailor build ${args.join(' ')}`);
      const config = resolveConfig(args);
      const { buildImage } = await import('../../image/index.ts');
      const { dir } = await buildImage(config, (m) => say(m));
      say(`tailor run ${dir}`);
      const { runImage, summaryLine, defaultHypervisor } = await import('../../run/runner.ts');
      const { loadBuildFolder } = await import('../../run/build-folder.ts');
      const { defaultMemoryMiB, defaultCpus } = await import('../../run/qemu.ts');
      const result = await runImage({
        buildDir: dir,
        memoryMiB: defaultMemoryMiB,
        cpus: defaultCpus,
        hypervisor: defaultHypervisor(loadBuildFolder(dir)),
        dryRun: false,
        verbose: false,
        timeoutSeconds: 300,
      });
      process.stderr.write(`${summaryLine(result)}\n`);
      process.exitCode = result.exitCode;
    });
}

import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the host tools tailor needs, the KVM verdict and the cache; --fix installs what is missing')
    .option('--fix', 'install the missing Debian packages (apt-get, as root)')
    .action(async (flags: { fix?: boolean }) => {
      const { doctorReport, formatDoctorReport, fixHost } = await import('../../host/doctor.ts');
      let report = await doctorReport();
      if (flags.fix && report.missingPackages.length > 0) {
        process.stdout.write(formatDoctorReport(report));
        await fixHost(report.missingPackages, (m) => process.stderr.write(`${m}\n`));
        report = await doctorReport();
        process.stdout.write('\nafter --fix:\n');
      }
      process.stdout.write(formatDoctorReport(report));
      // Missing tools make doctor fail, so CI stops here with the apt line instead of failing later.
      if (report.missingPackages.length > 0) process.exitCode = 1;
    });
}

import type { Command } from 'commander';
import {
  parseAccel,
  parseHypervisor,
  parseMemoryMiB,
  parsePositiveInt,
  parseTimeoutSeconds,
} from '../../run/run-args.ts';
import type { Accel, Hypervisor } from '../../run/types.ts';
import { defaultCpus, defaultMemoryMiB } from '../../run/qemu.ts';

interface RunFlags {
  memsize: string;
  cpus: string;
  execute?: string;
  hypervisor?: string;
  accel?: string;
  timeout?: string;
  dryRun?: boolean;
  verbose?: boolean;
  diskImage?: string;
  secondDiskImage: string[];
  nvmeImage?: string;
  nvmeQueues?: string;
  share: string[];
  shareTransport?: string;
  forward: string[];
  api?: boolean;
  networking?: boolean | string;
  vhost?: boolean;
  virtioNetQueues?: string;
  network?: boolean;
  userData?: string;
  firecrackerBin?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  program
    .command('run')
    .description('boot a build in QEMU and exit with the guest application\'s status')
    .argument('[build]', 'build folder or name under build/ (default: build/last)')
    .option('-m, --memsize <size>', 'guest memory: MiB, or 512M / 1G', String(defaultMemoryMiB))
    .option('-c, --cpus <n>', 'virtual CPUs', String(defaultCpus))
    .option('-e, --execute <cmdline>', "replace the image's command line (OSv grammar)")
    .option('-p, --hypervisor <name>', 'qemu (q35, virtio-pci) | qemu_microvm (virtio-mmio, no PCI; the default unless a root disk needs PCI) | firecracker (needs KVM and a firecracker binary; --dry-run prints its config)')
    .option('--accel <kvm|tcg>', 'force an accelerator (default: KVM when the probe passed, else TCG)')
    .option('--timeout <seconds>', 'stop QEMU after this long')
    .option('--dry-run', 'print the QEMU command instead of running it')
    .option('--disk-image <file>', "root disk instead of the build's own (raw image; /dev/vda)")
    .option('--second-disk-image <file>', 'extra virtio-blk disk, /dev/vdb (OSv /dev/vblk1); repeat for vdc, vdd ...', collect, [])
    .option('--nvme-image <file>', 'NVMe disk, /dev/nvme0n1 (needs PCI: -p qemu)')
    .option('--nvme-queues <n>', 'NVMe I/O queue pairs', '1')
    .option('--share <hostdir:tag[:guestpath]>', 'host folder shared into the guest; with GUESTPATH the init mounts it there (the build needs fs=virtiofs)', collect, [])
    .option('--share-transport <virtiofs|9p>', 'how shares travel (default: virtiofs when the host has virtiofsd, else virtio-9p)')
    .option('--forward <host:guest>', 'forward TCP port HOST on 127.0.0.1 to GUEST in the VM (user-mode networking); repeatable', collect, [])
    .option('--api', 'shorthand for --forward 8000:8000 (the httpserver modules\' REST API)')
    .option('-n, --networking [tapdev]', 'tap networking on an existing host tap device (default tap0; needs root or a tap owned by you; the guest needs --ip)')
    .option('-v, --vhost', 'vhost-net for the tap device (with -n; needs /dev/vhost-net)')
    .option('--virtio-net-queues <n>', 'virtio-net queue pairs (multiqueue; with -n and a multi_queue tap)')
    .option('--no-network', 'no network device, even when the image needs one')
    .option('--user-data <file>', '#cloud-config user data for the cloud-init module (QEMU fw_cfg opt/tailor/user-data)')
    .option('--firecracker-bin <file>', 'with -p firecracker: the firecracker binary (default: firecracker on PATH; releases at github.com/firecracker-microvm/firecracker)')
    .action(async (buildArg: string | undefined, _flags: RunFlags, cmd: Command) => {
      const flags = cmd.optsWithGlobals<RunFlags>();
      const memoryMiB = parseMemoryMiB(flags.memsize);
      const cpus = parsePositiveInt('--cpus', flags.cpus);
      const accel: Accel | undefined = flags.accel === undefined ? undefined : parseAccel(flags.accel);
      const timeoutSeconds = flags.timeout === undefined ? undefined : parseTimeoutSeconds(flags.timeout);
      // Loaded on use: other commands do not pay for the runner.
      const { resolveBuildDir, loadBuildFolder, runImage, summaryLine, defaultHypervisor } = await import('../../run/index.ts');
      const buildDir = resolveBuildDir(buildArg);
      const { parseShare, parseShareTransport } = await import('../../run/devices.ts');
      const storage = {
        diskImage: flags.diskImage,
        extraDisks: flags.secondDiskImage,
        nvmeImage: flags.nvmeImage,
        nvmeQueues: flags.nvmeQueues === undefined ? undefined : parsePositiveInt('--nvme-queues', flags.nvmeQueues),
        shares: flags.share.map((s) => parseShare(s)),
        shareTransport: parseShareTransport(flags.shareTransport),
      };
      const { networkRequest } = await import('../../run/network.ts');
      const network = networkRequest(loadBuildFolder(buildDir).record, {
        forwards: flags.forward,
        api: flags.api === true,
        tap: flags.networking,
        vhost: flags.vhost === true,
        queues: flags.virtioNetQueues === undefined ? undefined : parsePositiveInt('--virtio-net-queues', flags.virtioNetQueues),
        none: flags.network === false,
      });
      const hypervisor: Hypervisor =
        flags.hypervisor === undefined ? defaultHypervisor(loadBuildFolder(buildDir), storage, network) : parseHypervisor(flags.hypervisor);

      if (flags.firecrackerBin !== undefined && hypervisor !== 'firecracker') {
        process.stderr.write(`tailor: --firecracker-bin has no effect with -p ${hypervisor} (it names the binary for -p firecracker)\n`);
      }

      // Ctrl-C stops QEMU (and waits for it) instead of killing tailor around it.
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      try {
        const result = await runImage(
          {
            buildDir,
            memoryMiB,
            cpus,
            execute: flags.execute,
            storage,
            network,
            userData: flags.userData,
            firecrackerBin: flags.firecrackerBin,
            hypervisor,
            accel,
            timeoutSeconds,
            dryRun: flags.dryRun === true,
            verbose: flags.verbose === true,
            interactive: process.stdin.isTTY === true,
          },
          { signal: abort.signal },
        );
        if (!flags.dryRun) process.stderr.write(`${summaryLine(result)}\n`);
        process.exitCode = result.exitCode;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}

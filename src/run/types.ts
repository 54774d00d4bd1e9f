import type { StorageRequest } from './devices.ts';
import type { NetworkRequest } from './network.ts';
export type Hypervisor = 'qemu' | 'qemu_microvm' | 'firecracker';
export type Accel = 'kvm' | 'tcg';

export interface RunOptions {
  readonly buildDir: string;
  readonly memoryMiB: number;
  readonly cpus: number;
  /** Replace the image's command line (OSv's -e). */
  readonly execute?: string;
  readonly hypervisor: Hypervisor;
  /** Forced accelerator; undefined = probe KVM, fall back to TCG. */
  readonly accel?: Accel;
  readonly timeoutSeconds?: number;
  readonly dryRun: boolean;
  readonly verbose: boolean;
  /** Pass the terminal's input to the guest console (tailor run does when stdin is a terminal). */
  readonly interactive?: boolean;
  /** Disks and host shares beyond the build's own (--disk-image, --second-disk-image, --nvme-image, --share). */
  readonly storage?: StorageRequest;
  /** Extra kernel words before ` -- ` (e.g. initcall_debug for `tailor bootchart`). */
  readonly kernelWords?: readonly string[];
  /** The network device (--forward, --api, -n, -v, --virtio-net-queues); undefined: none. */
  readonly network?: NetworkRequest;
  /** A #cloud-config file for the cloud-init module, passed as fw_cfg opt/tailor/user-data (--user-data). */
  readonly userData?: string;
  /** -p firecracker: the firecracker binary (default: `firecracker` on PATH). */
  readonly firecrackerBin?: string;
  /** Copy the guest console to this stream (default: process.stdout). */
  readonly console?: NodeJS.WritableStream;
}

export interface RunResult {
  /** The guest application's exit status (from the init's exit marker). */
  readonly exitCode: number;
  readonly accel: Accel;
  /** Guest CLOCK_BOOTTIME at application start, ms (from the init's marker). */
  readonly guestToAppMs?: number;
  /** Host wall time from QEMU spawn to the app-start marker, ms. */
  readonly hostToAppMs?: number;
  /** Host wall time from QEMU spawn to QEMU exit, ms. */
  readonly hostTotalMs: number;
  readonly memoryMiB: number;
  /** Everything the guest wrote to its console. */
  readonly console: string;
  readonly timedOut: boolean;
}

/**
 * The guest's network device on the QEMU command line. User-mode networking
 * (QEMU's slirp: no root, no host setup) is the default for an image that
 * needs the network; `--forward HOST:GUEST` opens TCP ports on 127.0.0.1
 * only. Tap (`-n`), vhost (`-v`) and multiqueue need a tap device that the
 * host administrator made: Tailor never creates or changes host interfaces,
 * it says how to when one is missing.
 */
import type { VirtioTransport } from './devices.ts';
import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';

export interface PortForward {
  readonly host: number;
  readonly guest: number;
}

export interface NetworkRequest {
  /** 'user' (slirp), 'tap' (-n), or 'none' (no network device even if the image needs one). */
  readonly mode: 'user' | 'tap' | 'none';
  /** user mode: TCP ports forwarded from 127.0.0.1:host to the guest. */
  readonly forwards?: readonly PortForward[];
  /** tap mode: the host tap device (default tap0). */
  readonly tapDevice?: string;
  /** tap mode: vhost-net in the host kernel (-v). */
  readonly vhost?: boolean;
  /** tap mode: virtio-net queue pairs (--virtio-net-queues). */
  readonly queues?: number;
}

/** The port OSv's REST API (httpserver modules) listens on; `--api` forwards it. */
export const apiPort = 8000;
export const defaultTapDevice = 'tap0';
/** A fixed MAC, so the guest sees the same interface every boot (QEMU's own default prefix). */
export const guestMac = '52:54:00:12:34:56';

function port(text: string, what: string, whole: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new UsageError(`--forward "${whole}": ${what} port "${text}" is not 1..65535`, 'e.g. --forward 8080:80');
  }
  return Number(text);
}

/** `HOST:GUEST`, or `PORT` for the same number on both sides (tcp). */
export function parseForward(text: string): PortForward {
  const t = text.trim().replace(/^tcp:/, '');
  const m = /^([^:]+)(?::([^:]+))?$/.exec(t);
  if (!m) throw new UsageError(`--forward "${text}" is not HOST:GUEST`, 'e.g. --forward 8080:80 (TCP, host port 8080 on 127.0.0.1 to guest port 80)');
  const host = port(m[1]!, 'host', text);
  return { host, guest: m[2] === undefined ? host : port(m[2], 'guest', text) };
}

/** Whether the build asked for networking (a module's `kernel: [net]`). Older builds without the field: no. */
export function imageNeedsNetwork(record: BuildRecord): boolean {
  return (record.kernelNeeds ?? []).some((n) => n === 'net' || n === 'virtio-net');
}

export interface NetworkFlags {
  readonly forwards?: readonly string[];
  readonly api?: boolean;
  /** -n: tap networking; a string names the tap device. */
  readonly tap?: boolean | string;
  readonly vhost?: boolean;
  readonly queues?: number;
  /** --no-network */
  readonly none?: boolean;
}

/**
 * What the run flags and the build ask for. Returns undefined when the VM
 * gets no network device (the image does not need one and no flag asks).
 */
export function networkRequest(record: BuildRecord, flags: NetworkFlags): NetworkRequest | undefined {
  const forwards = [...(flags.forwards ?? []).map(parseForward), ...(flags.api ? [{ host: apiPort, guest: apiPort }] : [])];
  const hosts = new Set<number>();
  for (const f of forwards) {
    if (hosts.has(f.host)) throw new UsageError(`host port ${f.host} is forwarded twice`, 'give each --forward its own host port');
    hosts.add(f.host);
  }
  const tap = flags.tap !== undefined && flags.tap !== false;
  if (flags.none) {
    if (forwards.length || tap) throw new UsageError('--no-network contradicts --forward/--api/-n', 'drop one of them');
    return { mode: 'none' };
  }
  if (flags.vhost && !tap) {
    throw new UsageError('-v (vhost) needs tap networking: user-mode networking runs in QEMU itself', 'add -n (tap; needs a tap device, see -n\'s help)');
  }
  if (flags.queues !== undefined && flags.queues > 1 && !tap) {
    throw new UsageError(
      `--virtio-net-queues ${flags.queues} needs tap networking: QEMU's user-mode network has a single queue`,
      'add -n with a tap device created with multi_queue (ip tuntap add dev tap0 mode tap multi_queue)',
    );
  }
  if (tap) {
    if (forwards.length) {
      throw new UsageError('--forward/--api work with user-mode networking only', 'with -n the guest is reached at its own address (--ip in the guest command line)');
    }
    return {
      mode: 'tap',
      tapDevice: typeof flags.tap === 'string' ? flags.tap : defaultTapDevice,
      vhost: flags.vhost === true,
      queues: flags.queues ?? 1,
    };
  }
  if (!imageNeedsNetwork(record) && forwards.length === 0) return undefined;
  return { mode: 'user', forwards };
}

/** IFF_MULTI_QUEUE in /sys/class/net/TAP/tun_flags. */
const iffMultiQueue = 0x0100;

/**
 * Host checks for tap networking, each failure with the command that fixes
 * it. Reads /sys and /dev only. `sysRoot` is for tests.
 */
export function checkTapHost(req: NetworkRequest, sysRoot = ''): void {
  if (req.mode !== 'tap') return;
  const dev = req.tapDevice ?? defaultTapDevice;
  const create = `ip tuntap add dev ${dev} mode tap${(req.queues ?? 1) > 1 ? ' multi_queue' : ''} user $(id -un) && ip link set ${dev} up`;
  if (!existsSync(`${sysRoot}/dev/net/tun`)) {
    throw new UsageError('-n: /dev/net/tun is missing, so QEMU cannot open a tap device', 'as root: modprobe tun');
  }
  const sys = `${sysRoot}/sys/class/net/${dev}`;
  if (!existsSync(sys)) {
    throw new UsageError(
      `-n: there is no tap device ${dev} on this host (Tailor does not create host interfaces)`,
      `as root: ${create}; then give it an address or add it to a bridge, and boot with --ip in the guest command line`,
    );
  }
  const flags = readText(`${sys}/tun_flags`);
  if (flags === undefined) {
    throw new UsageError(`-n: ${dev} is not a tap device (no ${sys}/tun_flags)`, `use a tap device: ${create}`);
  }
  const owner = readText(`${sys}/owner`);
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0 && owner !== undefined && owner !== '-1' && Number(owner) !== uid) {
    throw new UsageError(`-n: tap device ${dev} belongs to uid ${owner}, and QEMU runs as uid ${uid}`, `run as root, or re-create it: ${create}`);
  }
  if (uid !== 0 && (owner === undefined || owner === '-1')) {
    throw new UsageError(`-n: tap device ${dev} has no owner, so only root may open it`, `run as root, or re-create it: ${create}`);
  }
  if ((req.queues ?? 1) === 1 && (Number(flags) & iffMultiQueue) !== 0) {
    throw new UsageError(
      `-n: tap device ${dev} was created with multi_queue, and QEMU opens it that way only with several queues`,
      `give --virtio-net-queues 2 (or more), or re-create it without multi_queue: ip link delete ${dev}; ${create}`,
    );
  }
  if ((req.queues ?? 1) > 1 && (Number(flags) & iffMultiQueue) === 0) {
    throw new UsageError(
      `--virtio-net-queues ${req.queues}: tap device ${dev} was created without multi_queue`,
      `as root: ip link delete ${dev}; ${create}`,
    );
  }
  if (req.vhost && !existsSync(`${sysRoot}/dev/vhost-net`)) {
    throw new UsageError('-v: /dev/vhost-net is missing (the host kernel\'s vhost-net driver is not loaded)', 'as root: modprobe vhost_net');
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The QEMU arguments for the network device: a netdev and its virtio-net device on the machine's virtio transport. */
export function networkArgs(transport: VirtioTransport, req: NetworkRequest): string[] {
  if (req.mode === 'none') return [];
  const queues = req.mode === 'tap' ? req.queues ?? 1 : 1;
  let netdev: string;
  if (req.mode === 'user') {
    // 127.0.0.1 only: a forwarded guest port is not opened to the host's network
    const fwd = (req.forwards ?? []).map((f) => `,hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`).join('');
    netdev = `user,id=n0${fwd}`;
  } else {
    netdev = `tap,id=n0,ifname=${req.tapDevice ?? defaultTapDevice},script=no,downscript=no`;
    if (req.vhost) netdev += ',vhost=on';
    if (queues > 1) netdev += `,queues=${queues}`;
  }
  let device = transport === 'mmio' ? `virtio-net-device,netdev=n0,mac=${guestMac}` : `virtio-net-pci,netdev=n0,mac=${guestMac},romfile=`;
  // multiqueue: one MSI-X vector per queue (rx and tx) plus config and control
  if (queues > 1) device += `,mq=on${transport === 'pci' ? `,vectors=${2 * queues + 2}` : ''}`;
  return ['-netdev', netdev, '-device', device];
}

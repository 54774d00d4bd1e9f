/**
 * Needs that are useless without a device: `net` (TCP/IP) without a network
 * card, `block` (the block layer) without a disk controller. On a custom
 * kernel such a need brings the driver of the chosen drivers profile
 * (virtio-net on the virtio profiles, ENA on aws, vmxnet3 on vmware, netvsc
 * on hyperv, xen-netfront on xen; the matching disk drivers for `block`).
 * A configuration profile that switched the driver off (--profile=minimal:
 * conf_drivers_virtio_net=0, "no networking") yields to the need, and the
 * fragment says so; a driver the user switched off, or a drivers profile
 * without one, is an error naming the module and the fixes.
 */
import type { BuildConfig } from '../../config/types.ts';
import { describeSource, driverProfiles, fromConfigurationProfile, optionsByName } from '../../config/index.ts';
import type { DriverSwitch } from '../../config/schema.ts';
import { UsageError } from '../../errors.ts';

interface DeviceDriver {
  readonly sw: DriverSwitch;
  /** What the user knows it as. */
  readonly name: string;
  /** Kconfig beyond the switch's own mapping, for switches that cover several device kinds (hyperv, xen). */
  readonly extra?: Readonly<Record<string, string>>;
}

interface DeviceKind {
  /** The kernel feature (features.ts) that needs the device. */
  readonly need: string;
  readonly device: string;
  /** In order of preference when a configuration profile switched them all off. */
  readonly drivers: readonly DeviceDriver[];
}

export const deviceKinds: readonly DeviceKind[] = [
  {
    need: 'net',
    device: 'network',
    drivers: [
      { sw: 'virtio_net', name: 'virtio-net' },
      { sw: 'ena', name: 'ENA' },
      { sw: 'vmxnet3', name: 'vmxnet3' },
      { sw: 'hyperv', name: 'netvsc', extra: { NET: 'y', NETDEVICES: 'y', HYPERV_NET: 'y' } },
      { sw: 'xen', name: 'xen-netfront', extra: { NET: 'y', NETDEVICES: 'y', XEN_NETDEV_FRONTEND: 'y' } },
    ],
  },
  {
    need: 'block',
    device: 'disk',
    drivers: [
      { sw: 'virtio_blk', name: 'virtio-blk' },
      { sw: 'virtio_scsi', name: 'virtio-scsi' },
      { sw: 'nvme', name: 'NVMe' },
      { sw: 'ahci', name: 'AHCI' },
      { sw: 'ide', name: 'IDE' },
      { sw: 'pvscsi', name: 'PVSCSI' },
      { sw: 'hyperv', name: 'Hyper-V storage' },
      { sw: 'xen', name: 'xen-blkfront' },
    ],
  },
];

export interface DriverAddition {
  readonly kconfig: Readonly<Record<string, string>>;
  readonly reason: string;
}

const switchName = (sw: DriverSwitch) => `conf_drivers_${sw}`;

function switchSetting(config: BuildConfig, sw: DriverSwitch): string {
  const name = switchName(sw);
  const source = config.sources[name];
  return `${name}=${config.options[name] === true ? 1 : 0}${source ? ` (${describeSource(source)})` : ''}`;
}

/** The switch's own Kconfig (the schema's `kernel.whenOn`), the one mapping of each driver. */
function switchKconfig(sw: DriverSwitch): Readonly<Record<string, string>> {
  return optionsByName.get(switchName(sw))?.kernel?.whenOn ?? {};
}

/**
 * The device drivers the needs bring, each with its reason, or a UsageError.
 * `who(need)` names who asked ("module redis", "fs=rofs").
 */
export function driversForNeeds(config: BuildConfig, needs: readonly string[], who: (need: string) => string): DriverAddition[] {
  const out: DriverAddition[] = [];
  const profile = String(config.options.conf_drivers_profile);
  const inProfile = new Set<string>(driverProfiles[profile]?.on ?? []);
  for (const kind of deviceKinds) {
    if (!needs.includes(kind.need)) continue;
    const asker = `kernel feature ${kind.need} (needed by ${who(kind.need)})`;
    const on = kind.drivers.filter((d) => config.options[switchName(d.sw)] === true);
    if (on.length) {
      for (const d of on) {
        if (d.extra) out.push({ kconfig: d.extra, reason: `${asker} with ${switchSetting(config, d.sw)}: ${d.name}` });
      }
      continue;
    }
    const profileDrivers = kind.drivers.filter((d) => inProfile.has(d.sw));
    // Off by a configuration profile (built-in or the project's): the need wins, visibly.
    const yielding = profileDrivers.find((d) => fromConfigurationProfile(config.sources[switchName(d.sw)]));
    if (yielding) {
      out.push({
        kconfig: { ...switchKconfig(yielding.sw), ...yielding.extra },
        reason: `${asker}: ${yielding.name}, the ${kind.device} driver of conf_drivers_profile=${profile} (overrides ${switchSetting(config, yielding.sw)}, meant for images without ${kind.need})`,
      });
      continue;
    }
    const otherProfiles = Object.entries(driverProfiles)
      .filter(([, p]) => kind.drivers.some((d) => p.on.includes(d.sw)))
      .map(([name]) => name);
    const firstFix = profileDrivers.length
      ? `turn the ${kind.device} driver back on: ${profileDrivers.map((d) => `${switchName(d.sw)}=1`).join(' or ')}`
      : `turn a ${kind.device} driver on (${kind.drivers.slice(0, 3).map((d) => `${switchName(d.sw)}=1`).join(', ')}, ...) or choose a drivers profile that has one (conf_drivers_profile=${otherProfiles.join('|')})`;
    const why = profileDrivers.length
      ? profileDrivers.map((d) => switchSetting(config, d.sw)).join(' and ')
      : `conf_drivers_profile=${profile} has none`;
    const asked = who(kind.need);
    throw new UsageError(
      `${asked} needs kernel feature ${kind.need}, and the kernel would have no ${kind.device} driver: ${why}`,
      `${firstFix}${asked.startsWith('module') ? `; or build the image without ${asked}` : ''}`,
    );
  }
  return out;
}

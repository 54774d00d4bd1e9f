/**
 * The part of Firecracker's configuration file (`firecracker --no-api
 * --config-file FILE`) that Tailor writes, as typed interfaces and as a
 * schema a test checks generated configurations against. Field names, types,
 * required fields and bounds follow the API definition in Firecracker's
 * repository (src/firecracker/swagger/firecracker.yaml: FullVmConfiguration,
 * BootSource, Drive, MachineConfiguration, NetworkInterface). The config file
 * uses the same objects as the API, keyed by the API path ("boot-source",
 * "machine-config", ...).
 */

export interface FirecrackerBootSource {
  readonly kernel_image_path: string;
  readonly boot_args?: string;
  readonly initrd_path?: string;
}

export interface FirecrackerDrive {
  readonly drive_id: string;
  readonly is_root_device: boolean;
  readonly path_on_host?: string;
  readonly is_read_only?: boolean;
  readonly partuuid?: string;
  readonly cache_type?: 'Unsafe' | 'Writeback';
  readonly io_engine?: 'Sync' | 'Async';
}

export interface FirecrackerMachineConfig {
  readonly vcpu_count: number;
  readonly mem_size_mib: number;
  readonly smt?: boolean;
  readonly track_dirty_pages?: boolean;
  readonly huge_pages?: 'None' | 'Transparent' | '2M';
}

export interface FirecrackerNetworkInterface {
  readonly iface_id: string;
  readonly host_dev_name: string;
  readonly guest_mac?: string;
  readonly mtu?: number;
}

export interface FirecrackerConfig {
  readonly 'boot-source': FirecrackerBootSource;
  readonly drives: readonly FirecrackerDrive[];
  readonly 'machine-config': FirecrackerMachineConfig;
  readonly 'network-interfaces'?: readonly FirecrackerNetworkInterface[];
}

import { objectSchemaProblems, type ObjectSchema } from '../util/object-schema.ts';

/** Firecracker's vCPU limit (MachineConfiguration.vcpu_count maximum). */
export const firecrackerMaxVcpus = 32;

const bootSource: ObjectSchema = {
  kernel_image_path: { type: 'string', required: true },
  boot_args: { type: 'string' },
  initrd_path: { type: 'string' },
};

const drive: ObjectSchema = {
  drive_id: { type: 'string', required: true },
  is_root_device: { type: 'boolean', required: true },
  partuuid: { type: 'string' },
  cache_type: { type: 'string', enum: ['Unsafe', 'Writeback'] },
  // required for a virtio-block drive (the only kind Tailor writes)
  is_read_only: { type: 'boolean', required: true },
  path_on_host: { type: 'string', required: true },
  io_engine: { type: 'string', enum: ['Sync', 'Async'] },
};

const machineConfig: ObjectSchema = {
  vcpu_count: { type: 'integer', required: true, minimum: 1, maximum: firecrackerMaxVcpus },
  mem_size_mib: { type: 'integer', required: true },
  smt: { type: 'boolean' },
  track_dirty_pages: { type: 'boolean' },
  huge_pages: { type: 'string', enum: ['None', 'Transparent', '2M'] },
};

const networkInterface: ObjectSchema = {
  iface_id: { type: 'string', required: true },
  host_dev_name: { type: 'string', required: true },
  guest_mac: { type: 'string' },
  mtu: { type: 'integer', minimum: 68, maximum: 65535 },
};

/** The top level of the configuration file, as far as Tailor writes it. */
export const firecrackerConfigSchema: ObjectSchema = {
  'boot-source': { type: 'object', required: true, fields: bootSource },
  drives: { type: 'array', items: drive },
  'machine-config': { type: 'object', fields: machineConfig },
  'network-interfaces': { type: 'array', items: networkInterface },
};

/** Every way a configuration breaks Firecracker's schema, as `path: problem` lines; [] when it conforms. */
export function schemaProblems(value: unknown, schema: ObjectSchema = firecrackerConfigSchema): string[] {
  return objectSchemaProblems(value, schema);
}

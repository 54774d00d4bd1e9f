/**
 * The part of KubeVirt's VirtualMachine (apiVersion kubevirt.io/v1) that
 * Tailor writes, as typed interfaces and as a schema the tests check the
 * generated manifest against. Names, types and required fields follow
 * KubeVirt's OpenAPI definitions (api/openapi-spec/swagger.json in
 * kubevirt/kubevirt: v1.VirtualMachine, v1.VirtualMachineSpec,
 * v1.VirtualMachineInstanceSpec, v1.DomainSpec, v1.Firmware, v1.KernelBoot,
 * v1.KernelBootContainer, v1.Devices, v1.Disk, v1.DiskTarget, v1.Interface,
 * v1.Network, v1.Volume, v1.ContainerDiskSource, v1.CPU, v1.Memory,
 * v1.ResourceRequirements).
 */
import type { ObjectSchema } from '../util/object-schema.ts';

export interface KubevirtVirtualMachine {
  readonly apiVersion: 'kubevirt.io/v1';
  readonly kind: 'VirtualMachine';
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly spec: {
    readonly runStrategy: 'Always' | 'Halted' | 'Manual' | 'RerunOnFailure' | 'Once';
    readonly template: {
      readonly metadata?: { readonly labels?: Record<string, string> };
      readonly spec: {
        readonly domain: {
          readonly cpu?: { readonly cores?: number };
          readonly memory?: { readonly guest?: string };
          readonly resources?: { readonly requests?: Record<string, string> };
          readonly firmware?: {
            readonly kernelBoot?: {
              readonly container?: { readonly image: string; readonly kernelPath?: string; readonly initrdPath?: string; readonly imagePullPolicy?: string };
              readonly kernelArgs?: string;
            };
          };
          readonly devices: {
            readonly disks?: readonly { readonly name: string; readonly disk?: { readonly bus?: string } }[];
            readonly interfaces?: readonly { readonly name: string; readonly masquerade?: Record<string, never> }[];
            readonly autoattachPodInterface?: boolean;
            readonly autoattachSerialConsole?: boolean;
          };
        };
        readonly networks?: readonly { readonly name: string; readonly pod?: Record<string, never> }[];
        readonly volumes?: readonly { readonly name: string; readonly containerDisk?: { readonly image: string; readonly imagePullPolicy?: string } }[];
        readonly terminationGracePeriodSeconds?: number;
      };
    };
  };
}

const pullPolicy = { type: 'string', enum: ['Always', 'Never', 'IfNotPresent'] } as const;
const labels = { type: 'map' } as const;

export const kubevirtVirtualMachineSchema: ObjectSchema = {
  apiVersion: { type: 'string', required: true, enum: ['kubevirt.io/v1'] },
  kind: { type: 'string', required: true, enum: ['VirtualMachine'] },
  metadata: { type: 'object', required: true, fields: { name: { type: 'string', required: true }, labels, annotations: labels } },
  spec: {
    type: 'object',
    required: true,
    fields: {
      runStrategy: { type: 'string', enum: ['Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once'] },
      template: {
        type: 'object',
        required: true,
        fields: {
          metadata: { type: 'object', fields: { labels } },
          spec: {
            type: 'object',
            fields: {
              domain: {
                type: 'object',
                required: true,
                fields: {
                  cpu: { type: 'object', fields: { cores: { type: 'integer', minimum: 1 } } },
                  memory: { type: 'object', fields: { guest: { type: 'string' } } },
                  resources: { type: 'object', fields: { requests: { type: 'map' }, limits: { type: 'map' } } },
                  firmware: {
                    type: 'object',
                    fields: {
                      kernelBoot: {
                        type: 'object',
                        fields: {
                          container: {
                            type: 'object',
                            fields: {
                              image: { type: 'string', required: true },
                              kernelPath: { type: 'string' },
                              initrdPath: { type: 'string' },
                              imagePullPolicy: pullPolicy,
                            },
                          },
                          kernelArgs: { type: 'string' },
                        },
                      },
                    },
                  },
                  devices: {
                    type: 'object',
                    required: true,
                    fields: {
                      disks: { type: 'array', items: { name: { type: 'string', required: true }, disk: { type: 'object', fields: { bus: { type: 'string', enum: ['virtio', 'sata', 'scsi', 'usb'] } } } } },
                      interfaces: { type: 'array', items: { name: { type: 'string', required: true }, masquerade: { type: 'object', fields: {} } } },
                      autoattachPodInterface: { type: 'boolean' },
                      autoattachSerialConsole: { type: 'boolean' },
                    },
                  },
                },
              },
              networks: { type: 'array', items: { name: { type: 'string', required: true }, pod: { type: 'object', fields: {} } } },
              volumes: {
                type: 'array',
                items: {
                  name: { type: 'string', required: true },
                  containerDisk: { type: 'object', fields: { image: { type: 'string', required: true }, imagePullPolicy: pullPolicy } },
                },
              },
              terminationGracePeriodSeconds: { type: 'integer', minimum: 0 },
            },
          },
        },
      },
    },
  },
};

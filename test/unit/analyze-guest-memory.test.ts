// tailor size --memory (src/analyze/guest-memory.ts): the init's tailor:mem lines are parsed
// from a console transcript and the RAM is split into consumers that add up to -m.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGuestMemory, memoryConsumers, parseMemLines } from '../../src/analyze/guest-memory.ts';

const transcript = [
  'tailor:mem /proc/meminfo: MemTotal:          9000 kB',
  'tailor:mem /proc/meminfo: MemFree:           4000 kB',
  'tailor:mem /proc/meminfo: Buffers:              0 kB',
  'tailor:mem /proc/meminfo: Cached:            1500 kB',
  'tailor:mem /proc/meminfo: AnonPages:           40 kB',
  'tailor:mem /proc/meminfo: Slab:              1000 kB',
  'tailor:mem /proc/meminfo: KernelStack:         64 kB',
  'tailor:mem /proc/meminfo: PageTables:          16 kB',
  'tailor:mem /proc/meminfo: Percpu:              80 kB',
  'noise from the kernel\r',
  'tailor:mem /proc/iomem: 00000000-00000fff : Reserved',
  'tailor:mem /proc/iomem: 00001000-0009fbff : System RAM',
  'tailor:mem /proc/iomem: 0009fc00-0009ffff : Reserved',
  'tailor:mem /proc/iomem: 00100000-00ffffff : System RAM',
  'tailor:mem /proc/iomem:   00200000-004fffff : Kernel code',
  'tailor:mem /proc/iomem:   00500000-005fffff : Kernel rodata',
  'tailor:mem /proc/iomem:   00600000-006fffff : Kernel data',
  'tailor:mem /proc/iomem:   00700000-007fffff : Kernel bss',
  'tailor:mem end lines=17',
].join('\n');

test('tailor:mem lines become meminfo fields and nested iomem ranges', () => {
  const files = parseMemLines(transcript)!;
  assert.equal(files.meminfo.get('MemTotal'), 9000);
  assert.equal(files.iomem.length, 8);
  assert.equal(files.received, 17);
  assert.equal(files.sent, 17);
  assert.deepEqual(files.iomem[4], { depth: 1, start: 0x200000, end: 0x4fffff, name: 'Kernel code' });
  assert.equal(parseMemLines('no markers here\n'), undefined);
});

test('the consumers add up to the memory QEMU gave', () => {
  const { systemRamKiB, consumers } = memoryConsumers(parseMemLines(transcript)!, 16);
  assert.equal(systemRamKiB, (0x9fc00 - 0x1000) / 1024 + (0x1000000 - 0x100000) / 1024);
  const by = new Map(consumers.map((c) => [c.name.split(' (')[0]!, c.kib]));
  assert.equal(by.get('kernel image'), 6 * 1024);
  assert.equal(by.get('free'), 4000);
  const sum = consumers.reduce((n, c) => n + c.kib, 0);
  assert.equal(Math.round(sum), 16 * 1024);
  assert.match(formatGuestMemory({ build: 'b', memoryMiB: 16, accel: 'tcg', systemRamKiB, consumers, method: 'm' }), /kernel image \(code, rodata, data, bss\)\s+6\.00 MiB/);
});

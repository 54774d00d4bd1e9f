// Kernel words the image stage writes (src/image/boot-args.ts): the word that tells the
// init the image needs the network (docs/guest-protocol.md, "An image that needs the network").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelWords } from '../../src/image/boot-args.ts';

test('tailor.net=1 only for an image that needs the network, once, beside the root and PCI words', () => {
  const withNet = kernelWords('ramfs', { pci: false, net: true });
  assert.equal(withNet.filter((w) => w === 'tailor.net=1').length, 1);
  assert.ok(withNet.includes('rdinit=/init') && withNet.includes('pci=off'));
  assert.ok(!kernelWords('ramfs', { pci: true }).some((w) => w.startsWith('tailor.net')));
  assert.ok(kernelWords('rofs', { pci: true, net: true, stubInitrd: true }).includes('tailor.net=1'));
});

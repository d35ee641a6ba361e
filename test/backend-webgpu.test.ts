// The WebGPU backend's own properties: buffer reuse, the order of writes against recorded
// kernels, submissions that wrap the uniform and ids arenas, grids wider than WebGPU's 65535
// workgroups, and clear errors (too large a buffer, a destroyed device, bad ids). Kernel
// values are checked in kernels.test.ts, whole models in parity.test.ts, both on this backend.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkBackend } from '../src/backend/backend.js';
import { groupPositions, isSoftwareAdapter, describeAdapter } from '../src/backend/webgpu/index.js';
import { loadWebGpuBackend } from '../src/backend/webgpu/node-webgpu.js';
import { sizeClass } from '../src/backend/webgpu/pool.js';
import type { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import { DeviceError } from '../src/errors.js';
import { GPT } from '../src/models/gpt.js';
import { AdamW } from '../src/optim/adamw.js';
import { IntTensor } from '../src/tensor/tensor.js';
import { trainStep } from '../src/train/trainer.js';
import { webgpuUnderTest } from './helpers.js';

const shared = await webgpuUnderTest();
const gpu = typeof shared === 'string' ? null : (shared as WebGpuBackend);
const skip = gpu ? false : (shared as string);

function upload(be: WebGpuBackend, values: ArrayLike<number>): GPUBuffer {
  const b = be.alloc(values.length, false);
  be.write(b, Float32Array.from(values));
  return b;
}

describe('host-side helpers (no adapter needed)', () => {
  test('groupPositions lists each id once with its positions in ascending order', () => {
    const csr = groupPositions(Int32Array.from([3, 1, 3, 0, 1, 3]));
    // unique ids [0, 1, 3]; starts [0, 1, 3, 6]; positions of 0, then of 1, then of 3
    assert.deepEqual([...csr], [0, 1, 3, 0, 1, 3, 6, 3, 1, 4, 0, 2, 5]);
    assert.deepEqual([...groupPositions(new Int32Array(0))], [0]);
  });

  test('size classes: at least what was asked, at most a quarter of a power of two more', () => {
    for (const bytes of [1, 256, 257, 1000, 4096, 4097, 1 << 20, (1 << 20) + 4, 123456789]) {
      const c = sizeClass(bytes);
      assert.ok(c >= bytes && c % 4 === 0, `${bytes} -> ${c}`);
      assert.ok(c <= Math.max(256, bytes * 1.25), `${bytes} -> ${c} wastes too much`);
    }
  });

  test('software adapters are told apart from GPUs by what they report', () => {
    const info = (vendor: string, architecture: string, description = '') => ({ vendor, architecture, device: '', description }) as GPUAdapterInfo;
    assert.equal(isSoftwareAdapter(info('google', 'swiftshader')), true);
    assert.equal(isSoftwareAdapter(info('mesa', '', 'llvmpipe (LLVM 15.0.6, 256 bits)')), true);
    assert.equal(isSoftwareAdapter(info('nvidia', 'hopper', 'NVIDIA H100')), false);
    assert.equal(isSoftwareAdapter(info('nvidia', 'hopper'), true), true, 'a fallback adapter is software');
    assert.equal(describeAdapter(info('nvidia', 'hopper', 'NVIDIA H100')), 'nvidia hopper (NVIDIA H100)');
  });
});

describe('the WebGPU backend', { skip }, () => {
  const be = gpu!;

  test('passes the kernel-list check and has no synchronous read', () => {
    checkBackend(be);
    assert.equal((be as { readSync?: unknown }).readSync, undefined);
  });

  test('freed buffers are reused, and zeroed when asked', async () => {
    const a = upload(be, [1, 2, 3, 4, 5]);
    be.free(a);
    const b = be.alloc(5);
    assert.equal(b, a, 'the freed buffer of the same size class comes back');
    assert.deepEqual([...(await be.read(b, 5))], [0, 0, 0, 0, 0]);
    be.free(b);
    assert.throws(() => be.free(b), /not a live buffer/);
  });

  test('a write lands after the kernels recorded before it, and before those after it', async () => {
    const dst = upload(be, [1, 1, 1]), src = upload(be, [10, 20, 30]);
    be.axpy(dst, src, 1, 3); // reads src = [10, 20, 30]
    be.write(src, Float32Array.of(100, 200, 300));
    be.axpy(dst, src, 1, 3); // reads the new values
    assert.deepEqual([...(await be.read(dst, 3))], [111, 221, 331]);
    be.free(dst);
    be.free(src);
  });

  test('many dispatches and many ids in one submission wrap the arenas correctly', async () => {
    const n = 1000, table = upload(be, Array.from({ length: 4 * 3 }, (_, i) => i));
    const acc = be.alloc(n), out = be.alloc(70000 * 3), before = be.stats.submissions;
    for (let i = 0; i < 600; i++) be.axpy(acc, table, 1, 2); // 600 params slots: more than one arena
    const ids = Int32Array.from({ length: 70000 }, (_, i) => i % 4);
    for (let r = 0; r < 5; r++) be.embedding(out, table, ids, 70000, 3); // 5 x 280 kB of ids: more than one arena
    assert.deepEqual([...(await be.read(acc, 3))], [0, 600, 0]);
    const got = await be.read(out, 70000 * 3);
    for (const i of [0, 1, 2, 3, 69999]) assert.deepEqual([...got.subarray(i * 3, i * 3 + 3)], [0, 1, 2].map((c) => (i % 4) * 3 + c));
    assert.ok(be.stats.submissions - before >= 2, 'the stream submitted when an arena filled');
    // 1.2 MB of ids in one call: the arena grows
    const many = Int32Array.from({ length: 300000 }, (_, i) => (i * 7) % 4), out1 = be.alloc(300000);
    be.embedding(out1, table, many, 300000, 1);
    const got1 = await be.read(out1, 300000);
    for (const i of [0, 1, 150001, 299999]) assert.equal(got1[i], many[i], `row ${i}`);
    for (const b of [table, acc, out, out1]) be.free(b);
  });

  test('elementwise grids wider than 65535 workgroups fold into y', async () => {
    const n = 65535 * 256 + 300;
    const x = be.alloc(n, false);
    be.fill(x, 1.5, n);
    be.scale(x, x, 2, n); // in place: WebGPU cannot bind one buffer twice, the input is copied
    const got = await be.read(x, n);
    for (const i of [0, 65535 * 256 - 1, 65535 * 256, n - 1]) assert.equal(got[i], 3, `element ${i}`);
    be.free(x);
  });

  test('buffers larger than the device allows fail at once, naming the device and the size', () => {
    const limit = Math.min(be.device.limits.maxStorageBufferBindingSize, be.device.limits.maxBufferSize);
    const n = limit / 4 + 1;
    assert.throws(() => be.alloc(n), (e: unknown) => e instanceof DeviceError && /webgpu .*a buffer of \d+ floats \(.* MiB\) is larger than this device allows/.test(e.message));
    const ok = be.alloc(4); // the backend goes on working
    be.free(ok);
  });

  test('ids outside the table and bad targets are errors naming them', () => {
    const table = be.alloc(6), out = be.alloc(6);
    assert.throws(() => be.embedding(out, table, Int32Array.of(0, 3), 2, 3), /id 3 at position 1 is outside the table's 2 rows/);
    assert.throws(() => be.crossEntropy(out, table, table, Int32Array.of(5), 1, 3), /target 5 at position 0 is not -1 or a class below 3/);
    be.free(table);
    be.free(out);
  });

  test('training steps reuse buffers: none are created after the first step', async () => {
    const model = new GPT({ vocab_size: 11, block_size: 8, n_layer: 1, n_head: 2, n_embd: 8, bias: true, dropout: 0.1 }, { seed: 3, backend: be });
    const opt = new AdamW(model.namedParameters(), { lr: 1e-3 });
    const x = new IntTensor(Int32Array.from({ length: 16 }, (_, i) => i % 11), [2, 8]);
    const y = new IntTensor(Int32Array.from({ length: 16 }, (_, i) => (i * 3) % 11), [2, 8]);
    const losses: number[] = [];
    let created = 0;
    for (let s = 0; s < 4; s++) {
      losses.push(await trainStep(model, opt, { current: { x, y }, next: () => ({ x, y }) }, { gradClip: 1 }));
      if (s === 1) created = be.stats.buffersCreated;
    }
    assert.ok(losses.every(Number.isFinite), `finite losses ${losses}`);
    assert.equal(be.stats.buffersCreated, created, 'steps 3 and 4 created no GPU buffer');
  });

  test('a destroyed device makes every later call a DeviceError', async () => {
    const own = await loadWebGpuBackend();
    assert.ok(typeof own !== 'string', String(own));
    const b = own.backend;
    const x = upload(b, [1, 2]);
    b.device.destroy();
    await b.device.lost;
    await assert.rejects(b.read(x, 2), (e: unknown) => e instanceof DeviceError && /webgpu .*destroyed/.test(e.message));
    assert.throws(() => b.alloc(3), DeviceError);
  });
});

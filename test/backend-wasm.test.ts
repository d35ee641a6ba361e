// The WebAssembly backend's own properties: results that do not depend on the thread count,
// memory that stays flat over many steps, foreign buffers, the unshared (browser) build, and a
// kernel module that is current with its sources. Kernel values are checked in kernels.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import type { CpuBackend } from '../src/backend/cpu.js';
import { Worker } from 'node:worker_threads';
import { createThreadedWasmBackend, createWasmBackend } from '../src/backend/wasm/create.js';
import { kernelsUrl, loadWasmBackend } from '../src/backend/wasm/node-wasm.js';
import type { WasmBackend } from '../src/backend/wasm/wasm-backend.js';
import { GPT } from '../src/models/gpt.js';
import { AdamW } from '../src/optim/adamw.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { IntTensor } from '../src/tensor/tensor.js';
import { trainStep } from '../src/train/trainer.js';
import { repoRoot } from './helpers.js';

let wasm1: WasmBackend | null = null, wasm3: WasmBackend | null = null;
let why = '';
try {
  wasm1 = await loadWasmBackend({ threads: 1 });
  wasm3 = await loadWasmBackend({ threads: 3 });
} catch (e) {
  why = `the wasm backend does not load here: ${(e as Error).message}`;
}
const skip = wasm1 && wasm3 ? false : why;

function filled(be: CpuBackend, n: number, rng: XoshiroRng): Float32Array {
  const b = be.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.random() * 2 - 1;
  return b;
}

/** Runs the same kernels on a backend from the same seed; returns every output. */
function kernelOutputs(be: CpuBackend): Float32Array[] {
  const rng = new XoshiroRng(5);
  const [M, N, K] = [130, 67, 301];
  const a = filled(be, M * K, rng), b = filled(be, K * N, rng), c = be.alloc(M * N), c2 = be.alloc(N * K);
  be.matmul(c, a, b, M, N, K, false, false, false);
  be.matmul(c2, c, a, N, K, M, true, false, true);
  const [B, T, C, H] = [5, 29, 48, 4];
  const qkv = filled(be, B * T * 3 * C, rng), out = be.alloc(B * T * C), att = be.alloc(B * H * T * T);
  be.attention(out, att, qkv, null, B, T, C, H);
  const dqkv = be.alloc(B * T * 3 * C), dout = filled(be, B * T * C, rng);
  be.attentionBackward(dqkv, dout, out, qkv, att, null, B, T, C, H);
  const n = 50001, x = filled(be, n, rng), g = be.alloc(n), dx = be.alloc(n);
  be.gelu(g, x, n, false);
  be.geluBackward(dx, x, x, n, false);
  const ln = be.alloc(B * T * C), mean = be.alloc(B * T), rstd = be.alloc(B * T), w = filled(be, C, rng);
  be.layerNorm(ln, mean, rstd, out, w, null, B * T, C, 1e-5);
  return [c, c2, out, att, dqkv, g, dx, ln].map((v) => Float32Array.from(v));
}

async function trainLosses(be: CpuBackend, steps: number, onStep?: (i: number) => void): Promise<number[]> {
  const model = new GPT({ block_size: 16, vocab_size: 11, n_layer: 2, n_head: 2, n_embd: 24, dropout: 0.1, bias: true }, { seed: 3, backend: be });
  const opt = new AdamW(model.namedParameters(), { lr: 1e-2 });
  const rng = new XoshiroRng(9);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const ids = () => new IntTensor(Int32Array.from({ length: 4 * 16 }, () => rng.int(11)), [4, 16]);
    losses.push(await trainStep(model, opt, { current: { x: ids(), y: ids() }, next: () => ({ x: ids(), y: ids() }) }, { gradClip: 1 }));
    onStep?.(i);
  }
  return losses;
}

describe('wasm backend', { skip }, () => {
  test('kernel results are bit-identical on 1 and 3 threads', () => {
    const one = kernelOutputs(wasm1!), three = kernelOutputs(wasm3!);
    one.forEach((v, i) => assert.deepEqual(three[i], v, `output ${i} differs between thread counts`));
  });

  test('training losses are the same on 1 and 3 threads, and run to run', async () => {
    const a = await trainLosses(wasm1!, 5), b = await trainLosses(wasm3!, 5), c = await trainLosses(wasm3!, 5);
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
  });

  test('memory stays flat over training steps (freed blocks are reused)', async () => {
    const sizes: number[] = [];
    await trainLosses(wasm3!, 40, (i) => {
      if (i >= 4) sizes.push(wasm3!.heap.usedBytes);
    });
    assert.equal(Math.max(...sizes), sizes[0], `heap grew from ${sizes[0]} to ${Math.max(...sizes)} bytes`);
  });

  test('alloc is zero-filled after reuse; foreign arrays are not freed', () => {
    const be = wasm1!;
    const a = be.alloc(1000);
    a.fill(7);
    be.free(a);
    const b = be.alloc(1000);
    assert.ok(b.every((v) => v === 0));
    be.free(new Float32Array(1000)); // not ours: ignored
    be.free(b.subarray(10)); // a view into ours, not a block: ignored
    const c = be.alloc(1000);
    assert.notEqual(c.byteOffset, b.byteOffset, 'the live block was not handed out again');
    be.free(b);
    be.free(c);
  });

  test('kernels take plain Float32Arrays too (copied in, results copied back)', () => {
    const rng = new XoshiroRng(2);
    const [M, N, K] = [9, 13, 17];
    const a = Float32Array.from({ length: M * K }, () => rng.random()), b = Float32Array.from({ length: K * N }, () => rng.random());
    const plain = new Float32Array(M * N).fill(1);
    wasm3!.matmul(plain, a, b, M, N, K, false, false, true);
    const va = wasm3!.alloc(M * K), vb = wasm3!.alloc(K * N), vc = wasm3!.alloc(M * N);
    va.set(a); vb.set(b); vc.fill(1);
    wasm3!.matmul(vc, va, vb, M, N, K, false, false, true);
    assert.deepEqual(plain, Float32Array.from(vc));
  });

  test('the unshared build (a browser page without cross-origin isolation) gives the same results', async () => {
    const single = await createWasmBackend(readFileSync(kernelsUrl), { shared: false, pages: 512 });
    assert.ok(!(single.memory.buffer instanceof SharedArrayBuffer));
    const one = kernelOutputs(wasm1!), unshared = kernelOutputs(single);
    one.forEach((v, i) => assert.deepEqual(unshared[i], v, `output ${i} differs`));
    assert.throws(() => single.alloc(64 * 2 ** 20), /out of memory/);
  });

  test('the Web Worker entry runs the same kernels (browser threads, here on worker_threads)', async () => {
    const workers = [0, 1].map(() => {
      const w = new Worker(new URL('./web-worker-shim.js', import.meta.url));
      return {
        postMessage: (m: unknown) => w.postMessage(m),
        addEventListener: (_t: 'message', fn: (e: { data: unknown }) => void) => w.once('message', (data) => fn({ data })),
        terminate: () => void w.terminate(),
      };
    });
    const threaded = await createThreadedWasmBackend(readFileSync(kernelsUrl), workers, { canWait: false });
    try {
      const one = kernelOutputs(wasm1!), three = kernelOutputs(threaded);
      one.forEach((v, i) => assert.deepEqual(three[i], v, `output ${i} differs`));
    } finally {
      threaded.dispose();
    }
  });

  test('the built kernel module is current with wasm/assembly (npm run build rebuilds it)', async () => {
    const { sourceHash } = await import(pathToFileURL(join(repoRoot, 'scripts', 'build-wasm.mjs')).href);
    const stamp = readFileSync(new URL('./kernels.hash', kernelsUrl), 'utf8');
    assert.equal(stamp, sourceHash(), 'dist/src/backend/wasm/kernels.wasm is stale: run npm run build');
  });
});

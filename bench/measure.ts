// The measurements of one backend for bench.ts (run in a child process per backend).
import type { Backend } from '../src/backend/backend.js';
import type { CpuBackend } from '../src/backend/cpu.js';
import { generateTokens } from '../src/models/generate.js';
import { GPT } from '../src/models/gpt.js';
import { loadBackend } from '../src/node/backends.js';
import { AdamW } from '../src/optim/adamw.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { TorchGenerator } from '../src/tensor/torch-generator.js';
import { IntTensor } from '../src/tensor/tensor.js';
import { trainStep } from '../src/train/trainer.js';

/** PyTorch's time for this step on this 2-core machine, as stated in issue 3 (PyTorch is not installed here). */
/** The figure the issues stated for PyTorch on this machine: the fallback when torch is not installed. */
export const PYTORCH_MS_PER_ITER = 38;

export const shakespeareCharCpu = { block_size: 64, vocab_size: 65, n_layer: 4, n_head: 4, n_embd: 128, dropout: 0, bias: false };
const BATCH = 12;

export interface MatmulResult { name: string; M: number; N: number; K: number; transA: boolean; transB: boolean; gflops: number }

export interface BackendResult {
  backend: string;
  error?: string;
  threads: number;
  msPerIter: number;
  msPerIterMin: number;
  iters: number;
  /** The losses of the timed steps (same seed, same losses, run to run). */
  losses: number[];
  matmul: MatmulResult[];
  /** All the shapes' flops over all their time. */
  matmulGflops: number;
  sampling: {
    tokens: number; tokensPerSec: number; cachedTokensPerSec: number;
    longContext: { blockSize: number; tokensPerSec: number; cachedTokensPerSec: number };
  };
  peakRssMB: number;
  wasmHeapMB?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs fn until `budgetMs` has passed (at least `min`, at most `max` times); the time of each run. */
async function timeRuns(fn: () => void | Promise<void>, budgetMs: number, min: number, max: number): Promise<number[]> {
  const times: number[] = [];
  const start = performance.now();
  while (times.length < max && (times.length < min || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

/** The matmuls of one training step of the model: forward x @ W^T, then dx = g @ W and dW = g^T @ x. */
function matmulShapes(): Omit<MatmulResult, 'gflops'>[] {
  const M = BATCH * shakespeareCharCpu.block_size, C = shakespeareCharCpu.n_embd, V = shakespeareCharCpu.vocab_size;
  const layers: [string, number, number][] = [['c_attn', C, 3 * C], ['attn.c_proj', C, C], ['c_fc', C, 4 * C], ['mlp.c_proj', 4 * C, C], ['lm_head', C, V]];
  const out: Omit<MatmulResult, 'gflops'>[] = [];
  for (const [layer, inF, outF] of layers) {
    out.push({ name: `${layer} fwd ${M}x${outF}x${inF} (B^T)`, M, N: outF, K: inF, transA: false, transB: true });
    out.push({ name: `${layer} dx ${M}x${inF}x${outF}`, M, N: inF, K: outF, transA: false, transB: false });
    out.push({ name: `${layer} dW ${outF}x${inF}x${M} (A^T)`, M: outF, N: inF, K: M, transA: true, transB: false });
  }
  return out;
}

/** Matmul throughput on a CPU backend (buffers filled in place). */
async function benchMatmul(be: CpuBackend, slow: boolean): Promise<{ shapes: MatmulResult[]; total: number }> {
  const rng = new XoshiroRng(7);
  let flops = 0, ms = 0;
  const shapes: MatmulResult[] = [];
  for (const s of matmulShapes()) {
    const a = be.alloc(s.M * s.K), b = be.alloc(s.K * s.N), c = be.alloc(s.M * s.N);
    for (let i = 0; i < a.length; i++) a[i] = rng.random() - 0.5;
    for (let i = 0; i < b.length; i++) b[i] = rng.random() - 0.5;
    const run = () => be.matmul(c, a, b, s.M, s.N, s.K, s.transA, s.transB, false);
    run();
    const times = await timeRuns(run, slow ? 200 : 150, 3, 2000);
    const t = median(times);
    be.free(a); be.free(b); be.free(c);
    flops += 2 * s.M * s.N * s.K;
    ms += t;
    shapes.push({ ...s, gflops: (2 * s.M * s.N * s.K) / (t * 1e6) });
  }
  return { shapes, total: flops / (ms * 1e6) };
}

function randomBatch(rng: XoshiroRng): { x: IntTensor; y: IntTensor } {
  const T = shakespeareCharCpu.block_size, V = shakespeareCharCpu.vocab_size;
  const x = new Int32Array(BATCH * T), y = new Int32Array(BATCH * T);
  for (let i = 0; i < x.length; i++) {
    x[i] = rng.int(V);
    y[i] = rng.int(V);
  }
  return { x: new IntTensor(x, [BATCH, T]), y: new IntTensor(y, [BATCH, T]) };
}

async function benchTraining(be: Backend, slow: boolean, quick: boolean): Promise<{ times: number[]; losses: number[] }> {
  const model = new GPT(shakespeareCharCpu, { seed: 1337, backend: be });
  const opt = new AdamW(model.namedParameters(), { lr: 1e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
  const rng = new XoshiroRng(1);
  const losses: number[] = [];
  const batches = { current: randomBatch(rng), next: () => randomBatch(rng) };
  const step = async () => {
    losses.push(await trainStep(model, opt, batches, { gradClip: 1 }));
  };
  for (let i = 0; i < (slow ? 1 : 5); i++) await step();
  losses.length = 0;
  const times = await timeRuns(step, slow ? 4000 : quick ? 1000 : 4000, slow ? 2 : 10, slow ? 5 : 200);
  return { times, losses };
}

/** Tokens/s generating `tokens` tokens at batch 1 from a one-token prompt, with or without the KV cache. */
async function samplingRate(model: GPT, tokens: number, useCache: boolean): Promise<number> {
  const idx = new IntTensor(Int32Array.of(0), [1, 1]);
  const t0 = performance.now();
  let n = 0;
  for await (const _ of generateTokens(model, idx, tokens, { useCache }, new TorchGenerator(42))) n++;
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Sampling at batch 1 on the recipe (block 64: past 64 tokens every position shifts each step,
 * so the cache can only help the first 64) and on the same model with block_size 1024, where
 * all the tokens fit in the context and the cache serves every step.
 */
async function benchSampling(be: Backend, slow: boolean, quick: boolean): Promise<BackendResult['sampling']> {
  const tokens = slow ? 70 : quick ? 150 : 500;
  const model = new GPT(shakespeareCharCpu, { seed: 1337, backend: be });
  await samplingRate(model, tokens, false);
  const long = new GPT({ ...shakespeareCharCpu, block_size: 1024 }, { seed: 1337, backend: be });
  return {
    tokens,
    tokensPerSec: await samplingRate(model, tokens, false),
    cachedTokensPerSec: await samplingRate(model, tokens, true),
    longContext: { blockSize: 1024, tokensPerSec: await samplingRate(long, tokens, false), cachedTokensPerSec: await samplingRate(long, tokens, true) },
  };
}

export async function measureBackend(name: string, quick: boolean): Promise<BackendResult> {
  const be = await loadBackend(name);
  const slow = name === 'reference';
  const threads = (be as { threads?: number }).threads ?? 1;
  const { times, losses } = await benchTraining(be, slow, quick);
  const mm = await benchMatmul(be as CpuBackend, slow);
  const sampling = await benchSampling(be, slow, quick);
  const heap = (be as { heap?: { peakBytes: number } }).heap;
  return {
    backend: name,
    threads,
    msPerIter: median(times),
    msPerIterMin: Math.min(...times),
    iters: times.length,
    losses,
    matmul: mm.shapes,
    matmulGflops: mm.total,
    sampling,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    ...(heap ? { wasmHeapMB: heap.peakBytes / 2 ** 20 } : {}),
  };
}

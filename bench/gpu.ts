/**
 * `npm run bench:gpu`: nanoGPT's shakespeare_char GPU recipe (6 layers, 6 heads, 384 wide, block
 * 256, batch 64, dropout 0.2, AdamW, clipping at 1) training on WebGPU: ms per iteration, tokens/s
 * and MFU (nanoGPT's flops estimate over the GPU's peak), with PyTorch's same step on the same GPU
 * side by side when a python3 there has torch with CUDA (bench/pytorch_train.py, eager, attention
 * through scaled_dot_product_attention as nanoGPT uses it): in float32, the precision yorick
 * computes in, and in bfloat16 autocast with TF32, as nanoGPT's train.py runs by default.
 *
 *   node dist/bench/gpu.js [--device webgpu] [--iters 60] [--sync-every 10] [--peak-tflops 67]
 *                          [--shrink] [--no-torch] [--json FILE]
 *
 * Batches are random tokens made on the host (as a real run's are); the loss is read once every
 * --sync-every steps, as `yorick train` logs it every log_interval (10 in this recipe), and each
 * block of steps is timed from its first dispatch to that read. --shrink: 2 layers, 64 wide,
 * block 64, batch 4, a smoke run for a software adapter (SwiftShader times are not speeds).
 * --peak-tflops: the GPU's dense float32 peak (the kernels are float32 and use no tensor cores;
 * an H100 or H200 SXM is about 67). Not a test: nothing is asserted.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GPT } from '../src/models/gpt.js';
import { describeBackend, loadBackend } from '../src/node/backends.js';
import { AdamW } from '../src/optim/adamw.js';
import { IntTensor } from '../src/tensor/tensor.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { trainStepUnread } from '../src/train/trainer.js';
import { trainingFlopsPerIter } from './flops.js';
import { runTorchScript } from './pytorch.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const shrink = process.argv.includes('--shrink');
const recipe = shrink
  ? { vocab_size: 65, block_size: 64, n_layer: 2, n_head: 4, n_embd: 64, dropout: 0.2, bias: false, batch: 4 }
  : { vocab_size: 65, block_size: 256, n_layer: 6, n_head: 6, n_embd: 384, dropout: 0.2, bias: false, batch: 64 };
const device = arg('--device') ?? 'webgpu';
const iters = Number(arg('--iters') ?? (shrink ? 20 : 60));
const syncEvery = Number(arg('--sync-every') ?? 10);
const peakTflops = Number(arg('--peak-tflops') ?? 0);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function randomBatch(rng: XoshiroRng): { x: IntTensor; y: IntTensor } {
  const n = recipe.batch * recipe.block_size;
  const x = new Int32Array(n), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = rng.int(recipe.vocab_size);
    y[i] = rng.int(recipe.vocab_size);
  }
  return { x: new IntTensor(x, [recipe.batch, recipe.block_size]), y: new IntTensor(y, [recipe.batch, recipe.block_size]) };
}

async function yorickRun(): Promise<{ backend: string; msPerIter: number; msPerIterMin: number; iters: number; losses: number[] }> {
  const backend = await loadBackend(device);
  const model = new GPT(recipe, { seed: 1337, backend });
  model.train();
  const opt = new AdamW(model.namedParameters(), { lr: 1e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
  const rng = new XoshiroRng(1);
  // one block: syncEvery steps recorded back to back, then the last loss read
  const batches = { current: randomBatch(rng), next: () => randomBatch(rng) };
  const block = async (): Promise<number> => {
    let loss = null;
    for (let s = 0; s < syncEvery; s++) {
      loss?.dispose();
      loss = trainStepUnread(model, opt, batches, { gradClip: 1 });
    }
    const value = await loss!.itemAsync();
    loss!.dispose();
    return value;
  };
  await block(); // warm-up: pipelines compiled, buffer pool filled
  const times: number[] = [], losses: number[] = [];
  for (let done = 0; done < iters; done += syncEvery) {
    const t0 = performance.now();
    losses.push(await block());
    times.push((performance.now() - t0) / syncEvery);
  }
  return { backend: describeBackend(backend), msPerIter: median(times), msPerIterMin: Math.min(...times), iters: times.length * syncEvery, losses };
}

async function main(): Promise<void> {
  const flops = trainingFlopsPerIter(recipe, recipe.batch);
  const tokens = recipe.batch * recipe.block_size;
  const ours = await yorickRun();
  type TorchResult = { torch: string; device: string; flash: boolean; dtype: string; msPerIter: number; msPerIterMin: number };
  const torchRuns: (TorchResult | { error: string })[] = process.argv.includes('--no-torch') || shrink
    ? [{ error: shrink ? 'not run with --shrink' : 'not asked (--no-torch)' }]
    : ['float32', 'bfloat16'].map((dtype) => runTorchScript<TorchResult>(
      fileURLToPath(new URL('../../bench/pytorch_train.py', import.meta.url)),
      ['--recipe', 'shakespeare_char', '--device', 'cuda', '--sync-every', String(syncEvery), '--seconds', '20', '--dtype', dtype]));
  const row = (name: string, ms: number) => {
    const tflops = flops / (ms / 1000) / 1e12;
    return `${name.padEnd(28)}${ms.toFixed(1).padStart(10)}${Math.round(tokens / (ms / 1000)).toLocaleString('en-US').padStart(12)}` +
      `${tflops.toFixed(2).padStart(9)}${(peakTflops ? `${((100 * tflops) / peakTflops).toFixed(1)}%` : '-').padStart(8)}`;
  };
  console.log(`\n${shrink ? 'shrunk recipe (2 layers, 64 wide, block 64, batch 4)' : 'shakespeare_char (6 layers, 384 wide, block 256, batch 64, dropout 0.2)'}: ` +
    `${(flops / 1e9).toFixed(1)} GFLOP an iteration (nanoGPT's estimate), loss read every ${syncEvery} steps`);
  console.log(`${'run'.padEnd(28)}${'ms/iter'.padStart(10)}${'tokens/s'.padStart(12)}${'TFLOP/s'.padStart(9)}${'MFU'.padStart(8)}`);
  console.log(row(`yorick ${device}`, ours.msPerIter));
  for (const torch of torchRuns) {
    if ('error' in torch) console.log(`${'PyTorch'.padEnd(28)}  ${torch.error}`);
    else console.log(row(`PyTorch ${torch.torch.split('+')[0]} ${torch.dtype}${torch.flash ? ' sdpa' : ''}`, torch.msPerIter));
  }
  console.log(`adapter: ${ours.backend}; losses ${ours.losses.map((l) => l.toFixed(3)).join(' ')}`);
  const json = JSON.stringify({ recipe, flopsPerIter: flops, tokensPerIter: tokens, peakTflops: peakTflops || null, yorick: ours, torch: torchRuns });
  const file = arg('--json');
  if (file) writeFileSync(file, json + '\n');
  else console.log(json);
}

await main();

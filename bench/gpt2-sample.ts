// GPT-2 124M on the CPU: random weights of GPT-2's exact shapes written as Hugging Face's files
// (model.safetensors + config.json), loaded through yorick's loader, and sampled at batch 1
// (new tokens from a prompt, top_k 200, with the KV cache) on each backend, each in a process
// of its own (its load time and peak memory are its own). PyTorch samples the same weights
// with the same prompt and threads in the same run (bench/gpt2_torch.py): an eager loop with a
// KV cache, and nanoGPT's generate (no cache).
//   npm run bench:gpt2 -- [--backends=native,wasm] [--threads=2] [--tokens=200] [--prompt=20] [--python=/usr/bin/python3]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TensorSource } from '../src/io/safetensors.js';
import { generateTokens } from '../src/models/generate.js';
import { loadBackend } from '../src/node/backends.js';
import { loadHfGpt2 } from '../src/node/hf-gpt2-file.js';
import { writeSafetensorsFile } from '../src/node/safetensors-file.js';
import { IntTensor } from '../src/tensor/tensor.js';
import { TorchGenerator } from '../src/tensor/torch-generator.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { runTorchScript, torchBlasNote } from './pytorch.js';

const GPT2 = { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 };

function flags(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of process.argv.slice(2)) {
    const m = /^--([\w]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`expected --key=value, got ${a}`);
    out[m[1]] = m[2];
  }
  return out;
}

/** GPT-2's tensors as Hugging Face names and stores them (Conv1D weights [in, out]), N(0, 0.02)-sized uniform values. */
function writeRandomGpt2(dir: string): number {
  const C = GPT2.n_embd;
  const rng = new XoshiroRng(124);
  const random = (shape: number[]) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (rng.random() * 2 - 1) * 0.0346; // std 0.02
    return { shape, data };
  };
  const ones = (n: number) => ({ shape: [n], data: new Float32Array(n).fill(1) });
  const zeros = (n: number) => ({ shape: [n], data: new Float32Array(n) });
  const t = new Map<string, TensorSource>([['wte.weight', random([GPT2.vocab_size, C])], ['wpe.weight', random([GPT2.n_positions, C])]]);
  for (let l = 0; l < GPT2.n_layer; l++) {
    const p = `h.${l}.`;
    t.set(p + 'ln_1.weight', ones(C)).set(p + 'ln_1.bias', zeros(C));
    t.set(p + 'attn.c_attn.weight', random([C, 3 * C])).set(p + 'attn.c_attn.bias', random([3 * C]));
    t.set(p + 'attn.c_proj.weight', random([C, C])).set(p + 'attn.c_proj.bias', random([C]));
    t.set(p + 'ln_2.weight', ones(C)).set(p + 'ln_2.bias', zeros(C));
    t.set(p + 'mlp.c_fc.weight', random([C, 4 * C])).set(p + 'mlp.c_fc.bias', random([4 * C]));
    t.set(p + 'mlp.c_proj.weight', random([4 * C, C])).set(p + 'mlp.c_proj.bias', random([C]));
  }
  t.set('ln_f.weight', ones(C)).set('ln_f.bias', zeros(C));
  const sorted = new Map([...t].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  writeSafetensorsFile(join(dir, 'model.safetensors'), sorted, { format: 'pt' });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', ...GPT2, n_ctx: 1024, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: true }));
  return [...t.values()].reduce((s, x) => s + x.data.length, 0);
}

const vmHwmMB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;

/** One backend, in this (child) process. */
async function child(f: Record<string, string>): Promise<void> {
  const backend = await loadBackend(f.child);
  const t0 = performance.now();
  const { model } = loadHfGpt2({ weights: join(f.dir, 'model.safetensors'), config: join(f.dir, 'config.json') }, { backend });
  const loadMs = performance.now() - t0;
  const peakAfterLoadMB = vmHwmMB();
  model.eval();
  const prompt = f.ids.split(',').map(Number);
  const n = Number(f.tokens);
  const run = async (count: number) => {
    const gen = new TorchGenerator(1337);
    const t = performance.now();
    let got = 0;
    for await (const _ of generateTokens(model, new IntTensor(Int32Array.from(prompt), [1, prompt.length]), count, { temperature: 1, topK: 200 }, gen)) got++;
    if (got !== count) throw new Error(`generated ${got} tokens, expected ${count}`);
    return count / ((performance.now() - t) / 1000);
  };
  await run(4); // warm up
  const tokensPerSec = await run(n);
  console.log(JSON.stringify({ backend: backend.name, loadMs, peakAfterLoadMB, peakMB: vmHwmMB(), tokensPerSec }));
}

async function parent(f: Record<string, string>): Promise<void> {
  const threads = f.threads ?? '2', tokens = f.tokens ?? '200', promptLen = Number(f.prompt ?? '20');
  const backends = (f.backends ?? 'native,wasm').split(',');
  const dir = mkdtempSync(join(tmpdir(), 'yorick-gpt2-bench-'));
  try {
    const params = writeRandomGpt2(dir);
    const fileMB = readFileSync(join(dir, 'model.safetensors')).length / 2 ** 20;
    const rng = new XoshiroRng(20);
    const ids = Array.from({ length: promptLen }, () => rng.int(GPT2.vocab_size)).join(',');
    console.log(`GPT-2 124M (${(params / 1e6).toFixed(1)}M parameters, random weights), model.safetensors ${fileMB.toFixed(0)} MiB; ` +
      `batch 1, ${promptLen}-token prompt, ${tokens} new tokens (top_k 200), ${threads} threads; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const env = { ...process.env, YORICK_THREADS: threads };
    const rows: [string, number, string][] = [];
    for (const b of backends) {
      const r = spawnSync(process.execPath, ['--max-old-space-size=8192', fileURLToPath(import.meta.url), `--child=${b}`, `--dir=${dir}`, `--ids=${ids}`, `--tokens=${tokens}`],
        { encoding: 'utf8', env, maxBuffer: 1 << 20 });
      if (r.status !== 0) {
        console.log(`${b}: failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        continue;
      }
      const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
      rows.push([`yorick ${m.backend}`, m.tokensPerSec, `load ${(m.loadMs / 1000).toFixed(1)} s, peak memory after load ${m.peakAfterLoadMB.toFixed(0)} MiB (${(m.peakAfterLoadMB / fileMB).toFixed(2)}x the file), at the end ${m.peakMB.toFixed(0)} MiB`]);
    }
    const result = runTorchScript<{ torch: string; blas: string[]; cached_tokens_per_s: number; plain_tokens_per_s: number }>(
      fileURLToPath(new URL('../../bench/gpt2_torch.py', import.meta.url)), [dir, threads, tokens, ids], { python: f.python, env: { OMP_NUM_THREADS: threads } });
    const torch = 'error' in result ? null : result;
    if (torch) {
      rows.push([`PyTorch ${torch.torch} eager, KV cache`, torch.cached_tokens_per_s, `${torchBlasNote()}`]);
      rows.push([`PyTorch ${torch.torch} nanoGPT generate (no cache)`, torch.plain_tokens_per_s, '']);
    } else {
      console.log(`PyTorch: not run (${(result as { error: string }).error})`);
    }
    for (const [name, tps, note] of rows) console.log(`${name.padEnd(44)} ${tps.toFixed(1).padStart(7)} tokens/s  ${note}`);
    if (torch) {
      for (const [name, tps] of rows.filter((r) => r[0].startsWith('yorick'))) {
        console.log(`${name}: ${(tps / torch.cached_tokens_per_s).toFixed(2)}x PyTorch with a KV cache, ${(tps / torch.plain_tokens_per_s).toFixed(2)}x nanoGPT's generate`);
      }
    }
    console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const f = flags();
await (f.child ? child(f) : parent(f));

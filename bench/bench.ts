/**
 * `npm run bench`: every backend that loads here, side by side, on shakespeare_char_cpu (GPT 4
 * layers, 4 heads, 128 wide, block 64, batch 12, vocab 65, no dropout, no bias):
 * ms per training iteration (forward + backward + clipping + AdamW on random token batches),
 * GFLOP/s of the model's matmul shapes, sampling tokens/s at batch 1, and peak memory.
 * Each backend runs in a child process of its own, so its peak RSS is its own.
 *
 *   node dist/bench/bench.js [--json FILE] [--backends wasm,reference] [--quick]
 *
 * Prints a table, then the JSON (or writes it to FILE). Not a test: nothing is asserted.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { backendEntries } from '../src/node/backends.js';
import { PEAK_GFLOPS_MEASURED, PEAK_GFLOPS_STATED, trainingFlopsPerIter } from './flops.js';
import { measureBackend, PYTORCH_MS_PER_ITER, shakespeareCharCpu, type BackendResult } from './measure.js';
import { runTorchScript } from './pytorch.js';

interface TorchResult { torch: string; threads: number; msPerIter: number; msPerIterMin: number; iters: number }

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const quick = process.argv.includes('--quick');

async function child(name: string): Promise<void> {
  let result: BackendResult;
  try {
    result = await measureBackend(name, quick);
  } catch (e) {
    // a backend that cannot run here (no GPU adapter, no addon) is a row saying why, not a stack trace
    result = { backend: name, error: (e as Error).message.split('\n')[0] } as BackendResult;
  }
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

function printTable(results: BackendResult[], torchMs: number, torchNote: string): void {
  console.log(`\nshakespeare_char_cpu training step (B=12, T=64, 4 layers, 128 wide), PyTorch ${torchMs.toFixed(1)} ms/iter (${torchNote})`);
  console.log(`${'backend'.padEnd(10)}${pad('threads', 8)}${pad('ms/iter', 10)}${pad('x PyTorch', 10)}${pad('matmul GF/s', 13)}${pad('tok/s', 9)}${pad('tok/s KV', 10)}${pad('peak RSS', 10)}`);
  for (const r of results) {
    if (r.error) {
      console.log(`${r.backend.padEnd(10)}  ${r.error}`);
      continue;
    }
    console.log(`${r.backend.padEnd(10)}${pad(r.threads, 8)}${pad(r.msPerIter.toFixed(1), 10)}${pad((r.msPerIter / torchMs).toFixed(2), 10)}` +
      `${pad(r.matmulGflops.toFixed(1), 13)}${pad(r.sampling.tokensPerSec.toFixed(0), 9)}` +
      `${pad(r.sampling.cachedTokensPerSec.toFixed(0), 10)}${pad(`${r.peakRssMB.toFixed(0)} MB`, 10)}`);
  }
  const ok = results.filter((r) => !r.error);
  if (ok.length === 0) return;
  console.log(`\nsampling ${ok[0].sampling.tokens} tokens at batch 1, tok/s without / with the KV cache (block 64: past 64 tokens the window is fed whole)`);
  for (const r of ok) {
    const s = r.sampling, l = s.longContext;
    console.log(`${r.backend.padEnd(10)} block 64: ${pad(s.tokensPerSec.toFixed(0), 6)} / ${pad(s.cachedTokensPerSec.toFixed(0), 6)}   ` +
      `block ${l.blockSize}: ${pad(l.tokensPerSec.toFixed(0), 6)} / ${pad(l.cachedTokensPerSec.toFixed(0), 6)} (${(l.cachedTokensPerSec / l.tokensPerSec).toFixed(1)}x with the cache)`);
  }
  const flops = trainingFlopsPerIter(shakespeareCharCpu, 12);
  console.log(`\nthe iteration's arithmetic: ${(flops / 1e9).toFixed(2)} GFLOP (nanoGPT's 6N + attention estimate); peak ${PEAK_GFLOPS_STATED} GFLOP/s as stated, ${PEAK_GFLOPS_MEASURED} measured (FMA loop, both cores)`);
  for (const r of ok) {
    const gf = flops / (r.msPerIter * 1e6);
    console.log(`${r.backend.padEnd(10)}${pad(gf.toFixed(1), 8)} GFLOP/s in the iteration = ${pad((100 * gf / PEAK_GFLOPS_STATED).toFixed(1), 5)}% of ${PEAK_GFLOPS_STATED}, ${pad((100 * gf / PEAK_GFLOPS_MEASURED).toFixed(1), 5)}% of ${PEAK_GFLOPS_MEASURED}`);
  }
  console.log('\nmatmul GFLOP/s by shape (M x N x K; T: transposed operand)');
  console.log(`${'shape'.padEnd(34)}${ok.map((r) => pad(r.backend, 11)).join('')}`);
  for (let i = 0; i < ok[0].matmul.length; i++) {
    const s = ok[0].matmul[i];
    console.log(`${s.name.padEnd(34)}${ok.map((r) => pad(r.matmul[i].gflops.toFixed(1), 11)).join('')}`);
  }
}

async function main(): Promise<void> {
  const only = arg('--one');
  if (only) return child(only);
  const wanted = arg('--backends')?.split(',');
  const names = backendEntries.map((e) => e.name).filter((n) => !wanted || wanted.includes(n));
  const results: BackendResult[] = [];
  const self = fileURLToPath(import.meta.url);
  for (const name of names) {
    process.stderr.write(`bench: ${name}...\n`);
    try {
      const out = execFileSync(process.execPath, [self, '--one', name, ...(quick ? ['--quick'] : [])], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24,
      });
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) throw new Error('no result from the child process');
      results.push(JSON.parse(line.slice(7)));
    } catch (e) {
      results.push({ backend: name, error: (e as Error).message.split('\n')[0] } as BackendResult);
    }
  }
  // PyTorch's eager step on the same machine and threads, measured in this run (the stated figure only when torch is missing)
  const threads = results.find((r) => !r.error)?.threads ?? 2;
  process.stderr.write('bench: pytorch...\n');
  const torch = runTorchScript<TorchResult>(fileURLToPath(new URL('../../bench/pytorch_train.py', import.meta.url)), ['--threads', String(threads), ...(quick ? ['--seconds', '1'] : [])]);
  const torchMs = 'error' in torch ? PYTORCH_MS_PER_ITER : torch.msPerIter;
  const torchNote = 'error' in torch ? `stated, not measured: ${torch.error}` : `measured in this run: torch ${torch.torch}, ${torch.threads} threads, median of ${torch.iters}`;
  printTable(results, torchMs, torchNote);
  let tokenizers: unknown = null;
  try {
    const mod = (await import('./tokenizers.js' as string)) as { benchTokenizers?: () => Promise<unknown> };
    if (mod.benchTokenizers) {
      process.stderr.write('bench: tokenizers...\n');
      tokenizers = await mod.benchTokenizers();
      console.log('\ntokenizers');
      console.log(tokenizers);
    }
  } catch (e) {
    tokenizers = { error: (e as Error).message.split('\n')[0] };
  }
  const json = { date: new Date().toISOString(), node: process.version, pytorch: torch, pytorchMsPerIter: torchMs, backends: results, tokenizers };
  const file = arg('--json');
  if (file) {
    writeFileSync(file, JSON.stringify(json, null, 2));
    console.log(`\nJSON written to ${file}`);
  } else {
    console.log(`\n${JSON.stringify(json)}`);
  }
}

await main();

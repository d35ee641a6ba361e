/**
 * Tokenizer benchmarks: gpt2 encoding of tinyshakespeare, ours beside gpt-tokenizer's (the
 * fastest pure-JS tiktoken), cold (first call: empty chunk caches, unoptimized code) and warm
 * (median of the next runs); and BPE training to vocab 1024 with the GPT-4 pattern.
 * Run directly: node dist/bench/tokenizers.js
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTiktoken } from '../src/node/tokenizers.js';
import { trainBpe } from '../src/tokenizers/bpe/train.js';
import { GPT4_SPLIT_PATTERN } from '../src/tokenizers/patterns.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CANDIDATES = [
  resolve(REPO_ROOT, '..', 'shared', 'data', 'tinyshakespeare.txt'),
  resolve(REPO_ROOT, 'data', 'shakespeare', 'input.txt'),
  resolve(REPO_ROOT, 'data', 'shakespeare_char', 'input.txt'),
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** MB/s of `encode` on `text`: the first run, then the median of `runs` more. */
function throughput(encode: (t: string) => number[], text: string, expected: number | null, runs = 5): { cold: number; warm: number; tokens: number } {
  const mb = new TextEncoder().encode(text).length / 1e6;
  const times: number[] = [];
  let tokens = 0;
  for (let r = 0; r <= runs; r++) {
    const t0 = performance.now();
    tokens = encode(text).length;
    times.push((performance.now() - t0) / 1000);
    if (expected !== null && tokens !== expected) throw new Error(`encode gave ${tokens} tokens, expected ${expected}`);
  }
  return { cold: mb / times[0], warm: mb / median(times.slice(1)), tokens };
}

export async function benchTokenizers(): Promise<Record<string, number>> {
  const path = CANDIDATES.find((p) => existsSync(p));
  if (!path) {
    console.log(`tokenizer bench skipped: no tinyshakespeare text (looked for ${CANDIDATES.join(', ')})`);
    return {};
  }
  const text = readFileSync(path, 'utf8');
  const results: Record<string, number> = {};

  const t0 = performance.now();
  const ours = loadTiktoken('gpt2');
  results['tiktoken gpt2 load (ms)'] = performance.now() - t0;
  const o = throughput((t) => ours.encode(t), text, null);
  results['gpt2 encode, yorick, cold (MB/s)'] = o.cold;
  results['gpt2 encode, yorick, warm (MB/s)'] = o.warm;

  const specifier = 'gpt-tokenizer/encoding/r50k_base';
  const gt = (await import(specifier)) as { encode(text: string): number[] };
  const g = throughput((t) => gt.encode(t), text, o.tokens); // same ids count, or it throws
  results['gpt2 encode, gpt-tokenizer, cold (MB/s)'] = g.cold;
  results['gpt2 encode, gpt-tokenizer, warm (MB/s)'] = g.warm;

  for (const [name, pattern] of [['gpt4 pattern', GPT4_SPLIT_PATTERN], ['no split', null]] as const) {
    const times: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      trainBpe(text, 1024, pattern);
      times.push((performance.now() - t) / 1000);
    }
    results[`BPE train to vocab 1024, ${name}, best of 3 (s)`] = Math.min(...times);
  }
  return results;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const results = await benchTokenizers();
  const width = Math.max(...Object.keys(results).map((k) => k.length));
  for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(width)}  ${v.toFixed(2)}`);
}

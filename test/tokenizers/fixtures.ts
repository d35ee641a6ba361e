/** Paths and data shared by the tokenizer tests (compiled to dist/test/tokenizers/). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shakespearePath, shakespeareSkip } from '../helpers.js';

/** dist/test/tokenizers/x.js -> the repository root is three levels up. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'tokenizers');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

let vectorsCache: Json;
export function vectors(): Json {
  vectorsCache ??= JSON.parse(readFileSync(join(FIXTURES, 'vectors.json'), 'utf8'));
  return vectorsCache;
}

let shakespeareCache: string | undefined;

/** The tinyshakespeare text, or undefined when ../shared is absent (a fresh clone). */
export function shakespeare(): string | undefined {
  if (shakespeareCache === undefined && existsSync(shakespearePath)) shakespeareCache = readFileSync(shakespearePath, 'utf8');
  return shakespeareCache;
}

/** For node:test's `skip` option: a reason when the text is missing, false otherwise. */
export const noShakespeare: string | false = shakespeareSkip;

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A small deterministic PRNG for random-bytes tests (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

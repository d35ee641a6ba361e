/**
 * Byte-level BPE training with minbpe's semantics, fast.
 *
 * minbpe recounts every adjacent pair of the whole text at each merge, takes the most frequent
 * (ties: the pair seen first in the current sequence, which is what Python's max() over an
 * insertion-ordered dict returns) and replaces its occurrences left to right. Here:
 * - each distinct chunk of the split is stored once, with its number of occurrences as a weight
 *   (a pair's first occurrence in the text lies in the first appearance of some chunk, so chunks
 *   are laid out in order of first appearance and "first seen" = lowest position);
 * - tokens are a doubly linked list over byte positions, and each pair keeps the positions where
 *   it was created; a merge touches only its own occurrences and updates neighbours' counts;
 * - the counts equal minbpe's recount exactly (overlapping pairs counted, as get_stats does).
 */
import { UserError } from '../../errors.js';
import { encodeUtf8 } from '../bytes.js';
import { splitRegExp } from '../patterns.js';
import { splitText } from '../regex.js';

/** One merge: tokens `left` and `right` become `id`; `count` occurrences at the time; `tied` pairs shared that count. */
export interface TrainedMerge {
  left: number;
  right: number;
  id: number;
  count: number;
  tied: number;
}

export interface TrainResult {
  merges: TrainedMerge[];
  /** Tokens in the training text after all merges. */
  tokens: number;
}

/** Pair keys pack two ids; ids stay below 2^24 (a vocabulary of 16M tokens). */
const KEY = 2 ** 24;
export const MAX_VOCAB_SIZE = KEY;

/**
 * Train merges on `text` until the vocabulary has `vocabSize` tokens (256 bytes + merges).
 * `pattern` null = minbpe's BasicTokenizer (no split); otherwise RegexTokenizer with that pattern.
 */
export function trainBpe(text: string, vocabSize: number, pattern: string | null, onMerge?: (m: TrainedMerge) => void): TrainResult {
  if (!Number.isInteger(vocabSize) || vocabSize < 256) {
    throw new UserError(`vocab_size (${vocabSize}) must be an integer of at least 256 (the 256 byte tokens come first)`);
  }
  if (vocabSize > MAX_VOCAB_SIZE) throw new UserError(`vocab_size (${vocabSize}) must be at most ${MAX_VOCAB_SIZE}`);

  // Distinct chunks in order of first appearance, with their counts.
  const chunkCounts = new Map<string, number>();
  if (pattern === null) chunkCounts.set(text, 1);
  else for (const chunk of splitText(splitRegExp(pattern), text)) chunkCounts.set(chunk, (chunkCounts.get(chunk) ?? 0) + 1);
  const chunkBytes: Uint8Array[] = [];
  let n = 0;
  for (const chunk of chunkCounts.keys()) {
    const b = encodeUtf8(chunk);
    chunkBytes.push(b);
    n += b.length;
  }

  // The token list over byte positions: ids[p] = -1 once p was absorbed by a merge on its left.
  const ids = new Int32Array(n);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const weight = new Float64Array(n);
  let tokens = 0;
  {
    let p = 0, c = 0;
    for (const count of chunkCounts.values()) {
      const b = chunkBytes[c++];
      for (let k = 0; k < b.length; k++, p++) {
        ids[p] = b[k];
        prev[p] = k === 0 ? -1 : p - 1;
        next[p] = k === b.length - 1 ? -1 : p + 1;
        weight[p] = count;
      }
      tokens += count * b.length;
    }
  }

  // Pairs, by index: counts in a flat array (scanned for the maximum), positions in lists.
  const pairIndex = new Map<number, number>();
  let pairCount = new Float64Array(1024);
  const pairKey: number[] = [];
  const pairPositions: number[][] = [];
  const add = (a: number, b: number, w: number, pos: number): void => {
    const key = a * KEY + b;
    let idx = pairIndex.get(key);
    if (idx === undefined) {
      idx = pairKey.length;
      pairIndex.set(key, idx);
      pairKey.push(key);
      pairPositions.push([]);
      if (idx >= pairCount.length) {
        const grown = new Float64Array(pairCount.length * 2);
        grown.set(pairCount);
        pairCount = grown;
      }
    }
    pairCount[idx] += w;
    if (w > 0) pairPositions[idx].push(pos);
  };
  for (let p = 0; p < n; p++) if (next[p] >= 0) add(ids[p], ids[next[p]], weight[p], p);

  const isAt = (p: number, a: number, b: number): boolean => ids[p] === a && next[p] >= 0 && ids[next[p]] === b;
  const firstPosition = (idx: number): number => {
    const a = Math.floor(pairKey[idx] / KEY), b = pairKey[idx] % KEY;
    let first = Infinity;
    for (const p of pairPositions[idx]) if (p < first && isAt(p, a, b)) first = p;
    return first;
  };

  const merges: TrainedMerge[] = [];
  for (let newId = 256; newId < vocabSize; newId++) {
    // The most frequent pair; ties go to the one that occurs first.
    let best = -1, bestCount = 0, tied = 0, bestFirst = Infinity;
    for (let idx = 0; idx < pairKey.length; idx++) {
      const c = pairCount[idx];
      if (c < bestCount || c <= 0) continue;
      if (c > bestCount) {
        best = idx; bestCount = c; tied = 1; bestFirst = Infinity;
      } else {
        tied++;
        if (bestFirst === Infinity) bestFirst = firstPosition(best);
        const f = firstPosition(idx);
        if (f < bestFirst) { best = idx; bestFirst = f; }
      }
    }
    if (best < 0) {
      throw new UserError(`vocab_size (${vocabSize}) is more than this text allows: after ${newId - 256} merges no two adjacent tokens are left to merge, so the largest vocab_size for it is ${newId}`);
    }
    const a = Math.floor(pairKey[best] / KEY), b = pairKey[best] % KEY;
    const positions = pairPositions[best].sort((x, y) => x - y);
    pairPositions[best] = [];
    for (const p of positions) {
      if (!isAt(p, a, b)) continue; // stale, or absorbed by the previous overlapping occurrence
      const q = next[p], o = prev[p], r = next[q], w = weight[p];
      add(a, b, -w, p);
      if (o >= 0) { add(ids[o], a, -w, o); add(ids[o], newId, w, o); }
      if (r >= 0) { add(b, ids[r], -w, q); add(newId, ids[r], w, p); }
      ids[p] = newId;
      ids[q] = -1;
      next[p] = r;
      if (r >= 0) prev[r] = p;
      tokens -= w;
    }
    const merge = { left: a, right: b, id: newId, count: bestCount, tied };
    merges.push(merge);
    onMerge?.(merge);
  }
  return { merges, tokens };
}

import { UserError } from '../errors.js';
import type { TorchGenerator } from '../tensor/torch-generator.js';

export interface SamplingOptions {
  /** 1 = the model's distribution; < 1 sharper; 0 = greedy (argmax). */
  temperature?: number;
  /** Keep only the k most likely tokens. */
  topK?: number | null;
  /** Keep the smallest set of most likely tokens whose probability reaches p. */
  topP?: number | null;
}

export function checkSamplingOptions(opts: SamplingOptions): void {
  const { temperature = 1, topK = null, topP = null } = opts;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new Error(`temperature must be a number >= 0, got ${temperature}`);
  if (topK !== null && !(Number.isInteger(topK) && topK >= 1)) throw new Error(`top_k must be an integer >= 1, got ${topK}`);
  if (topP !== null && !(topP > 0 && topP <= 1)) throw new Error(`top_p must be in (0, 1], got ${topP}`);
}

const f32 = Math.fround;

/**
 * softmax of one row in float32 the way PyTorch's CPU kernel rounds it: exp(x - max) per
 * element, their sum, then each times 1 / sum.
 */
export function softmaxRow(x: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  // plain loops: Float32Array.from with a mapping function is several times slower (50,257 values a token)
  const e = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) e[i] = Math.exp(f32(x[i] - max));
  let sum = 0;
  for (let i = 0; i < e.length; i++) sum = f32(sum + e[i]);
  const inv = f32(1 / sum);
  for (let i = 0; i < e.length; i++) e[i] = f32(e[i] * inv);
  return e;
}

/**
 * The k-th largest of the values (counting repeats), as sorting them ascending and taking index
 * length - k would give: a min-heap of the k largest seen, O(n log k) instead of a sort of n.
 */
function kthLargest(x: Float32Array, k: number): number {
  const heap = new Float32Array(k);
  for (let i = 0; i < k; i++) heap[i] = x[i];
  heap.sort();
  // sorted ascending is a valid min-heap
  const siftDown = (v: number) => {
    let at = 0;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= k) break;
      const c = l + 1 < k && heap[l + 1] < heap[l] ? l + 1 : l;
      if (!(heap[c] < v)) break;
      heap[at] = heap[c];
      at = c;
    }
    heap[at] = v;
  };
  for (let i = k; i < x.length; i++) if (x[i] > heap[0]) siftDown(x[i]);
  return heap[0];
}

/**
 * The distribution the next token is drawn from, for one row of logits, in float32 as nanoGPT's
 * generate computes it: divide by temperature, keep the top k (everything below the k-th largest
 * value removed; ties at the threshold stay), softmax; then, when asked, the top-p nucleus (the
 * smallest set of most likely tokens whose probability reaches p), renormalized. Temperature 0
 * puts all the mass on the argmax (the first, on ties).
 */
export function samplingDistribution(logits: ArrayLike<number>, opts: SamplingOptions): Float32Array {
  const { temperature = 1, topK = null, topP = null } = opts;
  const V = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    const onehot = new Float32Array(V);
    onehot[best] = 1;
    return onehot;
  }
  const t = f32(temperature);
  const scaled = new Float32Array(V);
  for (let i = 0; i < V; i++) scaled[i] = f32(logits[i] / t);
  if (topK !== null && topK < V) {
    const kth = kthLargest(scaled, topK);
    for (let i = 0; i < V; i++) if (scaled[i] < kth) scaled[i] = -Infinity;
  }
  const probs = softmaxRow(scaled);
  if (topP !== null && topP < 1) {
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
    let kept = 0;
    for (const i of order) {
      if (kept >= topP) probs[i] = 0;
      else kept += probs[i];
    }
    for (let i = 0; i < V; i++) probs[i] = f32(probs[i] / kept);
  }
  return probs;
}

/**
 * Draws the next token from one row of logits: torch.multinomial(probs, 1) from the generator
 * over samplingDistribution (temperature 0 is the argmax, drawing nothing). Non-finite logits are
 * refused: a model that gives them is broken (a run that diverged), and sampling it would print
 * garbage.
 */
export function sampleFromLogits(logits: ArrayLike<number>, opts: SamplingOptions, generator: TorchGenerator): number {
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i])) throw new UserError(`the model gives a logit of ${logits[i]} for token ${i}: its weights are broken (did the run that wrote them diverge?)`);
  }
  const probs = samplingDistribution(logits, opts);
  if ((opts.temperature ?? 1) === 0) return probs.indexOf(1);
  return generator.multinomial1(probs)[0];
}

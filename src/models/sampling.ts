import type { Rng } from '../tensor/rng.js';

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

/**
 * The distribution the next token is drawn from, for one row of logits: divide by temperature,
 * keep the top k, softmax, keep the top-p nucleus (renormalized). Temperature 0 puts all the
 * mass on the argmax (the first, on ties). Float64, summing to 1 up to rounding.
 */
export function samplingDistribution(logits: ArrayLike<number>, opts: SamplingOptions): Float64Array {
  const { temperature = 1, topK = null, topP = null } = opts;
  const V = logits.length;
  const probs = new Float64Array(V);
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    probs[best] = 1;
    return probs;
  }
  const scaled = new Float64Array(V);
  for (let i = 0; i < V; i++) scaled[i] = logits[i] / temperature;
  if (topK !== null && topK < V) {
    // as nanoGPT: everything below the k-th largest value is removed (ties at the threshold stay)
    const sorted = Float64Array.from(scaled).sort();
    const kth = sorted[V - topK];
    for (let i = 0; i < V; i++) if (scaled[i] < kth) scaled[i] = -Infinity;
  }
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (scaled[i] > max) max = scaled[i];
  let sum = 0;
  for (let i = 0; i < V; i++) {
    probs[i] = Math.exp(scaled[i] - max);
    sum += probs[i];
  }
  for (let i = 0; i < V; i++) probs[i] /= sum;
  if (topP !== null && topP < 1) {
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
    let kept = 0;
    for (const i of order) {
      if (kept >= topP) probs[i] = 0;
      else kept += probs[i];
    }
    for (let i = 0; i < V; i++) probs[i] /= kept;
  }
  return probs;
}

/** Draws the next token from one row of logits: one multinomial draw from samplingDistribution (argmax at temperature 0, drawing nothing). */
export function sampleFromLogits(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
  const probs = samplingDistribution(logits, opts);
  if ((opts.temperature ?? 1) === 0) return probs.indexOf(1);
  return multinomial(probs, rng);
}

/** One draw from a probability vector (sums to 1 up to rounding). */
export function multinomial(probs: ArrayLike<number>, rng: Rng): number {
  const u = rng.random();
  let cum = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    cum += probs[i];
    last = i;
    if (u < cum) return i;
  }
  return last;
}

import { UserError } from '../errors.js';
import { Rng } from '../tensor/rng.js';
import { IntTensor } from '../tensor/tensor.js';

export type TokenArray = Uint16Array | Uint32Array;

/**
 * The lecture's get_batch: batch_size random windows of block_size + 1 tokens; x is each window
 * without its last token, y without its first. Offsets come from a seeded Rng, so a run is
 * repeatable and can resume where it stopped (getState / setState).
 */
export class BatchSampler {
  readonly rng: Rng;

  constructor(private readonly splits: Record<'train' | 'val', TokenArray>, readonly batchSize: number,
    readonly blockSize: number, seed: number) {
    for (const [name, tokens] of Object.entries(splits)) {
      if (tokens.length < blockSize + 1) {
        throw new UserError(`the ${name} split has ${tokens.length} tokens; block_size (${blockSize}) needs at least ${blockSize + 1}. Use a smaller block_size or more text.`);
      }
    }
    this.rng = new Rng(seed);
  }

  getBatch(split: 'train' | 'val'): { x: IntTensor; y: IntTensor } {
    const data = this.splits[split];
    const B = this.batchSize, T = this.blockSize;
    const x = new Int32Array(B * T), y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const i = this.rng.int(data.length - T);
      for (let t = 0; t < T; t++) {
        x[b * T + t] = data[i + t];
        y[b * T + t] = data[i + t + 1];
      }
    }
    return { x: new IntTensor(x, [B, T]), y: new IntTensor(y, [B, T]) };
  }
}

/** The share of the data that trains (the lecture's and nanoGPT's 90%; the rest validates). */
export const TRAIN_FRACTION = 0.9;

/** Where the train part of n units (tokens, or characters of text) ends. */
export function trainSplitPoint(n: number): number {
  return Math.floor(n * TRAIN_FRACTION);
}

/** The lecture's split: the first 90% of the tokens train, the rest validate. */
export function splitTrainVal(ids: ArrayLike<number>, vocabSize: number): { train: TokenArray; val: TokenArray } {
  const Arr = vocabSize <= 65536 ? Uint16Array : Uint32Array;
  const n = trainSplitPoint(ids.length);
  const all = Arr.from(ids);
  return { train: all.slice(0, n), val: all.slice(n) };
}

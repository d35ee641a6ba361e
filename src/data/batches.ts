import { UserError } from '../errors.js';
import { TorchGenerator } from '../tensor/torch-generator.js';
import { IntTensor } from '../tensor/tensor.js';

export type TokenArray = Uint16Array | Uint32Array;

/** One batch: inputs [B, T] and their targets (the next token of each position). */
export interface Batch {
  x: IntTensor;
  y: IntTensor;
  /** Where each row's window starts in its split, when it came from a BatchSampler. */
  offsets?: number[];
}

/**
 * The lecture's get_batch: batch_size random windows of block_size + 1 tokens; x is each window
 * without its last token, y without its first. The offsets are drawn as nanoGPT's
 * `torch.randint(len(data) - block_size, (batch_size,))` from a PyTorch-compatible generator, so
 * the same seed gives the lecture's and nanoGPT's batches. A batch carries its offsets: a
 * checkpoint keeps the prefetched batch's, and `batchAt` rebuilds it without drawing.
 */
export class BatchSampler {
  readonly generator: TorchGenerator;

  constructor(private readonly splits: Record<'train' | 'val', TokenArray>, readonly batchSize: number,
    readonly blockSize: number, generator: TorchGenerator | number) {
    for (const [name, tokens] of Object.entries(splits)) {
      if (tokens.length < blockSize + 1) {
        throw new UserError(`the ${name} split has ${tokens.length} tokens; block_size (${blockSize}) needs at least ${blockSize + 1}. Use a smaller block_size or more text.`);
      }
    }
    this.generator = typeof generator === 'number' ? new TorchGenerator(generator) : generator;
  }

  getBatch(split: 'train' | 'val'): Batch {
    return this.batchAt(split, this.generator.randint(0, this.splits[split].length - this.blockSize, this.batchSize));
  }

  /** The batch whose windows start at offsets (one per row). */
  batchAt(split: 'train' | 'val', offsets: readonly number[]): Batch {
    const data = this.splits[split];
    const B = offsets.length, T = this.blockSize;
    const x = new Int32Array(B * T), y = new Int32Array(B * T);
    offsets.forEach((i, b) => {
      if (!(Number.isInteger(i) && i >= 0 && i + T < data.length)) throw new Error(`batch offset ${i} is outside the ${split} split (${data.length} tokens, block_size ${T})`);
      for (let t = 0; t < T; t++) {
        x[b * T + t] = data[i + t];
        y[b * T + t] = data[i + t + 1];
      }
    });
    return { x: new IntTensor(x, [B, T]), y: new IntTensor(y, [B, T]), offsets: [...offsets] };
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

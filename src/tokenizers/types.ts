/**
 * What every tokenizer offers to the data pipeline, training and sampling.
 * A tokenizer is saved with a dataset (`meta.json`) and with a checkpoint as a `TokenizerSpec`,
 * plain JSON that `tokenizerFromSpec` turns back into the same tokenizer.
 */
export interface Tokenizer {
  /** 'char' | 'bpe' | 'tiktoken' | 'spm' */
  readonly kind: string;
  /** Number of ids the model's embedding must hold (max id + 1). */
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  /** A decoder for ids that arrive one at a time: never emits half a character. */
  streamDecoder(): StreamDecoder;
  toSpec(): TokenizerSpec;
}

export interface StreamDecoder {
  /** Text completed by these ids (may be empty while a character is incomplete). */
  push(ids: ArrayLike<number>): string;
  /** Whatever is still held back, decoded with replacement characters. */
  flush(): string;
}

/** JSON form of a tokenizer; `kind` selects the loader, the rest is the loader's. */
export interface TokenizerSpec {
  kind: string;
  [key: string]: unknown;
}

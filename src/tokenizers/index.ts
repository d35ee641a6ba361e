import { CharTokenizer } from './char.js';
import type { Tokenizer, TokenizerSpec } from './types.js';

export type { Tokenizer, TokenizerSpec, StreamDecoder } from './types.js';
export { CharTokenizer } from './char.js';

/** Rebuild a tokenizer from the JSON saved with a dataset or a checkpoint. */
export function tokenizerFromSpec(spec: TokenizerSpec): Tokenizer {
  switch (spec.kind) {
    case 'char':
      return CharTokenizer.fromSpec(spec);
    default:
      throw new Error(`unknown tokenizer kind ${JSON.stringify(spec.kind)}; expected one of: char`);
  }
}

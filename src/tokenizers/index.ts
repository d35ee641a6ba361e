import { UserError } from '../errors.js';
import { BpeTokenizer } from './bpe/tokenizer.js';
import { CharTokenizer } from './char.js';
import { SpmTokenizer } from './spm/tokenizer.js';
import type { Tokenizer, TokenizerSpec } from './types.js';

export type { Tokenizer, TokenizerSpec, StreamDecoder } from './types.js';
export type { EncodeOptions } from './special.js';
export { CharTokenizer } from './char.js';
export { BpeTokenizer } from './bpe/tokenizer.js';
export { parseMinbpeModel, formatMinbpeModel, type BpeModel } from './bpe/model-file.js';
export { trainBpe, type TrainedMerge } from './bpe/train.js';
export { GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN } from './patterns.js';
export { TiktokenTokenizer } from './tiktoken/tokenizer.js';
export { ENCODINGS } from './tiktoken/encodings.js';
export { parseRankFile } from './tiktoken/rank-file.js';
export { SpmTokenizer } from './spm/tokenizer.js';

/**
 * Rebuild a tokenizer from the JSON saved with a dataset or a checkpoint. tiktoken specs name a
 * rank file, which only the Node loader (src/node/tokenizers.ts, loadTokenizer) can read; in a
 * browser, build a TiktokenTokenizer from the rank file's bytes with parseRankFile.
 */
export function tokenizerFromSpec(spec: TokenizerSpec): Tokenizer {
  switch (spec.kind) {
    case 'char':
      return CharTokenizer.fromSpec(spec);
    case 'bpe':
      return BpeTokenizer.fromSpec(spec);
    case 'spm':
      return SpmTokenizer.fromSpec(spec);
    case 'tiktoken':
      throw new UserError(`tiktoken spec (${JSON.stringify(spec.encoding)}): its rank file must be read from disk; use loadTokenizer from src/node/tokenizers.ts`);
    default:
      throw new UserError(`unknown tokenizer kind ${JSON.stringify(spec.kind)}; expected one of: char, bpe, spm, tiktoken`);
  }
}

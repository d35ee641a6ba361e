import { UserError } from '../errors.js';
import { BpeTokenizer } from './bpe/tokenizer.js';
import { CharTokenizer } from './char.js';
import { SpmTokenizer } from './spm/tokenizer.js';
import type { TiktokenLoader } from './tiktoken/load.js';
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
export { sha256Hex, tiktokenFromRankFile, rankFilesFromUrl, TiktokenLoader, type RankFileSource } from './tiktoken/load.js';
export { SpmTokenizer } from './spm/tokenizer.js';

/**
 * Rebuild a tokenizer from the JSON saved with a dataset or a checkpoint. tiktoken specs name a
 * rank file that has to be read first: use tokenizerFromSpecAsync with a TiktokenLoader (or, in
 * Node, loadTokenizer from yorick/node).
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
      throw new UserError(`tiktoken spec (${JSON.stringify(spec.encoding)}): its rank file has to be loaded first; use tokenizerFromSpecAsync(spec, new TiktokenLoader(rankFilesFromUrl(BASE_URL))) (or loadTokenizer from yorick/node)`);
    default:
      throw new UserError(`unknown tokenizer kind ${JSON.stringify(spec.kind)}; expected one of: char, bpe, spm, tiktoken`);
  }
}

/**
 * tokenizerFromSpec for every kind, tiktoken included: its rank file comes through `tiktoken`
 * (a TiktokenLoader over URLs in a page, or bytes from anywhere), checked by sha256.
 */
export async function tokenizerFromSpecAsync(spec: TokenizerSpec, tiktoken: TiktokenLoader): Promise<Tokenizer> {
  if (spec?.kind === 'tiktoken') {
    if (typeof spec.encoding !== 'string') throw new Error('tiktoken spec: "encoding" must be gpt2, cl100k_base or o200k_base');
    return tiktoken.load(spec.encoding);
  }
  return tokenizerFromSpec(spec);
}

/**
 * A prepared dataset on disk, data/<name>/: train.bin and val.bin (token ids, little-endian
 * uint16 or uint32) and meta.json (vocab_size, dtype, tokenizer, token counts). Loading checks
 * every field of meta.json and that the token files agree with it (sizes, ids inside the
 * tokenizer's vocabulary) before the data is used, naming the file and the field.
 */
import { closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenArray } from '../data/batches.js';
import { UserError } from '../errors.js';
import type { Tokenizer, TokenizerSpec } from '../tokenizers/types.js';
import { MAX_IO_BYTES, openRegularFile, readAt, readFileBounded } from './files.js';
import { loadTokenizer } from './tokenizers.js';

export interface DatasetMeta {
  vocab_size: number;
  /** Storage of train.bin / val.bin: little-endian uint16, or uint32 for vocabularies over 65,536. */
  dtype: 'uint16' | 'uint32';
  tokenizer: TokenizerSpec;
  train_tokens: number;
  val_tokens: number;
}

export interface Dataset {
  meta: DatasetMeta;
  tokenizer: Tokenizer;
  train: TokenArray;
  val: TokenArray;
}

/** meta.json is small (a tokenizer spec at most); anything bigger is not one. */
export const MAX_META_BYTES = 256 << 20;
/** One split is one typed array: at most 2^32 tokens. */
const MAX_TOKENS = 2 ** 32;

const AGAIN = 'run yorick prepare again';

/** Checks meta.json's fields and builds its tokenizer, which must have vocab_size ids. */
export function validateDatasetMeta(json: unknown, where: string): { meta: DatasetMeta; tokenizer: Tokenizer } {
  const fail = (why: string): never => {
    throw new UserError(`${where}: ${why}; ${AGAIN}`);
  };
  if (!json || typeof json !== 'object' || Array.isArray(json)) fail('expected a JSON object');
  const m = json as Record<string, unknown>;
  const count = (key: string, min: number, max: number): number => {
    const v = m[key];
    if (!Object.hasOwn(m, key)) fail(`${key} is missing`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(`${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return v as number;
  };
  const vocab = count('vocab_size', 1, 2 ** 32);
  if (m.dtype !== 'uint16' && m.dtype !== 'uint32') fail(`dtype must be "uint16" or "uint32", got ${JSON.stringify(m.dtype)}`);
  if (m.dtype === 'uint16' && vocab > 65536) fail(`dtype uint16 cannot hold the ids of a vocabulary of ${vocab}`);
  const train = count('train_tokens', 0, MAX_TOKENS - 1);
  const val = count('val_tokens', 0, MAX_TOKENS - 1);
  const spec = m.tokenizer;
  if (!spec || typeof spec !== 'object' || Array.isArray(spec) || typeof (spec as TokenizerSpec).kind !== 'string') fail('tokenizer must be an object with a "kind"');
  let tokenizer: Tokenizer;
  try {
    tokenizer = loadTokenizer(spec as TokenizerSpec);
  } catch (e) {
    return fail(`its tokenizer cannot be loaded (${(e as Error).message})`);
  }
  if (tokenizer.vocabSize !== vocab) {
    fail(`the tokenizer (${describe(spec as TokenizerSpec)}) has ${tokenizer.vocabSize} ids but vocab_size is ${vocab}: the tokenizer and the data do not belong together`);
  }
  return { meta: { vocab_size: vocab, dtype: m.dtype as DatasetMeta['dtype'], tokenizer: spec as TokenizerSpec, train_tokens: train, val_tokens: val }, tokenizer };
}

function describe(spec: TokenizerSpec): string {
  return spec.kind === 'tiktoken' ? `tiktoken ${String(spec.encoding)}` : spec.kind;
}

/**
 * Reads a token file of `expected` ids into its typed array (positioned reads, no whole-file
 * buffer), checking its size and that every id is below vocabSize.
 */
export function readTokenFile(path: string, dtype: DatasetMeta['dtype'], expected: number, vocabSize: number, chunkBytes = MAX_IO_BYTES): TokenArray {
  if (!existsSync(path)) throw new UserError(`missing ${path}; ${AGAIN}`);
  const width = dtype === 'uint16' ? 2 : 4;
  const { fd, size } = openRegularFile(path, 'token file');
  try {
    if (size % width !== 0) throw new UserError(`${path} has ${size} bytes, not a whole number of ${width}-byte (${dtype}) tokens: the file is truncated or not a token file; ${AGAIN}`);
    if (size !== expected * width) {
      throw new UserError(`${path} has ${size} bytes, meta.json says ${expected} tokens of ${width} bytes (${expected * width}): the file is truncated or from another run; ${AGAIN}`);
    }
    const tokens = width === 2 ? new Uint16Array(expected) : new Uint32Array(expected);
    for (let off = 0; off < size; off += chunkBytes) {
      readAt(fd, new Uint8Array(tokens.buffer, off, Math.min(chunkBytes, size - off)), off, path, chunkBytes);
    }
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i] >= vocabSize) throw new UserError(`${path}: token ${tokens[i]} at position ${i} is outside the vocabulary (vocab_size ${vocabSize} in meta.json): the data and meta.json do not belong together; ${AGAIN}`);
    }
    return tokens;
  } finally {
    closeSync(fd);
  }
}

/** Loads data/<dataset>/ as prepare wrote it, checking that the files agree with meta.json. */
export function loadDataset(dir: string): Dataset {
  const metaPath = join(dir, 'meta.json');
  if (!existsSync(metaPath)) throw new UserError(`no dataset in ${dir} (missing meta.json); run: yorick prepare`);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(readFileBounded(metaPath, MAX_META_BYTES, 'meta.json'));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${metaPath} is not valid JSON (${(e as Error).message}); ${AGAIN}`);
  }
  const { meta, tokenizer } = validateDatasetMeta(json, metaPath);
  const train = readTokenFile(join(dir, 'train.bin'), meta.dtype, meta.train_tokens, meta.vocab_size);
  const val = readTokenFile(join(dir, 'val.bin'), meta.dtype, meta.val_tokens, meta.vocab_size);
  return { meta, tokenizer, train, val };
}

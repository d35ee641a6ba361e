import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenArray } from '../data/batches.js';
import { countCodePoints, encodeSplits } from '../data/text-split.js';
import { UserError } from '../errors.js';
import type { Tokenizer, TokenizerSpec } from '../tokenizers/types.js';
import { createTokenizer, loadTokenizer } from './tokenizers.js';

/** The text of nanoGPT's shakespeare_char dataset, from karpathy/char-rnn. */
export const SHAKESPEARE_URL = 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt';

export interface DatasetMeta {
  vocab_size: number;
  /** Storage of train.bin / val.bin: little-endian uint16, or uint32 for vocabularies over 65,536. */
  dtype: 'uint16' | 'uint32';
  tokenizer: TokenizerSpec;
  train_tokens: number;
  val_tokens: number;
}

/** Writes a file whole or not at all: a temporary file, then a rename over the old one. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Downloads the Tiny Shakespeare text to `path`, or explains how to put it there by hand. */
export async function downloadShakespeare(path: string, log: (s: string) => void): Promise<void> {
  log(`downloading Tiny Shakespeare from ${SHAKESPEARE_URL}`);
  let text: string;
  try {
    const res = await fetch(SHAKESPEARE_URL);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
  } catch (e) {
    throw new UserError(`could not download ${SHAKESPEARE_URL} (${(e as Error).message}).\n` +
      `If this machine is offline, download that file elsewhere and save it as ${path}, ` +
      `or run: yorick prepare --input PATH_TO_TEXT`);
  }
  writeFileAtomic(path, text);
}

/** Reads a text file as UTF-8, refusing invalid bytes and empty files. */
export function readText(path: string): string {
  if (!existsSync(path)) throw new UserError(`input file not found: ${path}`);
  const bytes = readFileSync(path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UserError(`${path} is not valid UTF-8 text`);
  }
  if (text.length === 0) throw new UserError(`${path} is empty: there is no text to train on`);
  return text;
}

/** Texts longer than this (UTF-16 units) are encoded in pieces of this size, with progress. */
export const PIECE_CHARS = 4_000_000;

/**
 * nanoGPT's prepare.py: the first 90% of the text's characters to train.bin and the rest to
 * val.bin, each part tokenized on its own (so BPE token counts match nanoGPT's), the tokenizer
 * to meta.json, all in dir. onProgress(done, total) follows the encoding, in UTF-16 units.
 */
export function prepareDataset(text: string, dir: string, tokenizerArg: string, log: (s: string) => void,
  opts: { pieceChars?: number; onProgress?: (done: number, total: number) => void } = {}): DatasetMeta {
  const tokenizer = createTokenizer(tokenizerArg, text);
  log(`length of dataset in characters: ${countCodePoints(text).toLocaleString('en-US')}`);
  log(`tokenizer: ${tokenizer.kind}, vocab size ${tokenizer.vocabSize.toLocaleString('en-US')}`);
  const { train, val } = encodeSplits(text, tokenizer, { pieceChars: opts.pieceChars ?? PIECE_CHARS, onProgress: opts.onProgress });
  if (val.length < 2) throw new UserError(`the text gives only ${train.length + val.length} tokens: too few for a train/val split`);
  log(`train has ${train.length.toLocaleString('en-US')} tokens, val has ${val.length.toLocaleString('en-US')} tokens`);
  mkdirSync(dir, { recursive: true });
  const meta: DatasetMeta = {
    vocab_size: tokenizer.vocabSize,
    dtype: train instanceof Uint16Array ? 'uint16' : 'uint32',
    tokenizer: tokenizer.toSpec(),
    train_tokens: train.length,
    val_tokens: val.length,
  };
  writeFileAtomic(join(dir, 'train.bin'), new Uint8Array(train.buffer, train.byteOffset, train.byteLength));
  writeFileAtomic(join(dir, 'val.bin'), new Uint8Array(val.buffer, val.byteOffset, val.byteLength));
  writeFileAtomic(join(dir, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
  log(`wrote ${join(dir, 'train.bin')}, val.bin and meta.json`);
  return meta;
}

export interface Dataset {
  meta: DatasetMeta;
  tokenizer: Tokenizer;
  train: TokenArray;
  val: TokenArray;
}

/** Loads data/<dataset>/ as prepareDataset wrote it, checking that the files agree with meta.json. */
export function loadDataset(dir: string): Dataset {
  const metaPath = join(dir, 'meta.json');
  if (!existsSync(metaPath)) throw new UserError(`no dataset in ${dir} (missing meta.json); run: yorick prepare`);
  let meta: DatasetMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8'));
  } catch (e) {
    throw new UserError(`${metaPath} is not valid JSON (${(e as Error).message}); run yorick prepare again`);
  }
  if (!meta || typeof meta.vocab_size !== 'number' || !meta.tokenizer || (meta.dtype !== 'uint16' && meta.dtype !== 'uint32')) {
    throw new UserError(`${metaPath} is missing vocab_size, dtype or tokenizer; run yorick prepare again`);
  }
  const tokenizer = loadTokenizer(meta.tokenizer);
  const read = (split: 'train' | 'val', expected: number): TokenArray => {
    const path = join(dir, `${split}.bin`);
    if (!existsSync(path)) throw new UserError(`missing ${path}; run yorick prepare again`);
    const bytes = readFileSync(path);
    const width = meta.dtype === 'uint16' ? 2 : 4;
    if (bytes.length !== expected * width) {
      throw new UserError(`${path} has ${bytes.length} bytes, meta.json says ${expected} tokens of ${width} bytes (${expected * width}): the file is truncated or from another run; run yorick prepare again`);
    }
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    const tokens = width === 2 ? new Uint16Array(copy.buffer) : new Uint32Array(copy.buffer);
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i] >= meta.vocab_size) throw new UserError(`${path}: token ${tokens[i]} at position ${i} is outside the vocabulary (${meta.vocab_size}); the file is corrupt`);
    }
    return tokens;
  };
  return { meta, tokenizer, train: read('train', meta.train_tokens), val: read('val', meta.val_tokens) };
}

import { join } from 'node:path';
import { trainSplitPoint } from '../data/batches.js';
import { StreamEncoder } from '../data/stream-encode.js';
import { UserError } from '../errors.js';
import { CharTokenizer } from '../tokenizers/char.js';
import type { Tokenizer } from '../tokenizers/types.js';
import type { DatasetMeta } from './dataset.js';
import { cleanStaleTemps, ensureDir, readFileBounded, TempFile, writeFailure, writeFileAtomic } from './files.js';
import { writeNanoGptMetaFile } from './nanogpt-file.js';
import { ByteProgress } from './progress.js';
import { CharSet, codePointOffset, countCodePoints, fileTextSource, stringTextSource, type TextSource } from './text-source.js';
import { createTokenizer } from './tokenizers.js';

export { loadDataset, type Dataset, type DatasetMeta } from './dataset.js';
export { writeFileAtomic } from './files.js';

/** The text of nanoGPT's shakespeare_char dataset, from karpathy/char-rnn. */
export const SHAKESPEARE_URL = 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt';

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

/** Reads a (small) text file as UTF-8, refusing invalid bytes and empty files. */
export function readText(path: string, maxBytes = 256 << 20): string {
  const bytes = readFileBounded(path, maxBytes, 'input file');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UserError(`${path} is not valid UTF-8 text`);
  }
  if (text.length === 0) throw new UserError(`${path} is empty: there is no text to train on`);
  return text;
}

export interface PrepareOptions {
  /** Text per tokenizer call, in UTF-16 units (tests make it small to exercise the cuts). */
  pieceChars?: number;
  /** Show a progress bar on stderr (default: on a terminal, or for inputs over 64 MB). */
  progress?: boolean;
}

/**
 * nanoGPT's prepare.py: the first 90% of the text's characters to train.bin and the rest to
 * val.bin, each part tokenized on its own (so BPE token counts match nanoGPT's), the tokenizer
 * to meta.json, all in dir. The text is read twice, in pieces (to count its characters, and
 * for the character tokenizer collect them; then to tokenize), and the ids are written as they
 * come, so memory does not grow with the text. Ids equal those of encoding each part whole.
 */
export function prepareDatasetFrom(source: TextSource, dir: string, tokenizerArg: string, log: (s: string) => void, opts: PrepareOptions = {}): DatasetMeta {
  const showProgress = opts.progress ?? (!!process.stderr.isTTY || source.bytes > 64e6);
  const bar = showProgress ? new ByteProgress('prepare', 2 * source.bytes) : null;
  // a tokenizer from a file is loaded (and checked) before the text is read
  const given = tokenizerArg === 'char' ? null : createTokenizer(tokenizerArg, '');
  let chars = 0;
  const charSet = given ? null : new CharSet();
  for (const piece of source.pieces((n) => bar?.update(n))) {
    chars += countCodePoints(piece);
    charSet?.add(piece);
  }
  if (chars === 0) throw new UserError(`${source.name} is empty: there is no text to train on`);
  const tokenizer: Tokenizer = given ?? new CharTokenizer(charSet!.sorted());
  bar?.done();
  log(`length of dataset in characters: ${chars.toLocaleString('en-US')}`);
  log(`tokenizer: ${tokenizer.kind}, vocab size ${tokenizer.vocabSize.toLocaleString('en-US')}`);
  const Tokens = tokenizer.vocabSize <= 65536 ? Uint16Array : Uint32Array;
  ensureDir(dir, 'dataset folder');
  cleanStaleTemps(dir);
  const files = { train: new TempFile(join(dir, 'train.bin')), val: new TempFile(join(dir, 'val.bin')) };
  const counts = { train: 0, val: 0 };
  const encoder = (split: 'train' | 'val') => new StreamEncoder(tokenizer, (ids) => {
    const t = Tokens.from(ids);
    files[split].write(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
    counts[split] += ids.length;
  }, opts.pieceChars);
  try {
    const train = encoder('train'), val = encoder('val');
    if (!train.rule) log(`note: the ${tokenizer.kind} tokenizer cannot encode a text piece by piece with the same ids; each split is held in memory`);
    const cut = trainSplitPoint(chars);
    let seen = 0;
    for (const piece of source.pieces((n) => bar?.update(source.bytes + n))) {
      if (seen >= cut) {
        val.push(piece);
        continue;
      }
      const n = countCodePoints(piece);
      const at = seen + n <= cut ? piece.length : codePointOffset(piece, cut - seen);
      train.push(piece.slice(0, at));
      seen += seen + n <= cut ? n : cut - seen;
      if (seen >= cut) {
        train.finish();
        val.push(piece.slice(at));
      }
    }
    train.finish();
    val.finish();
    bar?.done();
    if (counts.val < 2) throw new UserError(`the text gives only ${counts.train + counts.val} tokens: too few for a train/val split`);
    log(`train has ${counts.train.toLocaleString('en-US')} tokens, val has ${counts.val.toLocaleString('en-US')} tokens`);
    files.train.commit();
    files.val.commit();
  } catch (e) {
    files.train.discard();
    files.val.discard();
    if (e instanceof RangeError && /string length/i.test(e.message)) {
      throw new UserError(`${source.name}: one split is too large to tokenize in memory with the ${tokenizer.kind} tokenizer (${e.message}); use char, gpt2, cl100k_base, o200k_base or a BPE with the gpt2/gpt4 pattern, which stream`);
    }
    throw writeFailure(e, join(dir, 'train.bin'));
  }
  const meta: DatasetMeta = {
    vocab_size: tokenizer.vocabSize,
    dtype: Tokens === Uint16Array ? 'uint16' : 'uint32',
    tokenizer: tokenizer.toSpec(),
    train_tokens: counts.train,
    val_tokens: counts.val,
  };
  writeFileAtomic(join(dir, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
  // nanoGPT's train.py and sample.py read a character vocabulary from meta.pkl
  if (tokenizer instanceof CharTokenizer) writeNanoGptMetaFile(join(dir, 'meta.pkl'), tokenizer.chars);
  log(`wrote ${join(dir, 'train.bin')}, val.bin and meta.json${tokenizer instanceof CharTokenizer ? ' (and meta.pkl for nanoGPT)' : ''}`);
  return meta;
}

/** prepareDatasetFrom a text file, read in pieces. */
export function prepareDatasetFile(path: string, dir: string, tokenizerArg: string, log: (s: string) => void, opts: PrepareOptions = {}): DatasetMeta {
  return prepareDatasetFrom(fileTextSource(path), dir, tokenizerArg, log, opts);
}

/** prepareDatasetFrom a text in memory. */
export function prepareDataset(text: string, dir: string, tokenizerArg: string, log: (s: string) => void, opts: PrepareOptions = {}): DatasetMeta {
  return prepareDatasetFrom(stringTextSource(text), dir, tokenizerArg, log, opts);
}

/**
 * nanoGPT's prepare.py on text: the first 90% of the characters (code points, as Python counts
 * them) train and the rest validate, each part tokenized on its own, so BPE token counts match
 * nanoGPT's. `yorick prepare` writes these to disk; the page keeps them in memory.
 */
import type { Tokenizer } from '../tokenizers/types.js';
import { trainSplitPoint, type TokenArray } from './batches.js';
import { encodeInPieces } from './pieces.js';

/** Characters (code points) in text. */
export function countCodePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i += text.codePointAt(i)! > 0xffff ? 2 : 1) n++;
  return n;
}

/** UTF-16 offset where the validation part of text starts (after 90% of its code points). */
export function textSplitOffset(text: string): number {
  const n = trainSplitPoint(countCodePoints(text));
  let offset = 0;
  for (let k = 0; k < n && offset < text.length; k++) offset += text.codePointAt(offset)! > 0xffff ? 2 : 1;
  return offset;
}

export interface EncodedSplits {
  train: TokenArray;
  val: TokenArray;
  /** UTF-16 offset of the cut. */
  cut: number;
}

/**
 * The train and val tokens of text, as prepare.py makes them. Large texts are encoded in pieces
 * of pieceChars (the same tokens; see pieces.ts), onProgress(done, total) after each, in UTF-16 units.
 */
export function encodeSplits(text: string, tokenizer: Tokenizer,
  opts: { pieceChars?: number; onProgress?: (done: number, total: number) => void } = {}): EncodedSplits {
  const cut = textSplitOffset(text);
  const size = opts.pieceChars ?? 4_000_000;
  const progress = opts.onProgress && ((offset: number) => (done: number) => opts.onProgress!(offset + done, text.length));
  const trainIds = encodeInPieces(tokenizer, text.slice(0, cut), size, progress?.(0));
  const valIds = encodeInPieces(tokenizer, text.slice(cut), size, progress?.(cut));
  const Tokens = tokenizer.vocabSize <= 65536 ? Uint16Array : Uint32Array;
  return { train: Tokens.from(trainIds), val: Tokens.from(valIds), cut };
}

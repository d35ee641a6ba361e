/**
 * nanoGPT's prepare.py on text: the first 90% of the characters (code points, as Python counts
 * them) train and the rest validate, each part tokenized on its own, so BPE token counts match
 * nanoGPT's. `yorick prepare` streams this to disk; the page keeps the result in memory.
 */
import type { Tokenizer } from '../tokenizers/types.js';
import { trainSplitPoint, type TokenArray } from './batches.js';
import { StreamEncoder } from './stream-encode.js';

/** Characters as Python counts them (code points): UTF-16 units less the second halves of pairs. */
export function countCodePoints(text: string): number {
  let n = text.length;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) {
      const h = text.charCodeAt(i - 1);
      if (h >= 0xd800 && h <= 0xdbff) n--;
    }
  }
  return n;
}

/** UTF-16 offset of the first n code points of text. */
export function codePointOffset(text: string, n: number): number {
  let offset = 0;
  for (let k = 0; k < n && offset < text.length; k++) offset += text.codePointAt(offset)! > 0xffff ? 2 : 1;
  return offset;
}

/** UTF-16 offset where the validation part of text starts (after 90% of its code points). */
export function textSplitOffset(text: string): number {
  return codePointOffset(text, trainSplitPoint(countCodePoints(text)));
}

export interface EncodedSplits {
  train: TokenArray;
  val: TokenArray;
  /** UTF-16 offset of the cut. */
  cut: number;
}

/**
 * The train and val tokens of text, as prepare.py makes them. Large texts are encoded in pieces
 * of pieceChars where the tokenizer allows (the same tokens; see stream-encode.ts), with
 * onProgress(done, total) after each piece, in UTF-16 units.
 */
export function encodeSplits(text: string, tokenizer: Tokenizer,
  opts: { pieceChars?: number; onProgress?: (done: number, total: number) => void } = {}): EncodedSplits {
  const cut = textSplitOffset(text);
  const size = opts.pieceChars ?? 1 << 20;
  const encode = (part: string, offset: number): number[] => {
    const ids: number[] = [];
    const encoder = new StreamEncoder(tokenizer, (piece) => { for (const id of piece) ids.push(id); }, size);
    for (let at = 0; at < part.length; at += size) {
      encoder.push(part.slice(at, at + size));
      opts.onProgress?.(offset + Math.min(part.length, at + size), text.length);
    }
    encoder.finish();
    return ids;
  };
  const trainIds = encode(text.slice(0, cut), 0), valIds = encode(text.slice(cut), cut);
  const Tokens = tokenizer.vocabSize <= 65536 ? Uint16Array : Uint32Array;
  return { train: Tokens.from(trainIds), val: Tokens.from(valIds), cut };
}

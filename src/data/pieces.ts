/**
 * Encoding a large text piece by piece, so that `yorick prepare` can show its progress, with the
 * very tokens one encode() of the whole text gives. That holds only where a cut cannot change
 * the tokens:
 * - a char tokenizer: anywhere;
 * - a byte-level BPE whose split pattern is GPT-2's, GPT-4's (cl100k) or o200k's: at a newline
 *   that follows a non-space character and precedes a letter. No alternative of those patterns
 *   matches across "\n" followed by a letter, so a pre-token always ends there; and the piece
 *   before it ends in a lone "\n", which every pattern takes as a pre-token of its own whether
 *   or not more text follows (a longer run of whitespace could be split differently by the
 *   `\s+(?!\S)` lookahead at the end of a piece).
 * SentencePiece (which adds a prefix space to each text it encodes) and BPE with other split
 * patterns are encoded whole.
 */
import { GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN } from '../tokenizers/patterns.js';
import type { Tokenizer, TokenizerSpec } from '../tokenizers/types.js';

const SAFE_TIKTOKEN = ['gpt2', 'r50k_base', 'cl100k_base', 'o200k_base'];

export function canEncodeInPieces(spec: TokenizerSpec): boolean {
  if (spec.kind === 'char') return true;
  if (spec.kind === 'tiktoken') return SAFE_TIKTOKEN.includes(String(spec.encoding));
  if (spec.kind === 'bpe') return spec.pattern === GPT2_SPLIT_PATTERN || spec.pattern === GPT4_SPLIT_PATTERN;
  return false;
}

/** Where the text is cut: the first safe place at or after each multiple of `size` (UTF-16 units), then the end. */
export function pieceEnds(text: string, size: number, anywhere: boolean): number[] {
  const ends: number[] = [];
  const safe = /\S\n(?=\p{L})/gu;
  let start = 0;
  while (text.length - start > size) {
    let cut: number;
    if (anywhere) {
      cut = start + size;
      // never between the two halves of a surrogate pair
      const c = text.charCodeAt(cut - 1);
      if (c >= 0xd800 && c < 0xdc00) cut++;
    } else {
      safe.lastIndex = start + size;
      const m = safe.exec(text);
      if (!m) break;
      cut = m.index + m[0].length; // \S may be two UTF-16 units
    }
    ends.push(cut);
    start = cut;
  }
  ends.push(text.length);
  return ends;
}

/**
 * tokenizer.encode(text), in pieces of about `size` UTF-16 units when the tokenizer allows it
 * (see above), calling onPiece(charsDone) after each.
 */
export function encodeInPieces(tokenizer: Tokenizer, text: string, size: number, onPiece?: (charsDone: number) => void): number[] {
  const spec = tokenizer.toSpec();
  if (!canEncodeInPieces(spec)) {
    const ids = tokenizer.encode(text);
    onPiece?.(text.length);
    return ids;
  }
  const ids: number[] = [];
  let start = 0;
  for (const end of pieceEnds(text, size, spec.kind === 'char')) {
    for (const id of tokenizer.encode(text.slice(start, end))) ids.push(id);
    start = end;
    onPiece?.(end);
  }
  return ids;
}

/**
 * Encoding a text of any size piece by piece with exactly the ids of encoding it whole.
 *
 * A piece may end only where the whole text's encoding has a boundary that nothing before it
 * depends on the text after it to find. For the character tokenizer that is anywhere. For the
 * regex-split byte-level tokenizers (tiktoken's gpt2 / cl100k_base / o200k_base and BPE with
 * minbpe's or those patterns) the merges never cross a pre-token, so it is enough that a
 * pre-token ends there in both encodings. Two kinds of places qualify, for all those patterns:
 *  - a letter, then a space, then a letter: every alternative that matches a letter stops before
 *    a space (a space can only open a pre-token), so one ends after the first letter, and the
 *    one that follows starts at the space in both encodings;
 *  - a character that is not white space, then "\n", then a letter: the "\n" is a pre-token by
 *    itself (or ends a punctuation one, which stops at a letter) whether a letter or the end of
 *    the text follows; with white space before the "\n" that would not hold (`\s+(?!\S)`).
 * None of these patterns looks behind or anchors at the start, so the next piece is split as
 * the whole text was from there. Special tokens without white space cannot span such a place.
 * Other tokenizers (SentencePiece, BPE with another pattern or none) are encoded whole.
 */
import { GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN } from '../tokenizers/patterns.js';
import { ENCODINGS } from '../tokenizers/tiktoken/encodings.js';
import type { Tokenizer } from '../tokenizers/types.js';

/** Whether the text may be cut before UTF-16 offset p (0 < p < text.length). */
export type SplitRule = (text: string, p: number) => boolean;

const LETTER = /\p{L}/u;
const WHITE = /\p{White_Space}/u;

function letterAt(text: string, p: number): boolean {
  const c = text.charCodeAt(p);
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) return true;
  if (c < 0x80 || c !== c) return false;
  return LETTER.test(String.fromCodePoint(text.codePointAt(p)!));
}

/** A letter ending just before p (the low half of a pair included). */
function letterBefore(text: string, p: number): boolean {
  const c = text.charCodeAt(p - 1);
  if (c >= 0xdc00 && c <= 0xdfff && p >= 2) return LETTER.test(text.slice(p - 2, p));
  return letterAt(text, p - 1);
}

const anywhere: SplitRule = (text, p) => {
  const c = text.charCodeAt(p - 1);
  return !(c >= 0xd800 && c <= 0xdbff); // never between the halves of a pair
};

const preTokenBoundary: SplitRule = (text, p) => {
  const c = text.charCodeAt(p);
  if (c === 0x20) return letterBefore(text, p) && letterAt(text, p + 1);
  return p >= 2 && text.charCodeAt(p - 1) === 0x0a && letterAt(text, p) && !WHITE.test(text[p - 2]);
};

const KNOWN_PATTERNS = new Set<string>([GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, ...Object.values(ENCODINGS).map((e) => e.pattern)]);

/** Where this tokenizer's input may be cut, or null when it must be encoded whole. */
export function splitRuleFor(tokenizer: Tokenizer): SplitRule | null {
  const spec = tokenizer.toSpec();
  if (spec.kind === 'char') return anywhere;
  let pattern: unknown, specials: string[];
  if (spec.kind === 'tiktoken') {
    const enc = Object.values(ENCODINGS).find((e) => e.name === spec.encoding);
    if (!enc) return null;
    pattern = enc.pattern;
    specials = Object.keys(enc.specialTokens);
  } else if (spec.kind === 'bpe') {
    pattern = spec.pattern;
    specials = Object.keys((spec.special_tokens as Record<string, number> | undefined) ?? {});
  } else return null;
  if (typeof pattern !== 'string' || !KNOWN_PATTERNS.has(pattern)) return null;
  if (specials.some((s) => WHITE.test(s))) return null;
  return preTokenBoundary;
}

/** The last place at or before `from` where the rule allows a cut (0 if none). */
export function lastSplit(text: string, rule: SplitRule, from = text.length - 1): number {
  for (let p = Math.min(from, text.length - 1); p > 0; p--) if (rule(text, p)) return p;
  return 0;
}

/**
 * Feeds text in any pieces, emits ids in order: the same ids as tokenizer.encode(all the text).
 * Text is held until `pieceChars` of it can be cut at a safe place (all of it, when the
 * tokenizer has no split rule).
 */
export class StreamEncoder {
  private pending = '';
  readonly rule: SplitRule | null;

  constructor(private readonly tokenizer: Tokenizer, private readonly emit: (ids: number[]) => void, private readonly pieceChars = 1 << 20) {
    this.rule = splitRuleFor(tokenizer);
  }

  push(text: string): void {
    this.pending += text;
    if (this.rule === null || this.pending.length < this.pieceChars) return;
    const p = lastSplit(this.pending, this.rule);
    if (p === 0) return;
    this.emit(this.tokenizer.encode(this.pending.slice(0, p)));
    this.pending = this.pending.slice(p);
  }

  finish(): void {
    if (this.pending.length > 0) this.emit(this.tokenizer.encode(this.pending));
    this.pending = '';
  }
}

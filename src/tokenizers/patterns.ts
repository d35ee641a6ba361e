/**
 * Named split patterns, as their authors wrote them (Python `regex` / Rust syntax), and the
 * compiled JS RegExp for each (see regex.ts for the translation).
 */
import { UserError } from '../errors.js';
import { compilePattern } from './regex.js';

/** minbpe's GPT2_SPLIT_PATTERN. */
export const GPT2_SPLIT_PATTERN = String.raw`'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
/** minbpe's GPT4_SPLIT_PATTERN (possessive quantifiers included, as in minbpe). */
export const GPT4_SPLIT_PATTERN = String.raw`'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`;

const compiled = new Map<string, RegExp>();

/** The split RegExp for a pattern (cached; callers must reset lastIndex, splitText does). */
export function splitRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = compilePattern(pattern);
    compiled.set(pattern, re);
  }
  return re;
}

/** `gpt2` / `gpt4` name minbpe's patterns; anything else is taken as a pattern itself. */
export function resolvePatternName(nameOrPattern: string): string {
  if (nameOrPattern === 'gpt2') return GPT2_SPLIT_PATTERN;
  if (nameOrPattern === 'gpt4') return GPT4_SPLIT_PATTERN;
  if (nameOrPattern.length === 0) throw new UserError('the split pattern is empty; use gpt2, gpt4 or a regular expression');
  splitRegExp(nameOrPattern); // validates, with a UserError naming the pattern
  return nameOrPattern;
}

/**
 * Special tokens (`<|endoftext|>`...) with tiktoken's rules: by default a special token's text in
 * the input is an error (it would otherwise be silently encoded as ordinary text, or let a user's
 * text inject control tokens). `allowedSpecial` lists those encoded as their special id;
 * `disallowedSpecial` (default: all not allowed) those that make encode throw; any other is
 * encoded as ordinary text. minbpe's `allowed_special` values map onto this:
 * "all" = { allowedSpecial: 'all' }, "none" = { disallowedSpecial: 'none' }, "none_raise" = {}.
 */
import { UserError } from '../errors.js';

export type SpecialSet = 'all' | 'none' | Iterable<string>;

export interface EncodeOptions {
  allowedSpecial?: SpecialSet;
  disallowedSpecial?: SpecialSet;
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

export class SpecialTokens {
  /** text -> id */
  readonly byText: ReadonlyMap<string, number>;
  /** id -> text */
  readonly byId: ReadonlyMap<number, string>;
  private readonly regexCache = new Map<string, RegExp>();

  /** `isNormalId` tells whether an id already belongs to an ordinary token (a collision). */
  constructor(tokens: Record<string, number> | Map<string, number>, isNormalId: (id: number) => boolean, what: string) {
    const byText = new Map<string, number>();
    const byId = new Map<number, string>();
    const entries = tokens instanceof Map ? [...tokens] : Object.entries(tokens);
    for (const [text, id] of entries) {
      if (typeof text !== 'string' || text.length === 0) throw new UserError(`${what}: a special token must be a non-empty string`);
      if (!Number.isInteger(id) || id < 0) throw new UserError(`${what}: special token ${JSON.stringify(text)} has id ${id}; expected a non-negative integer`);
      if (isNormalId(id)) throw new UserError(`${what}: special token ${JSON.stringify(text)} has id ${id}, which is already an ordinary token's id`);
      const other = byId.get(id);
      if (other !== undefined) throw new UserError(`${what}: special tokens ${JSON.stringify(other)} and ${JSON.stringify(text)} both have id ${id}`);
      if (byText.has(text)) throw new UserError(`${what}: special token ${JSON.stringify(text)} appears twice`);
      byText.set(text, id);
      byId.set(id, text);
    }
    this.byText = byText;
    this.byId = byId;
  }

  get size(): number {
    return this.byText.size;
  }

  private resolve(set: SpecialSet | undefined, fallback: 'all' | 'none', name: string): Set<string> {
    const s = set ?? fallback;
    if (s === 'all') return new Set(this.byText.keys());
    if (s === 'none') return new Set();
    if (typeof s === 'string') throw new UserError(`${name} must be 'all', 'none' or a list of special tokens, not ${JSON.stringify(s)}`);
    const out = new Set<string>();
    for (const t of s) {
      if (!this.byText.has(t)) throw new UserError(`${name}: ${JSON.stringify(t)} is not a special token of this tokenizer (it has: ${[...this.byText.keys()].map((k) => JSON.stringify(k)).join(', ') || 'none'})`);
      out.add(t);
    }
    return out;
  }

  /** Longest first, so that a special token that is a prefix of another never wins. */
  private regexFor(tokens: Set<string>): RegExp | null {
    if (tokens.size === 0) return null;
    const sorted = [...tokens].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    const key = sorted.join('\u0000');
    let re = this.regexCache.get(key);
    if (!re) {
      re = new RegExp(sorted.map(escapeRegExp).join('|'), 'gu');
      this.regexCache.set(key, re);
    }
    return re;
  }

  /**
   * Ids of `text`: allowed special tokens become their ids (after the checks of split), the text
   * between them goes through `ordinary`, which appends its ids to `out`.
   */
  encode(text: string, options: EncodeOptions, ordinary: (part: string, out: number[]) => void): number[] {
    const out: number[] = [];
    for (const part of this.split(text, options)) {
      if (typeof part === 'number') out.push(part);
      else ordinary(part, out);
    }
    return out;
  }

  /**
   * Check `text` against the options and cut it at allowed special tokens:
   * strings are ordinary text, numbers are special ids.
   */
  split(text: string, options: EncodeOptions = {}): (string | number)[] {
    if (this.byText.size === 0) return [text];
    const allowed = this.resolve(options.allowedSpecial, 'none', 'allowedSpecial');
    const disallowed = options.disallowedSpecial === undefined
      ? new Set([...this.byText.keys()].filter((t) => !allowed.has(t)))
      : this.resolve(options.disallowedSpecial, 'all', 'disallowedSpecial');
    const bad = this.regexFor(disallowed);
    if (bad) {
      bad.lastIndex = 0;
      const m = bad.exec(text);
      if (m) {
        throw new UserError(`the text contains the special token ${JSON.stringify(m[0])} at offset ${m.index}, which is refused by default: encode with allowedSpecial (CLI: --allowed_special all) to make it the special token, or disallowedSpecial 'none' (--allowed_special none) to encode it as ordinary text`);
      }
    }
    const re = this.regexFor(allowed);
    if (!re) return [text];
    const parts: (string | number)[] = [];
    let last = 0;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) parts.push(text.slice(last, m.index));
      parts.push(this.byText.get(m[0])!);
      last = m.index + m[0].length;
    }
    if (last < text.length) parts.push(text.slice(last));
    return parts;
  }
}

import { UserError } from '../errors.js';
import type { StreamDecoder, Tokenizer, TokenizerSpec } from './types.js';

/** The lecture's tokenizer: the vocabulary is the sorted set of characters in the text. */
export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  readonly chars: string[];
  /** code point -> id (numbers, so encoding makes no string per character) */
  private readonly stoi = new Map<number, number>();

  constructor(chars: string[]) {
    if (chars.length === 0) throw new UserError('char tokenizer: the vocabulary is empty');
    this.chars = chars;
    chars.forEach((ch, i) => {
      if (typeof ch !== 'string' || [...ch].length !== 1) throw new UserError(`char tokenizer: vocabulary entry ${i} (${JSON.stringify(ch)}) is not one character`);
      const cp = ch.codePointAt(0)!;
      if (this.stoi.has(cp)) throw new UserError(`char tokenizer: character ${JSON.stringify(ch)} appears twice in the vocabulary`);
      this.stoi.set(cp, i);
    });
  }

  /** Sorted unique characters (by code point, as Python's sorted(set(text))). */
  static fromText(text: string): CharTokenizer {
    if (text.length === 0) throw new Error('char tokenizer: the text is empty; there are no characters to build a vocabulary from');
    const set = new Set<string>(text);
    const chars = [...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharTokenizer(chars);
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (let i = 0, pos = 0; i < text.length; pos++) {
      const cp = text.codePointAt(i)!;
      const id = this.stoi.get(cp);
      if (id === undefined) {
        throw new UserError(`char tokenizer: character ${JSON.stringify(String.fromCodePoint(cp))} (U+${cp.toString(16).toUpperCase().padStart(4, '0')}) at position ${pos} is not in the vocabulary`);
      }
      ids.push(id);
      i += cp > 0xffff ? 2 : 1;
    }
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const ch = this.chars[ids[i]];
      if (ch === undefined) throw new UserError(`char tokenizer: id ${ids[i]} at position ${i} is out of range [0, ${this.chars.length})`);
      s += ch;
    }
    return s;
  }

  streamDecoder(): StreamDecoder {
    return { push: (ids) => this.decode(ids), flush: () => '' };
  }

  toSpec(): TokenizerSpec {
    return { kind: 'char', chars: this.chars };
  }

  static fromSpec(spec: TokenizerSpec): CharTokenizer {
    if (!Array.isArray(spec.chars) || !spec.chars.every((c) => typeof c === 'string')) {
      throw new UserError('char tokenizer spec: "chars" must be an array of strings');
    }
    return new CharTokenizer(spec.chars as string[]);
  }
}

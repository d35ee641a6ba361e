/**
 * A tiktoken encoding (gpt2, cl100k_base, o200k_base): split with the encoding's pattern, then
 * each chunk's UTF-8 bytes are merged by rank (the rank of a merged part is the rank of its
 * bytes), as tiktoken's byte_pair_merge. Chunks repeat a lot in text, so they are cached.
 */
import { UserError } from '../../errors.js';
import { encodeUtf8, toWellFormed, utf8Binary } from '../bytes.js';
import { mergeParts } from '../bpe/merge.js';
import { compilePattern } from '../regex.js';
import { SpecialTokens } from '../special.js';
import { ByteLevelTokenizer } from '../byte-level.js';
import type { Tokenizer, TokenizerSpec } from '../types.js';
import type { TiktokenEncoding } from './encodings.js';
import type { Ranks } from './rank-file.js';

const CACHE_LIMIT = 200_000;

export class TiktokenTokenizer extends ByteLevelTokenizer implements Tokenizer {
  readonly kind = 'tiktoken';
  readonly encoding: TiktokenEncoding;
  readonly special: SpecialTokens;
  private readonly ranks: Map<string, number>;
  private readonly byRank: (string | undefined)[];
  private readonly split: RegExp;
  private readonly cache = new Map<string, number | number[]>();

  constructor(encoding: TiktokenEncoding, ranks: Ranks) {
    super();
    this.encoding = encoding;
    this.ranks = ranks.byBytes;
    this.byRank = ranks.byRank;
    if (this.byRank.length > encoding.nVocab) {
      throw new UserError(`${encoding.rankFile}: rank ${this.byRank.length - 1} is beyond the ${encoding.name} vocabulary (${encoding.nVocab} ids)`);
    }
    this.special = new SpecialTokens(encoding.specialTokens, (id) => this.byRank[id] !== undefined, encoding.name);
    this.split = compilePattern(encoding.pattern);
  }

  get name(): string {
    return this.encoding.name;
  }

  get vocabSize(): number {
    return this.encoding.nVocab;
  }


  protected encodeOrdinaryInto(text: string, out: number[]): void {
    text = toWellFormed(text);
    const re = this.split;
    const cache = this.cache;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const chunk = m[0];
      if (chunk.length === 0) {
        re.lastIndex += (text.codePointAt(re.lastIndex) ?? 0) > 0xffff ? 2 : 1;
        continue;
      }
      let ids = cache.get(chunk);
      if (ids === undefined) {
        ids = this.encodeChunk(chunk);
        if (cache.size >= CACHE_LIMIT) cache.clear();
        cache.set(chunk, ids);
      }
      if (typeof ids === 'number') out.push(ids);
      else for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
  }

  /** A single-token chunk is kept as a number (most chunks are). */
  private encodeChunk(chunk: string): number | number[] {
    const piece = utf8Binary(chunk);
    const whole = this.ranks.get(piece);
    if (whole !== undefined) return whole;
    const ranks = this.ranks;
    const starts = mergeParts(piece.length, (s, _m, e) => ranks.get(piece.slice(s, e)) ?? Infinity);
    const ids: number[] = new Array(starts.length);
    for (let i = 0; i < starts.length; i++) {
      ids[i] = ranks.get(piece.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : piece.length))!;
    }
    return ids;
  }

  protected tokenBinary(id: number, position: number): string {
    const b = this.byRank[id];
    if (b !== undefined) return b;
    const s = this.special.byId.get(id);
    if (s !== undefined) return String.fromCharCode(...encodeUtf8(s));
    throw new UserError(`id ${id} at position ${position} is not a token of ${this.encoding.name} (ids 0..${this.encoding.nVocab - 1}, with gaps)`);
  }



  toSpec(): TokenizerSpec {
    return { kind: 'tiktoken', encoding: this.encoding.name };
  }
}

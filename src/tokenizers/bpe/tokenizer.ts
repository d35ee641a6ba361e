/**
 * A byte-level BPE tokenizer trained here or by minbpe: ids 0..255 are bytes, 256 + i is merge i,
 * special tokens come after. Encoding splits the text with the pattern (none for a basic model),
 * applies the merges to each chunk's UTF-8 bytes, lowest merge first, and caches chunks.
 */
import { UserError } from '../../errors.js';
import { encodeUtf8, toWellFormed } from '../bytes.js';
import { resolvePatternName, splitRegExp } from '../patterns.js';
import { splitText } from '../regex.js';
import { SpecialTokens } from '../special.js';
import { ByteLevelTokenizer } from '../byte-level.js';
import type { Tokenizer, TokenizerSpec } from '../types.js';
import { mergeParts } from './merge.js';
import { formatMinbpeModel, validateMerges, type BpeModel } from './model-file.js';
import { trainBpe, type TrainedMerge } from './train.js';

const KEY = 2 ** 24;
const CACHE_LIMIT = 100_000;

export class BpeTokenizer extends ByteLevelTokenizer implements Tokenizer {
  readonly kind = 'bpe';
  readonly model: BpeModel;
  readonly special: SpecialTokens;
  readonly vocabSize: number;
  /** (left * 2^24 + right) -> merged id */
  private readonly mergeOf = new Map<number, number>();
  /** id -> token bytes as a binary string */
  private readonly vocab: string[] = [];
  private readonly split: RegExp | null;
  private readonly cache = new Map<string, number[]>();

  constructor(model: BpeModel) {
    super();
    const merges = validateMerges(model.merges, 'bpe model');
    for (let b = 0; b < 256; b++) this.vocab.push(String.fromCharCode(b));
    merges.forEach(([l, r], i) => {
      this.mergeOf.set(l * KEY + r, 256 + i);
      this.vocab.push(this.vocab[l] + this.vocab[r]);
    });
    const nNormal = 256 + merges.length;
    this.special = new SpecialTokens(model.specialTokens, (id) => id < nNormal, 'bpe model');
    this.vocabSize = Math.max(nNormal, ...[...this.special.byId.keys()].map((id) => id + 1));
    this.split = model.pattern === '' ? null : splitRegExp(model.pattern);
    this.model = { pattern: model.pattern, merges, specialTokens: { ...model.specialTokens } };
  }

  /**
   * Train on `text` (minbpe's algorithm and tie rule). `pattern`: 'gpt2' / 'gpt4' (minbpe's),
   * a pattern of one's own, or '' for no split (minbpe's BasicTokenizer).
   */
  static train(text: string, vocabSize: number, pattern: string, specialTokens: Record<string, number> = {}, onMerge?: (m: TrainedMerge) => void): BpeTokenizer {
    if (pattern !== '') pattern = resolvePatternName(pattern);
    const { merges } = trainBpe(toWellFormed(text), vocabSize, pattern === '' ? null : pattern, onMerge);
    return new BpeTokenizer({ pattern, merges: merges.map((m) => [m.left, m.right]), specialTokens });
  }

  get merges(): readonly [number, number][] {
    return this.model.merges;
  }


  protected tokenBinary(id: number, position: number): string {
    const b = this.vocab[id];
    if (b !== undefined) return b;
    const s = this.special.byId.get(id);
    if (s !== undefined) return String.fromCharCode(...encodeUtf8(s));
    throw new UserError(`id ${id} at position ${position} is not a token of this BPE tokenizer (vocab_size ${this.vocabSize})`);
  }


  protected encodeOrdinaryInto(text: string, out: number[]): void {
    text = toWellFormed(text);
    if (this.split === null) {
      for (const id of this.encodeChunk(encodeUtf8(text))) out.push(id);
      return;
    }
    for (const chunk of splitText(this.split, text)) {
      let ids = this.cache.get(chunk);
      if (ids === undefined) {
        ids = this.encodeChunk(encodeUtf8(chunk));
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(chunk, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private encodeChunk(bytes: Uint8Array): number[] {
    const ids = Int32Array.from(bytes); // ids[start] = id of the part starting there
    const mergeOf = this.mergeOf;
    const starts = mergeParts(
      bytes.length,
      (s, m) => mergeOf.get(ids[s] * KEY + ids[m]) ?? Infinity,
      (s, m) => { ids[s] = mergeOf.get(ids[s] * KEY + ids[m])!; },
    );
    return starts.map((s) => ids[s]);
  }


  /** minbpe's `.model` text. */
  toMinbpeModel(): string {
    return formatMinbpeModel(this.model);
  }

  toSpec(): TokenizerSpec {
    return { kind: 'bpe', pattern: this.model.pattern, merges: this.model.merges, special_tokens: this.model.specialTokens };
  }

  static fromSpec(spec: TokenizerSpec): BpeTokenizer {
    if (typeof spec.pattern !== 'string') throw new UserError('bpe tokenizer spec: "pattern" must be a string (\'\' for no split)');
    const special = spec.special_tokens ?? {};
    if (typeof special !== 'object' || special === null || Array.isArray(special)) throw new UserError('bpe tokenizer spec: "special_tokens" must be an object { text: id }');
    return new BpeTokenizer({ pattern: spec.pattern, merges: validateMerges(spec.merges, 'bpe tokenizer spec'), specialTokens: special as Record<string, number> });
  }
}

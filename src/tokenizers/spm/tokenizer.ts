/**
 * A SentencePiece model (`.model` protobuf) with BPE or Unigram segmentation, byte fallback and
 * the identity normalization (spaces -> `▁`, a dummy `▁` prefix, optionally extra spaces removed).
 * Models that normalize with a character map (nmt_nfkc and the like) are refused: their ids would
 * silently differ from sentencepiece's.
 */
import { UserError } from '../../errors.js';
import { base64Decode, base64Encode, byteStreamDecoder, decodeUtf8, encodeUtf8, toWellFormed } from '../bytes.js';
import type { StreamDecoder, Tokenizer, TokenizerSpec } from '../types.js';
import { SpmVocab, type Segment } from './encode.js';
import { ModelType, parseSpmModel, PieceType, type NormalizerSpec, type SpmModelProto } from './model-proto.js';

const SPACE = '\u2581'; // ▁
const MODEL_NAMES: Record<number, string> = { 1: 'unigram', 2: 'bpe', 3: 'word', 4: 'char' };

function checkNormalizer(spec: NormalizerSpec, which: string, what: string): void {
  if (spec.precompiledCharsmapBytes > 0 || spec.normalizationRuleTsv !== '') {
    throw new UserError(`${what}: its ${which} "${spec.name || 'custom rules'}" maps characters (a precompiled character map or a rule table), which this implementation does not support; only the "identity" normalization is (spm_train --normalization_rule_name=identity)`);
  }
}

export class SpmTokenizer implements Tokenizer {
  readonly kind = 'spm';
  readonly proto: SpmModelProto;
  readonly vocab: SpmVocab;
  private readonly modelBytes: Uint8Array;
  private readonly byteIds: Int32Array;

  constructor(modelBytes: Uint8Array, what = 'SentencePiece model') {
    const proto = parseSpmModel(modelBytes, what);
    if (proto.modelType !== ModelType.BPE && proto.modelType !== ModelType.UNIGRAM) {
      throw new UserError(`${what}: model type ${MODEL_NAMES[proto.modelType] ?? proto.modelType} is not supported; only bpe and unigram are`);
    }
    checkNormalizer(proto.normalizer, 'normalization', what);
    if (proto.denormalizer) checkNormalizer(proto.denormalizer, 'denormalization', what);
    this.proto = proto;
    this.modelBytes = modelBytes.slice();
    this.vocab = new SpmVocab(proto.pieces, what);
    // <0xXX> pieces for byte fallback (-1: missing, so the byte becomes unknown)
    this.byteIds = new Int32Array(256).fill(-1);
    proto.pieces.forEach((p, id) => {
      if (p.type !== PieceType.BYTE) return;
      const m = /^<0x([0-9A-F]{2})>$/.exec(p.piece);
      if (!m) throw new UserError(`${what}: byte piece ${id} is ${JSON.stringify(p.piece)}, expected <0xXX>`);
      this.byteIds[parseInt(m[1], 16)] = id;
    });
    if (proto.byteFallback && this.byteIds.includes(-1)) throw new UserError(`${what}: byte_fallback is on but not all 256 <0xXX> pieces exist`);
  }

  get vocabSize(): number {
    return this.proto.pieces.length;
  }

  /** sentencepiece's Normalizer::Normalize for the identity rule. */
  normalize(text: string): string {
    const n = this.proto.normalizer;
    if (n.removeExtraWhitespaces) text = text.replace(/^ +| +$/g, '').replace(/ {2,}/g, ' ');
    if (text.length === 0) return '';
    if (n.escapeWhitespaces) text = text.replaceAll(' ', SPACE);
    if (n.addDummyPrefix) {
      const ws = n.escapeWhitespaces ? SPACE : ' ';
      text = this.proto.treatWhitespaceAsSuffix ? text + ws : ws + text;
    }
    return text;
  }

  /** The pieces and ids for `text`, as sentencepiece's EncodeAsPieces / EncodeAsIds. */
  encodePieces(text: string): Segment[] {
    const normalized = this.normalize(toWellFormed(text));
    const segments = this.proto.modelType === ModelType.BPE ? this.vocab.encodeBpe(normalized) : this.vocab.encodeUnigram(normalized);
    const out: Segment[] = [];
    let prevUnk = false;
    for (const [surface, id] of segments) {
      const unk = id === this.vocab.unkId;
      if (unk && this.proto.byteFallback) {
        for (const b of encodeUtf8(surface)) out.push([this.proto.pieces[this.byteIds[b]].piece, this.byteIds[b]]);
      } else if (unk && prevUnk) {
        // consecutive unknown pieces become one, as sentencepiece does
        out[out.length - 1][0] += surface;
      } else {
        out.push([unk ? surface : this.proto.pieces[id].piece, id]);
      }
      prevUnk = unk;
    }
    return out;
  }

  encode(text: string): number[] {
    return this.encodePieces(text).map((s) => s[1]);
  }

  /**
   * Bytes of the decoded text: pieces with `▁` as spaces (the first piece's dummy prefix dropped),
   * byte pieces as their byte, control pieces as nothing, the unknown piece as its surface.
   */
  decodeBytes(ids: ArrayLike<number>, atStart = true): Uint8Array {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let first = atStart;
    const { pieces } = this.proto;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const p = Number.isInteger(id) ? pieces[id] : undefined;
      if (p === undefined) throw new UserError(`id ${id} at position ${i} is not a piece of this SentencePiece model (vocab_size ${pieces.length})`);
      let bytes: Uint8Array;
      if (p.type === PieceType.CONTROL) continue;
      if (p.type === PieceType.BYTE) bytes = Uint8Array.of(parseInt(p.piece.slice(3, 5), 16));
      else if (p.type === PieceType.UNKNOWN) bytes = encodeUtf8(this.proto.unkSurface);
      else {
        let s = p.piece;
        if (first && this.proto.normalizer.addDummyPrefix && !this.proto.treatWhitespaceAsSuffix && s.startsWith(SPACE)) s = s.slice(1);
        bytes = encodeUtf8(s.replaceAll(SPACE, ' '));
      }
      first = false;
      chunks.push(bytes);
      total += bytes.length;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) { out.set(c, o); o += c.length; }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let text = decodeUtf8(this.decodeBytes(ids));
    if (this.proto.treatWhitespaceAsSuffix && this.proto.normalizer.addDummyPrefix && text.endsWith(' ')) text = text.slice(0, -1);
    return text;
  }

  streamDecoder(): StreamDecoder {
    let atStart = true;
    return byteStreamDecoder((ids) => {
      const bytes = this.decodeBytes(ids, atStart);
      if (atStart) for (let i = 0; i < ids.length; i++) if (this.proto.pieces[ids[i]].type !== PieceType.CONTROL) { atStart = false; break; }
      return bytes;
    });
  }

  /** The spec carries the whole model file (base64), so a dataset or checkpoint stands alone. */
  toSpec(): TokenizerSpec {
    return { kind: 'spm', model_base64: base64Encode(this.modelBytes) };
  }

  static fromSpec(spec: TokenizerSpec): SpmTokenizer {
    if (typeof spec.model_base64 !== 'string') throw new UserError('spm tokenizer spec: "model_base64" must be the .model file in base64');
    return new SpmTokenizer(base64Decode(spec.model_base64, 'spm tokenizer spec "model_base64"'), 'SentencePiece model (from spec)');
  }
}

/**
 * SentencePiece's ModelProto (sentencepiece_model.proto), the fields encoding and decoding need:
 *   ModelProto     { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
 *                    NormalizerSpec normalizer_spec = 3; NormalizerSpec denormalizer_spec = 5 }
 *   SentencePiece  { string piece = 1; float score = 2; Type type = 3 [default NORMAL] }
 *   TrainerSpec    { ModelType model_type = 3 [default UNIGRAM]; bool treat_whitespace_as_suffix = 24;
 *                    bool byte_fallback = 35; string unk_surface = 44 [default " \u2047 "] }
 *   NormalizerSpec { string name = 1; bytes precompiled_charsmap = 2; bool add_dummy_prefix = 3 [true];
 *                    bool remove_extra_whitespaces = 4 [true]; bool escape_whitespaces = 5 [true];
 *                    string normalization_rule_tsv = 6 }
 */
import { UserError } from '../../errors.js';
import { ProtoReader, WIRE_BYTES, WIRE_FIXED32, WIRE_VARINT } from './protobuf.js';

export const enum PieceType { NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6 }
export const enum ModelType { UNIGRAM = 1, BPE = 2, WORD = 3, CHAR = 4 }

export interface SpmPiece {
  piece: string;
  score: number;
  type: PieceType;
}

export interface NormalizerSpec {
  name: string;
  precompiledCharsmapBytes: number;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
  normalizationRuleTsv: string;
}

export interface SpmModelProto {
  pieces: SpmPiece[];
  modelType: number;
  treatWhitespaceAsSuffix: boolean;
  byteFallback: boolean;
  unkSurface: string;
  normalizer: NormalizerSpec;
  denormalizer: NormalizerSpec | null;
}

function parsePiece(r: ProtoReader, index: number): SpmPiece {
  let piece: string | null = null, score = 0, type = PieceType.NORMAL;
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1) { r.expect(wire, WIRE_BYTES, field); piece = r.string(); }
    else if (field === 2) { r.expect(wire, WIRE_FIXED32, field); score = r.float32(); }
    else if (field === 3) { r.expect(wire, WIRE_VARINT, field); type = r.varint(); }
    else r.skip(wire);
  }
  if (piece === null) r.fail(`piece ${index} has no text`);
  if (type < PieceType.NORMAL || type > PieceType.BYTE) r.fail(`piece ${index} (${JSON.stringify(piece)}) has unknown type ${type}`);
  return { piece: piece!, score, type };
}

const DEFAULT_NORMALIZER: NormalizerSpec = { name: '', precompiledCharsmapBytes: 0, addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true, normalizationRuleTsv: '' };

/** A message field that occurs twice merges into the first, as protobuf parsers do. */
function parseNormalizer(r: ProtoReader, base: NormalizerSpec = DEFAULT_NORMALIZER): NormalizerSpec {
  const spec: NormalizerSpec = { ...base };
  while (!r.done()) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1: r.expect(wire, WIRE_BYTES, field); spec.name = r.string(); break;
      case 2: r.expect(wire, WIRE_BYTES, field); spec.precompiledCharsmapBytes = r.bytesField().length; break;
      case 3: r.expect(wire, WIRE_VARINT, field); spec.addDummyPrefix = r.varint() !== 0; break;
      case 4: r.expect(wire, WIRE_VARINT, field); spec.removeExtraWhitespaces = r.varint() !== 0; break;
      case 5: r.expect(wire, WIRE_VARINT, field); spec.escapeWhitespaces = r.varint() !== 0; break;
      case 6: r.expect(wire, WIRE_BYTES, field); spec.normalizationRuleTsv = r.string(); break;
      default: r.skip(wire);
    }
  }
  return spec;
}

/** Parse a `.model` file; `what` names it in errors. */
export function parseSpmModel(bytes: Uint8Array, what = 'SentencePiece model'): SpmModelProto {
  const r = new ProtoReader(bytes, what);
  const model: SpmModelProto = {
    pieces: [], modelType: ModelType.UNIGRAM, treatWhitespaceAsSuffix: false, byteFallback: false, unkSurface: ' \u2047 ',
    normalizer: { ...DEFAULT_NORMALIZER }, denormalizer: null,
  };
  let sawTrainer = false;
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1) { r.expect(wire, WIRE_BYTES, field); model.pieces.push(parsePiece(r.nested(), model.pieces.length)); }
    else if (field === 2) {
      r.expect(wire, WIRE_BYTES, field);
      sawTrainer = true;
      const t = r.nested();
      while (!t.done()) {
        const [f, w] = t.tag();
        if (f === 3) { t.expect(w, WIRE_VARINT, f); model.modelType = t.varint(); }
        else if (f === 24) { t.expect(w, WIRE_VARINT, f); model.treatWhitespaceAsSuffix = t.varint() !== 0; }
        else if (f === 35) { t.expect(w, WIRE_VARINT, f); model.byteFallback = t.varint() !== 0; }
        else if (f === 44) { t.expect(w, WIRE_BYTES, f); model.unkSurface = t.string(); }
        else t.skip(w);
      }
    } else if (field === 3) { r.expect(wire, WIRE_BYTES, field); model.normalizer = parseNormalizer(r.nested(), model.normalizer); }
    else if (field === 5) { r.expect(wire, WIRE_BYTES, field); model.denormalizer = parseNormalizer(r.nested(), model.denormalizer ?? DEFAULT_NORMALIZER); }
    else r.skip(wire);
  }
  if (model.pieces.length === 0) throw new UserError(`${what}: no pieces (the file is empty, truncated or not a SentencePiece model)`);
  if (!sawTrainer) throw new UserError(`${what}: no trainer_spec (the file is truncated or not a SentencePiece model)`);
  return model;
}

/**
 * SentencePiece's two segmentation algorithms over normalized text (spaces already `▁`):
 * - BPE (bpe_model.cc): start from characters (user-defined symbols whole and frozen), merge the
 *   adjacent pair whose concatenation is a piece with the highest score, leftmost first; pieces
 *   of type UNUSED are split back into the pair that made them.
 * - Unigram (unigram_model.cc, EncodeOptimized): Viterbi over every piece that matches at each
 *   character, with sentencepiece's exact arithmetic: a piece's candidate score is summed and
 *   compared in double, the best score at each offset is kept in float32 (the unknown piece's
 *   candidate is a float32 sum); ties keep the first candidate found (earlier start).
 * Both return [surface, id] pairs; id is the unknown id for text no piece covers.
 */
import { UserError } from '../../errors.js';
import { mergeParts } from '../bpe/merge.js';
import { PieceType, type SpmPiece } from './model-proto.js';

export type Segment = [surface: string, id: number];

interface TrieNode {
  next: Map<number, TrieNode>;
  id: number;
}

export class SpmVocab {
  /** pieces_ of sentencepiece: NORMAL, USER_DEFINED, UNUSED */
  readonly normal = new Map<string, number>();
  /** reserved_id_map_: CONTROL, UNKNOWN, BYTE */
  readonly reserved = new Map<string, number>();
  readonly unkId: number;
  readonly userDefined: string[];
  readonly minScore: number;
  readonly maxScore: number;
  private readonly utf8Length: Int32Array;
  private readonly trie: TrieNode = { next: new Map(), id: -1 };

  constructor(readonly pieces: SpmPiece[], what: string) {
    let unk = -1, minScore = Infinity, maxScore = -Infinity;
    const userDefined: string[] = [];
    this.utf8Length = new Int32Array(pieces.length);
    const enc = new TextEncoder();
    pieces.forEach((p, id) => {
      const isNormal = p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED || p.type === PieceType.UNUSED;
      const map = isNormal ? this.normal : this.reserved;
      if (p.piece.length === 0) throw new UserError(`${what}: piece ${id} is empty`);
      if (this.normal.has(p.piece) || this.reserved.has(p.piece)) throw new UserError(`${what}: piece ${JSON.stringify(p.piece)} appears twice (ids ${this.normal.get(p.piece) ?? this.reserved.get(p.piece)} and ${id})`);
      map.set(p.piece, id);
      if (p.type === PieceType.UNKNOWN) {
        if (unk >= 0) throw new UserError(`${what}: two unknown pieces (ids ${unk} and ${id})`);
        unk = id;
      }
      if (p.type === PieceType.USER_DEFINED) userDefined.push(p.piece);
      if (p.type === PieceType.NORMAL) { minScore = Math.min(minScore, p.score); maxScore = Math.max(maxScore, p.score); }
      this.utf8Length[id] = enc.encode(p.piece).length;
      if (isNormal) this.addToTrie(p.piece, id);
    });
    if (unk < 0) throw new UserError(`${what}: no unknown piece (<unk>); sentencepiece requires one`);
    this.unkId = unk;
    this.userDefined = userDefined.sort((a, b) => b.length - a.length);
    this.minScore = minScore === Infinity ? 0 : minScore;
    this.maxScore = maxScore === -Infinity ? 0 : maxScore;
  }

  private addToTrie(piece: string, id: number): void {
    let node = this.trie;
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      let child = node.next.get(c);
      if (!child) { child = { next: new Map(), id: -1 }; node.next.set(c, child); }
      node = child;
    }
    node.id = id;
  }

  /** sentencepiece's PieceToId: reserved pieces first, then the others, else unknown. */
  pieceToId(piece: string): number {
    return this.reserved.get(piece) ?? this.normal.get(piece) ?? this.unkId;
  }

  /** Initial symbols: [start offsets..., text.length] and which are frozen user-defined symbols. */
  private symbols(text: string): { starts: number[]; frozen: boolean[] } {
    const starts: number[] = [];
    const frozen: boolean[] = [];
    for (let i = 0; i < text.length;) {
      starts.push(i);
      const user = this.userDefined.length ? this.userDefined.find((u) => text.startsWith(u, i)) : undefined;
      frozen.push(user !== undefined);
      i += user !== undefined ? user.length : (text.codePointAt(i)! > 0xffff ? 2 : 1);
    }
    starts.push(text.length);
    return { starts, frozen };
  }

  encodeBpe(text: string): Segment[] {
    const { starts, frozen } = this.symbols(text);
    const revMerge = new Map<string, [string, string]>();
    const pieces = this.pieces;
    const parts = mergeParts(starts.length - 1, (s, m, e) => {
      if (frozen[s] || frozen[m]) return Infinity;
      const piece = text.slice(starts[s], starts[e]);
      const id = this.normal.get(piece);
      if (id === undefined) return Infinity;
      if (pieces[id].type === PieceType.UNUSED) revMerge.set(piece, [text.slice(starts[s], starts[m]), text.slice(starts[m], starts[e])]);
      return -pieces[id].score;
    });
    const out: Segment[] = [];
    const resegment = (w: string): void => {
      const id = this.pieceToId(w);
      const split = pieces[id].type === PieceType.UNUSED ? revMerge.get(w) : undefined;
      if (split === undefined) { out.push([w, id]); return; }
      resegment(split[0]);
      resegment(split[1]);
    };
    for (let k = 0; k < parts.length; k++) {
      const end = k + 1 < parts.length ? starts[parts[k + 1]] : text.length;
      resegment(text.slice(starts[parts[k]], end));
    }
    return out;
  }

  encodeUnigram(text: string): Segment[] {
    const n = text.length;
    const f32 = Math.fround;
    // best path ending at each offset: its score (float32), where its last piece starts, its id
    const score = new Float64Array(n + 1);
    const from = new Int32Array(n + 1).fill(-1);
    const ids = new Int32Array(n + 1);
    const unkScore = f32(this.minScore - 10); // kUnkPenalty
    const pieces = this.pieces;
    for (let start = 0; start < n;) {
      const till = score[start];
      const charLen = text.codePointAt(start)! > 0xffff ? 2 : 1;
      let hasSingle = false;
      let node: TrieNode | undefined = this.trie;
      for (let end = start; end < n;) {
        node = node.next.get(text.charCodeAt(end++));
        if (node === undefined) break;
        const id = node.id;
        if (id < 0 || pieces[id].type === PieceType.UNUSED) continue;
        // sentencepiece's `cond ? length * max_score_ - 0.1 : score` is a double, so the sum is
        // compared in double against the float32 stored so far, and rounded only when stored.
        // User-defined symbols get that bonus so that they always win.
        const candidate = pieces[id].type === PieceType.USER_DEFINED
          ? f32(this.utf8Length[id] * this.maxScore) - 0.1 + till
          : pieces[id].score + till;
        if (from[end] === -1 || candidate > score[end]) {
          score[end] = f32(candidate);
          from[end] = start;
          ids[end] = id;
        }
        if (end - start === charLen) hasSingle = true;
      }
      if (!hasSingle) {
        const end = start + charLen;
        const candidate = f32(unkScore + till); // float + float there: rounded before comparing
        if (from[end] === -1 || candidate > score[end]) {
          score[end] = candidate;
          from[end] = start;
          ids[end] = this.unkId;
        }
      }
      start += charLen;
    }
    const out: Segment[] = [];
    for (let end = n; end > 0; end = from[end]) out.push([text.slice(from[end], end), ids[end]]);
    return out.reverse();
  }
}

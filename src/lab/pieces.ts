/**
 * Tokens as text for display: each id's own piece (a character, or a byte-level token's bytes
 * decoded on their own, so a token cut inside a UTF-8 character shows U+FFFD).
 */
import type { Tokenizer } from '../tokenizers/types.js';

interface HasTokenBytes { tokenBytes(id: number): Uint8Array }

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export function tokenPiece(tokenizer: Tokenizer, id: number): string {
  const t = tokenizer as Tokenizer & Partial<HasTokenBytes>;
  if (typeof t.tokenBytes === 'function') return decoder.decode(t.tokenBytes(id));
  return tokenizer.decode([id]);
}

/** Pieces of ids, each id decoded once (texts repeat tokens a lot). */
export function tokenPieces(tokenizer: Tokenizer, ids: ArrayLike<number>): string[] {
  const cache = new Map<number, string>();
  const out: string[] = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    let p = cache.get(ids[i]);
    if (p === undefined) {
      p = tokenPiece(tokenizer, ids[i]);
      cache.set(ids[i], p);
    }
    out[i] = p;
  }
  return out;
}

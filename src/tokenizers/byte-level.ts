import { binaryToBytes, byteStreamDecoder, decodeUtf8 } from './bytes.js';
import type { StreamDecoder } from './types.js';

/**
 * Decoding shared by the byte-level tokenizers (BPE and tiktoken): each token is a run of
 * bytes, held as a binary string (one char per byte), and text is decoded from the bytes.
 */
export abstract class ByteLevelDecoder {
  /** Token `id`'s bytes as a binary string; `position` names it in the error for an unknown id. */
  protected abstract tokenBinary(id: number, position: number): string;

  /** Bytes of token `id`. */
  tokenBytes(id: number): Uint8Array {
    return binaryToBytes(this.tokenBinary(id, 0));
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.tokenBinary(ids[i], i);
    return binaryToBytes(s);
  }

  /** Through bytes: invalid UTF-8 (ids cut inside a character) becomes U+FFFD, a leading U+FEFF survives. */
  decode(ids: ArrayLike<number>): string {
    return decodeUtf8(this.decodeBytes(ids));
  }

  streamDecoder(): StreamDecoder {
    return byteStreamDecoder((ids) => this.decodeBytes(ids));
  }
}

import { binaryToBytes, byteStreamDecoder, decodeUtf8 } from './bytes.js';
import type { EncodeOptions, SpecialTokens } from './special.js';
import type { StreamDecoder } from './types.js';

/**
 * What the byte-level tokenizers (BPE and tiktoken) share: each token is a run of bytes, held
 * as a binary string (one char per byte); text is decoded from the bytes; special tokens are
 * cut out of the text before the ordinary encoder sees it.
 */
export abstract class ByteLevelTokenizer {
  protected abstract readonly special: SpecialTokens;
  /** Token `id`'s bytes as a binary string; `position` names it in the error for an unknown id. */
  protected abstract tokenBinary(id: number, position: number): string;
  /** Appends the ids of text with no special tokens in it. */
  protected abstract encodeOrdinaryInto(text: string, out: number[]): void;

  /** Text -> ids; special tokens in the text are refused unless allowed (tiktoken's encode; see special.ts). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.special.encode(text, options, (part, out) => this.encodeOrdinaryInto(part, out));
  }

  /** Text -> ids, special tokens' text treated as ordinary text (tiktoken's encode_ordinary). */
  encodeOrdinary(text: string): number[] {
    const out: number[] = [];
    this.encodeOrdinaryInto(text, out);
    return out;
  }

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

/**
 * Bytes and UTF-8, without Node's Buffer so that the tokenizers run in a browser.
 * Byte-level tokenizers keep token bytes as "binary strings" (one char per byte, codes 0..255):
 * cheap Map keys and cheap concatenation.
 */
import { UserError } from '../errors.js';

const utf8Encoder = new TextEncoder();

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/**
 * Lossy UTF-8 decoding as Python's `bytes.decode('utf-8', errors='replace')`: invalid bytes become
 * U+FFFD. `ignoreBOM` keeps a leading U+FEFF, which belongs to the text, not to a file header.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
}

/** Strict UTF-8 decoding for user input: invalid bytes are an error naming where they are. */
export function decodeUtf8Strict(bytes: Uint8Array, what = 'input'): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const shown = Array.from(bytes.subarray(offset, offset + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new UserError(`${what} is not valid UTF-8: invalid byte sequence at byte offset ${offset} (bytes ${shown})`);
  }
}

/** Offset of the first byte that does not start a valid UTF-8 sequence (bytes.length if none). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let need: number, min: number;
    if (b < 0x80) { i++; continue; }
    else if (b >= 0xc2 && b <= 0xdf) { need = 1; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; min = 0x10000; }
    else return i;
    if (i + need >= bytes.length) return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return i;
}

/**
 * Replace lone surrogates with U+FFFD, as tiktoken does before encoding a Python str
 * (a JS string is UTF-16 and may hold halves of a pair; UTF-8 cannot).
 */
export function toWellFormed(text: string): string {
  if (!/[\uD800-\uDFFF]/.test(text)) return text;
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

export function bytesToBinary(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]);
  }
  return s;
}

export function binaryToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** UTF-8 bytes of `text` as a binary string; ASCII text is its own binary string. */
export function utf8Binary(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) return bytesToBinary(utf8Encoder.encode(text));
  }
  return text;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

export function base64Encode(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    s += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    s += i + 2 < bytes.length ? B64[n & 63] : '=';
  }
  return s;
}

/** Standard base64 with padding; anything else is an error (returned as null for the caller to word). */
export function base64DecodeOrNull(s: string, start = 0, end = s.length): Uint8Array | null {
  const len = end - start;
  if (len % 4 !== 0) return null;
  let pad = 0;
  if (len > 0 && s.charCodeAt(end - 1) === 61) pad = s.charCodeAt(end - 2) === 61 ? 2 : 1;
  const out = new Uint8Array((len / 4) * 3 - pad);
  let o = 0;
  for (let i = start; i < end; i += 4) {
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const c = s.charCodeAt(i + k);
      let v: number;
      if (c === 61 && i + 4 === end && k >= 4 - pad) v = 0;
      else if (c >= 128 || (v = B64_INDEX[c]) < 0) return null;
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

export function base64Decode(s: string, what = 'base64 data'): Uint8Array {
  const out = base64DecodeOrNull(s);
  if (out === null) throw new UserError(`${what} is not valid base64`);
  return out;
}

/**
 * Streaming decode for byte-level tokenizers: a token may end inside a UTF-8 character, so the
 * incomplete tail is held until the next ids complete it (or flush() replaces it with U+FFFD).
 */
export function byteStreamDecoder(tokenBytes: (ids: ArrayLike<number>) => Uint8Array): { push(ids: ArrayLike<number>): string; flush(): string } {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  return {
    push: (ids) => decoder.decode(tokenBytes(ids), { stream: true }),
    flush: () => decoder.decode(),
  };
}

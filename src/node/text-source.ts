/**
 * A text read in pieces, as many times as a caller needs (prepare reads it twice: once to count
 * and collect, once to tokenize), so that no text needs to fit in memory or in one JS string.
 * Pieces always end on a character boundary; a file is decoded as strict UTF-8.
 */
import { closeSync, readSync } from 'node:fs';
import { UserError } from '../errors.js';
import { firstInvalidUtf8 } from '../tokenizers/bytes.js';
import { openRegularFile } from './files.js';

export interface TextSource {
  /** For messages: the file's path, or "the text". */
  readonly name: string;
  /** Total size in bytes (UTF-8), for progress. */
  readonly bytes: number;
  /** The text in order, in pieces; `onBytes` gets the number of bytes consumed so far. */
  pieces(onBytes?: (done: number) => void): Generator<string>;
}

const DEFAULT_CHUNK = 16 << 20;

/** A UTF-8 text file, read `chunkBytes` at a time. A leading byte-order mark is dropped (as TextDecoder does). */
export function fileTextSource(path: string, chunkBytes = DEFAULT_CHUNK): TextSource {
  const { fd, size } = openRegularFile(path, 'input file');
  closeSync(fd);
  return {
    name: path,
    bytes: size,
    *pieces(onBytes) {
      const { fd } = openRegularFile(path, 'input file');
      try {
        const decoder = new TextDecoder('utf-8', { fatal: true });
        const buf = new Uint8Array(chunkBytes);
        let done = 0;
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, done);
          const chunk = buf.subarray(0, n);
          let text: string;
          try {
            text = decoder.decode(chunk, { stream: n > 0 });
          } catch {
            // skip the continuation bytes of a character begun in the previous chunk
            let s = 0;
            while (s < 3 && s < n && (chunk[s] & 0xc0) === 0x80) s++;
            const at = done + s + firstInvalidUtf8(chunk.subarray(s));
            throw new UserError(`${path} is not valid UTF-8 text: invalid byte sequence at or just before byte offset ${n > 0 ? at : size}`);
          }
          done += n;
          onBytes?.(done);
          if (text.length > 0) yield text;
          if (n === 0) return;
        }
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** A string already in memory, handed out `chunkChars` at a time (never splitting a surrogate pair). */
export function stringTextSource(text: string, chunkChars = DEFAULT_CHUNK): TextSource {
  const bytes = new TextEncoder().encode(text).length;
  return {
    name: 'the text',
    bytes,
    *pieces(onBytes) {
      let done = 0;
      for (let i = 0; i < text.length;) {
        let end = Math.min(text.length, i + chunkChars);
        const c = text.charCodeAt(end - 1);
        if (c >= 0xd800 && c <= 0xdbff && end < text.length) end++;
        const piece = text.slice(i, end);
        i = end;
        done += new TextEncoder().encode(piece).length;
        onBytes?.(done);
        yield piece;
      }
    },
  };
}

/** The set of characters of a text seen piece by piece (for the character tokenizer's vocabulary). */
export class CharSet {
  private readonly bmp = new Uint8Array(65536);
  private readonly astral = new Set<number>();

  add(text: string): void {
    const bmp = this.bmp;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          this.astral.add(text.codePointAt(i)!);
          i++;
          continue;
        }
      }
      bmp[c] = 1;
    }
  }

  /** Sorted by code point, as Python's sorted(set(text)). */
  sorted(): string[] {
    const out: string[] = [];
    for (let c = 0; c < 65536; c++) if (this.bmp[c]) out.push(String.fromCharCode(c));
    for (const cp of [...this.astral].sort((a, b) => a - b)) out.push(String.fromCodePoint(cp));
    return out;
  }
}

export { codePointOffset, countCodePoints } from '../data/text-split.js';

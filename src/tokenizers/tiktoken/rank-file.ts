/**
 * tiktoken's `.tiktoken` rank files: one token per line, `<base64 of its bytes> <rank>\n`, the
 * rank being the token's id and its merge priority. Parsed into binary strings (see bytes.ts).
 */
import { UserError } from '../../errors.js';
import { base64DecodeOrNull, bytesToBinary } from '../bytes.js';

export interface Ranks {
  /** token bytes (binary string) -> rank */
  byBytes: Map<string, number>;
  /** rank -> token bytes (binary string); undefined where a rank is unused */
  byRank: (string | undefined)[];
}

/** `what` names the file in errors. */
export function parseRankFile(data: Uint8Array, what: string): Ranks {
  const byBytes = new Map<string, number>();
  const byRank: (string | undefined)[] = [];
  const text = bytesToBinary(data); // the format is ASCII; any other byte fails below
  let lineNo = 0;
  let pos = 0;
  while (pos < text.length) {
    lineNo++;
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = text.length;
    if (eol === pos) { pos++; continue; } // tiktoken skips empty lines
    const space = text.indexOf(' ', pos);
    const bad = (why: string): never => {
      throw new UserError(`${what}: line ${lineNo} ${why}: ${JSON.stringify(text.slice(pos, Math.min(eol, pos + 60)))} (the file may be truncated or corrupt)`);
    };
    if (space < 0 || space > eol) bad('is not "<base64> <rank>"');
    const bytes = base64DecodeOrNull(text, pos, space);
    if (bytes === null || bytes.length === 0) bad('has an invalid base64 token');
    const rankText = text.slice(space + 1, eol);
    if (!/^\d{1,8}$/.test(rankText)) bad('has an invalid rank');
    const rank = Number(rankText);
    const token = bytesToBinary(bytes!);
    if (byBytes.has(token)) bad(`repeats a token (first at rank ${byBytes.get(token)})`);
    if (byRank[rank] !== undefined) bad(`repeats rank ${rank}`);
    byBytes.set(token, rank);
    byRank[rank] = token;
    pos = eol + 1;
  }
  if (byBytes.size === 0) throw new UserError(`${what}: no tokens (the file is empty)`);
  for (let b = 0; b < 256; b++) {
    if (!byBytes.has(String.fromCharCode(b))) throw new UserError(`${what}: byte 0x${b.toString(16).padStart(2, '0')} has no token; every single byte must (the file may be truncated)`);
  }
  return { byBytes, byRank };
}

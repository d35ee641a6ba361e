/**
 * tiktoken encodings from rank-file bytes, wherever they come from: a file (Node), a URL (a
 * page), an embedded copy. The bytes are checked against the encoding's sha256 with Web Crypto
 * (globalThis.crypto.subtle: browsers on https or localhost, Node 20), then parsed.
 */
import { UserError } from '../../errors.js';
import { ENCODINGS, encodingByName, type TiktokenEncoding } from './encodings.js';
import { parseRankFile } from './rank-file.js';
import { TiktokenTokenizer } from './tokenizer.js';

/** Where a rank file's bytes come from, given its file name (e.g. `r50k_base.tiktoken`). */
export type RankFileSource = (rankFile: string, encoding: TiktokenEncoding) => Promise<Uint8Array>;

/** Lower-case hex sha256 of bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('sha256 needs Web Crypto (crypto.subtle), which browsers give only to https or localhost pages');
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

export function tiktokenEncoding(name: string): TiktokenEncoding {
  const encoding = encodingByName(name);
  if (!encoding) throw new UserError(`unknown tiktoken encoding ${JSON.stringify(name)}; expected one of: ${Object.keys(ENCODINGS).join(', ')}`);
  return encoding;
}

/** The encoding `name` from its rank file's bytes, refused unless they have the standard sha256. `what` names the source in errors. */
export async function tiktokenFromRankFile(name: string, bytes: Uint8Array, what: string): Promise<TiktokenTokenizer> {
  const encoding = tiktokenEncoding(name);
  const sha = await sha256Hex(bytes);
  if (sha !== encoding.rankFileSha256) {
    throw new UserError(`${what} has sha256 ${sha}, expected ${encoding.rankFileSha256}: it is not the standard ${encoding.rankFile} (corrupt, truncated or a different version)`);
  }
  return new TiktokenTokenizer(encoding, parseRankFile(bytes, what));
}

/**
 * A RankFileSource that fetches `base + rankFile` (base: a folder URL ending in '/', relative
 * to the page or absolute). fetchFn defaults to the global fetch.
 */
export function rankFilesFromUrl(base: string | URL, fetchFn: typeof fetch = globalThis.fetch): RankFileSource {
  return async (rankFile) => {
    const url = new URL(rankFile, base).href;
    let res: Response;
    try {
      res = await fetchFn(url);
    } catch (e) {
      throw new UserError(`could not fetch the rank file ${url}: ${(e as Error).message}`);
    }
    if (!res.ok) throw new UserError(`could not fetch the rank file ${url}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
}

/** Loads (once per source and name) and checks the encoding `name` through `source`. */
export class TiktokenLoader {
  private readonly loaded = new Map<string, Promise<TiktokenTokenizer>>();
  constructor(private readonly source: RankFileSource) {}

  load(name: string): Promise<TiktokenTokenizer> {
    const encoding = tiktokenEncoding(name);
    let p = this.loaded.get(encoding.name);
    if (!p) {
      p = this.source(encoding.rankFile, encoding).then((bytes) => tiktokenFromRankFile(encoding.name, bytes, encoding.rankFile));
      p.catch(() => this.loaded.delete(encoding.name)); // a failed fetch may be retried
      this.loaded.set(encoding.name, p);
    }
    return p;
  }
}

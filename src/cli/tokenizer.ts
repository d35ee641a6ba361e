/**
 * `yorick tokenizer train|encode|decode`: a thin shell over src/tokenizers and src/node/tokenizers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { checkWritableParent, writeFileAtomic } from '../node/files.js';
import { UserError } from '../errors.js';
import { Progress } from '../node/progress.js';
import { createTokenizer, loadTokenizer, readTextFile } from '../node/tokenizers.js';
import { BpeTokenizer } from '../tokenizers/bpe/tokenizer.js';
import { decodeUtf8Strict } from '../tokenizers/bytes.js';
import { SpmTokenizer } from '../tokenizers/spm/tokenizer.js';
import { resolvePatternName } from '../tokenizers/patterns.js';
import type { EncodeOptions } from '../tokenizers/special.js';
import type { Tokenizer, TokenizerSpec } from '../tokenizers/types.js';
import { parseArgs, takeFlags } from './args.js';

const usage = `usage: yorick tokenizer <command> [options]

  train   --input FILE --vocab_size N [--pattern gpt4|gpt2|none|REGEX] [--special TOKENS] [--output PREFIX]
          Train a byte-level BPE tokenizer (minbpe's algorithm and merges). --pattern: gpt4 (default)
          and gpt2 are minbpe's split patterns, none trains without splitting, anything else is a
          regular expression (Python / tiktoken syntax). --special: comma-separated special tokens,
          given the ids after the merges. Writes PREFIX.model (minbpe's format) and PREFIX.json
          (default PREFIX: bpe_N).
  encode  --tokenizer T [--text TEXT | --input FILE] [--allowed_special all|none|A,B] [--format ids|json|pieces]
          Print the ids of the text (stdin when neither --text nor --input is given).
          Special tokens in the text are refused unless allowed; --allowed_special none encodes
          them as ordinary text.
  decode  --tokenizer T [--ids "1 2 3" | --input FILE]
          Print the text of ids (whitespace- or comma-separated, or a JSON array; stdin by default).

  T is gpt2, cl100k_base, o200k_base, bpe:PATH (a .model or .json from train), spm:PATH (a
  SentencePiece .model), or a JSON file holding a tokenizer spec or a dataset's meta.json.`;

export async function tokenizerCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'train': return train(rest);
    case 'encode': return encode(rest);
    case 'decode': return decode(rest);
    case undefined: case '--help': case '-h': case 'help':
      console.log(usage);
      return;
    default:
      throw new UserError(`yorick tokenizer: unknown command ${JSON.stringify(sub)}; expected train, encode or decode\n\n${usage}`);
  }
}

function train(argv: string[]): void {
  const { flags, positional } = parseArgs(argv);
  if (flags.help) { console.log(usage); return; }
  const f = takeFlags(flags, ['input', 'vocab_size', 'pattern', 'special', 'output'] as const, 'tokenizer train');
  if (positional.length) throw new UserError(`yorick tokenizer train: unexpected argument ${JSON.stringify(positional[0])}`);
  if (!f.input) throw new UserError('yorick tokenizer train: --input FILE is required (the training text)');
  if (!f.vocab_size) throw new UserError('yorick tokenizer train: --vocab_size N is required (256 bytes + N-256 merges)');
  const vocabSize = Number(f.vocab_size);
  if (!Number.isInteger(vocabSize)) throw new UserError(`--vocab_size must be an integer, got ${JSON.stringify(f.vocab_size)}`);
  const patternArg = f.pattern ?? 'gpt4';
  const pattern = patternArg === 'none' || patternArg === 'basic' ? '' : resolvePatternName(patternArg);
  const prefix = f.output ?? `bpe_${vocabSize}`;
  // where the result goes is checked before the (long) training, not after it
  checkWritableParent(`${prefix}.model`, '--output');
  const text = readTextFile(f.input);
  const specials = (f.special ?? '').split(',').filter((s) => s.length > 0);
  const specialTokens = Object.fromEntries(specials.map((s, i) => [s, vocabSize + i]));

  const t0 = performance.now();
  const merges = Math.max(0, vocabSize - 256);
  // a live line on a terminal; in a log file, a line every tenth of the merges
  const progress = new Progress(merges, { unit: 'merge', logEvery: Math.max(1, Math.ceil(merges / 10)) });
  const tok = BpeTokenizer.train(text, vocabSize, pattern, specialTokens, (m) => {
    progress.update(m.id - 255, `${m.left} ${m.right} -> ${m.id} (${m.count} occurrences)`);
  });
  progress.done();
  const seconds = (performance.now() - t0) / 1000;
  writeFileAtomic(`${prefix}.model`, tok.toMinbpeModel());
  writeFileAtomic(`${prefix}.json`, JSON.stringify(tok.toSpec()) + '\n');
  const bytes = new TextEncoder().encode(text).length;
  const tokens = tok.encode(text, { disallowedSpecial: 'none' }).length;
  console.log(`trained ${vocabSize - 256} merges on ${bytes.toLocaleString('en-US')} bytes in ${seconds.toFixed(2)} s ` +
    `(pattern: ${pattern === '' ? 'none' : patternArg}); the text is ${tokens.toLocaleString('en-US')} tokens, ${(bytes / tokens).toFixed(2)} bytes per token`);
  console.log(`wrote ${prefix}.model (minbpe format) and ${prefix}.json; use --tokenizer bpe:${prefix}.model`);
}

/** --tokenizer: the createTokenizer names, or a JSON file with a spec or a dataset's meta.json. */
function tokenizerFlag(value: string | undefined, text: string): Tokenizer {
  if (!value) throw new UserError('--tokenizer is required: gpt2, cl100k_base, o200k_base, bpe:PATH, spm:PATH or a meta.json');
  if (value.endsWith('.json') && !value.startsWith('bpe:') && existsSync(value)) {
    let json: { tokenizer?: TokenizerSpec; kind?: string };
    try {
      json = JSON.parse(readTextFile(value));
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`${value} is not valid JSON`);
    }
    const spec = json.tokenizer ?? (typeof json.kind === 'string' ? (json as TokenizerSpec) : undefined);
    if (!spec) throw new UserError(`${value} holds neither a tokenizer spec ("kind") nor a dataset meta ("tokenizer")`);
    return loadTokenizer(spec);
  }
  if (value === 'char') throw new UserError('--tokenizer char is built from a dataset\'s text; pass that dataset\'s meta.json instead');
  return createTokenizer(value, text);
}

function readStdin(): string {
  return decodeUtf8Strict(new Uint8Array(readFileSync(0)), 'standard input');
}

function specialOptions(value: string | undefined): EncodeOptions {
  if (value === undefined) return {};
  if (value === 'all') return { allowedSpecial: 'all' };
  if (value === 'none') return { disallowedSpecial: 'none' };
  return { allowedSpecial: value.split(',').filter((s) => s.length > 0) };
}

function encode(argv: string[]): void {
  const { flags, positional } = parseArgs(argv);
  if (flags.help) { console.log(usage); return; }
  const f = takeFlags(flags, ['tokenizer', 'text', 'input', 'allowed_special', 'format'] as const, 'tokenizer encode');
  if (positional.length) throw new UserError(`yorick tokenizer encode: unexpected argument ${JSON.stringify(positional[0])}; pass text with --text`);
  const text = f.text ?? (f.input ? readTextFile(f.input) : readStdin());
  const tok = tokenizerFlag(f.tokenizer, text);
  const format = f.format ?? 'ids';
  const options = specialOptions(f.allowed_special);
  const ids = (tok as Tokenizer & { encode(text: string, options?: EncodeOptions): number[] }).encode(text, options);
  if (format === 'ids') console.log(ids.join(' '));
  else if (format === 'json') console.log(JSON.stringify(ids));
  else if (format === 'pieces') console.log(ids.map((id) => `${id}\t${pieceText(tok, id)}`).join('\n')); else throw new UserError(`--format must be ids, json or pieces, got ${JSON.stringify(format)}`);
  console.error(`${ids.length} tokens`);
}

/** A token as JSON text, or as hex bytes when it is not whole UTF-8 characters. */
function pieceText(tok: Tokenizer, id: number): string {
  if (tok instanceof SpmTokenizer) return JSON.stringify(tok.proto.pieces[id].piece);
  const t = tok as Tokenizer & { tokenBytes?(id: number): Uint8Array };
  if (!t.tokenBytes) return JSON.stringify(tok.decode([id]));
  const bytes = t.tokenBytes(id);
  try {
    return JSON.stringify(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return `<${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ')}>`;
  }
}

export function parseIds(s: string): number[] {
  const trimmed = s.trim();
  if (trimmed === '') return [];
  const parts = trimmed.startsWith('[') ? (() => {
    try { return JSON.parse(trimmed) as unknown[]; } catch { throw new UserError('the ids look like a JSON array but are not valid JSON'); }
  })() : trimmed.split(/[\s,]+/);
  if (!Array.isArray(parts)) throw new UserError('ids must be a list of integers');
  return parts.map((p, i) => {
    const n = typeof p === 'number' ? p : /^\d+$/.test(String(p)) ? Number(p) : NaN;
    if (!Number.isSafeInteger(n) || n < 0) throw new UserError(`id ${i} (${JSON.stringify(p)}) is not a non-negative integer`);
    return n;
  });
}

function decode(argv: string[]): void {
  const { flags, positional } = parseArgs(argv);
  if (flags.help) { console.log(usage); return; }
  const f = takeFlags(flags, ['tokenizer', 'ids', 'input'] as const, 'tokenizer decode');
  if (positional.length) throw new UserError(`yorick tokenizer decode: unexpected argument ${JSON.stringify(positional[0])}; pass ids with --ids`);
  const ids = parseIds(f.ids ?? (f.input ? readTextFile(f.input) : readStdin()));
  const tok = tokenizerFlag(f.tokenizer, '');
  process.stdout.write(tok.decode(ids) + '\n');
}

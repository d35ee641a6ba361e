/**
 * nanoGPT's meta.pkl for character-level datasets: a pickled dict
 *   { 'vocab_size': int, 'itos': {int: str}, 'stoi': {str: int} }
 * (its sample.py decodes with itos; without a meta.pkl it uses GPT-2's tokenizer).
 */
import { FormatError } from './format-error.js';
import { readPickle } from './pickle.js';
import { writePickle } from './pickle-writer.js';
import { pyTypeName, showValue, type PyKey, type PyValue } from './py-values.js';

export interface NanoGptMeta {
  vocabSize: number;
  /** itos as an array: chars[id] is the token's string. */
  chars: string[];
}

export function readNanoGptMeta(bytes: Uint8Array, what = 'meta.pkl'): NanoGptMeta {
  const fail = (msg: string): never => {
    throw new FormatError(`${what}: ${msg}`);
  };
  const d = readPickle(bytes, { what });
  if (!(d instanceof Map)) return fail(`holds a ${pyTypeName(d)}, expected a dict with vocab_size, itos and stoi`);
  const vocabSize = d.get('vocab_size');
  if (!(typeof vocabSize === 'number' && Number.isSafeInteger(vocabSize) && vocabSize >= 1)) fail(`vocab_size is ${showValue(vocabSize)}, expected a positive integer`);
  const V = vocabSize as number;
  const itos = d.get('itos');
  if (!(itos instanceof Map)) return fail(`itos is ${pyTypeName(itos)}, expected a dict of id -> str`);
  if (itos.size !== V) fail(`itos has ${itos.size} entries, vocab_size is ${V}`);
  const chars: string[] = [];
  for (let i = 0; i < V; i++) {
    const s = itos.get(i);
    if (typeof s !== 'string') fail(`itos[${i}] is ${pyTypeName(s)}, expected a str`);
    chars.push(s as string);
  }
  const stoi = d.get('stoi');
  if (stoi !== undefined) {
    if (!(stoi instanceof Map) || stoi.size !== V) fail(`stoi is not a dict of ${V} entries`);
    chars.forEach((c, i) => {
      if ((stoi as Map<PyKey, PyValue>).get(c) !== i) fail(`stoi[${JSON.stringify(c)}] is not ${i}, as itos says`);
    });
  }
  return { vocabSize: V, chars };
}

/** The meta.pkl nanoGPT's prepare.py writes for a character vocabulary (pickled at protocol 2). */
export function writeNanoGptMeta(chars: readonly string[]): Uint8Array {
  if (new Set(chars).size !== chars.length) throw new Error('meta.pkl: the vocabulary has a repeated character');
  return writePickle(new Map<PyKey, PyValue>([
    ['vocab_size', chars.length],
    ['itos', new Map<PyKey, PyValue>(chars.map((c, i) => [i, c]))],
    ['stoi', new Map<PyKey, PyValue>(chars.map((c, i) => [c, i]))],
  ]));
}

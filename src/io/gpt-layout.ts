/**
 * nanoGPT's GPT parameters by name, in named_parameters() order (lm_head.weight is tied to
 * transformer.wte.weight and listed once, as the model lists it), with their shapes. Linear
 * weights are PyTorch's [out, in].
 */
import { FormatError } from './format-error.js';
import { pyTypeName, showValue, type PyValue } from './py-values.js';
import { nanoGptParameterShapes as nanoGptParamShapes } from '../models/nanogpt-init.js';

/** Every parameter of nanoGPT's GPT, in named_parameters() order, with its shape. */
export { nanoGptParamShapes };

/** nanoGPT's GPTConfig fields (model_args in its checkpoints); the shape of yorick's GPTConfig. */
export interface NanoGptModelArgs {
  n_layer: number;
  n_head: number;
  n_embd: number;
  block_size: number;
  bias: boolean;
  vocab_size: number;
  dropout: number;
}

/** A named tensor of a state dict: float32 values, row-major. */
export interface StateTensor {
  shape: number[];
  data: Float32Array;
}
export type StateDict = Map<string, StateTensor>;

/** nanoGPT's causal-mask buffers (registered when PyTorch has no flash attention) and GPT-2's masked_bias. */
export const isAttnMaskBuffer = (name: string) => /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/.test(name);

/** Checks and converts model_args (a dict from a pickle or JSON) into NanoGptModelArgs. */
export function checkModelArgs(v: PyValue | Record<string, unknown> | undefined, what: string): NanoGptModelArgs {
  const get = (k: string): unknown => (v instanceof Map ? v.get(k) : v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined);
  if (!(v instanceof Map) && !(v && typeof v === 'object' && !Array.isArray(v))) throw new FormatError(`${what}: model_args is ${pyTypeName(v)}, expected a dict`);
  const out: Record<string, unknown> = {};
  for (const k of ['n_layer', 'n_head', 'n_embd', 'block_size', 'vocab_size'] as const) {
    const x = get(k);
    if (!(typeof x === 'number' && Number.isSafeInteger(x) && x >= 1)) throw new FormatError(`${what}: model_args.${k} is ${showValue(x)}, expected a positive integer`);
    out[k] = x;
  }
  const bias = get('bias') ?? true;
  if (typeof bias !== 'boolean') throw new FormatError(`${what}: model_args.bias is ${showValue(bias)}, expected True or False`);
  const dropout = get('dropout') ?? 0;
  if (!(typeof dropout === 'number' && dropout >= 0 && dropout < 1)) throw new FormatError(`${what}: model_args.dropout is ${showValue(dropout)}, expected a number in [0, 1)`);
  const args = { ...out, bias, dropout } as NanoGptModelArgs;
  if (args.n_embd % args.n_head !== 0) throw new FormatError(`${what}: model_args.n_embd (${args.n_embd}) must be divisible by n_head (${args.n_head})`);
  return args;
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;
export const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Checks that a list of tensors (names and shapes, as a file's header gives them) is exactly the
 * parameters model args imply, each with its shape.
 */
export function checkStateShapes(shapes: Map<string, readonly number[]>, args: NanoGptModelArgs, what: string): void {
  // count first: model args from a file may claim a billion layers
  const count = 2 + args.n_layer * (args.bias ? 12 : 6) + (args.bias ? 2 : 1);
  if (count > 2 * shapes.size + 64) throw new FormatError(`${what}: the model args (n_layer ${args.n_layer}, bias ${args.bias}) imply ${count} tensors, there are only ${shapes.size}`);
  const expected = nanoGptParamShapes(args);
  const missing = [...expected.keys()].filter((k) => !shapes.has(k));
  if (missing.length) throw new FormatError(`${what}: missing ${missing.length} tensor(s) the model args imply: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  for (const name of shapes.keys()) {
    if (!expected.has(name)) throw new FormatError(`${what}: unexpected tensor "${name}" (not a parameter of nanoGPT's GPT with these model args)`);
  }
  for (const [name, shape] of expected) {
    const got = shapes.get(name)!;
    if (!sameShape(shape, got)) {
      throw new FormatError(`${what}: tensor "${name}" has shape ${shapeText(got)}, the model args (n_layer ${args.n_layer}, n_head ${args.n_head}, n_embd ${args.n_embd}, block_size ${args.block_size}, vocab_size ${args.vocab_size}, bias ${args.bias}) imply ${shapeText(shape)}`);
    }
  }
}

/** Checks that a state dict holds exactly the parameters model args imply, each with its shape and values. */
export function checkStateDict(sd: StateDict, args: NanoGptModelArgs, what: string): void {
  checkStateShapes(new Map([...sd].map(([name, t]) => [name, t.shape])), args, what);
  for (const [name, t] of sd) {
    if (t.data.length !== t.shape.reduce((a, d) => a * d, 1)) throw new FormatError(`${what}: tensor "${name}" has ${t.data.length} values for shape ${shapeText(t.shape)}`);
  }
}

/** The same tensors, in nanoGPT's named_parameters order (checkStateDict first). */
export function inModelOrder(sd: StateDict, args: NanoGptModelArgs): StateDict {
  return new Map([...nanoGptParamShapes(args).keys()].map((name) => [name, sd.get(name)!]));
}

/** Fails unless lm_head.weight holds the same values as the embedding it is tied to. */
export function checkTied(lmHead: StateTensor, wte: StateTensor | undefined, what: string): void {
  if (lmHead.data === wte?.data) return;
  if (!wte || !sameShape(lmHead.shape, wte.shape) || lmHead.data.some((x, i) => !Object.is(x, wte.data[i]))) {
    throw new FormatError(`${what}: lm_head.weight differs from the token embedding; yorick's GPT ties them (weight tying, as nanoGPT and GPT-2 do)`);
  }
}

/**
 * GPT-2 in Hugging Face's layout (model.safetensors + config.json) to and from nanoGPT's names.
 * Hugging Face spells the names with or without a "transformer." prefix (wte.weight,
 * h.0.attn.c_attn.weight, ...), stores the Conv1D weights (c_attn, c_proj, c_fc) as [in, out]
 * where nanoGPT's Linear has [out, in], may carry attn.bias / attn.masked_bias buffers, and
 * ties lm_head.weight to wte.weight. GPT-2's activation is gelu_new (the tanh approximation).
 */
import { FormatError } from './format-error.js';
import { checkStateDict, checkStateShapes, checkTied, isAttnMaskBuffer, nanoGptParamShapes, sameShape, type NanoGptModelArgs, type StateDict, type StateTensor } from './gpt-layout.js';
import { readSafetensors, SafetensorsError, writeSafetensors } from './safetensors.js';
import { showValue } from './py-values.js';
import { bfloat16ToFloat, halfToFloat } from './torch-globals.js';

/** GELU as PyTorch's exact erf form ('gelu') or GPT-2's tanh approximation ('gelu_new'). */
export type GeluKind = 'gelu' | 'gelu_new';

export interface HfGpt2 {
  modelArgs: NanoGptModelArgs & { activation: GeluKind };
  /** nanoGPT names and [out, in] Linear weights, without lm_head.weight (tied). */
  stateDict: StateDict;
}

const CONV1D = /\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
const ACTIVATIONS: Record<string, GeluKind> = { gelu_new: 'gelu_new', gelu_pytorch_tanh: 'gelu_new', gelu: 'gelu' };

/** [rows, cols] -> [cols, rows]. */
function transpose(t: StateTensor): StateTensor {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  return { shape: [cols, rows], data: out };
}

/** Checks a config.json as GPT-2's and returns nanoGPT's model args for it. */
export function gpt2ConfigToModelArgs(config: string | Record<string, unknown>, what = 'config.json'): HfGpt2['modelArgs'] {
  const fail = (msg: string): never => {
    throw new FormatError(`${what}: ${msg}`);
  };
  let c: Record<string, unknown> = {};
  if (typeof config === 'string') {
    try {
      c = JSON.parse(config);
    } catch (e) {
      fail(`not valid JSON (${(e as Error).message})`);
    }
  } else c = config;
  if (!c || typeof c !== 'object' || Array.isArray(c)) fail('not a JSON object');
  if (c.model_type !== 'gpt2') fail(`model_type is ${showValue(c.model_type)}, this loader reads GPT-2 ("gpt2") only`);
  const int = (k: string) => {
    const v = c[k];
    if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= 1)) fail(`${k} is ${showValue(v)}, expected a positive integer`);
    return v as number;
  };
  const args = { n_layer: int('n_layer'), n_head: int('n_head'), n_embd: int('n_embd'), block_size: int('n_positions'), vocab_size: int('vocab_size') };
  if (args.n_embd % args.n_head) fail(`n_embd (${args.n_embd}) must be divisible by n_head (${args.n_head})`);
  const act = String(c.activation_function ?? 'gelu_new');
  if (!(act in ACTIVATIONS)) fail(`activation_function is ${showValue(act)}; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  const eps = c.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== 'number' || Math.abs(eps - 1e-5) > 1e-12) fail(`layer_norm_epsilon is ${showValue(eps)}, yorick's LayerNorm uses 1e-5`);
  if (c.n_inner != null && c.n_inner !== 4 * args.n_embd) fail(`n_inner is ${showValue(c.n_inner)}, GPT's MLP is 4 * n_embd = ${4 * args.n_embd}`);
  if (c.tie_word_embeddings === false) fail('tie_word_embeddings is false; yorick\'s GPT ties lm_head to wte');
  if (c.scale_attn_weights === false || c.scale_attn_by_inverse_layer_idx === true || c.add_cross_attention === true) {
    fail('scale_attn_weights=false, scale_attn_by_inverse_layer_idx=true and add_cross_attention=true are not GPT-2 as yorick runs it');
  }
  return { ...args, bias: true, dropout: 0, activation: ACTIVATIONS[act] };
}

/** A tensor as the format layer meets it: its dtype (safetensors' names), shape and stored values. */
export interface HfStoredTensor {
  dtype: string;
  shape: readonly number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** Where one of nanoGPT's parameters sits in a Hugging Face file, and how it is stored there. */
export interface HfTensorPlace {
  /** The tensor's name in the file. */
  stored: string;
  dtype: string;
  /** Its shape in the file ([in, out] for Conv1D weights). */
  shape: number[];
  /** A Conv1D weight, stored transposed. */
  transpose: boolean;
}

/** A Hugging Face GPT-2 file's tensors mapped onto nanoGPT's parameters, checked against config.json. */
export interface HfGpt2Layout {
  modelArgs: HfGpt2['modelArgs'];
  /** By nanoGPT name, in named_parameters() order. */
  params: Map<string, HfTensorPlace>;
  /** The file's lm_head.weight, when it stores one (it must equal wte). */
  lmHead?: HfTensorPlace;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/**
 * Maps a safetensors header's tensors (names, dtypes, shapes: nothing read yet) onto nanoGPT's
 * parameters and checks them against config.json, so that a loader can then read the file one
 * tensor at a time. Every problem is a FormatError naming `what`.
 */
export function hfGpt2Layout(entries: Iterable<{ name: string; dtype: string; shape: readonly number[] }>, config: string | Record<string, unknown>, what = 'model.safetensors'): HfGpt2Layout {
  const modelArgs = gpt2ConfigToModelArgs(config, `config.json beside ${what}`);
  const params = new Map<string, HfTensorPlace>();
  let lmHead: HfTensorPlace | undefined;
  for (const e of entries) {
    const name = e.name.startsWith('transformer.') ? e.name.slice('transformer.'.length) : e.name;
    if (isAttnMaskBuffer(name)) continue;
    if (!FLOAT_DTYPES.has(e.dtype)) throw new FormatError(`${what}: tensor "${e.name}" is ${e.dtype}; GPT-2 weights must be F32, F16, BF16 or F64`);
    const place: HfTensorPlace = { stored: e.name, dtype: e.dtype, shape: [...e.shape], transpose: false };
    if (name === 'lm_head.weight') {
      lmHead = place;
      continue;
    }
    if (CONV1D.test(name)) {
      if (e.shape.length !== 2) throw new FormatError(`${what}: Conv1D weight "${e.name}" has shape [${e.shape.join(', ')}], expected 2 dimensions [in, out]`);
      place.transpose = true;
    }
    const ours = `transformer.${name}`;
    if (params.has(ours)) throw new FormatError(`${what}: "${name}" appears twice (with and without the transformer. prefix)`);
    params.set(ours, place);
  }
  // messages name the shapes as nanoGPT holds them ([out, in]); say so
  const shapes = new Map([...params].map(([name, p]) => [name, p.transpose ? [p.shape[1], p.shape[0]] : p.shape]));
  checkStateShapes(shapes, modelArgs, `${what} (names and shapes as nanoGPT's, Conv1D weights transposed)`);
  if (lmHead && !sameShape(lmHead.shape, params.get('transformer.wte.weight')!.shape)) {
    throw new FormatError(`${what}: lm_head.weight has shape [${lmHead.shape.join(', ')}], the token embedding [${params.get('transformer.wte.weight')!.shape.join(', ')}]; yorick's GPT ties them`);
  }
  const ordered = new Map([...nanoGptParamShapes(modelArgs).keys()].map((name) => [name, params.get(name)!]));
  return { modelArgs, params: ordered, lmHead };
}

/** A stored tensor's values as nanoGPT holds the parameter: float32, Conv1D weights transposed to [out, in]. */
export function hfTensorValues(place: HfTensorPlace, t: HfStoredTensor): Float32Array {
  const data = toFloat32(t.dtype, t.data);
  return place.transpose ? transpose({ shape: place.shape, data }).data : data;
}

function toFloat32(dtype: string, data: Float32Array | Int32Array | Uint8Array): Float32Array {
  if (dtype === 'F32') return data as Float32Array;
  const bytes = data as Uint8Array;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F16' || dtype === 'BF16') {
    const conv = dtype === 'F16' ? halfToFloat : bfloat16ToFloat;
    return Float32Array.from({ length: bytes.length / 2 }, (_, i) => conv(view.getUint16(i * 2, true)));
  }
  if (dtype === 'F64') return Float32Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(i * 8, true));
  throw new Error(`unexpected dtype ${dtype} (hfGpt2Layout admits float dtypes only)`);
}

/** Reads GPT-2 weights in Hugging Face's layout into nanoGPT's names, checked against config.json. */
export function readHfGpt2(safetensors: Uint8Array, config: string | Record<string, unknown>, what = 'model.safetensors'): HfGpt2 {
  // config.json first: its errors say more than the weights' would
  gpt2ConfigToModelArgs(config, `config.json beside ${what}`);
  let file;
  try {
    file = readSafetensors(safetensors, what);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new FormatError(e.message);
    throw e;
  }
  const layout = hfGpt2Layout([...file.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })), config, what);
  const stateDict: StateDict = new Map();
  for (const [name, place] of layout.params) {
    const shape = place.transpose ? [place.shape[1], place.shape[0]] : place.shape;
    stateDict.set(name, { shape, data: hfTensorValues(place, file.tensors.get(place.stored)!) });
  }
  if (layout.lmHead) {
    const lm = { shape: layout.lmHead.shape, data: hfTensorValues(layout.lmHead, file.tensors.get(layout.lmHead.stored)!) };
    checkTied(lm, stateDict.get('transformer.wte.weight'), what);
  }
  return { modelArgs: layout.modelArgs, stateDict };
}

/**
 * The reverse of readHfGpt2, as tensors to write (names without prefix, Conv1D weights
 * [in, out], sorted by name, as the Hugging Face files of GPT-2 have them), the file's metadata
 * and a config.json object. A model without biases gets zero biases, which compute the same.
 */
export function hfGpt2Parts(stateDict: StateDict, modelArgs: NanoGptModelArgs & { activation?: GeluKind }): { tensors: Map<string, StateTensor>; metadata: Record<string, string>; config: Record<string, unknown> } {
  checkStateDict(stateDict, modelArgs, 'state dict to write');
  const full = { ...modelArgs, bias: true };
  const tensors = new Map<string, StateTensor>();
  for (const [name, shape] of nanoGptParamShapes(full)) {
    let t = stateDict.get(name) ?? { shape, data: new Float32Array(shape.reduce((a, d) => a * d, 1)) };
    const hf = name.slice('transformer.'.length);
    if (CONV1D.test(hf)) t = transpose(t);
    tensors.set(hf, t);
  }
  const sorted = new Map([...tensors].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  const activation = modelArgs.activation ?? 'gelu_new';
  const special = modelArgs.vocab_size > 50256 ? 50256 : null;
  const config = {
    model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: modelArgs.vocab_size,
    n_positions: modelArgs.block_size, n_ctx: modelArgs.block_size, n_embd: modelArgs.n_embd,
    n_layer: modelArgs.n_layer, n_head: modelArgs.n_head, n_inner: null, activation_function: activation,
    layer_norm_epsilon: 1e-5, resid_pdrop: modelArgs.dropout, embd_pdrop: modelArgs.dropout, attn_pdrop: modelArgs.dropout,
    initializer_range: 0.02, bos_token_id: special, eos_token_id: special, tie_word_embeddings: true,
  };
  return { tensors: sorted, metadata: { format: 'pt' }, config };
}

/** hfGpt2Parts as model.safetensors bytes and the config.json object. */
export function writeHfGpt2(stateDict: StateDict, modelArgs: NanoGptModelArgs & { activation?: GeluKind }): { safetensors: Uint8Array; config: Record<string, unknown> } {
  const { tensors, metadata, config } = hfGpt2Parts(stateDict, modelArgs);
  return { safetensors: writeSafetensors(tensors, metadata), config };
}

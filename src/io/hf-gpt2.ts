/**
 * GPT-2 in Hugging Face's layout (model.safetensors + config.json) to and from nanoGPT's names.
 * Hugging Face spells the names with or without a "transformer." prefix (wte.weight,
 * h.0.attn.c_attn.weight, ...), stores the Conv1D weights (c_attn, c_proj, c_fc) as [in, out]
 * where nanoGPT's Linear has [out, in], may carry attn.bias / attn.masked_bias buffers, and
 * ties lm_head.weight to wte.weight. GPT-2's activation is gelu_new (the tanh approximation).
 */
import { FormatError } from './format-error.js';
import { checkStateDict, checkTied, inModelOrder, isAttnMaskBuffer, nanoGptParamShapes, type NanoGptModelArgs, type StateDict, type StateTensor } from './gpt-layout.js';
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

function toFloat32(dtype: string, data: Float32Array | Int32Array | Uint8Array, name: string, what: string): Float32Array {
  if (dtype === 'F32') return data as Float32Array;
  const bytes = data as Uint8Array;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F16' || dtype === 'BF16') {
    const conv = dtype === 'F16' ? halfToFloat : bfloat16ToFloat;
    return Float32Array.from({ length: bytes.length / 2 }, (_, i) => conv(view.getUint16(i * 2, true)));
  }
  if (dtype === 'F64') return Float32Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(i * 8, true));
  throw new FormatError(`${what}: tensor "${name}" is ${dtype}; GPT-2 weights must be F32, F16, BF16 or F64`);
}

/** Reads GPT-2 weights in Hugging Face's layout into nanoGPT's names, checked against config.json. */
export function readHfGpt2(safetensors: Uint8Array, config: string | Record<string, unknown>, what = 'model.safetensors'): HfGpt2 {
  const modelArgs = gpt2ConfigToModelArgs(config, `config.json beside ${what}`);
  let file;
  try {
    file = readSafetensors(safetensors, what);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new FormatError(e.message);
    throw e;
  }
  const stateDict: StateDict = new Map();
  let lmHead: StateTensor | undefined;
  for (const [stored, t] of file.tensors) {
    const name = stored.startsWith('transformer.') ? stored.slice('transformer.'.length) : stored;
    if (isAttnMaskBuffer(name)) continue;
    let tensor: StateTensor = { shape: t.shape, data: toFloat32(t.dtype, t.data, stored, what) };
    if (name === 'lm_head.weight') {
      lmHead = tensor;
      continue;
    }
    if (CONV1D.test(name)) {
      if (tensor.shape.length !== 2) throw new FormatError(`${what}: Conv1D weight "${stored}" has shape [${tensor.shape.join(', ')}], expected 2 dimensions [in, out]`);
      tensor = transpose(tensor);
    }
    const ours = `transformer.${name}`;
    if (stateDict.has(ours)) throw new FormatError(`${what}: "${name}" appears twice (with and without the transformer. prefix)`);
    stateDict.set(ours, tensor);
  }
  // messages name the shapes as nanoGPT holds them ([out, in]); say so
  checkStateDict(stateDict, modelArgs, `${what} (names and shapes as nanoGPT's, Conv1D weights transposed)`);
  if (lmHead) checkTied(lmHead, stateDict.get('transformer.wte.weight'), what);
  return { modelArgs, stateDict: inModelOrder(stateDict, modelArgs) };
}

/**
 * The reverse of readHfGpt2: model.safetensors bytes (names without prefix, Conv1D weights
 * [in, out], as the Hugging Face files of GPT-2 have them) and a config.json object. A model
 * without biases gets zero biases, which compute the same.
 */
export function writeHfGpt2(stateDict: StateDict, modelArgs: NanoGptModelArgs & { activation?: GeluKind }): { safetensors: Uint8Array; config: Record<string, unknown> } {
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
  return { safetensors: writeSafetensors(sorted, { format: 'pt' }), config };
}

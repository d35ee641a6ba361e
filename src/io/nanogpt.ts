/**
 * nanoGPT's ckpt.pt (what its train.py saves with torch.save):
 *   { model: state_dict (OrderedDict), optimizer: AdamW.state_dict(), model_args: dict,
 *     iter_num: int, best_val_loss: float or 0-d tensor, config: dict }
 * read into plain arrays under nanoGPT's names, and written back in the same layout.
 */
import { FormatError } from './format-error.js';
import {
  checkModelArgs, checkStateDict, checkTied, inModelOrder, isAttnMaskBuffer, nanoGptParamShapes, sameShape,
  type NanoGptModelArgs, type StateDict, type StateTensor,
} from './gpt-layout.js';
import { OrderedDict, PyFloat, PyTuple, pyTypeName, showValue, TorchTensor, type PyKey, type PyValue } from './py-values.js';
import { readTorchFile, torchFileParts } from './torch-file.js';
import { type ByteSource, concatBytes } from './zip.js';

/** AdamW's moments by parameter name and its step count (the shape of yorick's AdamW.stateDict()). */
export interface AdamWMoments {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/** The moments plus the hyperparameters of nanoGPT's decay group (the no-decay group has weight_decay 0). */
export interface NanoGptOptimizer extends AdamWMoments {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

export interface NanoGptCheckpoint {
  modelArgs: NanoGptModelArgs;
  /** Parameters by nanoGPT name, without lm_head.weight (tied) or the attn.bias mask buffers. */
  stateDict: StateDict;
  optimizer?: NanoGptOptimizer;
  iterNum: number;
  bestValLoss: number;
  /** train.py's configuration, as saved (floats that are integral read back as integers). */
  config: Record<string, PyValue>;
}

const PREFIX = '_orig_mod.'; // torch.compile's wrapper

const num = (v: PyValue | undefined): number | undefined => {
  if (typeof v === 'number') return v;
  if (v instanceof TorchTensor && v.data.length === 1) return v.data[0];
  return undefined;
};

/** Reads and checks a nanoGPT checkpoint; every problem is a FormatError naming `what`. */
export function readNanoGptCheckpoint(bytes: Uint8Array | ByteSource, what = 'ckpt.pt'): NanoGptCheckpoint {
  const top = readTorchFile(bytes, what);
  if (!(top instanceof Map)) throw new FormatError(`${what}: holds a ${pyTypeName(top)}, expected nanoGPT's checkpoint dict`);
  const fail = (msg: string): never => {
    throw new FormatError(`${what}: ${msg}`);
  };
  const modelArgs = checkModelArgs(top.get('model_args'), what);
  const model = top.get('model');
  if (!(model instanceof Map)) fail(`"model" is ${pyTypeName(model)}, expected a state dict`);
  const stateDict: StateDict = new Map();
  let lmHead: StateTensor | undefined;
  for (const [k, v] of model as Map<PyKey, PyValue>) {
    if (typeof k !== 'string') fail(`state dict key ${showValue(k)} is not a string`);
    const name = (k as string).startsWith(PREFIX) ? (k as string).slice(PREFIX.length) : (k as string);
    if (!(v instanceof TorchTensor)) fail(`state dict entry "${name}" is ${pyTypeName(v)}, expected a tensor`);
    const t = { shape: (v as TorchTensor).shape, data: (v as TorchTensor).data };
    if (isAttnMaskBuffer(name)) continue;
    if (name === 'lm_head.weight') lmHead = t;
    else if (stateDict.has(name)) fail(`state dict names "${name}" twice (with and without ${PREFIX}?)`);
    else stateDict.set(name, t);
  }
  checkStateDict(stateDict, modelArgs, what);
  if (lmHead) checkTied(lmHead, stateDict.get('transformer.wte.weight'), what);

  const iterNum = top.get('iter_num') ?? 0;
  if (!(typeof iterNum === 'number' && Number.isSafeInteger(iterNum) && iterNum >= 0)) fail(`iter_num is ${showValue(iterNum)}, expected a non-negative integer`);
  const bestValLoss = top.has('best_val_loss') ? num(top.get('best_val_loss')) : 1e9;
  if (bestValLoss === undefined) fail(`best_val_loss is ${pyTypeName(top.get('best_val_loss'))}, expected a number`);
  const config: Record<string, PyValue> = {};
  const cfg = top.get('config');
  if (cfg instanceof Map) for (const [k, v] of cfg) if (typeof k === 'string') config[k] = v;
  const opt = top.get('optimizer');
  const optimizer = opt === undefined || opt === null ? undefined : readOptimizer(opt, stateDict, modelArgs, fail);
  return { modelArgs, stateDict: inModelOrder(stateDict, modelArgs), optimizer, iterNum: iterNum as number, bestValLoss: bestValLoss!, config };
}

/** nanoGPT's configure_optimizers groups: 2-D and larger parameters decay, the rest do not. */
function parameterGroups(args: NanoGptModelArgs): [string[], string[]] {
  const shapes = [...nanoGptParamShapes(args)];
  return [shapes.filter(([, s]) => s.length >= 2).map(([n]) => n), shapes.filter(([, s]) => s.length < 2).map(([n]) => n)];
}

function readOptimizer(opt: PyValue, sd: StateDict, args: NanoGptModelArgs, fail: (m: string) => never): NanoGptOptimizer {
  if (!(opt instanceof Map)) fail(`"optimizer" is ${pyTypeName(opt)}, expected AdamW's state dict`);
  const state = (opt as Map<PyKey, PyValue>).get('state');
  const groups = (opt as Map<PyKey, PyValue>).get('param_groups');
  if (!(state instanceof Map)) fail('optimizer.state is missing or not a dict');
  if (!Array.isArray(groups) || !groups.every((g) => g instanceof Map)) fail('optimizer.param_groups is missing or not a list of dicts');
  const [decay, noDecay] = parameterGroups(args);
  const gs = groups as Map<PyKey, PyValue>[];
  if (gs.length !== 2) fail(`optimizer has ${gs.length} param groups; nanoGPT's configure_optimizers makes 2 (decay, no decay)`);
  const idToName = new Map<PyKey, string>();
  [decay, noDecay].forEach((names, g) => {
    const ids = gs[g].get('params');
    if (!Array.isArray(ids) || ids.length !== names.length) {
      fail(`optimizer param group ${g} has ${Array.isArray(ids) ? ids.length : 'no'} params, nanoGPT's layout for these model args has ${names.length}`);
    }
    (ids as PyValue[]).forEach((id, i) => {
      if (typeof id !== 'number' || idToName.has(id)) fail(`optimizer param group ${g} lists id ${showValue(id)} that is not a new integer`);
      idToName.set(id as number, names[i]);
    });
    for (const flag of ['amsgrad', 'maximize'] as const) if (gs[g].get(flag) === true) fail(`optimizer param group ${g} has ${flag}=True, which yorick's AdamW does not do`);
  });
  const g0 = gs[0];
  const betas = g0.get('betas');
  const hyper = {
    lr: g0.get('lr'), eps: g0.get('eps'), weightDecay: g0.get('weight_decay'),
    betas: betas instanceof PyTuple ? betas.items : betas,
  };
  if (typeof hyper.lr !== 'number' || typeof hyper.eps !== 'number' || typeof hyper.weightDecay !== 'number'
    || !Array.isArray(hyper.betas) || hyper.betas.length !== 2 || !hyper.betas.every((b) => typeof b === 'number')) {
    fail('optimizer param group 0 lacks AdamW\'s lr, betas, eps or weight_decay');
  }
  const noDecayWd = gs[1].get('weight_decay');
  if (noDecayWd !== 0) fail(`optimizer param group 1 has weight_decay ${showValue(noDecayWd)}; nanoGPT's no-decay group has 0`);

  const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
  let step: number | undefined;
  const st = state as Map<PyKey, PyValue>;
  for (const [id, name] of idToName) {
    const s = st.get(id);
    const shape = sd.get(name)!.shape;
    if (s === undefined && st.size === 0) {
      // an optimizer that never stepped has no state yet: zero moments
      const n = shape.reduce((a, d) => a * d, 1);
      m.set(name, new Float32Array(n));
      v.set(name, new Float32Array(n));
      step = 0;
      continue;
    }
    if (!(s instanceof Map)) return fail(`optimizer.state has no entry for parameter ${showValue(id)} ("${name}")`);
    for (const [key, out] of [['exp_avg', m], ['exp_avg_sq', v]] as const) {
      const t = s.get(key);
      if (!(t instanceof TorchTensor) || !sameShape(t.shape, shape)) fail(`optimizer.state[${showValue(id)}].${key} ("${name}") is not a tensor of shape [${shape.join(', ')}]`);
      out.set(name, (t as TorchTensor).data);
    }
    const k = num(s.get('step'));
    if (k === undefined || !Number.isInteger(k) || k < 0) fail(`optimizer.state[${showValue(id)}].step is not a step count`);
    if (step !== undefined && step !== k) fail(`optimizer steps differ between parameters (${step} and ${k}); yorick's AdamW keeps one count`);
    step = k;
  }
  return { step: step ?? 0, m, v, lr: hyper.lr as number, betas: hyper.betas as [number, number], eps: hyper.eps as number, weightDecay: hyper.weightDecay as number };
}

export interface NanoGptWriteOptions {
  /**
   * Also write the attn.bias causal-mask buffers. nanoGPT registers them only when PyTorch has
   * no flash attention (before 2.0), and its load_state_dict is strict, so: true for PyTorch 1.x,
   * false (the default) for PyTorch 2.x.
   */
  attnBiasBuffers?: boolean;
  /** The zip's folder name: torch.save uses the file's base name ("ckpt") or "archive". */
  archiveName?: string;
}

/** train.py's settings that are floats in Python (an integral value still pickles as a float). */
const FLOAT_CONFIG_KEYS = new Set(['dropout', 'learning_rate', 'weight_decay', 'beta1', 'beta2', 'grad_clip', 'min_lr']);

const tensor = (shape: number[], data: Float32Array) => new TorchTensor('float32', shape, data);

/** The checkpoint as torch.save's parts (storages not copied); see writeNanoGptCheckpoint. */
export function nanoGptCheckpointParts(ckpt: NanoGptCheckpoint, opts: NanoGptWriteOptions = {}): Uint8Array[] {
  const args = checkModelArgs(ckpt.modelArgs as unknown as Record<string, unknown>, 'model args');
  checkStateDict(ckpt.stateDict, args, 'state dict to write');
  const T = args.block_size;
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) mask.fill(1, i * T, i * T + i + 1);
  // nanoGPT's state_dict order: a module's parameters, then its buffers, then its children
  const model = new OrderedDict();
  for (const name of nanoGptParamShapes(args).keys()) {
    const t = ckpt.stateDict.get(name)!;
    const layer = /^transformer\.h\.(\d+)\.attn\.c_attn\.weight$/.exec(name);
    if (layer && opts.attnBiasBuffers) model.set(`transformer.h.${layer[1]}.attn.bias`, tensor([1, 1, T, T], mask));
    model.set(name, tensor(t.shape, t.data));
  }
  const wte = ckpt.stateDict.get('transformer.wte.weight')!;
  model.set('lm_head.weight', tensor(wte.shape, wte.data)); // the same array: one shared storage, as torch saves tied weights

  const top = new Map<PyKey, PyValue>([['model', model]]);
  if (ckpt.optimizer) top.set('optimizer', optimizerStateDict(ckpt.optimizer, ckpt.stateDict, args));
  top.set('model_args', new Map<PyKey, PyValue>([
    ['n_layer', args.n_layer], ['n_head', args.n_head], ['n_embd', args.n_embd], ['block_size', args.block_size],
    ['bias', args.bias], ['vocab_size', args.vocab_size], ['dropout', new PyFloat(args.dropout)],
  ]));
  top.set('iter_num', ckpt.iterNum);
  top.set('best_val_loss', new PyFloat(ckpt.bestValLoss));
  top.set('config', new Map<PyKey, PyValue>(Object.entries(ckpt.config).map(([k, v]) => [k, typeof v === 'number' && FLOAT_CONFIG_KEYS.has(k) ? new PyFloat(v) : v])));
  return torchFileParts(top, opts.archiveName);
}

/**
 * A ckpt.pt that torch.load reads and nanoGPT's sample.py and train.py --init_from=resume
 * accept: the state dict (with lm_head.weight tied to wte), AdamW's state in PyTorch's layout.
 * model_args holds nanoGPT's seven GPTConfig fields only: an `activation` ('gelu_new' for
 * GPT-2's own weights) is dropped, and nanoGPT runs exact GELU, as its from_pretrained does.
 * sample.py finds meta.pkl through config.dataset (data/<dataset>/meta.pkl).
 */
export function writeNanoGptCheckpoint(ckpt: NanoGptCheckpoint, opts: NanoGptWriteOptions = {}): Uint8Array {
  return concatBytes(nanoGptCheckpointParts(ckpt, opts));
}

/** AdamW.state_dict() as PyTorch 1.13 writes it for nanoGPT's two groups; ids in group order. */
function optimizerStateDict(o: NanoGptOptimizer, sd: StateDict, args: NanoGptModelArgs): PyValue {
  const [decay, noDecay] = parameterGroups(args);
  const state = new Map<PyKey, PyValue>();
  [...decay, ...noDecay].forEach((name, id) => {
    const shape = sd.get(name)!.shape;
    const n = shape.reduce((a, d) => a * d, 1);
    const m = o.m.get(name), v = o.v.get(name);
    if (!m || !v || m.length !== n || v.length !== n) throw new Error(`optimizer moments for "${name}" are missing or not ${n} values`);
    state.set(id, new Map<PyKey, PyValue>([
      ['step', tensor([], new Float32Array([o.step]))], // a float32 0-d tensor since PyTorch 1.12
      ['exp_avg', tensor(shape, m)],
      ['exp_avg_sq', tensor(shape, v)],
    ]));
  });
  const group = (weightDecay: number, ids: number[]) => new Map<PyKey, PyValue>([
    ['weight_decay', new PyFloat(weightDecay)], ['lr', new PyFloat(o.lr)],
    ['betas', new PyTuple([new PyFloat(o.betas[0]), new PyFloat(o.betas[1])])], ['eps', new PyFloat(o.eps)],
    ['amsgrad', false], ['foreach', null], ['maximize', false], ['capturable', false], ['params', ids],
  ]);
  const ids = [...decay, ...noDecay].map((_, i) => i);
  return new Map<PyKey, PyValue>([
    ['state', state],
    ['param_groups', [group(o.weightDecay, ids.slice(0, decay.length)), group(0, ids.slice(decay.length))]],
  ]);
}

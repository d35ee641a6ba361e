// PyTorch parity: every *.safetensors case in the fixtures directory, on every backend.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Backend } from '../src/backend/backend.js';
import { readSafetensors, type SafetensorsFile } from '../src/io/safetensors.js';
import { createModel } from '../src/models/factory.js';
import type { LanguageModel, ModelSpec } from '../src/models/model.js';
import { AdamW } from '../src/optim/adamw.js';
import { causalSelfAttention } from '../src/ops/attention.js';
import { gelu } from '../src/ops/elementwise.js';
import { layerNorm } from '../src/ops/layernorm.js';
import { matmul } from '../src/ops/linear.js';
import { crossEntropy, softmax } from '../src/ops/loss.js';
import { IntTensor, Tensor } from '../src/tensor/tensor.js';
import { assertClose, backendsSkipped, backendsUnderTest, fixturesDir } from './helpers.js';

const TOL = { logits: 1e-5, loss: 1e-5, grad: 1e-4, stepLoss: 1e-4, final: 1e-4 };

const dir = fixturesDir();
const cases = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
const backends = await backendsUnderTest();

function f32(file: SafetensorsFile, name: string): Float32Array {
  const t = file.tensors.get(name);
  assert.ok(t, `fixture has no tensor "${name}"`);
  return t.data as Float32Array;
}

function tensorOf(file: SafetensorsFile, name: string, backend: Backend, requiresGrad = false): Tensor {
  return Tensor.from(f32(file, name), file.tensors.get(name)!.shape, { backend, requiresGrad });
}

function ids(file: SafetensorsFile, name: string): IntTensor {
  const t = file.tensors.get(name)!;
  return new IntTensor(t.data as Int32Array, t.shape);
}

function modelSpec(file: SafetensorsFile): ModelSpec {
  const config = JSON.parse(file.metadata.config);
  return file.metadata.kind === 'gpt'
    ? { kind: 'gpt', args: { ...config, dropout: config.dropout ?? 0 } }
    : { kind: 'bigram', args: { vocab_size: config.vocab_size, block_size: config.block_size } };
}

/**
 * Forward f of a case (0: the stored one; 1..steps: the AdamW steps'): with metadata dropout_seed,
 * the masks are PyTorch's after torch.manual_seed(dropout_seed + f), drawn as F.dropout draws them.
 */
function forward(model: LanguageModel, file: SafetensorsFile, f: number, x: IntTensor, y: IntTensor): ReturnType<LanguageModel['forward']> {
  if (file.metadata.dropout_seed !== undefined) model.generator.manualSeed(Number(file.metadata.dropout_seed) + f);
  return model.forward(x, y);
}

function buildModel(file: SafetensorsFile, backend: Backend): LanguageModel {
  // the torch dropout stream on every backend (WebGPU's default is its device stream)
  const model = createModel(modelSpec(file), { backend, dropoutRng: 'torch' });
  const state = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of file.tensors) if (name.startsWith('param.')) state.set(name.slice(6), { shape: t.shape, data: t.data as Float32Array });
  assert.equal(state.size, model.namedParameters().size, 'fixture and model have the same number of parameters');
  model.loadStateDict(state);
  return model;
}

async function checkModelCase(file: SafetensorsFile, name: string, backend: Backend): Promise<void> {
  if (file.metadata.init === 'nanogpt') {
    // the case's weights are nanoGPT's for its seed: the model drawn from that seed has them exactly
    const drawn = createModel(modelSpec(file), { backend, seed: Number(file.metadata.seed) });
    for (const [pname, p] of drawn.namedParameters()) {
      assert.deepEqual(await p.data(), f32(file, `param.${pname}`), `${name}: param.${pname} as drawn from seed ${file.metadata.seed}`);
    }
  }
  const model = buildModel(file, backend);
  const x = ids(file, 'input.x'), y = ids(file, 'input.y');
  const { logits, loss } = forward(model, file, 0, x, y);
  assert.deepEqual([...logits.shape], file.tensors.get('output.logits')!.shape);
  assertClose(await logits.data(), f32(file, 'output.logits'), TOL.logits, `${name} logits`);
  assertClose([await loss!.itemAsync()], f32(file, 'output.loss'), TOL.loss, `${name} loss`);
  loss!.backward();
  for (const [pname, p] of model.namedParameters()) {
    assertClose(await p.grad!.data(), f32(file, `grad.${pname}`), TOL.grad, `${name} grad.${pname}`);
  }

  // AdamW steps on the same batch, from the initial weights again
  const fresh = buildModel(file, backend);
  const opt = JSON.parse(file.metadata.optimizer);
  const gradClip = Number(file.metadata.grad_clip ?? 0);
  const optimizer = new AdamW(fresh.namedParameters(), { lr: opt.lr, betas: opt.betas, eps: opt.eps, weightDecay: opt.weight_decay });
  const expected = f32(file, 'train.losses');
  const losses: number[] = [];
  for (let s = 0; s < expected.length; s++) {
    optimizer.zeroGrad();
    const out = forward(fresh, file, s + 1, x, y);
    losses.push(await out.loss!.itemAsync());
    out.loss!.backward();
    optimizer.step(gradClip);
  }
  assertClose(losses, expected, TOL.stepLoss, `${name} losses over ${expected.length} AdamW steps`);
  // Adam divides by sqrt(v): an element whose gradient is at float32 noise level (the key bias,
  // whose true gradient is zero, or |g| near eps) moves by an arbitrary fraction of lr. Only such
  // elements (|grad| <= 1e-3 of the tensor's largest at step 0) get a budget of 5% of lr per
  // step; every other element must be within the strict tolerance.
  const budget = 0.05 * opt.lr * expected.length;
  for (const [pname, p] of fresh.namedParameters()) {
    const g0 = f32(file, `grad.${pname}`);
    const gmax = g0.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assertClose(await p.data(), f32(file, `final.${pname}`), TOL.final, `${name} final.${pname}`,
      { atol: budget, where: (i) => Math.abs(g0[i]) <= 1e-3 * gmax });
  }
}

/** [B, H, T, hs] q, k, v -> the fused [B, T, 3C] layout the attention kernel reads. */
function packQKV(q: Float32Array, k: Float32Array, v: Float32Array, [B, H, T, hs]: readonly number[]): Float32Array {
  const C = H * hs;
  const out = new Float32Array(B * T * 3 * C);
  [q, k, v].forEach((src, s) => {
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let i = 0; i < hs; i++) {
      out[(b * T + t) * 3 * C + s * C + h * hs + i] = src[((b * H + h) * T + t) * hs + i];
    }
  });
  return out;
}

/** [B, T, stride] rows (heads side by side from offset) -> [B, H, T, hs]. */
function headsFirst(x: Float32Array, [B, H, T, hs]: readonly number[], stride: number, offset: number): Float32Array {
  const out = new Float32Array(B * H * T * hs);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let i = 0; i < hs; i++) {
    out[((b * H + h) * T + t) * hs + i] = x[(b * T + t) * stride + offset + h * hs + i];
  }
  return out;
}

/** [B, H, T, hs] -> [B, T, C] with the heads side by side. */
function headsLast(x: Float32Array, [B, H, T, hs]: readonly number[]): Float32Array {
  const C = H * hs, out = new Float32Array(B * T * C);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let i = 0; i < hs; i++) {
    out[(b * T + t) * C + h * hs + i] = x[((b * H + h) * T + t) * hs + i];
  }
  return out;
}

/** A fixture's inputs as the op takes them: float `in.*` tensors (with gradients), int32 ones as ids. */
interface OpInputs { t: Record<string, Tensor>; ids: Record<string, IntTensor>; meta: Record<string, string>; file: SafetensorsFile }

/**
 * How each single-op fixture runs. By default the op's inputs are the fixture's `in.*` tensors,
 * its output and input gradients are compared as they are; `layout` changes what the op sees
 * (attention reads q, k, v packed into one [B, T, 3C] tensor) and maps results back.
 */
interface OpCase {
  forward(x: OpInputs): Tensor;
  layout?: {
    inputs(file: SafetensorsFile, backend: Backend): Record<string, Tensor>;
    /** The op's output, and the gradient it receives, in the fixture's layout and back. */
    out(y: Float32Array, file: SafetensorsFile): Float32Array;
    gradOut(g: Float32Array, file: SafetensorsFile): Float32Array;
    grads(inputs: Record<string, Tensor>, file: SafetensorsFile): Promise<Record<string, Float32Array>>;
  };
}

/** Heads of an attention fixture (q is [B, H, T, hs]). */
function headCount(file: SafetensorsFile): number {
  return file.tensors.get('in.q')!.shape[1];
}

const attentionLayout: OpCase['layout'] = {
  inputs(file, backend) {
    const shape = file.tensors.get('in.q')!.shape, [B, H, T, hs] = shape;
    const qkv = packQKV(f32(file, 'in.q'), f32(file, 'in.k'), f32(file, 'in.v'), shape);
    return { qkv: Tensor.from(qkv, [B, T, 3 * H * hs], { backend, requiresGrad: true }) };
  },
  out: (y, file) => headsFirst(y, file.tensors.get('in.q')!.shape, headCount(file) * file.tensors.get('in.q')!.shape[3], 0),
  gradOut: (g, file) => headsLast(g, file.tensors.get('in.q')!.shape),
  async grads(inputs, file) {
    const shape = file.tensors.get('in.q')!.shape, C = shape[1] * shape[3];
    const g = await inputs.qkv.grad!.data();
    return { q: headsFirst(g, shape, 3 * C, 0), k: headsFirst(g, shape, 3 * C, C), v: headsFirst(g, shape, 3 * C, 2 * C) };
  },
};

const OPS: Record<string, OpCase> = {
  matmul: { forward: ({ t }) => matmul(t.a, t.b) },
  layernorm: { forward: ({ t, meta }) => layerNorm(t.x, t.weight, t.bias ?? null, Number(meta.eps ?? 1e-5)) },
  gelu: { forward: ({ t, meta }) => gelu(t.x, meta.approximate?.startsWith('tanh') ? 'tanh' : 'none') },
  cross_entropy: { forward: ({ t, ids }) => crossEntropy(t.logits, ids.targets) },
  softmax: { forward: ({ t, meta }) => softmax(t.x, Number(meta.temperature ?? 1)) },
  causal_attention: { forward: ({ t, file }) => causalSelfAttention(t.qkv, headCount(file)), layout: attentionLayout },
};

/** A single-op case: forward against `out`, then backward of `grad_out` against every `grad.*`. */
async function checkOpCase(file: SafetensorsFile, name: string, backend: Backend): Promise<void> {
  const op = OPS[file.metadata.op];
  assert.ok(op, `${name}: unknown op "${file.metadata.op}" (add it to OPS)`);
  const t: Record<string, Tensor> = {}, idsIn: Record<string, IntTensor> = {};
  for (const [key, st] of file.tensors) {
    if (!key.startsWith('in.')) continue;
    if (st.dtype === 'I32') idsIn[key.slice(3)] = ids(file, key);
    else t[key.slice(3)] = tensorOf(file, key, backend, true);
  }
  const inputs = op.layout ? op.layout.inputs(file, backend) : t;
  const out = op.forward({ t: inputs, ids: idsIn, meta: file.metadata, file });
  const y = await out.data();
  assertClose(op.layout ? op.layout.out(y, file) : y, f32(file, 'out'), TOL.logits, `${name} out`);
  const gradOut = f32(file, 'grad_out');
  out.backward(Tensor.from(op.layout ? op.layout.gradOut(gradOut, file) : gradOut, out.shape, { backend }));
  const grads = op.layout ? await op.layout.grads(inputs, file)
    : Object.fromEntries(await Promise.all(Object.entries(t).map(async ([k, v]) => [k, await v.grad!.data()] as const)));
  for (const key of [...file.tensors.keys()].filter((k) => k.startsWith('grad.'))) {
    assert.ok(grads[key.slice(5)], `${name}: no gradient for ${key}`);
    assertClose(grads[key.slice(5)], f32(file, key), TOL.grad, `${name} ${key}`);
  }
}

for (const backend of backends) {
  describe(`PyTorch parity on the ${backend.name} backend (${dir})`, () => {
    test('the fixtures directory has cases', () => assert.ok(cases.length > 0, `no *.safetensors in ${dir}`));
    for (const name of cases) {
      test(name, async () => {
        const file = readSafetensors(readFileSync(join(dir, name)), name);
        const kind = file.metadata.kind;
        if (kind === 'gpt' || kind === 'bigram') await checkModelCase(file, name, backend);
        else if (kind === 'op') await checkOpCase(file, name, backend);
        else assert.fail(`${name}: unknown kind "${kind}"`);
      });
    }
  });
}

for (const { name, why } of await backendsSkipped()) {
  test(`PyTorch parity on the ${name} backend`, { skip: why }, () => {});
}

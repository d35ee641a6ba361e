import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/io/format-error.js';
import { nanoGptParamShapes } from '../../src/io/gpt-layout.js';
import { readHfGpt2, writeHfGpt2 } from '../../src/io/hf-gpt2.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { readFixture, readJson } from './helpers.js';

const weights = () => readFixture('hf-gpt2-tiny/model.safetensors');
const config = readJson<Record<string, unknown>>('hf-gpt2-tiny/config.json');
const formatError = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof FormatError, `a FormatError, got ${String(e)}`);
  assert.match(e.message, pattern);
  return true;
};

/** The fixture's tensors renamed / extended by fn, as safetensors bytes. */
function rewritten(fn: (t: Map<string, { shape: number[]; data: Float32Array }>) => Map<string, { shape: number[]; data: Float32Array }>): Uint8Array {
  const t = new Map([...readSafetensors(weights()).tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data as Float32Array }]));
  return writeSafetensors(fn(t));
}

test("reads Hugging Face's GPT-2 layout into nanoGPT's names, Conv1D weights transposed", () => {
  const { modelArgs, stateDict } = readHfGpt2(weights(), config);
  assert.deepEqual(modelArgs, { n_layer: 2, n_head: 2, n_embd: 16, block_size: 32, vocab_size: 50257, bias: true, dropout: 0, activation: 'gelu_new' });
  assert.deepEqual([...stateDict.keys()], [...nanoGptParamShapes(modelArgs).keys()]);
  const raw = readSafetensors(weights()).tensors;
  for (const [name, t] of stateDict) {
    const hf = raw.get(name.slice('transformer.'.length))!;
    const src = hf.data as Float32Array;
    if (/c_attn\.weight|c_proj\.weight|c_fc\.weight/.test(name)) {
      const [inp, out] = hf.shape;
      assert.deepEqual(t.shape, [out, inp], name);
      for (const [o, i] of [[0, 0], [out - 1, 1], [3, inp - 1]]) assert.equal(t.data[o * inp + i], src[i * out + o], `${name}[${o}, ${i}]`);
    } else {
      assert.deepEqual(t.shape, hf.shape, name);
      assert.deepEqual(t.data, src, name);
    }
  }
});

test('the transformer. prefix, mask buffers and a tied lm_head.weight are all accepted', () => {
  const plain = readHfGpt2(weights(), config).stateDict;
  const spelled = rewritten((t) => {
    const out = new Map([...t].map(([k, v]) => [`transformer.${k}`, v]));
    out.set('transformer.h.0.attn.bias', { shape: [1, 1, 32, 32], data: new Float32Array(1024) });
    out.set('transformer.h.1.attn.masked_bias', { shape: [], data: Float32Array.of(-1e4) });
    out.set('lm_head.weight', t.get('wte.weight')!);
    return out;
  });
  assert.deepEqual(readHfGpt2(spelled, JSON.stringify(config)).stateDict, plain);
});

test('written back, the weights are the Hugging Face file again', () => {
  const { modelArgs, stateDict } = readHfGpt2(weights(), config);
  const out = writeHfGpt2(stateDict, modelArgs);
  const ours = readSafetensors(out.safetensors), theirs = readSafetensors(weights());
  assert.deepEqual([...ours.tensors.keys()], [...theirs.tensors.keys()]);
  for (const [k, t] of theirs.tensors) assert.deepEqual(ours.tensors.get(k), t, k);
  assert.deepEqual(ours.metadata, theirs.metadata);
  for (const k of ['model_type', 'architectures', 'vocab_size', 'n_positions', 'n_ctx', 'n_embd', 'n_layer', 'n_head', 'activation_function',
    'layer_norm_epsilon', 'bos_token_id', 'eos_token_id', 'tie_word_embeddings']) {
    assert.deepEqual(out.config[k], config[k], k);
  }
  assert.deepEqual(readHfGpt2(out.safetensors, out.config), { modelArgs, stateDict });
});

test('a model without biases is written with zero biases; exact GELU is written as "gelu"', () => {
  const args = { n_layer: 1, n_head: 2, n_embd: 4, block_size: 8, vocab_size: 10, bias: false, dropout: 0, activation: 'gelu' as const };
  const sd = new Map([...nanoGptParamShapes(args)].map(([k, shape], i) => [k, { shape, data: Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, (_, j) => i + j / 100) }]));
  const out = writeHfGpt2(sd, args);
  assert.equal(out.config.activation_function, 'gelu');
  assert.equal(out.config.bos_token_id, null);
  const back = readHfGpt2(out.safetensors, out.config);
  assert.deepEqual(back.modelArgs, { ...args, bias: true });
  for (const [k, t] of back.stateDict) assert.deepEqual(t.data, sd.get(k)?.data ?? new Float32Array(t.data.length), k);
});

test('a config.json that is not GPT-2\'s, or weights that disagree with it, are FormatErrors', () => {
  const bad = (cfg: unknown, pattern: RegExp, bytes = weights()) => assert.throws(() => readHfGpt2(bytes, cfg as Record<string, unknown>), formatError(pattern));
  bad({ ...config, model_type: 'llama' }, /model_type is "llama", this loader reads GPT-2 \("gpt2"\) only/);
  bad({ ...config, model_type: undefined }, /model_type is missing/);
  bad({ ...config, n_embd: 32 }, /tensor "transformer\.wte\.weight" has shape \[50257, 16\], the model args .* imply \[50257, 32\]/);
  bad({ ...config, n_positions: 64 }, /transformer\.wpe\.weight" has shape \[32, 16\].*imply \[64, 16\]/);
  bad({ ...config, n_layer: 3 }, /missing 12 tensor\(s\)/);
  bad({ ...config, vocab_size: 0 }, /vocab_size is 0, expected a positive integer/);
  bad({ ...config, activation_function: 'relu' }, /activation_function is "relu"; supported: gelu_new, gelu_pytorch_tanh, gelu/);
  bad({ ...config, layer_norm_epsilon: 1e-6 }, /layer_norm_epsilon is 0\.000001/);
  bad({ ...config, n_inner: 100 }, /n_inner is 100/);
  bad({ ...config, tie_word_embeddings: false }, /tie_word_embeddings is false/);
  bad('{"model_type": ', /config\.json beside model\.safetensors: not valid JSON/);
  bad(config, /safetensors|header|truncated/, weights().slice(0, 1000));
  bad(config, /lm_head\.weight differs from the token embedding/, rewritten((t) => {
    t.set('lm_head.weight', { shape: [50257, 16], data: new Float32Array(50257 * 16) });
    return t;
  }));
  bad(config, /unexpected tensor "transformer\.h\.0\.attn\.c_attn\.extra"/, rewritten((t) => t.set('h.0.attn.c_attn.extra', { shape: [1], data: Float32Array.of(0) })));
});

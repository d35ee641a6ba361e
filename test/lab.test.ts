// The Lab (what the web page's worker runs): tokenizing with prepare's split, batches, training
// that pauses and resumes with the losses of an unpaused run, sampling as `yorick sample` does,
// checkpoints out and in (continuing exactly), and the same calls over a MessageChannel.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadWasmBackend } from '../src/backend/wasm/node-wasm.js';
import { ReferenceBackend } from '../src/backend/reference/reference.js';
import { encodeSplits } from '../src/data/text-split.js';
import { deserializeCheckpoint } from '../src/train/checkpoint.js';
import { Lab, type LabEvent } from '../src/lab/lab.js';
import { LabClient, LabError, serveLab } from '../src/lab/rpc.js';
import { samplingGenerator } from '../src/models/factory.js';
import { generateTokens } from '../src/models/generate.js';
import { loadTiktoken, rankFileDir } from '../src/node/tokenizers.js';
import { IntTensor } from '../src/tensor/tensor.js';
import { BpeTokenizer } from '../src/tokenizers/bpe/tokenizer.js';
import { CharTokenizer } from '../src/tokenizers/char.js';
import { TiktokenLoader } from '../src/tokenizers/tiktoken/load.js';

const TEXT = Array.from({ length: 60 }, (_, i) => `Line ${i}: to be, or not to be, that is the question ${i % 7}.\n`).join('');
const TINY = { n_layer: 1, n_head: 2, n_embd: 16, block_size: 8, batch_size: 4, max_iters: 8, lr_decay_iters: 8, warmup_iters: 2, eval_interval: 4, eval_iters: 2, dropout: 0.1 };

function newLab(events: LabEvent[] = []): Lab {
  return new Lab({
    backends: { wasm: async () => ({ backend: await loadWasmBackend({ threads: 1 }), description: 'wasm, 1 thread' }), reference: async () => ({ backend: new ReferenceBackend(), description: 'reference' }) },
    tiktoken: new TiktokenLoader(async (file) => new Uint8Array(readFileSync(join(rankFileDir(), file)))),
    emit: (e) => events.push(e),
  });
}

const steps = (events: LabEvent[]) => events.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);

test('tokenize: counts are prepare\'s split, the preview\'s pieces spell the text', async () => {
  const lab = newLab();
  assert.deepEqual(lab.setText(TEXT), { chars: TEXT.length });
  for (const name of ['char', 'gpt2']) {
    const r = await lab.tokenize({ tokenizer: name, previewChars: 100 });
    const tok = name === 'char' ? CharTokenizer.fromText(TEXT) : loadTiktoken('gpt2');
    const splits = encodeSplits(TEXT, tok);
    assert.equal(r.trainTokens, splits.train.length, name);
    assert.equal(r.valTokens, splits.val.length, name);
    assert.equal(r.vocabSize, tok.vocabSize);
    assert.deepEqual(r.preview.ids, tok.encode(TEXT.slice(0, 100)));
    assert.equal(r.preview.pieces.join(''), TEXT.slice(0, 100));
  }
  const b = lab.batch({ batchSize: 3, blockSize: 5, seed: 1, split: 'train' });
  assert.equal(b.x.length, 15);
  assert.deepEqual(b.x.slice(1, 5), b.y.slice(0, 4), 'y is x shifted by one');
});

test('tokenize bpe: merges stream out as learned, the tokens are minbpe\'s', async () => {
  const events: LabEvent[] = [];
  const lab = newLab(events);
  lab.setText(TEXT);
  const r = await lab.tokenize({ tokenizer: 'bpe', vocabSize: 300 });
  const merges = events.flatMap((e) => (e.type === 'merges' ? e.merges : []));
  assert.deepEqual(merges.map((m) => m.id), Array.from({ length: 44 }, (_, i) => 256 + i));
  const tok = BpeTokenizer.train(TEXT, 300, 'gpt4');
  assert.equal(r.trainTokens + r.valTokens, encodeSplits(TEXT, tok).train.length + encodeSplits(TEXT, tok).val.length);
  assert.equal(merges[0].piece, new TextDecoder().decode(tok.tokenBytes(256)));
});

test('training paused and resumed gives the losses of an unpaused run; sampling is generateTokens from sample.py\'s stream for the seed', async () => {
  const whole: LabEvent[] = [];
  const a = newLab(whole);
  a.setText(TEXT);
  await a.tokenize({ tokenizer: 'char' });
  const done = await a.train({ config: 'shakespeare_char_cpu', overrides: TINY, fresh: true });
  assert.deepEqual(done, { iter: 8, finished: true, backend: 'wasm', notes: [] });
  assert.equal(steps(whole).length, 8);
  assert.deepEqual(whole.filter((e) => e.type === 'eval').map((e) => (e as { iter: number }).iter), [0, 4, 8]);

  const parts: LabEvent[] = [];
  const b = newLab(parts);
  b.setText(TEXT);
  await b.tokenize({ tokenizer: 'char' });
  let paused = 0;
  const emit = parts.push.bind(parts);
  parts.push = (e: LabEvent) => {
    if (e.type === 'step' && (e.iter === 2 || e.iter === 3)) { b.pause(); paused++; } // steps are numbered from 0
    return emit(e);
  };
  assert.equal((await b.train({ config: 'shakespeare_char_cpu', overrides: TINY, fresh: true })).iter, 3);
  await assert.rejects(b.sample({ prompt: 'x', maxNewTokens: 1, temperature: 1, topK: null, topP: null, seed: 1 }), /not in the vocabulary/);
  // sampling while paused leaves the run's random streams alone
  assert.equal((await b.sample({ prompt: 'L', maxNewTokens: 10, temperature: 1, topK: null, topP: null, seed: 1 })).length, 11);
  assert.equal((await b.train({ config: 'shakespeare_char_cpu', overrides: TINY, fresh: false })).iter, 4);
  assert.equal((await b.train({ config: 'shakespeare_char_cpu', overrides: TINY, fresh: false })).finished, true);
  assert.equal(paused, 2);
  assert.deepEqual(steps(parts), steps(whole));

  const req = { prompt: 'Line', maxNewTokens: 40, temperature: 0.8, topK: 200, topP: null, seed: 1337 };
  const text = await a.sample(req);
  assert.deepEqual(await b.sample(req), text);
  const tok = CharTokenizer.fromText(TEXT);
  const model = (a as unknown as { model: import('../src/models/model.js').LanguageModel }).model;
  let expected = req.prompt;
  for await (const next of generateTokens(model, IntTensor.from([tok.encode(req.prompt)]), 40, { temperature: 0.8, topK: 200 }, samplingGenerator(model.spec(), 1337))) expected += tok.decode(next);
  assert.equal(text, expected);
  const top = await a.nextTokens({ prompt: 'Line', temperature: 1, topK: null, topP: null, k: 5 });
  assert.equal(top.length, 5);
  assert.ok(top[0].p >= top[4].p);
  const att = await a.attention({ prompt: 'Line 12: to be' });
  assert.deepEqual(att.pieces, [...'Line 12: to be'].slice(-8), 'the last block_size tokens');
  assert.equal(att.maps.length, 1);
});

test('a checkpoint out of one Lab samples the same in another, and continues with the unbroken run\'s losses', async () => {
  const whole: LabEvent[] = [];
  const a = newLab(whole);
  a.setText(TEXT);
  await a.tokenize({ tokenizer: 'char' });
  await a.train({ config: 'shakespeare_char_cpu', overrides: TINY, fresh: true });

  const first: LabEvent[] = [];
  const b = newLab(first);
  b.setText(TEXT);
  await b.tokenize({ tokenizer: 'char' });
  await b.train({ config: 'shakespeare_char_cpu', overrides: { ...TINY, max_iters: 4 }, fresh: true });
  const bytes = await b.saveCheckpoint();

  const later: LabEvent[] = [];
  const c = newLab(later);
  c.setText(TEXT);
  const info = await c.loadCheckpoint(bytes, 'ckpt.safetensors');
  assert.equal(info.iter, 4);
  assert.equal(info.kind, 'gpt');
  const req = { prompt: '\n', maxNewTokens: 30, temperature: 0.8, topK: 200, topP: null, seed: 7 };
  assert.equal(await c.sample(req), await b.sample(req));
  assert.deepEqual(await c.saveCheckpoint(), bytes, 'an opened checkpoint is given back unchanged');
  await c.train({ config: 'shakespeare_char_cpu', overrides: { max_iters: 8 }, fresh: false });
  assert.deepEqual([...steps(first), ...steps(later)], steps(whole));

  // a new run after the opened one, stopped: its own model is what gets saved
  await c.tokenize({ tokenizer: 'char' });
  await c.train({ config: 'shakespeare_char_cpu', overrides: { ...TINY, max_iters: 2 }, fresh: true });
  c.stop();
  assert.equal(deserializeCheckpoint(await c.saveCheckpoint(), 'saved').state.iter_num, 2);
});

test('over a MessageChannel: results, events and errors (a UserError stays one)', async () => {
  const { port1, port2 } = new MessageChannel();
  serveLab(port2 as unknown as import('../src/lab/rpc.js').PortLike, (emit) => new Lab({
    backends: { reference: async () => ({ backend: new ReferenceBackend(), description: 'reference' }) }, tiktoken: new TiktokenLoader(async () => { throw new Error('offline'); }), emit,
  }));
  const events: LabEvent[] = [];
  const client = new LabClient(port1 as unknown as import('../src/lab/rpc.js').PortLike, (e) => events.push(e));
  try {
    assert.deepEqual(await client.call.setText(TEXT), { chars: TEXT.length });
    await assert.rejects(client.call.batch({ batchSize: 1, blockSize: 4, seed: 1, split: 'train' }), (e: Error) => e instanceof LabError && e.user && /tokenize the text first/.test(e.message));
    await assert.rejects(client.call.tokenize({ tokenizer: 'gpt2' }), /offline/);
    const r = await client.call.tokenize({ tokenizer: 'char', previewChars: 10 });
    assert.equal(r.preview.pieces.join(''), TEXT.slice(0, 10));
    await client.call.train({ config: 'shakespeare_char_cpu', overrides: { ...TINY, max_iters: 2 }, fresh: true });
    assert.equal(steps(events).length, 2);
    const bytes = await client.call.saveCheckpoint();
    assert.ok(bytes instanceof Uint8Array && bytes.length > 1000);
    const att = await client.call.attention({ prompt: 'to be' });
    assert.ok(att.maps[0] instanceof Float32Array);
  } finally {
    port1.close();
  }
});

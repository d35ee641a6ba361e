// Fuzz: hundreds of mutated real checkpoints (seeded): metadata fields replaced by values of
// other types and ranges, keys dropped or added, tensors dropped, renamed, reshaped or retyped,
// and bytes flipped. Each is refused with a FormatError naming the file, or it loads into a
// model that agrees with its metadata; resuming an accepted one either works or is a UserError.
// Never another error, a hang, or an allocation of a size the file does not hold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceBackend } from '../../src/backend/reference/reference.js';
import { splitTrainVal } from '../../src/data/batches.js';
import { UserError } from '../../src/errors.js';
import { FormatError } from '../../src/io/format-error.js';
import { readSafetensors, type TensorSource, writeSafetensors } from '../../src/io/safetensors.js';
import { loadTokenizer } from '../../src/node/tokenizers.js';
import { XoshiroRng } from '../../src/tensor/xoshiro.js';
import { type LoadedCheckpoint, loadCheckpoint } from '../../src/train/checkpoint.js';
import { resolveConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { fuzzCase, HOSTILE, mutateBytes, mutateJson, newStats, report } from './mutate.js';

const backend = new ReferenceBackend();
const WHAT = 'fuzz.safetensors';

const ids = Array.from({ length: 500 }, (_, i) => (i * 7 + (i >> 3)) % 10);
const data = { ...splitTrainVal(ids, 10), vocabSize: 10, tokenizer: { kind: 'char', chars: [...'0123456789'] } };
const config = resolveConfig({}, { n_layer: '1', n_head: '2', n_embd: '8', block_size: '6', batch_size: '2', eval_iters: '1', eval_interval: '2', warmup_iters: '0', lr_decay_iters: '10', max_iters: '2', dropout: '0.1', bias: 'true' });

async function seedCheckpoints(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const model of ['gpt', 'bigram']) {
    const t = new Trainer({ ...config, model }, data, { backend });
    await t.run({ saveCheckpoint: (parts) => { out.push(writeSafetensors(parts.tensors, parts.metadata)); } });
  }
  return out;
}

const SCALARS = ['abc', '-1', '1.5', 'NaN', 'Infinity', '-Infinity', '1e9', '1e309', '', ' 1', '0x10', '9007199254740993', '0', '-0', 'true', 'null', '{}', '[]', '1000000000'];
const JSON_KEYS = ['model', 'tokenizer', 'config', 'rng'];
const SCALAR_KEYS = ['format', 'iter_num', 'best_val_loss', 'optimizer_step', 'eval_pending'];

type Tensors = Map<string, TensorSource>;

function mutateMetadata(rng: XoshiroRng, md: Record<string, string>): void {
  const r = rng.random();
  if (r < 0.45) {
    const key = JSON_KEYS[rng.int(JSON_KEYS.length)];
    md[key] = mutateJson(rng, JSON.parse(md[key]));
  } else if (r < 0.7) {
    md[SCALAR_KEYS[rng.int(SCALAR_KEYS.length)]] = rng.random() < 0.7 ? SCALARS[rng.int(SCALARS.length)] : JSON.stringify(HOSTILE[rng.int(HOSTILE.length)]) ?? '';
  } else if (r < 0.85) {
    const keys = Object.keys(md);
    delete md[keys[rng.int(keys.length)]];
  } else if (r < 0.95) {
    // a value of another key: right type, wrong meaning
    const keys = Object.keys(md);
    md[keys[rng.int(keys.length)]] = md[keys[rng.int(keys.length)]];
  } else {
    md[['extra', '__proto__', 'constructor'][rng.int(3)]] = SCALARS[rng.int(SCALARS.length)];
  }
}

function mutateTensors(rng: XoshiroRng, tensors: Tensors): void {
  const names = [...tensors.keys()];
  const name = names[rng.int(names.length)];
  const t = tensors.get(name)!;
  switch (rng.int(7)) {
    case 0: tensors.delete(name); break;
    case 1: { // renamed: a typo, another prefix, or onto another tensor's name
      const to = [name + 'x', name.replace(/^optimizer\.exp_avg(_sq)?\./, ''), 'optimizer.exp_avg.' + name, names[rng.int(names.length)], name.replace(/\d/, '7')][rng.int(5)];
      tensors.delete(name);
      tensors.set(to, t);
      break;
    }
    case 2: { // the same values in another shape
      const n = t.data.length;
      const shapes = [[n], [1, n], [n, 1], t.shape.length === 2 ? [t.shape[1], t.shape[0]] : [n, 1, 1], []];
      t.shape = shapes[rng.int(shapes.length)].filter((d) => d !== undefined);
      if (t.shape.length === 0 && n !== 1) t.shape = [n];
      break;
    }
    case 3: { // a different number of values, shape to match
      const n = Math.max(0, t.data.length + [-1, 1, -t.data.length, t.data.length][rng.int(4)]);
      tensors.set(name, { shape: [n], data: new Float32Array(n).fill(0.5) });
      break;
    }
    case 4: { // another dtype over the same bytes, with the element count that makes them fit
      const [dtype, perFloat] = ([['F16', 2], ['BF16', 2], ['I32', 1], ['F64', 0.5]] as const)[rng.int(4)];
      const raw = new Uint8Array((t.data as Float32Array).slice().buffer);
      tensors.set(name, { dtype, shape: [Math.floor(t.data.length * perFloat)], data: raw.subarray(0, Math.floor(t.data.length * perFloat) * (4 / perFloat)) });
      break;
    }
    case 5: { // values a diverged run would write
      const d = (t.data as Float32Array).slice();
      d[rng.int(Math.max(1, d.length))] = [NaN, Infinity, -Infinity, -1, 3e38, 0][rng.int(6)];
      tensors.set(name, { shape: t.shape, data: d });
      break;
    }
    default: tensors.set(`model.${rng.int(3)}.weight`, { shape: [2], data: new Float32Array(2) });
  }
}

/** What an accepted checkpoint must satisfy, whatever its file said. */
function consistent(l: LoadedCheckpoint): void {
  assert.ok(Number.isSafeInteger(l.state.iter_num) && l.state.iter_num >= 0);
  assert.ok(Number.isFinite(l.state.best_val_loss));
  const spec = l.model.spec();
  assert.equal(spec.kind, l.state.model.kind);
  assert.equal(l.model.vocabSize, l.state.model.args.vocab_size);
  for (const [, p] of l.model.namedParameters()) assert.ok(p.dataSync().every(Number.isFinite));
  if (l.optimizer) {
    assert.ok(Number.isSafeInteger(l.optimizer.step) && l.optimizer.step <= l.state.iter_num);
    for (const [name, p] of l.model.namedParameters()) {
      assert.equal(l.optimizer.m.get(name)?.length, p.size);
      assert.equal(l.optimizer.v.get(name)?.length, p.size);
    }
  }
}

test('fuzz checkpoints: 700 mutated checkpoints, only FormatErrors naming the file, or consistent models', { timeout: 120_000 }, async () => {
  const seeds = await seedCheckpoints();
  const rng = new XoshiroRng(2024);
  const metaStats = newStats(), tensorStats = newStats(), byteStats = newStats(), resumeStats = newStats(), tokenizerStats = newStats();
  for (let k = 0; k < 700; k++) {
    const seed = seeds[k % seeds.length];
    let bytes: Uint8Array;
    let stats = metaStats;
    if (k % 7 === 6) {
      bytes = mutateBytes(rng, seed);
      stats = byteStats;
    } else {
      const f = readSafetensors(seed, 'seed');
      const tensors: Tensors = new Map([...f.tensors].map(([n, t]) => [n, { dtype: t.dtype, shape: [...t.shape], data: (t.data as Float32Array).slice() }]));
      const md = { ...f.metadata };
      if (k % 7 < 4) mutateMetadata(rng, md);
      else {
        mutateTensors(rng, tensors);
        stats = tensorStats;
      }
      try {
        bytes = writeSafetensors(tensors, md);
      } catch {
        continue; // a mutation the writer itself refuses (bytes that do not fit the shape)
      }
    }
    let loaded: LoadedCheckpoint | null = null;
    const error = fuzzCase(stats, bytes, [FormatError], () => {
      loaded = loadCheckpoint(bytes, WHAT, { backend });
      consistent(loaded);
    });
    if (error) assert.ok(error.message.startsWith(WHAT), `names the file: ${error.message}`);
    if (loaded) {
      const l = loaded as LoadedCheckpoint;
      // what `yorick sample` builds next: the tokenizer of its metadata
      fuzzCase(tokenizerStats, bytes, [UserError], () => { loadTokenizer(l.state.tokenizer); });
      fuzzCase(resumeStats, bytes, [UserError], () => {
        const t = new Trainer({ ...config, model: l.state.model.kind }, data, { resume: l, backend, resumeWhere: WHAT });
        assert.equal(t.iterNum, l.state.iter_num);
      });
    }
  }
  report('checkpoint metadata', metaStats);
  report('checkpoint tensors', tensorStats);
  report('checkpoint bytes', byteStats);
  report('tokenizers of accepted checkpoints', tokenizerStats);
  report('resume of accepted checkpoints', resumeStats);
  assert.ok(metaStats.cases > 300 && tensorStats.cases > 150 && byteStats.cases > 80);
  assert.ok(metaStats.refused > 150 && tensorStats.refused > 100 && byteStats.refused > 50, 'most mutations are caught');
  assert.ok(metaStats.accepted > 10, 'harmless changes (another config value, say) are accepted');
});

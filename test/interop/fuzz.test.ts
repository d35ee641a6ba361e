// Seeded fuzzing of every reader of the format layer with mutated fixtures: truncations, flipped
// bytes, length and offset fields set to interesting values, bytes inserted and deleted. Every
// failure must be a FormatError (the one documented error class of src/io), never a RangeError
// or TypeError; every case must end quickly; a success may not allocate much beyond its input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/io/format-error.js';
import { readHfGpt2 } from '../../src/io/hf-gpt2.js';
import { readNanoGptCheckpoint } from '../../src/io/nanogpt.js';
import { readNanoGptMeta } from '../../src/io/nanogpt-meta.js';
import { readPickle } from '../../src/io/pickle.js';
import { PyTuple, TorchTensor } from '../../src/io/py-values.js';
import { readZip, writeZip } from '../../src/io/zip.js';
import { XoshiroRng } from '../../src/tensor/xoshiro.js';
import { readFixture, readJson } from './helpers.js';

const SEED = 20240611;
const rng = new XoshiroRng(SEED);
const int = (n: number) => rng.int(n);

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

type Mutation = (b: Uint8Array, from: number) => Uint8Array;
const mutations: Record<string, Mutation> = {
  truncate: (b, from) => b.slice(0, from + int(b.length - from)),
  flip: (b, from) => {
    const c = b.slice();
    for (let k = 1 + int(8); k > 0; k--) c[from + int(c.length - from)] ^= 1 << int(8);
    return c;
  },
  field: (b, from) => {
    const c = b.slice();
    const v = new DataView(c.buffer);
    const width = [1, 2, 4, 8][int(4)];
    const at = from + int(Math.max(1, c.length - from - width));
    if (at + width > c.length) return c;
    const x = rng.random() < 0.2 ? int(2 ** 32) : INTERESTING[int(INTERESTING.length)];
    if (width === 1) v.setUint8(at, x & 0xff);
    else if (width === 2) v.setUint16(at, x & 0xffff, true);
    else if (width === 4) v.setUint32(at, x >>> 0, true);
    else v.setBigUint64(at, BigInt(x) * (rng.random() < 0.5 ? 1n : 1n << 32n), true);
    return c;
  },
  insert: (b, from) => {
    const at = from + int(b.length - from);
    return Uint8Array.from([...b.subarray(0, at), ...Array.from({ length: 1 + int(4) }, () => int(256)), ...b.subarray(at)]);
  },
  delete: (b, from) => {
    const at = from + int(b.length - from);
    return Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + int(16))]);
  },
};
const names = Object.keys(mutations);

/** Bytes of typed arrays in a result that are not views of the input (what the reader allocated). */
function allocatedBytes(result: unknown, input: Uint8Array): number {
  let total = 0;
  const seen = new Set<unknown>();
  const todo: unknown[] = [result];
  while (todo.length && seen.size < 1e6) {
    const v = todo.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (v.buffer !== input.buffer) total += v.byteLength;
    } else if (v instanceof Map) for (const [k, x] of v) todo.push(k, x);
    else if (Array.isArray(v)) todo.push(...v);
    else if (v instanceof PyTuple) todo.push(...v.items);
    else if (v instanceof TorchTensor) todo.push(v.data);
    else todo.push(...Object.values(v));
  }
  return total;
}

interface Outcome { ok: number; errors: Map<string, number>; slowest: number }

/**
 * Runs `cases` mutations of `source` (from byte `from()` on) through `read`, after `wrap` (which
 * puts the mutated bytes into a file, for mutations below the zip layer).
 */
function fuzz(what: string, cases: number, source: Uint8Array, read: (b: Uint8Array) => unknown,
  opts: { from?: () => number; wrap?: (b: Uint8Array) => Uint8Array } = {}): Outcome {
  const out: Outcome = { ok: 0, errors: new Map(), slowest: 0 };
  for (let i = 0; i < cases; i++) {
    const kind = names[int(names.length)];
    const input = (opts.wrap ?? ((b) => b))(mutations[kind](source, Math.min(opts.from?.() ?? 0, source.length - 1)));
    const t0 = performance.now();
    let result: unknown, error: unknown = null;
    try {
      result = read(input);
    } catch (e) {
      error = e;
    }
    out.slowest = Math.max(out.slowest, performance.now() - t0);
    if (error === null) {
      out.ok++;
      const extra = allocatedBytes(result, input);
      assert.ok(extra <= 4 * input.length + 65536, `${what} case ${i} (${kind}): the result allocated ${extra} bytes from a ${input.length}-byte input`);
      continue;
    }
    if (!(error instanceof FormatError)) assert.fail(`${what} case ${i} (${kind}, seed ${SEED}): ${(error as Error)?.stack ?? String(error)}`);
    assert.ok(error.message.length > 10 && error.message.length < 2000, `${what}: a message of useful length: ${error.message.slice(0, 200)}`);
    const key = error.message.replace(/0x[0-9a-f]+/g, 'H').replace(/\d+/g, 'N').replace(/"[^"]*"/g, '""').slice(0, 90);
    out.errors.set(key, (out.errors.get(key) ?? 0) + 1);
  }
  if (process.env.FUZZ_REPORT) console.log(what, out.ok, out.slowest.toFixed(1), [...out.errors].map(([k, n]) => `${n} ${k}`).join("\n  "));
  assert.ok(out.slowest < 2000, `${what}: a case took ${out.slowest.toFixed(0)} ms`);
  return out;
}

const ckpt = readFixture('nanogpt-tiny/ckpt.pt');
const entries = [...readZip(ckpt)].map(([name, data]) => ({ name, data }));
/** The fixture with one record replaced, zipped again with valid CRCs: the fuzz reaches past the zip layer. */
const rezip = (name: string, data: Uint8Array) => writeZip(entries.map((e) => (e.name === name ? { name, data } : e)));

test('fuzzed torch.save zips: clean errors only (mostly in the central directory, where CRCs do not guard)', () => {
  const tail = Math.floor(ckpt.length * 0.97);
  const o = fuzz('ckpt.pt', 250, ckpt, (b) => readNanoGptCheckpoint(b), { from: () => (rng.random() < 0.7 ? tail : 0) });
  assert.ok(o.errors.size >= 8, `varied failures: ${[...o.errors.keys()].join(' | ')}`);
  const z64 = writeZip(entries, { zip64From: 0 });
  const o64 = fuzz('zip64 layout', 150, z64, (b) => readZip(b), { from: () => Math.floor(z64.length * 0.9) });
  assert.ok(o64.errors.size >= 5, `varied zip64 failures: ${[...o64.errors.keys()].join(' | ')}`);
});

test("fuzzed checkpoint pickles (valid zip around them): clean errors only", () => {
  const pkl = entries[0].data;
  const o = fuzz('data.pkl', 300, pkl, (b) => readNanoGptCheckpoint(b), { wrap: (b) => rezip('ckpt/data.pkl', b) });
  assert.ok(o.errors.size >= 10, `varied failures: ${[...o.errors.keys()].join(' | ')}`);
  const storages = entries.filter((e) => /data\/\d+$/.test(e.name));
  let bad = 0;
  for (let i = 0; i < 40; i++) {
    const e = storages[int(storages.length)];
    const data = rng.random() < 0.5 ? e.data.slice(0, int(e.data.length)) : Uint8Array.from([...e.data, 1, 2, 3, 4]);
    assert.throws(() => readNanoGptCheckpoint(rezip(e.name, data)), (err: unknown) => {
      assert.ok(err instanceof FormatError, String(err));
      assert.match(err.message, /holds \d+ bytes, the pickle says \d+ elements of float32/);
      return true;
    });
    bad++;
  }
  assert.equal(bad, 40);
});

test('fuzzed meta.pkl and plain pickles of every protocol: clean errors only', () => {
  fuzz('meta.pkl', 200, readFixture('nanogpt-tiny/meta.pkl'), (b) => readNanoGptMeta(b));
  for (const c of readJson<{ protocol: number; pickle: string }[]>('pickles.json')) {
    fuzz(`protocol ${c.protocol} pickle`, 60, new Uint8Array(Buffer.from(c.pickle, 'base64')), (b) => readPickle(b));
  }
});

test('fuzzed Hugging Face config.json values: clean errors only', () => {
  const weights = readFixture('hf-gpt2-tiny/model.safetensors');
  const config = readJson<Record<string, unknown>>('hf-gpt2-tiny/config.json');
  const values = [null, -1, 0, 1, 2 ** 31, 2 ** 53, 1e300, 0.5, '', 'gpt2', 'gelu', [], {}, true, false, 'x'.repeat(1000)];
  const keys = [...Object.keys(config), 'n_inner', 'scale_attn_weights', 'add_cross_attention'];
  let errors = 0;
  for (let i = 0; i < 120; i++) {
    const c: Record<string, unknown> = { ...config };
    for (let k = 1 + int(2); k > 0; k--) c[keys[int(keys.length)]] = values[int(values.length)];
    try {
      readHfGpt2(weights, rng.random() < 0.2 ? JSON.stringify(c).slice(0, int(300)) : c);
    } catch (e) {
      if (!(e instanceof FormatError)) assert.fail(`config case ${i}: ${(e as Error)?.stack ?? String(e)}`);
      errors++;
    }
  }
  assert.ok(errors > 60, `most mutated configs are refused (${errors} of 120)`);
});

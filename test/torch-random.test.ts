// TorchGenerator against PyTorch 1.13's CPU streams: every case of primitives.json (shared with
// the lecture fixtures) and of streams.json (scripts/fixtures/torch_random.py). Integers must be
// equal; floats within one float32 ulp (today every float32 value is bit-exact; float64 normals
// differ from glibc's in the last double bits because JavaScript's log/sin/cos are not glibc's).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cephesLogf, cephesSinCosf, fmaf } from '../src/tensor/float32-math.js';
import { TorchGenerator, torchSeed, type FloatDtype } from '../src/tensor/torch-generator.js';
import { repoRoot } from './helpers.js';

const DIR = join(repoRoot, 'test', 'fixtures', 'torch-random');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const load = (name: string): Json => JSON.parse(readFileSync(join(DIR, name), 'utf8'));

type Out = ArrayLike<number>;
const n = (s: string): number => Number(s);
const dtypeOf = (s: string | undefined): FloatDtype => (s ? 'float64' : 'float32');

/** softmax(linspace(-2, 2, 65)) as float32 (its last bits may differ from PyTorch's; argmax does not care here). */
function linspaceSoftmax(): Float32Array {
  const x = Array.from({ length: 65 }, (_, i) => Math.fround(-2 + (4 * i) / 64));
  const e = x.map((v) => Math.exp(v - 2));
  const sum = e.reduce((a, b) => a + b, 0);
  return Float32Array.from(e, (v) => v / sum);
}

/** The call forms the fixtures use, each run on a TorchGenerator. */
const CALL_FORMS: [RegExp, (g: TorchGenerator, m: RegExpMatchArray, c: Json) => Out][] = [
  [/^torch\.randint\((\d+), \((\d+),\)\)$/, (g, m) => g.randint(0, n(m[1]), n(m[2]))],
  [/^torch\.randint\((-?\d+), (-?\d+), \((\d+),\)\)$/, (g, m) => g.randint(n(m[1]), n(m[2]), n(m[3]))],
  [/^torch\.empty\((\d+)(, dtype=torch\.float64)?\)\.normal_\((?:(-?[\d.]+), ([\d.]+))?\)$/,
    (g, m) => g.normal(n(m[1]), m[3] ? n(m[3]) : 0, m[4] ? n(m[4]) : 1, dtypeOf(m[2]))],
  [/^torch\.randn\((\d+), (\d+)\)$/, (g, m) => g.normal(n(m[1]) * n(m[2]))],
  [/^torch\.empty\((\d+)(, dtype=torch\.float64)?\)\.uniform_\((?:(-?[\d.]+), (-?[\d.]+))?\)$/,
    (g, m) => g.uniform(n(m[1]), m[3] ? n(m[3]) : 0, m[4] ? n(m[4]) : 1, dtypeOf(m[2]))],
  [/^torch\.rand\((\d+), (\d+)\)$/, (g, m) => g.uniform(n(m[1]) * n(m[2]))],
  [/^torch\.empty\((\d+)\)\.exponential_\(([\d.]*)\)$/, (g, m) => g.exponential(n(m[1]), m[2] ? n(m[2]) : 1)],
  [/^nn\.Linear\((\d+), (\d+)(, bias=False)?\)/, (g, m) => {
    const { weight, bias } = g.linearInit(n(m[2]), n(m[1]), !m[3]);
    return [...weight, ...(bias ?? [])];
  }],
  [/^nn\.Embedding\((\d+), (\d+)\)$/, (g, m) => g.embeddingInit(n(m[1]), n(m[2]))],
  [/^F\.dropout\(torch\.ones\((\d+)\), ([\d.]+), training=True\)$/, (g, m) => g.dropoutMask(n(m[1]), n(m[2]))],
  [/^torch\.randperm\((\d+)\)$/, (g, m) => g.randperm(n(m[1]))],
  [/^torch\.multinomial\(probs, 1\)$/, (g, _m, c) => g.multinomial1(Float32Array.from(c.probs.flat()), c.probs_shape[0])],
  [/^probs = torch\.softmax\(torch\.linspace\(-2, 2, 65\), 0\); \[torch\.multinomial\(probs, 1\) for 20 calls\]$/,
    (g) => Array.from({ length: 20 }, () => g.multinomial1(linspaceSoftmax())[0])],
  [/^torch\.multinomial\(torch\.stack\(\[probs, probs\.flip\(0\)\]\), 1\)$/, (g) => {
    const p = linspaceSoftmax();
    return g.multinomial1(Float32Array.from([...p, ...p.slice().reverse()]), 2);
  }],
  [/^torch\.multinomial\(torch\.tensor\(\[0,0,5,2\], dtype=torch\.float64\), num_samples=1\), 10 calls$/,
    (g) => Array.from({ length: 10 }, () => g.multinomial1(Float64Array.of(0, 0, 5, 2))[0])],
];

/** Runs `call` (statements separated by "; " concatenate their outputs) on a fresh seed. */
function runCall(seed: number, call: string, c: Json = {}): number[] {
  const g = new TorchGenerator(seed);
  const text = call.split('  #')[0].trim();
  const statements = CALL_FORMS.some(([re]) => re.test(text)) ? [text] : text.split('; ');
  return statements.flatMap((s) => {
    const form = CALL_FORMS.find(([re]) => re.test(s));
    if (!form) throw new Error(`no TorchGenerator form for fixture call ${JSON.stringify(s)}: add one to CALL_FORMS`);
    return Array.from(form[1](g, s.match(form[0])!, c));
  });
}

/** Distance in float32 units in the last place (0 when equal). */
function ulps32(actual: number, expected: number): number {
  if (Object.is(actual, expected) || actual === expected) return 0;
  const e = Math.fround(expected);
  const a = new Float32Array([Math.abs(e)]);
  const u = new Uint32Array(a.buffer);
  u[0]++;
  return Math.abs(actual - expected) / (a[0] - Math.abs(e));
}

function assertValues(got: number[], want: number[], integers: boolean, what: string): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (integers) assert.equal(got[i], want[i], `${what}[${i}]`);
    else assert.ok(ulps32(got[i], want[i]) <= 1, `${what}[${i}]: ${got[i]} vs PyTorch's ${want[i]} (${ulps32(got[i], want[i]).toFixed(2)} ulp)`);
  }
}

const isIntegerCall = (call: string): boolean => /randint|randperm|multinomial/.test(call) && !/normal|uniform|dropout|exponential/.test(call);

describe('TorchGenerator: PyTorch 1.13 CPU streams', () => {
  test('every case of primitives.json', () => {
    const cases = load('primitives.json').cases;
    assert.equal(cases.length, 46);
    for (const c of cases) {
      const want = Array.isArray(c.values) ? c.values : [...c.values.weight, ...c.values.bias];
      assertValues(runCall(c.seed, c.call), want, isIntegerCall(c.call), c.name);
    }
  });

  test('every case of streams.json (large ones bit for bit, through their sha256)', () => {
    const cases = load('streams.json').cases;
    assert.ok(cases.length >= 19);
    for (const c of cases) {
      const got = runCall(c.seed, c.call, c);
      if (c.values) { assertValues(got, c.values, isIntegerCall(c.call), c.name); continue; }
      assert.equal(got.length, c.count, c.name);
      const bytes = isIntegerCall(c.call)
        ? new Uint8Array(BigInt64Array.from(got, (v) => BigInt(v)).buffer)
        : new Uint8Array(Float32Array.from(got).buffer);
      const hash = createHash('sha256').update(bytes).digest('hex');
      if (hash !== c.sha256) assertValues([...got.slice(0, 4), ...got.slice(-4)], [...c.first, ...c.last], false, c.name);
      assert.equal(hash, c.sha256, `${c.name}: not bit-exact (first and last values agree within 1 ulp)`);
    }
  });

  test('the state equals torch.get_rng_state() after a twist and with a cached normal', () => {
    for (const s of load('streams.json').states) {
      const g = new TorchGenerator(s.seed);
      if (s.call.includes('randint')) g.randint(0, 65, 700);
      else g.normal(3);
      const mine = g.getState();
      assert.equal(mine.seed, s.state.seed);
      assert.deepEqual(mine.mt, { state: s.state.state, left: s.state.left, next: s.state.next }, s.name);
      assert.equal(mine.nextDoubleNormal, s.state.nextDoubleNormal, s.name);
      assert.equal(mine.nextFloatNormal, s.state.nextFloatNormal, s.name);
    }
  });

  test('getState / setState through JSON continue the same stream, cached normal included', () => {
    const g = new TorchGenerator(1337);
    g.normal(3); // leaves a cached second value
    g.randint(0, 65, 630); // crosses a twist
    const saved = JSON.parse(JSON.stringify(g.getState()));
    const next = [...g.normal(1), ...g.normal(20), ...g.randint(0, 1 << 30, 5)];
    const h = new TorchGenerator(7);
    h.setState(saved);
    assert.deepEqual([...h.normal(1), ...h.normal(20), ...h.randint(0, 1 << 30, 5)], next);
    assert.equal(h.initialSeed(), 1337n);
    assert.throws(() => h.setState({ ...saved, kind: 'xoshiro' }), /not a PyTorch-compatible generator state.*xoshiro/);
    assert.throws(() => h.setState({ ...saved, mt: { ...saved.mt, state: saved.mt.state.slice(1) } }), /624 words, got 623/);
    assert.throws(() => h.setState({ ...saved, mt: { ...saved.mt, left: 0 } }), /left 0/);
  });

  test('seeds: the range torch.manual_seed accepts, negatives as two\'s complement, clear errors', () => {
    // PyTorch: manual_seed(-1) and manual_seed(2**64 - 1) give the same stream; so do 2**63 and -2**63
    const a = new TorchGenerator(-1).randint(0, 65, 4);
    assert.deepEqual(a, [61, 58, 61, 44]);
    assert.deepEqual(new TorchGenerator(2n ** 64n - 1n).randint(0, 65, 4), a);
    assert.equal(new TorchGenerator(-1).initialSeed(), 2n ** 64n - 1n);
    assert.equal(torchSeed(-(2n ** 63n)), 2n ** 63n);
    // only the low 32 bits reach the twister: 2**63 seeds like 0
    assert.deepEqual(new TorchGenerator(2n ** 63n).randint(0, 65, 4), [29, 54, 53, 55]);
    assert.throws(() => new TorchGenerator(2n ** 64n), /seed 18446744073709551616 is outside PyTorch's range/);
    assert.throws(() => new TorchGenerator(-(2n ** 63n) - 1n), /outside PyTorch's range/);
    assert.throws(() => new TorchGenerator(1.5), /seed must be an integer.*got 1\.5/);
    assert.throws(() => new TorchGenerator(NaN), /got NaN/);
    assert.throws(() => new TorchGenerator(2 ** 60), /past 2\^53: pass it as a bigint/);
    const g = new TorchGenerator(1337);
    g.normal(1);
    g.manualSeed(1337); // forgets the cached normal, as PyTorch does
    assert.deepEqual(Array.from(g.normal(2)), Array.from(new TorchGenerator(1337).normal(2)));
  });

  test('bad arguments name the value', () => {
    const g = new TorchGenerator(0);
    assert.throws(() => g.randint(5, 5, 1), /low 5, high 5/);
    assert.throws(() => g.normal(-1), /got -1/);
    assert.throws(() => g.normal(3, 0, -2), /std >= 0, got -2/);
    assert.throws(() => g.uniform(3, 2, 1), /from 2, to 1/);
    assert.throws(() => g.dropoutMask(3, 1.5), /between 0 and 1, got 1.5/);
    assert.throws(() => g.multinomial1([0.5, -0.1]), /probability -0.1 at index 1/);
    assert.throws(() => g.multinomial1([0, 0, 1, 1], 2), /row 0 sums to 0/);
    assert.throws(() => g.multinomial1([1, 2, 3], 2), /3 probabilities do not split into 2 rows/);
  });
});

describe('float32 helpers of the AVX2 normal path', () => {
  test('fmaf rounds once: a sum that lands on a tie in double is still rounded the right way', () => {
    const f = Math.fround;
    const a = f(2 ** -24 * (1 + 2 ** -23)), b = f(1 - 2 ** -23); // a * b = 2^-24 - 2^-70, exactly
    const odd = f(1 + 2 ** -23), even = f(1 + 2 ** -22);
    // 1 + 2^-23 + 2^-24 - 2^-70: the double sum is the tie between odd and even; just below it
    assert.equal(fmaf(a, b, odd), odd);
    assert.equal(f(a * b + odd), even); // what rounding twice gives
    // 1 + 2^-24 + 2^-70: the double sum is the tie between 1 and odd; just above it
    assert.equal(fmaf(-a, b, odd), odd);
    assert.equal(f(-a * b + odd), 1);
    // an exact tie goes to even
    assert.equal(fmaf(f(2 ** -24), 1, odd), even);
    assert.equal(fmaf(3, f(1 / 3), 0), f(3 * f(1 / 3)));
  });

  test('log and sin/cos stay within a few float32 ulps of the true functions', () => {
    let worstLog = 0, worstTrig = 0;
    for (let i = 1; i <= 20000; i++) {
      const u = Math.fround(i / 20001);
      worstLog = Math.max(worstLog, ulps32(cephesLogf(u), Math.log(u)));
      const t = Math.fround(2 * Math.PI * u);
      const [s, c] = cephesSinCosf(t);
      worstTrig = Math.max(worstTrig, Math.abs(s - Math.sin(t)), Math.abs(c - Math.cos(t)));
    }
    assert.ok(worstLog <= 4, `log: ${worstLog} ulp`);
    assert.ok(worstTrig < 1e-6, `sin/cos: ${worstTrig}`);
  });
});

describe("the lecture's random cells on plain arrays (lecture.json)", () => {
  const cells = Object.values<Json>(load('lecture.json').cells);
  const [batch, bigram, generate] = cells;

  test('the first batch offsets, the bigram table\'s loss, and the 100 generated tokens', () => {
    const g = new TorchGenerator(1337);
    assert.deepEqual(g.randint(0, 1003854 - 8, 4), batch.ix); // len(train_data) - block_size
    g.manualSeed(1337);
    const W = g.embeddingInit(65, 65); // BigramLanguageModel(65)
    let loss = 0;
    for (let b = 0; b < 4; b++) {
      for (let t = 0; t < 8; t++) {
        const row = W.subarray(batch.xb[b][t] * 65, batch.xb[b][t] * 65 + 65);
        const m = Math.max(...row);
        loss += Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m - row[batch.yb[b][t]];
      }
    }
    assert.ok(Math.abs(loss / 32 - bigram.loss) < 1e-6, `loss ${loss / 32}, lecture ${bigram.loss}`);
    // generate: softmax of the last token's row (float32, as PyTorch: exp(x - max) * (1 / sum)), then multinomial
    const f = Math.fround;
    const ids = [0];
    for (let i = 0; i < 100; i++) {
      const row = W.subarray(ids[ids.length - 1] * 65, ids[ids.length - 1] * 65 + 65);
      const m = Math.max(...row);
      const e = Float32Array.from(row, (v) => Math.exp(f(v - m)));
      const inv = f(1 / e.reduce((s, v) => f(s + v), 0));
      ids.push(g.multinomial1(e.map((v) => f(v * inv)))[0]);
    }
    assert.deepEqual(ids, generate.ids);
  });
});

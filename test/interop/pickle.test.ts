import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { FormatError } from '../../src/io/format-error.js';
import { readPickle } from '../../src/io/pickle.js';
import { writePickle } from '../../src/io/pickle-writer.js';
import { OrderedDict, PyFloat, PyTuple, type PyKey, type PyValue } from '../../src/io/py-values.js';
import { findPython, pyDir, pythonSkip, readJson } from './helpers.js';

interface Case { protocol: number; pickle: string; value: unknown }
const cases = readJson<Case[]>('pickles.json');
const bytesOf = (c: Case) => new Uint8Array(Buffer.from(c.pickle, 'base64'));

/** make_pickles.py's encoding of what the reader built; ints and floats meet as {num} (JS has one number type). */
function encode(v: PyValue): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return { num: v };
  if (typeof v === 'bigint') return { int: v.toString() };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return { list: v.map(encode) };
  if (v instanceof PyTuple) return { tuple: v.items.map(encode) };
  if (v instanceof OrderedDict) return { odict: [...v].map(([k, x]) => [encode(k), encode(x)]) };
  if (v instanceof Map) return { dict: [...v].map(([k, x]) => [encode(k), encode(x)]) };
  throw new Error(`unexpected ${String(v)}`);
}

/** Python's side of the same encoding, with int and float folded into {num} where a JS number holds them. */
function normalize(v: any): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(normalize);
  if ('int' in v) return Number.isSafeInteger(Number(v.int)) ? { num: Number(v.int) } : { int: v.int };
  if ('float' in v) return { num: v.float };
  const [tag, items] = Object.entries(v)[0] as [string, any];
  if (tag === 'bytes') return v;
  return { [tag]: tag === 'dict' || tag === 'odict' ? items.map(([k, x]: any) => [normalize(k), normalize(x)]) : items.map(normalize) };
}

const formatError = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof FormatError, `a FormatError, got ${String(e)}`);
  assert.match(e.message, pattern);
  return true;
};
const bad = (bytes: number[] | Uint8Array | string, pattern: RegExp) =>
  assert.throws(() => readPickle(typeof bytes === 'string' ? new Uint8Array(Buffer.from(bytes, 'latin1')) : Uint8Array.from(bytes), { what: 'x.pkl' }), formatError(pattern));

test("reads what Python's pickler writes at protocols 2 to 5", () => {
  assert.deepEqual(cases.map((c) => c.protocol), [2, 3, 4, 5]);
  for (const c of cases) {
    const v = readPickle(bytesOf(c));
    assert.deepEqual(encode(v), normalize(c.value), `protocol ${c.protocol}`);
    const shared = (v as Map<PyKey, PyValue>).get('shared') as PyValue[];
    assert.equal(shared[0], shared[1], 'a memoized object is one object');
    assert.equal(typeof ((v as Map<PyKey, PyValue>).get('ints') as PyValue[])[17], 'bigint', '2**3000 (LONG4) is a bigint');
  }
});

test('our protocol-2 pickles read back to the same values', () => {
  for (const c of cases) {
    const v = readPickle(bytesOf(c));
    const ours = writePickle(v);
    assert.deepEqual([...ours.subarray(0, 2)], [0x80, 2]);
    assert.deepEqual(encode(readPickle(ours)), normalize(c.value), `protocol ${c.protocol} case`);
  }
  const floats = readPickle(writePickle([new PyFloat(1), 2, -0, 0.5, NaN, Infinity])) as number[];
  assert.deepEqual(floats, [1, 2, -0, 0.5, NaN, Infinity]);
});

test("Python's pickle reads ours to the same values, with floats kept floats", { skip: pythonSkip() }, () => {
  const run = (bytes: Uint8Array) => {
    const r = spawnSync(findPython()!, [join(pyDir, 'pickle_to_json.py')], { input: bytes, encoding: 'utf8', cwd: pyDir });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  for (const c of cases) assert.deepEqual(normalize(run(writePickle(readPickle(bytesOf(c))))), normalize(c.value), `protocol ${c.protocol} case`);
  assert.deepEqual(run(writePickle(new PyTuple([new PyFloat(1), 1, 0.25, 2n ** 70n, -(2n ** 70n), -129, -(2 ** 31), 2 ** 31]))), {
    tuple: [{ float: 1 }, { int: '1' }, { float: 0.25 }, { int: String(2n ** 70n) }, { int: String(-(2n ** 70n)) }, { int: '-129' }, { int: String(-(2 ** 31)) }, { int: String(2 ** 31) }],
  });
});

test('globals outside the allow-list are refused by name, and nothing is called', () => {
  bad('\x80\x02cos\nsystem\nX\x04\x00\x00\x00echo\x85R.', /global os\.system is not allowed/);
  bad('\x80\x04\x8c\x08builtins\x8c\x04eval\x93X\x01\x00\x00\x001\x85R.', /global builtins\.eval is not allowed/);
  bad('\x80\x02c__builtin__\nset\n]\x85R.', /global __builtin__\.set is not allowed/);
  bad('\x80\x02ctorch\nload\n.', /global torch\.load is not allowed/);
  bad('\x80\x02ccollections\nOrderedDict\n)\x81.', /NEWOBJ/);
  bad('\x80\x02}}b.', /BUILD .* on a dict is not allowed/);
  bad('\x80\x02K\x01)R.', /REDUCE calls an int/);
  bad('\x80\x04\x8f.', /EMPTY_SET/);
  bad('\x80\x02ctorch\nFloatStorage\n.', /global torch\.FloatStorage cannot be the pickle's result/);
  bad('\x80\x02]ctorch\nFloatStorage\na.', /cannot be a list item/);
  bad('\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ.', /persistent id .* outside a torch\.save archive/);
});

test('lengths are checked against the bytes that remain, and corrupt pickles fail cleanly', () => {
  bad('\x80\x02X\xf0\xff\xff\xffabc', /wants 4294967280 bytes but only 3 remain/);
  bad('\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x40ab', /length 4611686018427387904 exceeds/);
  bad('\x80\x02\x8b\x00\x00\x00\x01', /integer of 16777216 bytes is too large/);
  bad('\x80\x02\x8a\x05ab', /wants 5 bytes but only 2 remain/);
  bad('\x80\x02h\x05.', /memo slot 5 is read before it is written/);
  bad('\x80\x02s.', /stack underflow/);
  bad('\x80\x02}(K\x01s.', /stack underflow/); // SETITEM may not reach below its MARK
  bad('\x80\x02u.', /no MARK/);
  bad('\x80\x02K\x01', /without a STOP/);
  bad('\x80\x02X\x01\x00\x00\x00\xff.', /not valid UTF-8/);
  bad('\x80\x02}]K\x01s.', /dict key is a list/);
  bad('\x80\x06.', /protocol 6 is newer than 5/);
  bad('\x80\x02\xff.', /unknown or unsupported pickle opcode 0xff/);
  bad('\x80\x02c' + 'a'.repeat(5000), /no end of line/);
  bad([], /without a STOP/);
});

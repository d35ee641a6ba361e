// The safetensors reader against the reference implementation's rules (huggingface/safetensors,
// read_metadata + Metadata::validate), case by case, and round trips through the writer.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeSafetensorsHeader, MAX_HEADER_SIZE, readSafetensors, SafetensorsError, writeSafetensors } from '../src/io/safetensors.js';
import { repoRoot } from './helpers.js';

/** A file from a header given as JSON text and a data section of `dataLen` bytes. */
function file(headerJson: string, dataLen: number, lengthDelta = 0): Uint8Array {
  const h = new TextEncoder().encode(headerJson);
  const out = new Uint8Array(8 + h.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length + lengthDelta), true);
  out.set(h, 8);
  for (let i = 0; i < dataLen; i++) out[8 + h.length + i] = i & 255;
  return out;
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => readSafetensors(bytes, 'x.safetensors'), (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, `a SafetensorsError, got ${String(e)}`);
    assert.match((e as Error).message, /^x\.safetensors: /, 'names the file');
    assert.match((e as Error).message, pattern);
    return true;
  });
}

const two = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}';

test('finding 5: a well-formed file reads, in offset order, with its metadata and typed data', () => {
  const f = readSafetensors(file('{"__metadata__":{"k":"v"},' + two.slice(1), 12));
  assert.deepEqual([...f.tensors.keys()], ['a', 'b']);
  assert.deepEqual(f.metadata, { k: 'v' });
  const a = f.tensors.get('a')!;
  assert.ok(a.data instanceof Float32Array);
  assert.deepEqual([...new Uint8Array(a.data.buffer, a.data.byteOffset, 8)], [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.ok(f.tensors.get('b')!.data instanceof Int32Array);
  // offsets need not be in name order (the reference sorts by offsets)
  const swapped = readSafetensors(file('{"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 12));
  assert.deepEqual([...swapped.tensors.keys()], ['a', 'b']);
  // zero-size tensors share an offset; an unknown field in an entry is ignored, as by serde
  const z = readSafetensors(file('{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0],"extra":1.5},"f":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}', 0));
  assert.equal(z.tensors.size, 2);
  assert.equal(readSafetensors(file('{}', 0)).tensors.size, 0);
  // whitespace around the JSON is JSON (the writer pads with spaces)
  assert.equal(readSafetensors(file('  {} \n', 0)).tensors.size, 0);
});

test('finding 5: header length off by one, past the end, or over the format limit is refused', () => {
  refused(file(two, 12, 1), /data|JSON/);
  refused(file(two, 12, -1), /JSON/);
  refused(file(two, 0, 1000), /exceeds the \d+ bytes after it.*truncated/);
  const huge = file('{}', 0);
  new DataView(huge.buffer).setBigUint64(0, BigInt(MAX_HEADER_SIZE + 1), true);
  refused(huge, /over the format's limit of 100000000/);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
  refused(huge, /over the format's limit/);
  refused(new Uint8Array(5), /only 5 bytes/);
});

test('finding 5: offsets must tile the data section exactly: no gap, overlap, or trailing bytes', () => {
  refused(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /"a".*gap after byte 0/);
  refused(file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /"b".*overlap/);
  refused(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', 12), /"b".*gap after byte 4/);
  refused(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 5), /1 bytes after the last tensor/);
  refused(file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 4), /need 8 bytes of data, the file has 4.*truncated/);
  refused(file('{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}', 4), /gap/);
  refused(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 0), /truncated/);
});

test('finding 5: dtype, shape and byte count are checked per tensor', () => {
  refused(file('{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}', 4), /"a": dtype "F31" is not one of/);
  refused(file('{"a":{"shape":[1],"data_offsets":[0,4]}}', 4), /dtype null/);
  refused(file('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4), /shape\[0\] is -1/);
  refused(file('{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', 4), /shape\[0\] is 1\.0/);
  refused(file('{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}', 4), /shape\[0\] is "1"/);
  refused(file('{"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}', 4), /shape must be an array/);
  refused(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}', 4), /data_offsets must be \[begin, end\]/);
  refused(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}}', 4), /data_offsets\[1\]/);
  refused(file('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8), /spans 8 bytes; its shape \[3\] of F32 needs 12/);
  refused(file('{"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}', 0), /too large/);
  refused(file('{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', 2), /whole number of bytes/);
  refused(file('{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}', 4), /shape\[0\]/);
  refused(file('{"a":[]}', 0), /"a": expected an object/);
});

test('finding 5: the header must be one strict JSON object; duplicates and a null __metadata__ are refused', () => {
  refused(file('[]', 0), /not a JSON object/);
  refused(file('{"a":1} x', 0), /not valid JSON.*trailing/);
  refused(file('\ufeff{}', 0), /not valid JSON/);
  const bad = file('{} ', 0);
  bad[10] = 0xff;
  refused(bad, /not valid UTF-8/);
  refused(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), /duplicate key "a"/);
  refused(file('{"__metadata__":null}', 0), /__metadata__ must be an object of strings, got null/);
  refused(file('{"__metadata__":{"k":1}}', 0), /__metadata__\.k must be a string/);
  refused(file('{"__metadata__":"x"}', 0), /__metadata__ must be an object/);
  refused(file('{"__metadata__":{"k":"\\ud800"}}', 0), /lone surrogate/);
  refused(file('['.repeat(200) + ']'.repeat(200), 0), /more than 127 nested/);
  assert.equal(readSafetensors(file('{"__metadata__":{},"x":{"dtype":"U8","shape":[],"data_offsets":[0,1],"n":' + '['.repeat(125) + ']'.repeat(125) + '}}', 1)).tensors.size, 1, '127 levels are fine');
  refused(file('{"x":{"dtype":"U8","shape":[],"data_offsets":[0,1],"n":' + '['.repeat(126) + ']'.repeat(126) + '}}', 1), /more than 127 nested/);
  // "__proto__" is an ordinary key
  const proto = readSafetensors(file('{"__metadata__":{"__proto__":"p"},"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1));
  assert.equal(Object.getOwnPropertyDescriptor(proto.metadata, '__proto__')?.value, 'p');
  assert.deepEqual([...proto.tensors.keys()], ['__proto__']);
});

test('writeSafetensors round-trips every dtype it writes, with aligned data and names that are JSON-special', () => {
  const tensors = new Map<string, { shape: number[]; data: Float32Array | Int32Array | Uint8Array; dtype?: 'BF16' }>([
    ['w', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -0]) }],
    ['__proto__', { shape: [2], data: Int32Array.from([7, -7]) }],
    ['h "q"', { shape: [2], data: Uint8Array.from([1, 2, 3, 4]), dtype: 'BF16' }],
    ['empty', { shape: [0], data: new Float32Array(0) }],
  ]);
  const bytes = writeSafetensors(tensors, { note: 'ü', __proto__x: '1' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0, 'the data section starts 8-byte aligned');
  const back = readSafetensors(bytes);
  assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) {
    assert.deepEqual(back.tensors.get(name)!.shape, t.shape, name);
    assert.deepEqual([...back.tensors.get(name)!.data], [...t.data], name);
  }
  assert.equal(back.tensors.get('h "q"')!.dtype, 'BF16');
  assert.deepEqual(back.metadata, { note: 'ü', __proto__x: '1' });
  assert.throws(() => encodeSafetensorsHeader(new Map([['x', { shape: [3], data: new Float32Array(2) }]])), /needs 12 bytes, the data has 8/);
  assert.throws(() => encodeSafetensorsHeader(new Map([['\ud800', { shape: [0], data: new Float32Array(0) }]])), /lone surrogate/);
});

test('the PyTorch fixtures (written by the reference writer) pass the strict reader', () => {
  const dir = join(repoRoot, 'test', 'fixtures', 'pytorch');
  const names = readdirSync(dir).filter((n) => n.endsWith('.safetensors'));
  assert.ok(names.length > 0);
  for (const name of names) {
    const f = readSafetensors(new Uint8Array(readFileSync(join(dir, name))), name);
    assert.ok(f.tensors.size > 0, name);
  }
});

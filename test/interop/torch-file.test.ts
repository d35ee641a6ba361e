import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/io/format-error.js';
import { OrderedDict, TorchTensor, type PyValue } from '../../src/io/py-values.js';
import { readTorchFile, writeTorchFile } from '../../src/io/torch-file.js';
import { readZip, writeZip } from '../../src/io/zip.js';

// a hand-assembled pickle, opcode by opcode, so that tests can say things our writer never would
const enc = (s: string) => [...new TextEncoder().encode(s)];
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const str = (s: string) => [0x58, ...u32(enc(s).length), ...enc(s)];
const int = (n: number) => (n < 256 ? [0x4b, n] : [0x4a, ...u32(n)]);
const tuple = (items: number[][]) => [0x28, ...items.flat(), 0x74];
const global = (m: string, n: string) => [0x63, ...enc(`${m}\n${n}\n`)];

interface Spec { storage?: string; key?: string; numel: number; offset?: number; size: number[]; stride: number[] }
function tensorPickle({ storage = 'FloatStorage', key = '0', numel, offset = 0, size, stride }: Spec): Uint8Array {
  return Uint8Array.from([0x80, 2, ...global('torch._utils', '_rebuild_tensor_v2'), 0x28,
    ...tuple([str('storage'), global('torch', storage), str(key), str('cpu'), int(numel)]), 0x51,
    ...int(offset), ...tuple(size.map(int)), ...tuple(stride.map(int)), 0x89,
    ...global('collections', 'OrderedDict'), 0x29, 0x52, 0x74, 0x52, 0x2e]);
}

function torchZip(pkl: Uint8Array, records: Record<string, Uint8Array>, extra: { name: string; data: Uint8Array }[] = []): Uint8Array {
  return writeZip([
    { name: 'archive/data.pkl', data: pkl },
    ...Object.entries(records).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
    ...extra,
  ]);
}

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const read = (spec: Spec, record: Uint8Array) => readTorchFile(torchZip(tensorPickle(spec), { [spec.key ?? '0']: record }), 'x.pt') as TorchTensor;
const bad = (bytes: Uint8Array, pattern: RegExp) => assert.throws(() => readTorchFile(bytes, 'x.pt'), (e: unknown) => {
  assert.ok(e instanceof FormatError, `a FormatError, got ${String(e)}`);
  assert.match(e.message, /^x\.pt/);
  assert.match(e.message, pattern);
  return true;
});

test('tensors over storages: offsets, strides, 0-d, and views into the file bytes', () => {
  const six = f32(0, 1, 2, 3, 4, 5);
  const file = torchZip(tensorPickle({ numel: 6, offset: 2, size: [2], stride: [1] }), { 0: six });
  const t = readTorchFile(file) as TorchTensor;
  assert.deepEqual([...t.data], [2, 3]);
  assert.equal(t.data.buffer, file.buffer, 'a contiguous float32 tensor is a view of the file, not a copy');
  const tr = read({ numel: 6, size: [3, 2], stride: [1, 3] }, six);
  assert.deepEqual(tr.shape, [3, 2]);
  assert.deepEqual([...tr.data], [0, 3, 1, 4, 2, 5], 'a transposed view is gathered');
  assert.deepEqual([...read({ numel: 6, offset: 5, size: [], stride: [] }, six).data], [5]);
  assert.deepEqual([...read({ numel: 6, size: [0, 3], stride: [3, 1] }, six).data], []);
});

test('other storage types are converted to float32 exactly, or refused', () => {
  const b = (n: number, fill: (v: DataView) => void) => {
    const u = new Uint8Array(n);
    fill(new DataView(u.buffer));
    return u;
  };
  const f64 = read({ storage: 'DoubleStorage', numel: 2, size: [2], stride: [1] }, b(16, (v) => (v.setFloat64(0, 1.5, true), v.setFloat64(8, -2, true))));
  assert.equal(f64.dtype, 'float64');
  assert.deepEqual([...f64.data], [1.5, -2]);
  const half = read({ storage: 'HalfStorage', numel: 4, size: [4], stride: [1] }, b(8, (v) => [0x3c00, 0xc000, 0x0001, 0x7c00].forEach((h, i) => v.setUint16(i * 2, h, true))));
  assert.deepEqual([...half.data], [1, -2, 2 ** -24, Infinity]);
  const bf = read({ storage: 'BFloat16Storage', numel: 2, size: [2], stride: [1] }, b(4, (v) => (v.setUint16(0, 0x3f80, true), v.setUint16(2, 0xc040, true))));
  assert.deepEqual([...bf.data], [1, -3]);
  const long = read({ storage: 'LongStorage', numel: 2, size: [2], stride: [1] }, b(16, (v) => (v.setBigInt64(0, 5n, true), v.setBigInt64(8, -7n, true))));
  assert.deepEqual([...long.data], [5, -7]);
  assert.deepEqual([...read({ storage: 'BoolStorage', numel: 3, size: [3], stride: [1] }, Uint8Array.from([1, 0, 1])).data], [1, 0, 1]);
  assert.throws(() => read({ storage: 'LongStorage', numel: 1, size: [1], stride: [1] }, b(8, (v) => v.setBigInt64(0, 2n ** 25n + 1n, true))),
    /holds 33554433 at index 0, which float32 cannot represent exactly/);
  bad(torchZip(tensorPickle({ storage: 'ComplexFloatStorage', numel: 1, size: [1], stride: [1] }), { 0: f32(1, 2) }), /global torch\.ComplexFloatStorage is not allowed/);
});

test('a storage shorter than its tensor, or than its record says, is refused before anything is read', () => {
  const four = f32(1, 2, 3, 4);
  bad(torchZip(tensorPickle({ numel: 4, size: [5], stride: [1] }), { 0: four }), /shape \[5\] has more elements than its storage data\/0 holds \(4\)/);
  bad(torchZip(tensorPickle({ numel: 4, size: [2, 2], stride: [3, 1] }), { 0: four }), /reaches element 4 of storage data\/0, which holds only 4 \(the storage is shorter than its tensor\)/);
  bad(torchZip(tensorPickle({ numel: 4, offset: 3, size: [2], stride: [1] }), { 0: four }), /storage is shorter than its tensor/);
  bad(torchZip(tensorPickle({ numel: 4, size: [4], stride: [1] }), { 0: f32(1, 2, 3) }), /data\/0 holds 12 bytes, the pickle says 4 elements of float32 \(16 bytes\)/);
  bad(torchZip(tensorPickle({ numel: 4, size: [4], stride: [1], key: '7' }), { 0: four }), /storage data\/7 is named by the pickle but the archive has no such record/);
  bad(torchZip(tensorPickle({ numel: 4, size: [4], stride: [1], key: '../x' }), { 0: four }), /is not a record name/);
});

test('files that are not torch.save zips say so', () => {
  bad(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a]), /bare pickle \(the legacy torch\.save format/);
  bad(writeZip([{ name: 'a/b.txt', data: f32(1) }]), /expected one <archive>\/data\.pkl record, found none/);
  const pkl = tensorPickle({ numel: 1, size: [1], stride: [1] });
  bad(torchZip(pkl, { 0: f32(1) }, [{ name: 'archive/byteorder', data: new TextEncoder().encode('big') }]), /big-endian/);
  assert.deepEqual([...(readTorchFile(torchZip(pkl, { 0: f32(1) }, [{ name: 'archive/byteorder', data: new TextEncoder().encode('little') }])) as TorchTensor).data], [1]);
});

test('writeTorchFile: torch.save layout, records in sorted key order, tied tensors share one storage', () => {
  const tied = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const d = new OrderedDict();
  for (let i = 0; i < 11; i++) d.set(`t${i}`, new TorchTensor('float32', [1], Float32Array.from([i])));
  d.set('a', new TorchTensor('float32', [2, 3], tied));
  d.set('b', new TorchTensor('float32', [3, 2], tied));
  const file = writeTorchFile(d, 'ckpt');
  const names = [...readZip(file).keys()];
  assert.deepEqual(names, ['ckpt/data.pkl', ...['0', '1', '10', '11', '2', '3', '4', '5', '6', '7', '8', '9'].map((k) => `ckpt/data/${k}`), 'ckpt/version']);
  const back = readTorchFile(file) as Map<string, PyValue>;
  assert.ok(back instanceof OrderedDict);
  const a = back.get('a') as TorchTensor, b = back.get('b') as TorchTensor;
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual(b.shape, [3, 2]);
  assert.deepEqual([...a.data], [...tied]);
  assert.equal(a.data.byteOffset, b.data.byteOffset, 'one storage');
  assert.deepEqual([...(back.get('t10') as TorchTensor).data], [10]);
});

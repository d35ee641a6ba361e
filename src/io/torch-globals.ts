/**
 * The globals a checkpoint's pickle may name (the part of torch.load(weights_only=True)'s
 * allow-list that state dicts use), each as data-only TypeScript: no global runs Python, and
 * everything else is refused by the reader. Also the storages behind tensors: a persistent id
 * ('storage', torch.FloatStorage, key, location, numel) names the zip record data/<key>.
 */
import { OrderedDict, PyTuple, showValue, TorchTensor, type PyValue, type TorchDType } from './py-values.js';

export type Fail = (msg: string) => never;

/** torch.<X>Storage: the element type of a persistent storage. */
export class StorageType {
  constructor(readonly qualname: string, readonly dtype: TorchDType, readonly itemSize: number) {}
}

/** An allow-listed callable, applied by REDUCE to its argument tuple. */
export class PyCallable {
  constructor(readonly qualname: string, readonly call: (args: unknown[], fail: Fail) => unknown) {}
}

const STORAGES: [string, TorchDType, number][] = [
  ['FloatStorage', 'float32', 4], ['DoubleStorage', 'float64', 8], ['HalfStorage', 'float16', 2],
  ['BFloat16Storage', 'bfloat16', 2], ['LongStorage', 'int64', 8], ['IntStorage', 'int32', 4],
  ['ShortStorage', 'int16', 2], ['CharStorage', 'int8', 1], ['ByteStorage', 'uint8', 1], ['BoolStorage', 'bool', 1],
];

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A storage read from its zip record; its values are decoded to float32 once, on first use. */
export class StorageRef {
  private values: Float32Array | null = null;
  constructor(readonly type: StorageType, readonly key: string, readonly numel: number, private readonly bytes: Uint8Array) {}

  float32(fail: Fail): Float32Array {
    if (!this.values) this.values = decodeStorage(this.type, this.key, this.numel, this.bytes, fail);
    return this.values;
  }
}

function decodeStorage(type: StorageType, key: string, n: number, bytes: Uint8Array, fail: Fail): Float32Array {
  if (type.dtype === 'float32' && LITTLE_ENDIAN) {
    // torch.save aligns records to 64 bytes, so the file's own bytes usually serve as the values
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(bytes.subarray(0, n * 4));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  const exact = (v: number, i: number) => {
    if (Math.abs(v) > 2 ** 24) fail(`storage data/${key} (${type.qualname}) holds ${v} at index ${i}, which float32 cannot represent exactly`);
    return v;
  };
  for (let i = 0; i < n; i++) {
    switch (type.dtype) {
      case 'float32': out[i] = view.getFloat32(i * 4, true); break;
      case 'float64': out[i] = view.getFloat64(i * 8, true); break;
      case 'float16': out[i] = halfToFloat(view.getUint16(i * 2, true)); break;
      case 'bfloat16': out[i] = bfloat16ToFloat(view.getUint16(i * 2, true)); break;
      case 'int64': out[i] = exact(Number(view.getBigInt64(i * 8, true)), i); break;
      case 'int32': out[i] = exact(view.getInt32(i * 4, true), i); break;
      case 'int16': out[i] = view.getInt16(i * 2, true); break;
      case 'int8': out[i] = view.getInt8(i); break;
      case 'uint8': out[i] = view.getUint8(i); break;
      case 'bool': out[i] = view.getUint8(i) ? 1 : 0; break;
    }
  }
  return out;
}

/** IEEE half precision bits -> number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const bf16Scratch = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16Scratch.buffer);
/** bfloat16 bits (the top half of a float32) -> number. */
export function bfloat16ToFloat(b: number): number {
  bf16Bits[0] = b << 16;
  return bf16Scratch[0];
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The record behind a persistent id ('storage', StorageType, key, location, numel). */
export function loadStorage(pid: unknown[], record: (key: string) => Uint8Array | undefined, cache: Map<string, StorageRef>, fail: Fail): StorageRef {
  const [tag, type, key, , numel] = pid;
  if (pid.length !== 5 || tag !== 'storage') fail(`persistent id is not ('storage', type, key, location, numel) (got ${pid.length} items)`);
  if (!(type instanceof StorageType)) fail('persistent id: the storage type is not a torch.<X>Storage global');
  const st = type as StorageType;
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(key)) fail(`persistent id: storage key ${showValue(key)} is not a record name`);
  if (!isCount(numel)) fail(`persistent id: storage data/${key as string} has element count ${showValue(numel)}, expected a non-negative integer`);
  const k = key as string, n = numel as number;
  const seen = cache.get(k);
  if (seen) {
    if (seen.type !== st || seen.numel !== n) fail(`storage data/${k} is named twice with different types or sizes`);
    return seen;
  }
  const bytes = record(k);
  if (!bytes) fail(`storage data/${k} is named by the pickle but the archive has no such record`);
  if (bytes!.length !== n * st.itemSize) {
    fail(`storage data/${k} holds ${bytes!.length} bytes, the pickle says ${n} elements of ${st.dtype} (${n * st.itemSize} bytes)`);
  }
  const ref = new StorageRef(st, k, n, bytes!);
  cache.set(k, ref);
  return ref;
}

function shapeOf(v: unknown, what: string, fail: Fail): number[] {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : null;
  if (!items || !items.every(isCount)) fail(`${what} must be a tuple of non-negative integers`);
  return items as number[];
}

/**
 * torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
 * backward_hooks[, metadata]): the tensor's values gathered (or viewed, when contiguous) from
 * its storage, after checking that every element it reaches lies inside the storage.
 */
function rebuildTensor(args: unknown[], fail: Fail): TorchTensor {
  if (args.length < 4 || args.length > 7) fail(`_rebuild_tensor_v2 takes 4 to 7 arguments, got ${args.length}`);
  const [storage, offset, size, stride, requiresGrad] = args;
  if (!(storage instanceof StorageRef)) fail('_rebuild_tensor_v2: the first argument is not a storage');
  const st = storage as StorageRef;
  if (!isCount(offset)) fail(`_rebuild_tensor_v2: storage offset ${showValue(offset)} is not a non-negative integer`);
  const shape = shapeOf(size, 'tensor size', fail);
  const strides = shapeOf(stride, 'tensor stride', fail);
  if (strides.length !== shape.length) fail(`tensor size has ${shape.length} dimensions but stride has ${strides.length}`);
  // a tensor may not hold more elements than its storage: this bounds what the reader allocates
  const numel = shape.reduce((a, d) => a * d, 1);
  if (numel > st.numel) fail(`a tensor of shape [${shape.join(', ')}] has more elements than its storage data/${st.key} holds (${st.numel})`);
  const off = offset as number;
  if (numel > 0) {
    let last = off;
    shape.forEach((d, i) => (last += (d - 1) * strides[i]));
    if (last >= st.numel) {
      fail(`a tensor of shape [${shape.join(', ')}] at offset ${off} reaches element ${last} of storage data/${st.key}, which holds only ${st.numel} (the storage is shorter than its tensor)`);
    }
  }
  const values = st.float32(fail);
  let contiguous = true;
  for (let i = shape.length - 1, expect = 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expect) contiguous = false;
    expect *= shape[i];
  }
  let data: Float32Array;
  if (contiguous) data = values.subarray(off, off + numel);
  else {
    data = new Float32Array(numel);
    const idx = new Array<number>(shape.length).fill(0);
    for (let j = 0; j < numel; j++) {
      let src = off;
      for (let i = 0; i < shape.length; i++) src += idx[i] * strides[i];
      data[j] = values[src];
      for (let i = shape.length - 1; i >= 0 && ++idx[i] === shape[i]; i--) idx[i] = 0;
    }
  }
  return new TorchTensor(st.type.dtype, shape, data, requiresGrad === true);
}

function orderedDict(args: unknown[], fail: Fail): OrderedDict {
  const d = new OrderedDict();
  if (args.length === 0) return d;
  const pairs = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : null;
  if (!pairs) fail('OrderedDict takes no arguments or a list of (key, value) pairs');
  for (const p of pairs!) {
    if (!(p instanceof PyTuple) || p.items.length !== 2) fail('OrderedDict: an item is not a (key, value) pair');
    const [k, v] = (p as PyTuple).items;
    if (!(k === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof k))) fail('OrderedDict: a key is not a string, number, bool or None');
    d.set(k as string, v);
  }
  return d;
}

const tensorArg = (args: unknown[], fn: string, fail: Fail): TorchTensor => {
  if (!(args[0] instanceof TorchTensor)) fail(`${fn}: the first argument is not a tensor`);
  return args[0] as TorchTensor;
};

const CALLABLES: PyCallable[] = [
  new PyCallable('collections.OrderedDict', orderedDict),
  new PyCallable('torch._utils._rebuild_tensor_v2', rebuildTensor),
  new PyCallable('torch._utils._rebuild_tensor', (args, fail) => {
    if (args.length !== 4) fail(`_rebuild_tensor takes 4 arguments, got ${args.length}`);
    return rebuildTensor([...args, false], fail);
  }),
  // a Parameter is its tensor here; requires_grad and hooks do not matter to a state dict
  new PyCallable('torch._utils._rebuild_parameter', (args, fail) => tensorArg(args, '_rebuild_parameter', fail)),
  new PyCallable('torch._utils._rebuild_parameter_with_state', (args, fail) => tensorArg(args, '_rebuild_parameter_with_state', fail)),
  new PyCallable('torch.Size', (args, fail) => new PyTuple(shapeOf(args[0], 'torch.Size', fail))),
];

const GLOBALS = new Map<string, StorageType | PyCallable>([
  ...CALLABLES.map((c) => [c.qualname, c] as const),
  ...STORAGES.map(([name, dtype, size]) => [`torch.${name}`, new StorageType(`torch.${name}`, dtype, size)] as const),
]);

/** The allow-listed global module.name, or undefined. */
export function lookupGlobal(module: string, name: string): StorageType | PyCallable | undefined {
  return GLOBALS.get(`${module}.${name}`);
}

/** Names a value for messages about what a pickle tried to build. */
export type Built = PyValue | StorageType | PyCallable | StorageRef;

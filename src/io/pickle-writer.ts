/**
 * A protocol-2 pickle writer for the values of py-values.ts, with the opcodes Python's own
 * pickler picks at protocol 2 (BINUNICODE strings, SETITEMS / APPENDS in batches of 1000,
 * memoized strings and globals) and tensors written the way torch.save writes them:
 *   _rebuild_tensor_v2((persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)),
 *                      offset 0, size, contiguous stride, False, OrderedDict())
 */
import { OrderedDict, PyFloat, PyTuple, pyTypeName, TorchTensor, type PyValue } from './py-values.js';

export interface PickleWriteOptions {
  /** The storage record key for a tensor's values (the same array gives the same key). Required to write tensors. */
  storageKey?: (data: Float32Array) => string;
}

const BATCH = 1000;

class Writer {
  private buf = new Uint8Array(1 << 12);
  private view = new DataView(this.buf.buffer);
  pos = 0;
  private readonly memo = new Map<string, number>();
  private readonly encoder = new TextEncoder();

  constructor(private readonly opts: PickleWriteOptions) {}

  private room(n: number) {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  op(...codes: number[]) {
    this.room(codes.length);
    for (const c of codes) this.buf[this.pos++] = c;
  }
  u16(v: number) {
    this.room(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number) {
    this.room(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  raw(b: Uint8Array) {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** BINPUT / LONG_BINPUT the top of the stack under a new memo slot for `id`. */
  private put(id: string) {
    const i = this.memo.size;
    this.memo.set(id, i);
    if (i < 256) this.op(0x71, i);
    else {
      this.op(0x72);
      this.u32(i);
    }
  }
  /** BINGET / LONG_BINGET, when `id` was memoized. */
  private get(id: string): boolean {
    const i = this.memo.get(id);
    if (i === undefined) return false;
    if (i < 256) this.op(0x68, i);
    else {
      this.op(0x6a);
      this.u32(i);
    }
    return true;
  }

  global(module: string, name: string) {
    const id = `g:${module}.${name}`;
    if (this.get(id)) return;
    this.op(0x63);
    this.raw(this.encoder.encode(`${module}\n${name}\n`));
    this.put(id);
  }

  int(v: number | bigint) {
    if (typeof v === 'number' && v >= 0 && v < 256) this.op(0x4b, v);
    else if (typeof v === 'number' && v >= 0 && v < 65536) {
      this.op(0x4d);
      this.u16(v);
    } else if (typeof v === 'number' && v >= -(2 ** 31) && v < 2 ** 31) {
      this.op(0x4a);
      this.u32(v >>> 0);
    } else {
      // minimal little-endian two's complement
      const out: number[] = [];
      let x = BigInt(v);
      for (;;) {
        const b = Number(x & 0xffn);
        out.push(b);
        x >>= 8n;
        if ((x === 0n && !(b & 0x80)) || (x === -1n && b & 0x80)) break;
      }
      if (out.length < 256) this.op(0x8a, out.length); // LONG1
      else {
        this.op(0x8b); // LONG4
        this.u32(out.length);
      }
      this.raw(Uint8Array.from(out));
    }
  }

  float(v: number) {
    this.room(9);
    this.buf[this.pos++] = 0x47; // BINFLOAT, big-endian
    this.view.setFloat64(this.pos, v, false);
    this.pos += 8;
  }

  str(s: string) {
    const id = `s:${s}`;
    if (this.get(id)) return;
    const b = this.encoder.encode(s);
    this.op(0x58);
    this.u32(b.length);
    this.raw(b);
    this.put(id);
  }

  tuple(items: readonly PyValue[]) {
    if (items.length === 0) return this.op(0x29);
    if (items.length > 3) this.op(0x28);
    for (const v of items) this.value(v);
    this.op(items.length > 3 ? 0x74 : 0x84 + items.length);
  }

  private batched<T>(items: T[], one: number, many: number, write: (item: T) => void) {
    for (let i = 0; i < items.length; i += BATCH) {
      const batch = items.slice(i, i + BATCH);
      if (batch.length > 1) this.op(0x28);
      batch.forEach(write);
      this.op(batch.length > 1 ? many : one);
    }
  }

  tensor(t: TorchTensor) {
    if (!this.opts.storageKey) throw new Error('pickle writer: tensors can only be written inside a torch.save archive');
    const numel = t.shape.reduce((a, d) => a * d, 1);
    if (numel !== t.data.length) throw new Error(`pickle writer: tensor of shape [${t.shape.join(', ')}] has ${t.data.length} values`);
    const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, d) => a * d, 1));
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.op(0x28); // MARK: the arguments
    this.op(0x28); // MARK: the persistent id
    this.str('storage');
    this.global('torch', 'FloatStorage');
    this.str(this.opts.storageKey(t.data));
    this.str('cpu');
    this.int(t.data.length);
    this.op(0x74, 0x51); // TUPLE, BINPERSID
    this.int(0);
    this.tuple(t.shape);
    this.tuple(stride);
    this.op(0x89); // requires_grad False
    this.global('collections', 'OrderedDict');
    this.op(0x29, 0x52); // OrderedDict(): no backward hooks
    this.op(0x74, 0x52); // TUPLE, REDUCE
  }

  value(v: PyValue) {
    if (v === null) this.op(0x4e);
    else if (v === true) this.op(0x88);
    else if (v === false) this.op(0x89);
    else if (typeof v === 'number') Number.isSafeInteger(v) && !Object.is(v, -0) ? this.int(v) : this.float(v);
    else if (typeof v === 'bigint') this.int(v);
    else if (v instanceof PyFloat) this.float(v.value);
    else if (typeof v === 'string') this.str(v);
    else if (v instanceof Uint8Array) {
      // protocol 3's BINBYTES: Python 3 reads it in a protocol-2 pickle (protocol 2 itself would call _codecs.encode)
      if (v.length < 256) this.op(0x43, v.length);
      else {
        this.op(0x42);
        this.u32(v.length);
      }
      this.raw(v);
    } else if (v instanceof PyTuple) this.tuple(v.items);
    else if (Array.isArray(v)) {
      this.op(0x5d);
      this.batched(v, 0x61, 0x65, (x) => this.value(x));
    } else if (v instanceof Map) {
      if (v instanceof OrderedDict) {
        this.global('collections', 'OrderedDict');
        this.op(0x29, 0x52);
      } else this.op(0x7d);
      this.batched([...v], 0x73, 0x75, ([k, x]) => {
        this.value(k);
        this.value(x);
      });
    } else if (v instanceof TorchTensor) this.tensor(v);
    else throw new Error(`pickle writer: cannot write a ${pyTypeName(v)}`);
  }
}

/** Pickles a value at protocol 2. */
export function writePickle(value: PyValue, opts: PickleWriteOptions = {}): Uint8Array {
  const w = new Writer(opts);
  w.op(0x80, 2);
  w.value(value);
  w.op(0x2e);
  return w.result();
}

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping names to
 * { dtype, shape, data_offsets: [begin, end) relative to the data section } plus an optional
 * "__metadata__" of string values, then the raw little-endian tensor bytes.
 */
export type DType = 'F32' | 'I32' | 'F64' | 'I64' | 'F16' | 'BF16' | 'U8' | 'I8' | 'U16' | 'I16' | 'U32' | 'BOOL';

export interface StoredTensor {
  dtype: DType;
  shape: number[];
  /** F32 and I32 come back as their typed arrays; other dtypes as raw bytes. */
  data: Float32Array | Int32Array | Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<DType, number> = { F32: 4, I32: 4, F64: 8, I64: 8, F16: 2, BF16: 2, U8: 1, I8: 1, U16: 2, I16: 2, U32: 4, BOOL: 1 };

export class SafetensorsError extends Error {}

/** Parses a safetensors file, checking every offset against the bytes it was given. */
export function readSafetensors(bytes: Uint8Array, what = 'safetensors file'): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${what}: ${msg}`);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes; a safetensors file starts with an 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) fail(`header length ${headerLen} exceeds the ${bytes.length - 8} bytes after it (truncated or not a safetensors file)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch {
    return fail('the header is not valid JSON (corrupt or not a safetensors file)');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('the header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, StoredTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: string; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e.dtype !== 'string' || !(e.dtype in BYTES)) fail(`tensor "${name}" has unknown dtype ${JSON.stringify(e?.dtype)}`);
    const dtype = e.dtype as DType;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor "${name}" has an invalid shape`);
    const shape = e.shape as number[];
    const offs = e.data_offsets as number[];
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0) || offs[0] > offs[1]) {
      fail(`tensor "${name}" has invalid data_offsets`);
    }
    const [begin, end] = offs;
    const count = shape.reduce((a, d) => a * d, 1);
    if (end - begin !== count * BYTES[dtype]) fail(`tensor "${name}" spans ${end - begin} bytes, its shape [${shape.join(', ')}] of ${dtype} needs ${count * BYTES[dtype]}`);
    if (end > dataLen) fail(`tensor "${name}" ends at byte ${end} of a ${dataLen}-byte data section (the file is truncated)`);
    // copy (Node's Buffer.slice would not): the file's bytes need not be aligned for a typed-array view
    const raw = new Uint8Array(end - begin);
    raw.set(bytes.subarray(dataStart + begin, dataStart + end));
    let data: Float32Array | Int32Array | Uint8Array = raw;
    if (dtype === 'F32') data = new Float32Array(raw.buffer, 0, count);
    else if (dtype === 'I32') data = new Int32Array(raw.buffer, 0, count);
    tensors.set(name, { dtype, shape, data });
  }
  return { tensors, metadata };
}

/** Serializes F32 / I32 tensors (in the order given) with string metadata. Little-endian hosts only. */
export function writeSafetensors(tensors: Map<string, { shape: readonly number[]; data: Float32Array | Int32Array }>,
  metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (n !== t.data.length) throw new Error(`tensor "${name}": shape [${t.shape.join(', ')}] does not match ${t.data.length} values`);
    const dtype = t.data instanceof Int32Array ? 'I32' : 'F32';
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // pad the header with spaces so the data section starts 8-byte aligned
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

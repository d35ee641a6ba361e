/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON header mapping
 * names to { dtype, shape, data_offsets: [begin, end) relative to the data section } plus an
 * optional "__metadata__" object of strings, then the raw little-endian tensor bytes.
 *
 * Reading is as strict as the format's reference implementation (huggingface/safetensors,
 * SafeTensors::read_metadata and Metadata::validate): N <= 100,000,000 and inside the file; the
 * header strict UTF-8 and one JSON object; every tensor's dtype known, shape unsigned integers;
 * sorted by offsets the tensors tile the data section from 0 with no gap or overlap and end
 * exactly at the end of the file; each spans product(shape) x dtype size bytes. Beyond the
 * reference, duplicate keys and `"__metadata__": null` are refused too (the reference keeps the
 * last duplicate and reads null as absent): a file this reader accepts, the reference accepts.
 * The header is parsed on its own (parseSafetensorsHeader) so that files on disk can be read
 * tensor by tensor (src/node/safetensors-file.ts) with no buffer of the whole file.
 */
import { JsonNumber, JsonSyntaxError, parseStrictJson, type JsonValue } from './strict-json.js';

/** The reference's dtypes, by size in bits (F4 and F6 pack several values in a byte). */
export const DTYPE_BITS = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32,
  C64: 64, F64: 64, I64: 64, U64: 64,
} as const;
export type DType = keyof typeof DTYPE_BITS;

/** The reference reader's bound on the header (MAX_HEADER_SIZE). */
export const MAX_HEADER_SIZE = 100_000_000;

export interface StoredTensor {
  dtype: DType;
  shape: number[];
  /** F32 and I32 come back as their typed arrays; other dtypes as raw bytes. */
  data: Float32Array | Int32Array | Uint8Array;
}

export interface SafetensorsFile {
  /** In the order of their bytes in the file. */
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
}

/** One tensor as the header describes it; begin and end are offsets into the data section. */
export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
  /** Sorted by offset: the order of the bytes in the file. */
  entries: TensorEntry[];
  metadata: Record<string, string>;
}

/** A tensor to write: F32 / I32 from their typed arrays, any dtype from raw bytes. */
export interface TensorSource {
  shape: readonly number[];
  data: Float32Array | Int32Array | Uint8Array;
  /** Required with Uint8Array data; implied by Float32Array (F32) and Int32Array (I32). */
  dtype?: DType;
}

export class SafetensorsError extends Error {}

/** Matches a lone surrogate (a string that is not well-formed UTF-16). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function failer(what: string) {
  return (msg: string): never => {
    throw new SafetensorsError(`${what}: ${msg}`);
  };
}

/**
 * The header length N from the file's first 8 bytes, checked against the reference's bound and
 * the file's size. Returns the offset of the data section (8 + N).
 */
export function safetensorsDataStart(first8: Uint8Array, fileSize: number, what = 'safetensors file'): number {
  const fail = failer(what);
  if (fileSize < 8 || first8.length < 8) fail(`only ${fileSize} bytes; a safetensors file starts with an 8-byte header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_SIZE)) fail(`header length ${n} is over the format's limit of ${MAX_HEADER_SIZE} bytes (corrupt or not a safetensors file)`);
  if (Number(n) > fileSize - 8) fail(`header length ${n} exceeds the ${fileSize - 8} bytes after it (truncated or not a safetensors file)`);
  return 8 + Number(n);
}

function asUsize(v: JsonValue | undefined): number | null {
  if (!(v instanceof JsonNumber)) return null;
  const n = v.asUnsigned();
  // past 2^53 a value cannot be a real offset or dimension of a file we can read
  return n === null || n > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(n);
}

function entryOf(name: string, v: JsonValue, fail: (m: string) => never): TensorEntry {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!(v instanceof Map)) return fail(`${where}: expected an object with dtype, shape and data_offsets`);
  const dtype = v.get('dtype');
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BITS, dtype)) {
    fail(`${where}: dtype ${dtype instanceof JsonNumber ? dtype.text : JSON.stringify(dtype ?? null)} is not one of ${Object.keys(DTYPE_BITS).join(', ')}`);
  }
  const shapeJson = v.get('shape');
  if (!Array.isArray(shapeJson)) return fail(`${where}: shape must be an array of non-negative integers`);
  const shape = shapeJson.map((d, k) => asUsize(d) ?? fail(`${where}: shape[${k}] is ${d instanceof JsonNumber ? d.text : JSON.stringify(d)}, expected a non-negative integer`));
  const offs = v.get('data_offsets');
  if (!Array.isArray(offs) || offs.length !== 2) return fail(`${where}: data_offsets must be [begin, end]`);
  const [begin, end] = offs.map((o, k) => asUsize(o) ?? fail(`${where}: data_offsets[${k}] is ${o instanceof JsonNumber ? o.text : JSON.stringify(o)}, expected a non-negative integer`));
  return { name, dtype: dtype as DType, shape, begin, end };
}

/** Bytes of a tensor of this dtype and shape, or null on overflow (the reference's checked_mul, in order). */
export function tensorByteLength(dtype: DType, shape: readonly number[]): number | null {
  const limit = BigInt(Number.MAX_SAFE_INTEGER);
  let elements = 1n;
  for (const d of shape) {
    elements *= BigInt(d);
    if (elements > limit) return null;
  }
  const bits = elements * BigInt(DTYPE_BITS[dtype]);
  if (bits % 8n !== 0n) return null;
  return Number(bits / 8n);
}

/**
 * Parses and checks the header (the bytes from 8 to dataStart) of a file of fileSize bytes:
 * everything the reference checks, so the caller can then read each tensor's bytes in bounds.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, dataStart: number, fileSize: number, what = 'safetensors file'): SafetensorsHeader {
  const fail = failer(what);
  let json: JsonValue;
  try {
    // ignoreBOM: a byte-order mark is not JSON, the reference refuses it too
    json = parseStrictJson(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes));
  } catch (e) {
    if (e instanceof JsonSyntaxError) return fail(`the header is not valid JSON (${e.message}; corrupt or not a safetensors file)`);
    return fail('the header is not valid UTF-8 (corrupt or not a safetensors file)');
  }
  if (!(json instanceof Map)) return fail('the header is not a JSON object');
  let metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, v] of json) {
    if (name === '__metadata__') {
      if (!(v instanceof Map)) fail(`__metadata__ must be an object of strings, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'a number' : typeof v}`);
      metadata = {};
      for (const [k, s] of v as Map<string, JsonValue>) {
        if (typeof s !== 'string') fail(`__metadata__.${k} must be a string`);
        // defineProperty: a key "__proto__" is data here, not the object's prototype
        Object.defineProperty(metadata, k, { value: s, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    entries.push(entryOf(name, v, fail));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    const where = `tensor ${JSON.stringify(e.name)}`;
    if (e.begin !== at || e.end < e.begin) {
      fail(`${where}: data_offsets [${e.begin}, ${e.end}] ${e.begin > at ? `leave a gap after byte ${at}` : e.end < e.begin ? 'end before they begin' : `overlap the tensor that ends at byte ${at}`} (the tensors must tile the data section)`);
    }
    at = e.end;
    const bytes = tensorByteLength(e.dtype, e.shape);
    if (bytes === null) fail(`${where}: shape [${e.shape.join(', ')}] of ${e.dtype} is too large or not a whole number of bytes`);
    if (e.end - e.begin !== bytes) fail(`${where} spans ${e.end - e.begin} bytes; its shape [${e.shape.join(', ')}] of ${e.dtype} needs ${bytes}`);
  }
  const dataLen = fileSize - dataStart;
  if (at > dataLen) fail(`the tensors need ${at} bytes of data, the file has ${dataLen} (the file is truncated)`);
  if (at < dataLen) fail(`${dataLen - at} bytes after the last tensor's data (the file is not a safetensors file, or was written over)`);
  return { dataStart, entries, metadata };
}

/** A typed array over `raw` (which must own an aligned buffer) for F32 / I32; the bytes otherwise. */
export function typedView(dtype: DType, raw: Uint8Array): Float32Array | Int32Array | Uint8Array {
  if (!LITTLE_ENDIAN && (dtype === 'F32' || dtype === 'I32')) throw new Error('safetensors: big-endian hosts are not supported');
  if (dtype === 'F32') return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  if (dtype === 'I32') return new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  return raw;
}

/** Parses a whole safetensors file held in memory (see the top of this file for what is checked). */
export function readSafetensors(bytes: Uint8Array, what = 'safetensors file'): SafetensorsFile {
  const dataStart = safetensorsDataStart(bytes.subarray(0, 8), bytes.length, what);
  const header = parseSafetensorsHeader(bytes.subarray(8, dataStart), dataStart, bytes.length, what);
  const tensors = new Map<string, StoredTensor>();
  for (const e of header.entries) {
    // a copy (Node's Buffer.slice would not): the file's bytes need not be aligned for a typed array
    const raw = bytes.slice(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: typedView(e.dtype, raw) });
  }
  return { tensors, metadata: header.metadata };
}

function dtypeOf(name: string, t: TensorSource): DType {
  if (t.data instanceof Float32Array) return 'F32';
  if (t.data instanceof Int32Array) return 'I32';
  if (t.dtype === undefined || !Object.hasOwn(DTYPE_BITS, t.dtype)) throw new Error(`tensor "${name}": raw bytes need a dtype`);
  return t.dtype;
}

/**
 * The header (with its 8-byte length, padded so that the data starts 8-byte aligned) for these
 * tensors, written in the order given, and the size of the data section after it.
 */
export function encodeSafetensorsHeader(tensors: Map<string, TensorSource>, metadata: Record<string, string> = {}): { header: Uint8Array; dataLength: number } {
  // built by hand so that no name ("__proto__") is special
  const fields: string[] = [];
  const key = (k: string, what: string) => {
    if (LONE_SURROGATE.test(k)) throw new Error(`${what} ${JSON.stringify(k)} holds a lone surrogate, which JSON readers refuse`);
    return JSON.stringify(k);
  };
  const metaKeys = Object.keys(metadata);
  if (metaKeys.length) {
    const items = metaKeys.map((k) => {
      const v = metadata[k];
      if (typeof v !== 'string') throw new Error(`safetensors metadata "${k}" must be a string, got ${typeof v}`);
      return `${key(k, 'metadata key')}:${key(v, `metadata ${k}`)}`;
    });
    fields.push(`"__metadata__":{${items.join(',')}}`);
  }
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new Error('a tensor cannot be named __metadata__');
    const dtype = dtypeOf(name, t);
    const bytes = tensorByteLength(dtype, t.shape);
    if (bytes !== t.data.byteLength) throw new Error(`tensor "${name}": shape [${t.shape.join(', ')}] of ${dtype} needs ${bytes} bytes, the data has ${t.data.byteLength}`);
    fields.push(`${key(name, 'tensor name')}:${JSON.stringify({ dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] })}`);
    offset += bytes;
  }
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  // spaces pad the header so that the data section starts 8-byte aligned
  const padded = json.length + ((8 - ((8 + json.length) % 8)) % 8);
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, dataLength: offset };
}

/** The bytes of one tensor's data as a view (no copy). Little-endian hosts only. */
export function tensorBytes(t: TensorSource): Uint8Array {
  if (!LITTLE_ENDIAN && !(t.data instanceof Uint8Array)) throw new Error('safetensors: big-endian hosts are not supported');
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Serializes tensors (in the order given) with string metadata into one buffer. */
export function writeSafetensors(tensors: Map<string, TensorSource>, metadata: Record<string, string> = {}): Uint8Array {
  const { header, dataLength } = encodeSafetensorsHeader(tensors, metadata);
  const out = new Uint8Array(header.length + dataLength);
  out.set(header, 0);
  let pos = header.length;
  for (const t of tensors.values()) {
    out.set(tensorBytes(t), pos);
    pos += t.data.byteLength;
  }
  return out;
}

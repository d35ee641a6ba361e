// The oracle of the safetensors fuzz: whether the format's reference implementation
// (huggingface/safetensors, SafeTensors::read_metadata with serde_json) accepts a file, restated
// here on its own, step by step, without the reader under test. Where the reference is lenient
// (a repeated tensor name: the last one wins; "__metadata__": null: no metadata) so is this.

const MAX_HEADER_SIZE = 100_000_000n;
const BITS: Record<string, bigint> = {
  BOOL: 8n, F4: 4n, F6_E2M3: 6n, F6_E3M2: 6n, U8: 8n, I8: 8n, F8_E5M2: 8n, F8_E4M3: 8n, F8_E8M0: 8n,
  F8_E4M3FNUZ: 8n, F8_E5M2FNUZ: 8n, I16: 16n, U16: 16n, F16: 16n, BF16: 16n, I32: 32n, U32: 32n, F32: 32n,
  C64: 64n, F64: 64n, I64: 64n, U64: 64n,
};
const U64_MAX = 2n ** 64n - 1n;

class Reject extends Error {}

type V = null | boolean | string | { num: string } | V[] | { obj: [string, V][] };

/** serde_json's grammar: JSON's whitespace only, no lone surrogates, 128-deep recursion limit. */
function parse(text: string): V {
  let i = 0;
  const ws = () => { while (' \t\n\r'.includes(text[i] ?? 'x')) i++; };
  const str = (): string => {
    let out = '';
    i++;
    for (;;) {
      const c = text[i++];
      if (c === undefined) throw new Reject('eof in string');
      if (c === '"') break;
      if (c.charCodeAt(0) < 0x20) throw new Reject('control character');
      if (c !== '\\') { out += c; continue; }
      const e = text[i++];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) { out += simple[e]; continue; }
      if (e !== 'u') throw new Reject('bad escape');
      const hex = text.slice(i, i + 4);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Reject('bad \\u');
      i += 4;
      const u = parseInt(hex, 16);
      if (u >= 0xd800 && u <= 0xdbff) {
        // a high surrogate must be followed by an escaped low one
        if (text.slice(i, i + 2) !== '\\u') throw new Reject('lone surrogate');
        const lo = parseInt(text.slice(i + 2, i + 6), 16);
        if (!(lo >= 0xdc00 && lo <= 0xdfff)) throw new Reject('lone surrogate');
        i += 6;
        out += String.fromCharCode(u, lo);
      } else if (u >= 0xdc00 && u <= 0xdfff) throw new Reject('lone surrogate');
      else out += String.fromCharCode(u);
    }
    return out;
  };
  let remaining = 128;
  const val = (): V => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (--remaining === 0) throw new Reject('recursion limit');
      i++;
      const close = c === '{' ? '}' : ']';
      const items: [string, V][] = [];
      const arr: V[] = [];
      ws();
      if (text[i] === close) i++;
      else {
        for (;;) {
          ws();
          if (c === '{') {
            if (text[i] !== '"') throw new Reject('key');
            const k = str();
            ws();
            if (text[i++] !== ':') throw new Reject('colon');
            items.push([k, val()]);
          } else arr.push(val());
          ws();
          const d = text[i++];
          if (d === ',') continue;
          if (d === close) break;
          throw new Reject('separator');
        }
      }
      remaining++;
      return c === '{' ? { obj: items } : arr;
    }
    if (c === '"') return str();
    for (const [w, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(w, i)) { i += w.length; return v; }
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) throw new Reject('value');
    i += m[0].length;
    return { num: m[0] };
  };
  const v = val();
  ws();
  if (i !== text.length) throw new Reject('trailing');
  return v;
}

/** A usize: an integer literal (no sign, fraction or exponent) below 2^64. */
function usize(v: V | undefined): bigint {
  if (!v || typeof v !== 'object' || !('num' in v) || !/^(0|[1-9][0-9]*)$/.test(v.num)) throw new Reject('usize');
  const n = BigInt(v.num);
  if (n > U64_MAX) throw new Reject('usize overflow');
  return n;
}

function field(o: [string, V][], name: string): V {
  const hits = o.filter(([k]) => k === name);
  if (hits.length !== 1) throw new Reject(hits.length ? 'duplicate field' : 'missing field');
  return hits[0][1];
}

/** Whether the reference reader accepts these bytes as a safetensors file. */
export function referenceAccepts(bytes: Uint8Array): boolean {
  try {
    if (bytes.length < 8) throw new Reject('HeaderTooSmall');
    const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    if (n > MAX_HEADER_SIZE) throw new Reject('HeaderTooLarge');
    if (8n + n > BigInt(bytes.length)) throw new Reject('InvalidHeaderLength');
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + Number(n)));
    } catch { throw new Reject('InvalidHeader'); }
    const root = parse(text);
    if (!root || typeof root !== 'object' || !('obj' in root)) throw new Reject('not a map');
    const tensors = new Map<string, { dtype: string; shape: bigint[]; s: bigint; e: bigint }>();
    let metaSeen = false;
    for (const [k, v] of root.obj) {
      if (k === '__metadata__') {
        if (metaSeen) throw new Reject('duplicate field __metadata__');
        metaSeen = true;
        if (v === null) continue;
        if (!v || typeof v !== 'object' || !('obj' in v)) throw new Reject('metadata map');
        for (const [, s] of v.obj) if (typeof s !== 'string') throw new Reject('metadata string');
        continue;
      }
      if (!v || typeof v !== 'object' || !('obj' in v)) throw new Reject('tensor info');
      const dtype = field(v.obj, 'dtype');
      if (typeof dtype !== 'string' || !(dtype in BITS)) throw new Reject('dtype');
      const shape = field(v.obj, 'shape');
      if (!Array.isArray(shape)) throw new Reject('shape');
      const offs = field(v.obj, 'data_offsets');
      if (!Array.isArray(offs) || offs.length !== 2) throw new Reject('offsets');
      tensors.set(k, { dtype, shape: shape.map(usize), s: usize(offs[0]), e: usize(offs[1]) }); // last one wins
    }
    const sorted = [...tensors.values()].sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : a.e < b.e ? -1 : a.e > b.e ? 1 : 0));
    let start = 0n;
    for (const t of sorted) {
      if (t.s !== start || t.e < t.s) throw new Reject('InvalidOffset');
      start = t.e;
      let elements = 1n;
      for (const d of t.shape) {
        elements *= d;
        if (elements > U64_MAX) throw new Reject('ValidationOverflow');
      }
      const bits = elements * BITS[t.dtype];
      if (bits > U64_MAX) throw new Reject('ValidationOverflow');
      if (bits % 8n !== 0n) throw new Reject('MisalignedSlice');
      if (t.e - t.s !== bits / 8n) throw new Reject('TensorInvalidInfo');
    }
    if (start + 8n + n !== BigInt(bytes.length)) throw new Reject('MetadataIncompleteBuffer');
    return true;
  } catch (e) {
    if (e instanceof Reject) return false;
    throw e;
  }
}

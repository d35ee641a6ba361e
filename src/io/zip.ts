/**
 * The zip container of torch.save: stored (uncompressed) entries, each entry's data 64-byte
 * aligned by padding in a local extra field ("FB" + length + 'Z' * length), sizes and CRC in a
 * data descriptor after the data and in the central directory, and zip64 end records always
 * present (zip64 extra fields only on entries whose size or offset needs 64 bits).
 *
 * The reader trusts nothing: every offset and length is checked against the bytes before it is
 * used, every entry's CRC-32 is verified, and a bad file is a FormatError naming the problem.
 */
import { FormatError } from './format-error.js';

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const END_SIG = 0x06054b50;
const END64_SIG = 0x06064b50;
const LOCATOR64_SIG = 0x07064b50;
const DESCRIPTOR_SIG = 0x08074b50;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
/** General-purpose flags torch.save sets: bit 3 (sizes in a data descriptor), bit 11 (UTF-8 names). */
const TORCH_FLAGS = 0x0808;

// CRC-32 (IEEE, reflected polynomial 0xEDB88320), four tables for four bytes per step
const CRC_TABLE = (() => {
  const t = new Uint32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let k = 1; k < 4; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n];
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
})();

/** CRC-32 of data, continuing from crc (0 to start). */
export function crc32(data: Uint8Array, crc = 0): number {
  const t = CRC_TABLE;
  let c = ~crc >>> 0;
  let i = 0;
  const n4 = data.length & ~3;
  for (; i < n4; i += 4) {
    c ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    c = t[768 + (c & 0xff)] ^ t[512 + ((c >>> 8) & 0xff)] ^ t[256 + ((c >>> 16) & 0xff)] ^ t[c >>> 24];
  }
  for (; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export interface ZipReadOptions {
  /** Names the file in error messages. */
  what?: string;
  /** Check each entry's CRC-32 (default true). */
  verifyCrc?: boolean;
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

/**
 * Random access to a zip's bytes: one buffer, or positioned reads of a file too large for one
 * (a Uint8Array holds at most 4 GiB in Node 20).
 */
export interface ByteSource {
  readonly size: number;
  /** The `length` bytes at `offset` (within size: the reader checks before it asks). */
  read(offset: number, length: number): Uint8Array;
}

/**
 * Entries of a zip of stored entries, by name. From a buffer the values are views into it (no
 * copy); from a ByteSource each entry's data is one read. Compressed or encrypted entries,
 * multi-disk archives and bad offsets are FormatErrors.
 */
export function readZip(input: Uint8Array | ByteSource, opts: ZipReadOptions = {}): Map<string, Uint8Array> {
  const what = opts.what ?? 'zip file';
  const fail = (msg: string): never => {
    throw new FormatError(`${what}: ${msg}`);
  };
  const src: ByteSource = input instanceof Uint8Array ? { size: input.length, read: (o, len) => input.subarray(o, o + len) } : input;
  const n = src.size;
  const need = (p: number, len: number, field: string) => {
    if (!(p >= 0 && p + len <= n)) fail(`${field} at byte ${p} runs past the end of the ${n}-byte file (truncated or corrupt)`);
  };
  /** The bytes of a field or record, after checking they lie in the file. */
  const chunk = (p: number, len: number, field: string) => (need(p, len, field), src.read(p, len));
  const field = (p: number, len: number, name: string) => {
    const b = chunk(p, len, name);
    return new DataView(b.buffer, b.byteOffset, len);
  };
  const u16 = (p: number, name: string) => field(p, 2, name).getUint16(0, true);
  const u32 = (p: number, name: string) => field(p, 4, name).getUint32(0, true);
  const u64 = (p: number, name: string) => {
    const v = field(p, 8, name).getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${name} at byte ${p} is ${v}, too large for this reader`);
    return Number(v);
  };

  if (n < 22) fail(`only ${n} bytes; a zip file ends with a 22-byte end record (truncated or not a zip file)`);
  // the end record sits in the last 22 + (up to 65535 bytes of comment) bytes
  const tailStart = Math.max(0, n - 22 - U16_MAX);
  const tailBytes = src.read(tailStart, n - tailStart);
  const tail = new DataView(tailBytes.buffer, tailBytes.byteOffset, tailBytes.byteLength);
  let end = -1;
  for (let p = n - 22; p >= tailStart; p--) {
    if (tail.getUint32(p - tailStart, true) === END_SIG && p + 22 + tail.getUint16(p - tailStart + 20, true) <= n) {
      end = p;
      break;
    }
  }
  if (end < 0) fail('no end-of-central-directory record (truncated, or not a zip file)');

  let count = u16(end + 10, 'entry count');
  let cdSize = u32(end + 12, 'central directory size');
  let cdOffset = u32(end + 16, 'central directory offset');
  let disks = [u16(end + 4, 'disk number'), u16(end + 6, 'central directory disk')];
  let cdLimit = end; // the directory ends where the end records begin
  if (end >= 20 && u32(end - 20, 'zip64 locator') === LOCATOR64_SIG) {
    const end64 = u64(end - 12, 'zip64 end record offset');
    if (end64 + 56 > end - 20) fail(`zip64 end record at byte ${end64} overlaps the records after it (corrupt)`);
    if (u32(end64, 'zip64 end record') !== END64_SIG) fail(`no zip64 end record at byte ${end64} where the locator points (corrupt)`);
    disks = [u32(end64 + 16, 'zip64 disk number'), u32(end64 + 20, 'zip64 central directory disk')];
    count = u64(end64 + 32, 'zip64 entry count');
    cdSize = u64(end64 + 40, 'zip64 central directory size');
    cdOffset = u64(end64 + 48, 'zip64 central directory offset');
    cdLimit = end64;
  } else if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
    fail('the end record defers to zip64 records, but there is no zip64 locator (truncated or corrupt)');
  }
  if (disks[0] !== 0 || disks[1] !== 0) fail('multi-disk (split) archives are not supported');
  if (cdOffset + cdSize > cdLimit) {
    fail(`central directory [${cdOffset}, ${cdOffset + cdSize}) runs past its end record at byte ${cdLimit} (truncated or corrupt)`);
  }
  if (count * 46 > cdSize) fail(`${count} entries cannot fit in a ${cdSize}-byte central directory (corrupt)`);

  const decoder = new TextDecoder('utf-8', { fatal: true });
  const entries = new Map<string, Uint8Array>();
  const cdEnd = cdOffset + cdSize;
  let claimed = 0; // bytes the entries claim before the directory: disjoint entries fit in cdOffset
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd) fail(`central directory entry ${i} at byte ${p} runs past the directory's end at ${cdEnd} (corrupt)`);
    if (u32(p, 'central directory entry') !== CENTRAL_SIG) fail(`central directory entry ${i} at byte ${p} has no entry signature (corrupt)`);
    const flags = u16(p + 8, 'flags');
    const method = u16(p + 10, 'compression method');
    const crc = u32(p + 16, 'CRC-32');
    let csize = u32(p + 20, 'compressed size');
    let usize = u32(p + 24, 'size');
    const nameLen = u16(p + 28, 'name length');
    const extraLen = u16(p + 30, 'extra length');
    const commentLen = u16(p + 32, 'comment length');
    let disk = u16(p + 34, 'entry disk');
    let local = u32(p + 42, 'local header offset');
    const nameAt = p + 46, extraAt = nameAt + nameLen, next = extraAt + extraLen + commentLen;
    if (next > cdEnd) fail(`central directory entry ${i} at byte ${p} runs past the directory's end at ${cdEnd} (corrupt)`);
    let name = '';
    try {
      name = decoder.decode(chunk(nameAt, nameLen, 'entry name'));
    } catch {
      fail(`central directory entry ${i} has a name that is not UTF-8 (corrupt)`);
    }
    // zip64 extra field (id 1): the 64-bit values of exactly those fields that read 0xFFFFFFFF
    for (let q = extraAt; q + 4 <= extraAt + extraLen;) {
      const id = u16(q, 'extra field id'), len = u16(q + 2, 'extra field length');
      if (q + 4 + len > extraAt + extraLen) fail(`entry "${name}": an extra field runs past the entry's extra data (corrupt)`);
      if (id === 1) {
        let r = q + 4;
        const take = (field: string) => {
          if (r + 8 > q + 4 + len) fail(`entry "${name}": the zip64 extra field is too short for its ${field} (corrupt)`);
          const v = u64(r, field);
          r += 8;
          return v;
        };
        if (usize === U32_MAX) usize = take('size');
        if (csize === U32_MAX) csize = take('compressed size');
        if (local === U32_MAX) local = take('local header offset');
        if (disk === U16_MAX) disk = r + 4 <= q + 4 + len ? u32(r, 'disk') : disk;
      }
      q += 4 + len;
    }
    if (usize === U32_MAX || csize === U32_MAX || local === U32_MAX) fail(`entry "${name}" defers to a zip64 extra field it does not have (corrupt)`);
    if (disk !== 0) fail(`entry "${name}" is on disk ${disk}; multi-disk archives are not supported`);
    if (flags & 1) fail(`entry "${name}" is encrypted; encrypted archives are not supported`);
    if (method !== 0) fail(`entry "${name}" is compressed (method ${method}); only stored entries, as torch.save writes them, are supported`);
    if (csize !== usize) fail(`entry "${name}" is stored but its compressed size ${csize} differs from its size ${usize} (corrupt)`);

    if (local + 30 > cdOffset) fail(`entry "${name}": local header at byte ${local} lies past the start of the central directory (corrupt)`);
    if (u32(local, 'local header') !== LOCAL_SIG) fail(`entry "${name}": no local header at byte ${local} (corrupt)`);
    const localNameLen = u16(local + 26, 'local name length');
    const start = local + 30 + localNameLen + u16(local + 28, 'local extra length');
    if (start + csize > cdOffset) {
      fail(`entry "${name}": its ${csize} bytes at byte ${start} run past the start of the central directory at ${cdOffset} (truncated or corrupt)`);
    }
    claimed += start - local + csize;
    if (claimed > cdOffset) fail(`entry "${name}" overlaps other entries: together they claim more than the ${cdOffset} bytes before the directory (corrupt)`);
    const localName = chunk(local + 30, localNameLen, 'local name'), cdName = chunk(nameAt, nameLen, 'entry name');
    if (localNameLen !== nameLen || localName.some((b, j) => b !== cdName[j])) fail(`entry "${name}": its local header names another entry (corrupt)`);
    const data = chunk(start, csize, `entry "${name}"`);
    if (opts.verifyCrc !== false) {
      const actual = crc32(data);
      if (actual !== crc) fail(`entry "${name}": CRC-32 of its data is ${hex(actual)}, the directory says ${hex(crc)} (the file is corrupt)`);
    }
    if (entries.has(name)) fail(`entry "${name}" appears twice`);
    entries.set(name, data);
    p = next;
  }
  return entries;
}

export interface ZipEntryIn {
  name: string;
  data: Uint8Array;
}

/** Little-endian field writer over a fresh buffer of known size. */
class Fields {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private p = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u16(v: number): this {
    this.view.setUint16(this.p, v, true);
    this.p += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.p, v, true);
    this.p += 4;
    return this;
  }
  u64(v: number): this {
    this.view.setBigUint64(this.p, BigInt(v), true);
    this.p += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.bytes.set(b, this.p);
    this.p += b.length;
    return this;
  }
  fill(v: number, count: number): this {
    this.bytes.fill(v, this.p, this.p + count);
    this.p += count;
    return this;
  }
}

/**
 * A zip laid out as torch.save lays it out, as a list of parts to write one after the other:
 * headers are fresh small arrays, entry data are the caller's arrays (not copied).
 */
export interface ZipWriteOptions {
  /** Entry data start at multiples of this (torch.save: 64). */
  align?: number;
  /** Sizes and offsets from this value up take zip64 fields (0xFFFFFFFF; lower only to test the zip64 layout). */
  zip64From?: number;
}

export function zipParts(entries: readonly ZipEntryIn[], opts: ZipWriteOptions = {}): Uint8Array[] {
  const { align = 64, zip64From = U32_MAX } = opts;
  if (!(Number.isInteger(align) && align >= 1 && align <= 4096)) throw new Error(`zip alignment must be an integer in [1, 4096], got ${align}`);
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = encoder.encode(name);
    if (nameBytes.length > U16_MAX) throw new Error(`zip entry name is ${nameBytes.length} bytes, at most ${U16_MAX} fit`);
    const size = data.length;
    const bigSize = size >= zip64From, bigOffset = offset >= zip64From;
    const zip64Len = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
    // torch's padding: the "FB" field's 4-byte header counts before the data it aligns
    const before = offset + 30 + nameBytes.length + zip64Len + 4;
    const pad = (align - (before % align)) % align;
    const local = new Fields(30 + nameBytes.length + zip64Len + 4 + pad)
      .u32(LOCAL_SIG).u16(zip64Len ? 45 : 0).u16(TORCH_FLAGS).u16(0).u16(0).u16(0)
      .u32(0).u32(bigSize ? U32_MAX : 0).u32(bigSize ? U32_MAX : 0)
      .u16(nameBytes.length).u16(zip64Len + 4 + pad).raw(nameBytes);
    if (zip64Len) {
      local.u16(1).u16(zip64Len - 4);
      if (bigSize) local.u64(size).u64(size);
      if (bigOffset) local.u64(offset);
    }
    local.u16(0x4246).u16(pad).fill(0x5a, pad); // "FB", then 'Z' padding
    const crc = crc32(data);
    const descriptor = zip64Len
      ? new Fields(24).u32(DESCRIPTOR_SIG).u32(crc).u64(size).u64(size)
      : new Fields(16).u32(DESCRIPTOR_SIG).u32(crc).u32(size).u32(size);
    parts.push(local.bytes, data, descriptor.bytes);

    const cdZip64Len = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
    const entry = new Fields(46 + nameBytes.length + cdZip64Len)
      .u32(CENTRAL_SIG).u16(cdZip64Len ? 45 : 0).u16(cdZip64Len ? 45 : 0).u16(TORCH_FLAGS).u16(0).u16(0).u16(0)
      .u32(crc).u32(bigSize ? U32_MAX : size).u32(bigSize ? U32_MAX : size)
      .u16(nameBytes.length).u16(cdZip64Len).u16(0).u16(0).u16(0).u32(0)
      .u32(bigOffset ? U32_MAX : offset).raw(nameBytes);
    if (cdZip64Len) {
      entry.u16(1).u16(cdZip64Len - 4);
      if (bigSize) entry.u64(size).u64(size);
      if (bigOffset) entry.u64(offset);
    }
    central.push(entry.bytes);
    offset += local.bytes.length + size + descriptor.bytes.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((s, b) => s + b.length, 0);
  const count = entries.length;
  const end64 = cdOffset + cdSize;
  const tail = new Fields(56 + 20 + 22)
    .u32(END64_SIG).u64(44).u16(0x031e).u16(45).u32(0).u32(0).u64(count).u64(count).u64(cdSize).u64(cdOffset)
    .u32(LOCATOR64_SIG).u32(0).u64(end64).u32(1)
    .u32(END_SIG).u16(0).u16(0).u16(Math.min(count, U16_MAX)).u16(Math.min(count, U16_MAX))
    .u32(cdSize >= zip64From ? U32_MAX : cdSize).u32(cdOffset >= zip64From ? U32_MAX : cdOffset).u16(0);
  return [...parts, ...central, tail.bytes];
}

/** Concatenates parts into one array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, b) => s + b.length, 0));
  let p = 0;
  for (const b of parts) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

/** zipParts, concatenated. */
export function writeZip(entries: readonly ZipEntryIn[], opts: ZipWriteOptions = {}): Uint8Array {
  return concatBytes(zipParts(entries, opts));
}

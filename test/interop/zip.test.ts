import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FormatError } from '../../src/io/format-error.js';
import { type ByteSource, crc32, readZip, writeZip } from '../../src/io/zip.js';
import { XoshiroRng } from '../../src/tensor/xoshiro.js';
import { findPython, pythonSkip, readFixture, runPython } from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);
const ckpt = () => readFixture('nanogpt-tiny/ckpt.pt');

/** Offsets of the central directory entries (via the zip64 end record torch.save always writes). */
function centralEntries(b: Uint8Array): number[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const end64 = Number(v.getBigUint64(b.length - 22 - 20 + 8, true));
  const count = Number(v.getBigUint64(end64 + 32, true));
  let p = Number(v.getBigUint64(end64 + 48, true));
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(p);
    p += 46 + v.getUint16(p + 28, true) + v.getUint16(p + 30, true) + v.getUint16(p + 32, true);
  }
  return out;
}

function randomEntries(seed: number) {
  const rng = new XoshiroRng(seed);
  return [0, 1, 63, 64, 65, 1000, 4097].map((n, i) => ({
    name: i === 2 ? 'ünï/çødé €.bin' : `archive/data/${i}`,
    data: Uint8Array.from({ length: n }, () => Math.floor(rng.random() * 256)),
  }));
}

test('crc32 gives the standard check value and continues across chunks', () => {
  assert.equal(crc32(enc('123456789')), 0xcbf43926);
  const data = enc('The quick brown fox jumps over the lazy dog');
  assert.equal(crc32(data), 0x414fa339);
  assert.equal(crc32(data.subarray(7), crc32(data.subarray(0, 7))), 0x414fa339);
});

test("reads torch.save's zip: names, 64-byte aligned data, version record", () => {
  const b = ckpt();
  const entries = readZip(b);
  assert.equal(entries.size, 117);
  assert.deepEqual([...entries.keys()].slice(0, 4), ['ckpt/data.pkl', 'ckpt/data/0', 'ckpt/data/1', 'ckpt/data/10']);
  for (const [name, data] of entries) assert.equal((data.byteOffset - b.byteOffset) % 64, 0, `${name} is 64-byte aligned`);
  assert.equal(new TextDecoder().decode(entries.get('ckpt/version')), '3\n');
  assert.equal(entries.get('ckpt/data/0')!.length, 65 * 32 * 4);
  assert.deepEqual([...entries.get('ckpt/data.pkl')!.subarray(0, 2)], [0x80, 0x02]);
});

test("writing the fixture's entries again reproduces torch.save's bytes exactly", () => {
  const b = ckpt();
  const out = writeZip([...readZip(b)].map(([name, data]) => ({ name, data })));
  assert.equal(out.length, b.length);
  assert.ok(out.every((x, i) => x === b[i]), 'byte-identical to the file PyTorch 1.13 wrote');
});

test('round trip: odd sizes, an empty entry, a UTF-8 name, with and without zip64 fields', () => {
  const entries = randomEntries(1);
  for (const zip64From of [undefined, 0, 300]) {
    const z = writeZip(entries, { zip64From });
    const back = readZip(z);
    assert.deepEqual([...back.keys()], entries.map((e) => e.name));
    for (const e of entries) {
      assert.deepEqual(back.get(e.name), e.data);
      assert.equal((back.get(e.name)!.byteOffset - z.byteOffset) % 64, 0);
    }
  }
});

test("Python's zipfile reads our zips, zip64 layout included", { skip: pythonSkip() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'yorick-zip-'));
  try {
    const entries = randomEntries(2);
    for (const zip64From of [undefined, 0]) {
      const path = join(dir, 'x.zip');
      writeFileSync(path, writeZip(entries, { zip64From }));
      const listed = JSON.parse(runPython(findPython()!, 'zip_list.py', [path]));
      assert.deepEqual(listed.map((e: { name: string }) => e.name), entries.map((e) => e.name));
      listed.forEach((e: { size: number; crc: number; sha256: string }, i: number) => {
        assert.equal(e.size, entries[i].data.length);
        assert.equal(e.crc, crc32(entries[i].data));
        assert.equal(e.sha256, createHash('sha256').update(entries[i].data).digest('hex'));
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The bytes behind positioned reads (as a file over 4 GiB is read), each read checked to lie in the file. */
function source(b: Uint8Array): ByteSource & { reads: number } {
  return {
    size: b.length, reads: 0,
    read(offset, length) {
      assert.ok(offset >= 0 && length >= 0 && offset + length <= b.length, `read [${offset}, ${offset + length}) within ${b.length}`);
      this.reads++;
      return b.slice(offset, offset + length); // a copy, as a file read gives
    },
  };
}

test('positioned reads (a ByteSource) give the same entries as one buffer, each entry in one read', () => {
  const b = ckpt();
  const whole = readZip(b);
  const src = source(b);
  const parts = readZip(src);
  assert.deepEqual([...parts.keys()], [...whole.keys()]);
  for (const [name, data] of parts) assert.deepEqual(data, whole.get(name), name);
  assert.ok(src.reads < 40 * parts.size, `${src.reads} reads for ${parts.size} entries`);
});

test('truncated, corrupt and unsupported zips are FormatErrors that say what is wrong', () => {
  const b = ckpt();
  // from one buffer and through positioned reads alike
  const bad = (bytes: Uint8Array, pattern: RegExp) => {
    for (const input of [bytes, source(bytes)]) {
      assert.throws(() => readZip(input, { what: 'ckpt.pt' }), (e: unknown) => {
        assert.ok(e instanceof FormatError, `FormatError, got ${String(e)}`);
        assert.match(e.message, /^ckpt\.pt: /);
        assert.match(e.message, pattern);
        return true;
      });
    }
  };
  bad(new Uint8Array(0), /only 0 bytes/);
  for (const n of [10, 1000, b.length / 2, b.length - 23, b.length - 1]) bad(b.slice(0, n), /truncated|corrupt/);
  bad(b.slice(1000), /corrupt|truncated/); // the start cut off: every offset is wrong

  const flipped = b.slice();
  flipped[200] ^= 0x10; // inside data.pkl
  bad(flipped, /CRC-32 of its data is 0x[0-9a-f]{8}, the directory says 0x00044092 \(the file is corrupt\)/);

  const cd = centralEntries(b);
  const edit = (entry: number, at: number, value: number, bytes = 2) => {
    const c = b.slice();
    const v = new DataView(c.buffer);
    if (bytes === 2) v.setUint16(cd[entry] + at, value, true);
    else v.setUint32(cd[entry] + at, value, true);
    return c;
  };
  bad(edit(3, 10, 8), /compressed \(method 8\)/);
  bad(edit(3, 8, 0x0809), /encrypted/);
  bad(edit(3, 42, b.length - 10, 4), /local header|past/);
  bad(edit(3, 20, 1e6, 4), /compressed size|past/);
  bad(edit(3, 24, 1e6, 4), /size/);
  bad(edit(0, 0, 0x1234), /signature/);
  bad(edit(5, 30, 40), /extra|past|signature/); // an extra length that runs into the next entry
});

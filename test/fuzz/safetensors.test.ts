// Fuzz: hundreds of mutated safetensors files (seeded). Each is refused with a SafetensorsError
// naming the file, or accepted; an accepted one must be accepted by the format's reference
// reader too (restated in reference-safetensors.ts), and a file that the reference accepts but
// this reader refuses must be refused for one of the documented stricter rules. The in-memory
// and the streamed (on-disk) readers must agree. Memory: what a parse keeps is at most the file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { readSafetensors, SafetensorsError, writeSafetensors } from '../../src/io/safetensors.js';
import { readSafetensorsFile } from '../../src/node/safetensors-file.js';
import { XoshiroRng } from '../../src/tensor/xoshiro.js';
import { repoRoot } from '../helpers.js';
import { fuzzCase, mutateBytes, mutateJson, newStats, report } from './mutate.js';
import { referenceAccepts } from './reference-safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'yorick-fuzz-st-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Where this reader is stricter than the reference, on purpose (see src/io/safetensors.ts). */
const STRICTER = /duplicate key|__metadata__ must be an object of strings, got null|is \d{16,}, expected a non-negative integer/;

function seeds(): Uint8Array[] {
  const rng = new XoshiroRng(1);
  const made = writeSafetensors(new Map<string, { shape: number[]; data: Float32Array | Int32Array | Uint8Array; dtype?: 'BF16' }>([
    ['w', { shape: [3, 2], data: Float32Array.from({ length: 6 }, () => rng.normal()) }],
    ['ids', { shape: [2], data: Int32Array.from([5, -5]) }],
    ['h', { shape: [2], data: Uint8Array.from([1, 2, 3, 4]), dtype: 'BF16' }],
    ['none', { shape: [0, 4], data: new Float32Array(0) }],
  ]), { format: 'fuzz', note: 'x' });
  const fixtures = ['op-gelu.safetensors', 'op-matmul.safetensors'].map((n) => new Uint8Array(readFileSync(join(repoRoot, 'test', 'fixtures', 'pytorch', n))));
  return [made, ...fixtures];
}

function headerOf(bytes: Uint8Array): { json: unknown; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

function withHeader(headerText: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** JSON text for a value with random (legal) white space and escapes: what another writer might produce. */
function looseJson(rng: XoshiroRng, v: unknown): string {
  const sp = () => [' ', '', '\n', '\t', '\r\n  '][rng.int(5)];
  const str = (s: string) => JSON.stringify(s).replace(/[a-z]/g, (c) => (rng.random() < 0.1 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c));
  if (Array.isArray(v)) return `[${sp()}${v.map((x) => looseJson(rng, x)).join(`${sp()},${sp()}`)}${sp()}]`;
  if (v && typeof v === 'object') return `{${sp()}${Object.entries(v).map(([k, x]) => `${str(k)}${sp()}:${sp()}${looseJson(rng, x)}`).join(`,${sp()}`)}${sp()}}`;
  return typeof v === 'string' ? str(v) : JSON.stringify(v);
}

/**
 * A change another writer could make and the reference accepts (mostly): entries reordered,
 * unknown fields, other metadata, loose white space; sometimes one the reference accepts and
 * this reader refuses on purpose (a repeated entry, "__metadata__": null).
 */
function benignHeader(rng: XoshiroRng, json: Record<string, unknown>): string {
  const entries = Object.entries(json);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [entries[i], entries[j]] = [entries[j], entries[i]];
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    if (k === '__metadata__') out[k] = rng.random() < 0.5 ? { ...(v as object), ['k' + rng.int(99)]: 'é😀\u0000"' } : {};
    else out[k] = rng.random() < 0.3 ? { extra: [1.5, { deep: [[null]] }, -2e9], ...(v as object) } : v;
  }
  let text = looseJson(rng, out);
  const r = rng.random();
  if (r < 0.1) text = text.replace(/^\s*\{/, '{"__metadata__":null,');
  else if (r < 0.2) {
    const [name, info] = entries.find(([k]) => k !== '__metadata__')!;
    text = text.replace(/^\s*\{/, `{${JSON.stringify(name)}:${JSON.stringify(info)},`);
  }
  return text;
}

test('fuzz safetensors: 900 mutated files, only clean errors, never accepting what the reference refuses', { timeout: 60_000 }, () => {
  const rng = new XoshiroRng(2024);
  const base = seeds();
  const stats = newStats();
  let strictRefusals = 0, onDisk = 0;
  for (let k = 0; k < 900; k++) {
    const seed = base[k % base.length];
    let input: Uint8Array;
    if (k % 4 === 0) input = mutateBytes(rng, seed);
    else if (k % 4 === 3) {
      const { json, data } = headerOf(seed);
      input = withHeader(benignHeader(rng, json as Record<string, unknown>), data);
    } else if (k % 4 === 1) {
      // a structural change to the header, the length prefix kept right, the data sometimes resized
      const { json, data } = headerOf(seed);
      if (rng.random() < 0.4) {
        // one tensor's bytes moved (overlapping or leaving a gap), the data section sized to the new end
        const infos = Object.entries(json as Record<string, { data_offsets?: number[] }>).filter(([k]) => k !== '__metadata__');
        const [, info] = infos[rng.int(infos.length)];
        const [b, e] = info.data_offsets!;
        const shift = [-4, 4, -8, 8, -2, 1][rng.int(6)];
        info.data_offsets = rng.random() < 0.7 ? [b + shift, e + shift] : [b, e + shift];
        const end = Math.max(...infos.map(([, t]) => t.data_offsets![1]));
        input = withHeader(JSON.stringify(json), Uint8Array.from({ length: Math.max(0, end) }, (_, i) => data[i] ?? 7));
      } else {
        const resized = rng.random() < 0.2 ? data.subarray(0, rng.int(data.length + 1)) : data;
        input = withHeader(mutateJson(rng, json), resized);
      }
    } else {
      // the length prefix off by a little or by a lot
      input = seed.slice();
      const n = new DataView(input.buffer).getBigUint64(0, true);
      const delta = [1n, -1n, 2n, -8n, 1n << 32n, 100_000_000n, 2n ** 63n][rng.int(7)];
      new DataView(input.buffer).setBigUint64(0, BigInt.asUintN(64, n + delta), true);
      if (rng.random() < 0.5) input = mutateBytes(rng, input);
    }
    const reference = referenceAccepts(input);
    let keptBytes = 0;
    const error = fuzzCase(stats, input, [SafetensorsError], () => {
      const f = readSafetensors(input, 'fuzz.safetensors');
      for (const t of f.tensors.values()) keptBytes += t.data.byteLength;
    });
    if (error) {
      assert.match(error.message, /^fuzz\.safetensors: /, 'the message names the file');
      if (reference) {
        assert.match(error.message, STRICTER, `the reference accepts this file; refused for: ${error.message}`);
        strictRefusals++;
      }
    } else {
      assert.ok(reference, `accepted a file the reference refuses: ${JSON.stringify(new TextDecoder().decode(input.subarray(0, 400)))}`);
      assert.ok(keptBytes <= input.length, 'what a parse keeps is at most the file');
    }
    if (k % 6 === 0) {
      // the streamed reader gives the same verdict and the same tensors
      const path = join(dir, `case-${k}.safetensors`);
      writeFileSync(path, input);
      let streamed: ReturnType<typeof readSafetensorsFile> | null = null;
      fuzzCase(newStats(), input, [SafetensorsError, UserError], () => { streamed = readSafetensorsFile(path, 'fuzz.safetensors', { chunkBytes: 13 }); });
      assert.equal(streamed !== null, error === null, `in memory ${error ? 'refused' : 'accepted'}, streamed the opposite`);
      if (streamed) assert.deepEqual(streamed, readSafetensors(input));
      rmSync(path);
      onDisk++;
    }
  }
  report('safetensors', stats);
  console.log(`fuzz safetensors: ${onDisk} also read streamed from disk; ${strictRefusals} refused by a documented stricter rule`);
  assert.equal(stats.cases, 900);
  assert.ok(stats.accepted > 100 && stats.refused > 500 && strictRefusals > 10, `every outcome is exercised (${stats.accepted} accepted)`);
});

// Seeded mutations for the fuzz suites: byte-level (flips, splices, truncations, boundary
// values) and JSON-aware (a value swapped for a hostile one, keys dropped or repeated), plus
// the check every case must pass: it loads, or it fails with a documented error class.
import assert from 'node:assert/strict';
import { XoshiroRng } from '../../src/tensor/xoshiro.js';

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x30, 0x39, 0x2d, 0x2e, 0x0a];

/** One to three byte-level mutations of `input` (a new array). */
export function mutateBytes(rng: XoshiroRng, input: Uint8Array): Uint8Array {
  let b = input.slice();
  const n = 1 + rng.int(3);
  for (let k = 0; k < n; k++) {
    const at = b.length ? rng.int(b.length) : 0;
    switch (rng.int(9)) {
      case 0: if (b.length) b[at] ^= 1 << rng.int(8); break;
      case 1: if (b.length) b[at] = rng.int(256); break;
      case 2: if (b.length) b[at] = INTERESTING[rng.int(INTERESTING.length)]; break;
      case 3: b = b.slice(0, rng.int(b.length + 1)); break; // truncate
      case 4: { // delete a range
        const len = 1 + rng.int(Math.max(1, Math.min(16, b.length - at)));
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + len)]);
        break;
      }
      case 5: { // insert random bytes
        const ins = Uint8Array.from({ length: 1 + rng.int(8) }, () => (rng.random() < 0.5 ? INTERESTING[rng.int(INTERESTING.length)] : rng.int(256)));
        b = Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
        break;
      }
      case 6: { // duplicate a range
        const len = 1 + rng.int(Math.max(1, Math.min(32, b.length - at)));
        b = Uint8Array.from([...b.subarray(0, at + len), ...b.subarray(at, at + len), ...b.subarray(at + len)]);
        break;
      }
      case 7: { // append junk
        b = Uint8Array.from([...b, ...Array.from({ length: 1 + rng.int(16) }, () => rng.int(256))]);
        break;
      }
      default: { // swap two bytes
        const other = b.length ? rng.int(b.length) : 0;
        if (b.length) [b[at], b[other]] = [b[other], b[at]];
      }
    }
  }
  return b;
}

/** Values that break parsers that trust their input. */
export const HOSTILE: unknown[] = [
  null, true, false, 0, -1, 1.5, -0.5, 1e300, -1e300, 2 ** 53, 2 ** 64, 2 ** 32, 65536, 65537, '', 'x', '65', '-1', '1e9',
  [], [1], [-1], [0, 0], [1, 2, 3], [[]], {}, { a: 1 }, { kind: 'char' }, '\ud800', 'a'.repeat(1000), [2 ** 31, 2 ** 31],
];

/** Every path to a value inside a JSON value (for picking one to replace). */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) paths((v as Record<string, unknown>)[k], [...prefix, k], out);
  return out;
}

/**
 * One structure-aware mutation of a JSON value, serialized: a value replaced by a hostile one
 * or by another value of the document, a key removed, or (in the text) a key repeated.
 */
export function mutateJson(rng: XoshiroRng, value: unknown): string {
  const doc = JSON.parse(JSON.stringify(value));
  const all = paths(doc).filter((p) => p.length > 0);
  if (all.length === 0) return JSON.stringify(HOSTILE[rng.int(HOSTILE.length)]);
  const path = all[rng.int(all.length)];
  let parent = doc;
  for (const k of path.slice(0, -1)) parent = parent[k];
  const last = path[path.length - 1];
  const choice = rng.int(6);
  if (choice === 0 && !Array.isArray(parent)) {
    delete parent[last];
  } else if (choice === 1) {
    let other = doc;
    for (const k of all[rng.int(all.length)]) other = other[k];
    parent[last] = JSON.parse(JSON.stringify(other ?? null));
  } else if (choice === 2 && !Array.isArray(parent)) {
    // a repeated key: JSON.parse would keep the last, a strict reader must refuse
    const text = JSON.stringify(doc);
    const key = JSON.stringify(String(last)) + ':';
    const at = text.indexOf(key);
    return at < 0 ? text : text.slice(0, at) + key + JSON.stringify(HOSTILE[rng.int(HOSTILE.length)]) + ',' + text.slice(at);
  } else {
    parent[last] = HOSTILE[rng.int(HOSTILE.length)];
  }
  return JSON.stringify(doc);
}

export interface FuzzStats { cases: number; accepted: number; refused: number; worstMs: number; rssBefore: number }

/** What a fuzz run may add to the process's resident memory: no input here is over a megabyte. */
export const MAX_RSS_GROWTH = 256 << 20;

/**
 * Runs one case: `run` must return (the input was accepted) or throw an instance of one of
 * `allowed` with a message; anything else (TypeError, RangeError, an error without a message)
 * fails, showing the input. Each case must take under `maxMs`.
 */
export function fuzzCase(stats: FuzzStats, input: unknown, allowed: (new (...a: never[]) => Error)[], run: () => void, maxMs = 2000): Error | null {
  const t0 = performance.now();
  let error: Error | null = null;
  try {
    run();
    stats.accepted++;
  } catch (e) {
    const show = typeof input === 'string' ? JSON.stringify(input.slice(0, 300)) : input instanceof Uint8Array ? `${input.length} bytes: ${JSON.stringify(new TextDecoder().decode(input.subarray(0, 300)))}` : String(input);
    assert.ok(allowed.some((c) => e instanceof c), `not a clean error: ${(e as Error)?.stack ?? String(e)}\ninput: ${show}`);
    assert.ok((e as Error).message.length > 0, `an error without a message for ${show}`);
    error = e as Error;
    stats.refused++;
  }
  const ms = performance.now() - t0;
  stats.worstMs = Math.max(stats.worstMs, ms);
  assert.ok(ms < maxMs, `one case took ${ms.toFixed(0)} ms`);
  stats.cases++;
  return error;
}

export function newStats(): FuzzStats {
  return { cases: 0, accepted: 0, refused: 0, worstMs: 0, rssBefore: process.memoryUsage().rss };
}

export function report(name: string, s: FuzzStats): void {
  const growth = process.memoryUsage().rss - s.rssBefore;
  console.log(`fuzz ${name}: ${s.cases} cases, ${s.accepted} accepted, ${s.refused} refused cleanly, slowest ${s.worstMs.toFixed(1)} ms, rss +${(growth / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(growth < MAX_RSS_GROWTH, `resident memory grew by ${growth} bytes over the run`);
}

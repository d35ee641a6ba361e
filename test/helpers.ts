import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/backend/backend.js';
import { ReferenceBackend } from '../src/backend/reference/reference.js';
import { loadNativeBackend } from '../src/backend/native/native-backend.js';
import { wasmEntry } from '../src/backend/wasm/node-wasm.js';
import { loadWebGpuBackend } from '../src/backend/webgpu/node-webgpu.js';

/** The repository root (tests run from dist/test/...). */
export const repoRoot = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();

/** PyTorch golden fixtures: $YORICK_FIXTURES, else the copy shipped in the repo. */
export function fixturesDir(): string {
  return process.env.YORICK_FIXTURES ? resolve(process.env.YORICK_FIXTURES) : join(repoRoot, 'test', 'fixtures', 'pytorch');
}

/** Tiny Shakespeare from ../shared/data when present (tests that need it skip otherwise). */
export const shakespearePath = resolve(repoRoot, '..', 'shared', 'data', 'tinyshakespeare.txt');
export const shakespeareSkip = existsSync(shakespearePath)
  ? false
  : `needs the Tiny Shakespeare text at ${shakespearePath} (not shipped with the repo)`;

let webgpu: Promise<Backend | string> | null = null;

/**
 * The WebGPU backend on whatever adapter Dawn finds here (SwiftShader's software Vulkan in CI:
 * see .ci/run), or why there is none. One device per test process.
 */
export function webgpuUnderTest(): Promise<Backend | string> {
  webgpu ??= loadWebGpuBackend().then((r) => (typeof r === 'string' ? `no WebGPU adapter: ${r}` : r.backend));
  return webgpu;
}

/** Every backend the suites run against: the reference, plus each fast backend that loads here. */
export async function backendsUnderTest(): Promise<Backend[]> {
  const list: Backend[] = [new ReferenceBackend()];
  const wasm = await wasmEntry.load();
  if (wasm) list.push(wasm);
  const native = loadNativeBackend();
  if (native) list.push(native);
  const gpu = await webgpuUnderTest();
  if (typeof gpu !== 'string') list.push(gpu);
  return list;
}

/** Backends that do not load here and why, so suites can report them as skipped. */
export async function backendsSkipped(): Promise<{ name: string; why: string }[]> {
  const skipped: { name: string; why: string }[] = [];
  const gpu = await webgpuUnderTest();
  if (typeof gpu === 'string') skipped.push({ name: 'webgpu', why: gpu });
  return skipped;
}

/**
 * Checks |actual - expected| <= tol * max(1, max|expected|) element by element: a tolerance
 * relative to the tensor's scale, so values near zero do not demand impossible precision.
 * `loose` lets the elements it selects differ by up to loose.atol instead.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string,
  loose?: { atol: number; where: (i: number) => boolean }): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const bound = tol * Math.max(scale, 1e-3);
  let worst = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    let d = Math.abs(actual[i] - expected[i]);
    if (loose && d > bound && d <= loose.atol && loose.where(i)) {
      d = 0;
    }
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  if (!(worst <= bound)) {
    assert.fail(`${what}: max |diff| ${worst.toExponential(3)} at index ${at} (got ${actual[at]}, expected ${expected[at]}) exceeds ${bound.toExponential(3)} (tol ${tol} x scale ${scale.toExponential(3)})`);
  }
}

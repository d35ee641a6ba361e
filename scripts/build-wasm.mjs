// Builds the WebAssembly kernels (wasm/assembly/*.ts, AssemblyScript) into
// dist/src/backend/wasm/kernels.wasm. Skips the build when the sources and flags are unchanged
// (a hash of both sits next to the output), so `npm run build` stays fast.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'wasm', 'assembly');
const outDir = join(root, 'dist', 'src', 'backend', 'wasm');
const out = join(outDir, 'kernels.wasm');
const stamp = join(outDir, 'kernels.hash');

// Shared memory (one heap for every worker thread), SIMD128; no GC runtime: JavaScript owns the heap.
export const ascFlags = ['-O3', '--runtime', 'stub', '--noAssert', '--importMemory', '--sharedMemory',
  '--initialMemory', '1', '--maximumMemory', '65536', '--enable', 'simd,threads'];

export function sourceHash() {
  const h = createHash('sha256');
  h.update(JSON.stringify(ascFlags));
  for (const f of readdirSync(srcDir).filter((f) => f.endsWith('.ts')).sort()) {
    h.update(f);
    h.update(readFileSync(join(srcDir, f)));
  }
  return h.digest('hex');
}

export async function buildWasm({ force = false } = {}) {
  const hash = sourceHash();
  if (!force && existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return false;
  mkdirSync(outDir, { recursive: true });
  const asc = await import('assemblyscript/asc');
  const { error, stderr } = await asc.main([join(srcDir, 'index.ts'), ...ascFlags, '-o', out]);
  if (error) {
    process.stderr.write(stderr.toString());
    throw new Error(`building the wasm kernels failed: ${error.message}`);
  }
  writeFileSync(stamp, hash);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = await buildWasm({ force: process.argv.includes('--force') });
  if (built) console.log(`built ${out}`);
}

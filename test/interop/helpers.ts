import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers.js';

export const interopFixtures = join(repoRoot, 'test', 'fixtures', 'interop');
export const pyDir = join(repoRoot, 'test', 'interop', 'py');

export function readFixture(rel: string): Uint8Array {
  const b = readFileSync(join(interopFixtures, rel));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function readJson<T = any>(rel: string): T {
  return JSON.parse(readFileSync(join(interopFixtures, rel), 'utf8'));
}

const found = new Map<string, string | null>();
/**
 * A Python interpreter that can `import <module>` ($PYTHON, python3, then /usr/bin/python3,
 * where Debian's python3-torch lives when python3 is another install), or null.
 */
export function findPython(module = 'sys'): string | null {
  if (!found.has(module)) {
    const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
    found.set(module, candidates.find((py) => spawnSync(py, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 120_000 }).status === 0) ?? null);
  }
  return found.get(module)!;
}

export const torchSkip = () => (findPython('torch') ? false : 'needs PyTorch: python3 -c "import torch" fails here (and $PYTHON, /usr/bin/python3 too)');
export const pythonSkip = () => (findPython() ? false : 'needs python3 on PATH');

/** Runs a script of test/interop/py with arguments; returns stdout, failing on a non-zero exit. */
export function runPython(py: string, script: string, args: string[], input?: string): string {
  const r = spawnSync(py, [join(pyDir, script), ...args], { input, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${script} exited with ${r.status}: ${r.stderr}`);
  return r.stdout;
}

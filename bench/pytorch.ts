// PyTorch as the benchmarks' baseline, run side by side in the same `npm run bench`: finds a
// python3 that imports torch, with Debian's OpenBLAS-openmp build when it is installed.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const OPENBLAS_OPENMP = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

/** The interpreter and environment to run torch scripts with, or why there is none. */
export function torchPython(prefer?: string): { python: string; env: NodeJS.ProcessEnv } | { why: string } {
  const env = { ...process.env };
  if (existsSync(OPENBLAS_OPENMP)) env.LD_LIBRARY_PATH = [OPENBLAS_OPENMP, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  for (const python of [prefer, process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p)) {
    try {
      execFileSync(python, ['-c', 'import torch'], { env, stdio: 'ignore' });
      return { python, env };
    } catch {
      // try the next one
    }
  }
  return { why: 'no python3 here imports torch (apt-get install python3-torch libopenblas0-openmp)' };
}

/** Runs a torch script that prints one JSON line; its result, or { error }. */
export function runTorchScript<T>(script: string, args: string[], opts: { python?: string; env?: NodeJS.ProcessEnv } = {}): T | { error: string } {
  const py = torchPython(opts.python);
  if ('why' in py) return { error: py.why };
  try {
    const out = execFileSync(py.python, [script, ...args], { env: { ...py.env, ...opts.env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
    return JSON.parse(out.trim().split('\n').pop()!) as T;
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  }
}

/** Which BLAS the torch scripts run with, for the tables. */
export function torchBlasNote(): string {
  return existsSync(OPENBLAS_OPENMP) ? `OpenBLAS-openmp (LD_LIBRARY_PATH=${OPENBLAS_OPENMP})` : "the system's default BLAS";
}

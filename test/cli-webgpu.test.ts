// The yorick command on WebGPU: nanoGPT's shakespeare_char recipe for 20 iterations (shrunk:
// the full recipe takes about 25 minutes an iteration on SwiftShader, the software adapter CI
// has), checked step by step against the same run on the wasm backend; sampling from its
// checkpoint; and the messages when the device cannot run or a buffer does not fit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, shakespearePath, shakespeareSkip, webgpuUnderTest } from './helpers.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'yorick-webgpu-'));
const gpu = await webgpuUnderTest();
const noGpu = typeof gpu === 'string' ? gpu : false;

function yorick(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function stepLosses(outDir: string): Map<number, number> {
  const lines = readFileSync(join(dir, outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return new Map(lines.filter((l) => 'loss' in l).map((l) => [l.iter, l.loss]));
}

let prepared = false;
/** data/shakespeare_char in the test's folder, prepared once. */
function prepare(): void {
  if (prepared) return;
  const r = yorick(['prepare', '--input', shakespearePath, '--dataset', 'shakespeare_char']);
  assert.equal(r.code, 0, r.stderr);
  prepared = true;
}

// the recipe at 2 layers, 64 wide, block 64, batch 4 (its dropout, learning rate and schedule kept)
const small = ['--n_layer=2', '--n_head=4', '--n_embd=64', '--block_size=64', '--batch_size=4', '--eval_iters=2', '--eval_interval=10',
  '--log_interval=1', '--always_save_checkpoint=true', '--quiet'];

test('train shakespeare_char --device=webgpu --max_iters=20 follows the wasm run step by step; sample from it', { skip: noGpu || shakespeareSkip }, () => {
  prepare();
  // WebGPU draws its dropout masks on the device by default; wasm follows that stream when asked
  const run = yorick(['train', 'shakespeare_char', '--device=webgpu', '--max_iters=20', ...small, '--out_dir=out-gpu']);
  assert.equal(run.code, 0, run.stderr);
  const cpu = yorick(['train', 'shakespeare_char', '--device=wasm', '--dropout_rng=device', '--max_iters=20', ...small, '--out_dir=out-cpu']);
  assert.equal(cpu.code, 0, cpu.stderr);
  const g = stepLosses('out-gpu'), c = stepLosses('out-cpu');
  assert.equal(g.size, 20);
  for (const [it, loss] of c) assert.ok(Math.abs(g.get(it)! - loss) <= 1e-4 * loss, `iteration ${it}: webgpu ${g.get(it)}, wasm ${loss}`);
  assert.ok(g.get(19)! < g.get(0)!, 'the loss goes down'); // steps are numbered from 0, as nanoGPT numbers them

  const sample = (device: string) => yorick(['sample', `--device=${device}`, '--out_dir=out-gpu', '--num_samples=1', '--max_new_tokens=50', '--seed=5']);
  const onGpu = sample('webgpu'), onCpu = sample('wasm');
  assert.equal(onGpu.code, 0, onGpu.stderr);
  // the same probabilities to about 1e-7 draw the same tokens from the same seed
  assert.equal(onGpu.stdout, onCpu.stdout);
  assert.ok(onGpu.stdout.length > 50);
});

test('--dropout_rng=torch on WebGPU: the CPU backends\' default stream (PyTorch\'s), so the same losses as wasm', { skip: noGpu || shakespeareSkip }, () => {
  prepare();
  const run = yorick(['train', 'shakespeare_char', '--device=webgpu', '--dropout_rng=torch', '--max_iters=5', ...small, '--out_dir=out-gpu-torch']);
  assert.equal(run.code, 0, run.stderr);
  const cpu = yorick(['train', 'shakespeare_char', '--device=wasm', '--max_iters=5', ...small, '--out_dir=out-cpu-torch']);
  assert.equal(cpu.code, 0, cpu.stderr);
  const g = stepLosses('out-gpu-torch'), c = stepLosses('out-cpu-torch');
  assert.equal(g.size, 5);
  for (const [it, loss] of c) assert.ok(Math.abs(g.get(it)! - loss) <= 1e-4 * loss, `iteration ${it}: webgpu ${g.get(it)}, wasm ${loss}`);
  // and the device stream gives other losses (other masks) from the first step on
  assert.notEqual(stepLosses('out-gpu').get(0), c.get(0));
});

test('a buffer too large for the device: its size and the device named, and --device=native suggested', { skip: noGpu || shakespeareSkip }, () => {
  prepare();
  // the embeddings' output [65536, 256, 256]: 2^32 floats, 16 GiB
  const r = yorick(['train', 'shakespeare_char', '--device=webgpu', '--max_iters=1', '--n_layer=1', '--n_head=4', '--n_embd=256',
    '--batch_size=65536', '--eval_iters=1', '--out_dir=out-big']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /error: webgpu \(.+\): a buffer of 4294967296 floats \(16384\.0 MiB\) is larger than this device allows/);
  assert.match(r.stderr, /hint: --device=native/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('a device that cannot run: why, and --device=native suggested', () => {
  const r = yorick(['train', 'shakespeare_char', '--device=webgpu'], { YORICK_WEBGPU: '0' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /error: device "webgpu" cannot run here: disabled by YORICK_WEBGPU=0\nhint: --device=native/);
});

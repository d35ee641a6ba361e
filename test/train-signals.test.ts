// `yorick train` interrupted and stopped (issue 10, findings 2, 9, 10 and 11), end to end: Ctrl-C
// saves the current iteration and exits 130, a second Ctrl-C quits at once, kill -9 during saves
// always leaves a checkpoint that resumes exactly, a diverging run exits non-zero without
// touching its checkpoint, every finished run leaves a checkpoint of itself, and the metrics log
// holds each iteration once however often the run was resumed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference/reference.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { loadCheckpointFile } from '../src/node/checkpoint.js';
import { discardOpenTempFiles, writeFileStreamed } from '../src/node/files.js';
import { writeSafetensorsFileAsync } from '../src/node/safetensors-file.js';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { metricsUpTo, parseMetrics } from '../src/train/metrics.js';
import { repoRoot } from './helpers.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'yorick-signals-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const backend = new ReferenceBackend();

const rng = new XoshiroRng(9);
const words = ['the', 'king', 'shall', 'speak', 'and', 'we', 'hear', 'him', 'now', 'my', 'lord'];
let text = '';
while (text.length < 20000) text += words[rng.int(words.length)] + (rng.random() < 0.1 ? '.\n' : ' ');
writeFileSync(join(dir, 'tiny.txt'), text);

// dropout: a resumed run must continue the masks' stream too
const tiny = ['--dataset=tiny', '--n_layer=1', '--n_head=2', '--n_embd=16', '--block_size=16', '--batch_size=4', '--eval_iters=2',
  '--warmup_iters=1', '--lr_decay_iters=5000', '--device=reference', '--dropout=0.1'];

function yorick(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface Running { child: ChildProcess; out: { stdout: string; stderr: string }; exit: Promise<{ code: number | null; signal: string | null }> }

function start(...args: string[]): Running {
  const child = spawn(process.execPath, [main, ...args], { cwd: dir });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (b) => { out.stdout += b; });
  child.stderr!.on('data', (b) => { out.stderr += b; });
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, out, exit };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function records(outDir: string): Record<string, unknown>[] {
  const path = join(dir, outDir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
}

/** Step losses by iteration, failing if an iteration is logged twice (finding 9). */
function stepLosses(outDir: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of records(outDir)) {
    if (typeof r.loss !== 'number') continue;
    assert.ok(!m.has(r.iter as number), `${outDir}/metrics.jsonl logs iteration ${r.iter} once`);
    m.set(r.iter as number, r.loss);
  }
  return m;
}
function evalLosses(outDir: string): [number, number, number][] {
  return records(outDir).filter((r) => typeof r.val_loss === 'number').map((r) => [r.iter as number, r.train_loss as number, r.val_loss as number]);
}

function assertSameRun(outDir: string, refDir: string, iters: number): void {
  const a = stepLosses(outDir), b = stepLosses(refDir);
  assert.deepEqual([...a.keys()].sort((x, y) => x - y), [...Array(iters).keys()], `${outDir}: every iteration logged once`);
  for (let it = 0; it < iters; it++) assert.equal(a.get(it), b.get(it), `${outDir}: loss at iteration ${it}`);
  assert.deepEqual(evalLosses(outDir), evalLosses(refDir), `${outDir}: the same evaluations`);
}

const tempFiles = (outDir: string) => readdirSync(join(dir, outDir)).filter((n) => /\.tmp-\d+$/.test(n));
const ckptIter = (outDir: string) => loadCheckpointFile(join(dir, outDir, 'ckpt.safetensors'), { backend }).state.iter_num;

test('setup: a tiny dataset', () => {
  assert.equal(yorick('prepare', '--input', 'tiny.txt').code, 0);
});

test('finding 10: Ctrl-C saves the current iteration, says where, exits 130; the resumed run has the unbroken run\'s losses', async () => {
  const run = start('train', ...tiny, '--eval_interval=7', '--max_iters=100000', '--out_dir=int');
  await until('a dozen steps', () => [...stepLosses('int').keys()].length >= 12);
  run.child.kill('SIGINT');
  const { code } = await run.exit;
  assert.equal(code, 130, run.out.stderr);
  assert.match(run.out.stderr, /interrupted: stopping after the step in flight to save a checkpoint \(Ctrl-C again to quit without saving\)/);
  const m = /interrupted at iteration (\d+): (saved \S+ckpt\.safetensors|\S+ holds this iteration already); continue it with --init_from=resume/.exec(run.out.stdout);
  assert.ok(m, run.out.stdout);
  const n = Number(m[1]);
  assert.equal(ckptIter('int'), n, 'the checkpoint holds the iteration it says');
  assert.deepEqual(tempFiles('int'), []);
  assert.ok(!existsSync(join(dir, 'int', '.lock')), 'the lock is given back');

  const resumed = yorick('train', ...tiny, '--eval_interval=7', `--max_iters=${n + 9}`, '--out_dir=int', '--init_from=resume');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, new RegExp(`resuming from .* at iteration ${n}`));
  const ref = yorick('train', ...tiny, '--eval_interval=7', `--max_iters=${n + 9}`, '--out_dir=int-ref');
  assert.equal(ref.code, 0, ref.stderr);
  assertSameRun('int', 'int-ref', n + 9);
});

test('finding 10: SIGTERM (a scheduler\'s or kill\'s stop) saves the current iteration as Ctrl-C does', async () => {
  const run = start('train', ...tiny, '--eval_interval=7', '--max_iters=100000', '--out_dir=term');
  await until('a few steps', () => [...stepLosses('term').keys()].length >= 5);
  run.child.kill('SIGTERM');
  const { code } = await run.exit;
  assert.equal(code, 130, run.out.stderr);
  const m = /interrupted at iteration (\d+): (saved \S+ckpt\.safetensors|\S+ holds this iteration already)/.exec(run.out.stdout);
  assert.ok(m, run.out.stdout);
  assert.equal(ckptIter('term'), Number(m[1]), 'the checkpoint holds the iteration it says');
  assert.deepEqual(tempFiles('term'), []);
});

test('finding 10: a second Ctrl-C quits at once, exit 130, leaving no temporary file and a checkpoint that loads', async () => {
  const run = start('train', ...tiny, '--eval_interval=3', '--max_iters=100000', '--out_dir=int2');
  await until('a checkpoint', () => existsSync(join(dir, 'int2', 'ckpt.safetensors')) && [...stepLosses('int2').keys()].length >= 8);
  run.child.kill('SIGINT');
  await until('the first interrupt to be seen', () => run.out.stderr.includes('interrupted: stopping'));
  run.child.kill('SIGINT');
  const { code } = await run.exit;
  assert.equal(code, 130, run.out.stderr);
  // the second arrived while the first's save ran or after it (then the save was complete)
  assert.ok(/interrupted again: quit without saving; \S+ckpt\.safetensors is the last checkpoint, untouched/.test(run.out.stderr) || /interrupted at iteration \d+: saved/.test(run.out.stdout),
    run.out.stdout + run.out.stderr);
  assert.doesNotMatch(run.out.stderr, /\n\s+at /);
  console.log(`# second Ctrl-C: ${run.out.stderr.includes('interrupted again') ? 'handled during or after the save' : 'the run had saved and exited first'}`);
  assert.deepEqual(tempFiles('int2'), []);
  assert.ok(ckptIter('int2') > 0);
});

test('finding 10: a second Ctrl-C during a save drops the unfinished temporary file; the previous file stays whole', async () => {
  const path = join(dir, 'atomic.safetensors');
  writeFileStreamed(path, (sink) => sink.write(new TextEncoder().encode('the previous checkpoint')));
  const r = new XoshiroRng(1);
  const tensors = new Map([['w', { shape: [4096], data: Float32Array.from({ length: 4096 }, () => r.normal()) }]]);
  const writing = writeSafetensorsFileAsync(path, tensors, {}, { chunkBytes: 1024 }); // yields after each KiB
  await new Promise((resolve) => setImmediate(resolve));
  const tmp = readdirSync(dir).filter((n) => n.startsWith('atomic.safetensors.tmp-'));
  assert.equal(tmp.length, 1, 'a save is in progress');
  assert.deepEqual(discardOpenTempFiles().map((p) => p.split(/[/\\]/).pop()), tmp);
  await assert.rejects(writing); // in the CLI the process exits here; this writer finds its file gone
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('atomic.safetensors.tmp-')), []);
  assert.equal(readFileSync(path, 'utf8'), 'the previous checkpoint');
  // uninterrupted, the async writer gives the bytes of the in-memory one
  await writeSafetensorsFileAsync(path, tensors, { a: 'b' }, { chunkBytes: 1000 });
  assert.deepEqual(new Uint8Array(readFileSync(path)), writeSafetensors(tensors, { a: 'b' }));
});

test('finding 10: kill -9 during saves, fifteen times: the last checkpoint always loads, and the resumed run has the unbroken run\'s losses', async () => {
  const args = [...tiny, '--eval_interval=1', '--eval_iters=1', '--always_save_checkpoint=true', '--out_dir=kill'];
  const kr = new XoshiroRng(42);
  let duringSave = 0, lastIter = 0, leftTemp = false;
  for (let k = 0; k < 15; k++) {
    const resume = existsSync(join(dir, 'kill', 'ckpt.safetensors'));
    const run = start('train', ...args, '--max_iters=100000', ...(resume ? ['--init_from=resume'] : []));
    // once it has saved: a random moment within the next few saves
    await until('the run to save', () => /saved /.test(run.out.stderr) || run.child.exitCode !== null);
    if (k % 3 === 2) await sleep(kr.int(60));
    else {
      // aimed at a save: as soon as its temporary file appears
      await sleep(kr.int(20));
      const t0 = Date.now();
      while (!tempFiles('kill').length && Date.now() - t0 < 10_000) await new Promise((resolve) => setImmediate(resolve));
    }
    run.child.kill('SIGKILL');
    const { signal } = await run.exit;
    assert.equal(signal, 'SIGKILL', run.out.stderr);
    leftTemp = tempFiles('kill').length > 0;
    if (leftTemp) duringSave++;
    const iter = ckptIter('kill'); // loads: never half a file
    assert.ok(iter >= lastIter, 'the checkpoint never goes back');
    lastIter = iter;
  }
  assert.ok(duringSave >= 3, `kills landed during saves (${duringSave} of 15)`);
  const n = lastIter + 5;
  const final = yorick('train', ...args, `--max_iters=${n}`, '--init_from=resume');
  assert.equal(final.code, 0, final.stderr);
  if (leftTemp) assert.match(final.stdout, /removed 1 temporary file\(s\) left in kill by interrupted runs: ckpt\.safetensors\.tmp-\d+/);
  assert.deepEqual(tempFiles('kill'), []);
  const ref = yorick('train', ...args.map((a) => a.replace('out_dir=kill', 'out_dir=kill-ref')), `--max_iters=${n}`);
  assert.equal(ref.code, 0, ref.stderr);
  assertSameRun('kill', 'kill-ref', n);
  console.log(`# kill -9: 15 kills, ${duringSave} of them during a save (a temporary file left), the run resumed to iteration ${n}`);
});

test('finding 2: a diverging run exits 1 naming the iteration, the last good loss and the lr, and leaves the checkpoint as it was', () => {
  const ckpt = join(dir, 'int-ref', 'ckpt.safetensors');
  const before = readFileSync(ckpt);
  const r = yorick('train', ...tiny, '--eval_interval=1', '--always_save_checkpoint=true', '--learning_rate=1e6', '--decay_lr=false', '--grad_clip=0', '--max_iters=100000', '--out_dir=int-ref', '--init_from=resume');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /error: training diverged at iteration \d+: the (loss|evaluation) .*\(lr 1\.00e\+6\); (the last good loss was \d+\.\d{4} at iteration \d+|no step of this run had a finite loss)\. Nothing is saved from it: the last checkpoint stays as it was/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.doesNotMatch(r.stdout, /loss NaN/);
  assert.deepEqual(readFileSync(ckpt), before, 'the good checkpoint is untouched');
  assert.equal(yorick('sample', '--out_dir=int-ref', '--device=reference', '--num_samples=1', '--max_new_tokens=5').code, 0, 'and still samples');
});

test('finding 2: sample refuses a model whose logits are not finite', () => {
  const f = readSafetensors(new Uint8Array(readFileSync(join(dir, 'int-ref', 'ckpt.safetensors'))), 'ckpt');
  const tensors = new Map([...f.tensors].map(([n, t]) => [n, { shape: t.shape, data: (t.data as Float32Array).slice() }]));
  tensors.get('transformer.ln_f.weight')!.data.fill(3e38); // finite weights, activations past float32
  mkdirSync(join(dir, 'huge'));
  writeFileSync(join(dir, 'huge', 'ckpt.safetensors'), writeSafetensors(tensors, f.metadata));
  const r = yorick('sample', '--out_dir=huge', '--device=reference', '--num_samples=1', '--max_new_tokens=5');
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /error: the model gives a logit of (NaN|-?Infinity) for token \d+: its weights are broken \(did the run that wrote them diverge\?\)/);
});

test('finding 11: a run with no evaluation inside it evaluates and saves its last iteration, over a stale checkpoint; sample then reads it', () => {
  const old = yorick('train', ...tiny, '--eval_interval=1', '--max_iters=3', '--out_dir=quick');
  assert.equal(old.code, 0, old.stderr);
  assert.equal(ckptIter('quick'), 3);
  // the README's quick look: eval_interval 250 and 200 iterations; here 250 and 6
  const r = yorick('train', ...tiny, '--eval_interval=250', '--always_save_checkpoint=false', '--max_iters=6', '--out_dir=quick');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /step 6: train loss \d\.\d{4}, val loss \d\.\d{4}/);
  assert.match(r.stderr, /saved \S+ckpt\.safetensors/);
  assert.equal(ckptIter('quick'), 6, 'the checkpoint is of this run');
  const evals = evalLosses('quick');
  assert.deepEqual(evals.map(([it]) => it), [0, 6]);
  assert.equal(records('quick').find((x) => x.iter === 6 && 'val_loss' in x)!.saved, true);
  const s = yorick('sample', '--out_dir=quick', '--device=reference', '--num_samples=1', '--max_new_tokens=10', '--start=the');
  assert.equal(s.code, 0, s.stderr);
  assert.ok(s.stdout.startsWith('the'));
});

test('finding 9: a resumed run\'s log keeps each iteration once; parsing it gives what parsing the whole history gave', () => {
  const lines = [
    { event: 'start', iter: 0 }, { iter: 0, train_loss: 4, val_loss: 4, saved: false },
    ...[0, 1, 2, 3, 4].map((i) => ({ iter: i, loss: 4 - i / 10 })), { iter: 5, train_loss: 3.5, val_loss: 3.6, saved: true },
    ...[5, 6, 7].map((i) => ({ iter: i, loss: 3.5 - i / 10 })), // killed after step 7: the checkpoint is at 5
  ].map((r) => JSON.stringify(r));
  const killed = lines.join('\n') + '\n{"iter":8,"lo';
  const kept = metricsUpTo(killed, 5);
  assert.deepEqual(kept.trim().split('\n'), lines.slice(0, 8), 'steps before 5, evaluations up to 5, no cut line');
  const resumed = [{ event: 'start', iter: 5 }, ...[5, 6].map((i) => ({ iter: i, loss: 1 + i }))].map((r) => JSON.stringify(r)).join('\n');
  const a = parseMetrics(killed + '\n' + resumed, 'run').run, b = parseMetrics(kept + resumed, 'run').run;
  assert.deepEqual(b.steps, a.steps);
  assert.deepEqual(b.evals, a.evals);
  // an interrupted record at the checkpoint stays; a start at it (a run killed before it saved) goes
  assert.equal(metricsUpTo('{"event":"interrupted","iter":5}\n{"event":"start","iter":5}\n', 5), '{"event":"interrupted","iter":5}\n');
});

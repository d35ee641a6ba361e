// Plots of training runs: the metrics log read back (truncated lines, resumed runs), the SVG a
// run draws checked element by element against its metrics, `yorick plot` on two runs and on
// bad input, and the log cadence off a terminal.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { XoshiroRng } from '../src/tensor/xoshiro.js';
import { parseMetrics, smooth } from '../src/train/metrics.js';
import { repoRoot } from './helpers.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'yorick-plot-'));

function yorick(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const rng = new XoshiroRng(11);
const words = ['the', 'king', 'shall', 'speak', 'and', 'we', 'hear', 'him', 'now', 'my', 'lord'];
let text = '';
while (text.length < 20000) text += words[rng.int(words.length)] + (rng.random() < 0.1 ? '.\n' : ' ');
writeFileSync(join(dir, 'tiny.txt'), text);
assert.equal(yorick('prepare', '--input', 'tiny.txt').code, 0);

const tinyRun = ['--dataset=tiny', '--n_layer=1', '--n_head=2', '--n_embd=16', '--block_size=16', '--batch_size=4',
  '--eval_iters=2', '--always_save_checkpoint=true', '--warmup_iters=2', '--device=reference'];

interface Metrics { steps: { iter: number; loss: number; lr: number }[]; evals: { iter: number; train_loss: number; val_loss: number }[] }
function readMetrics(outDir: string): Metrics {
  const recs = readFileSync(join(dir, outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return { steps: recs.filter((r) => 'loss' in r), evals: recs.filter((r) => 'val_loss' in r) };
}

/** A small well-formedness check: tags nest and close, attributes are quoted, text has no stray '<' or '&'. */
function assertWellFormedXml(xml: string): void {
  const token = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  const stack: string[] = [];
  let m: RegExpExecArray | null;
  let roots = 0;
  while ((m = token.exec(xml))) {
    if (m[6]) assert.fail(`malformed tag at ${m.index}: ${JSON.stringify(xml.slice(m.index, m.index + 60))}`);
    if (m[5] !== undefined) {
      assert.ok(stack.length > 0 || m[5].trim() === '', `text outside the root element at ${m.index}`);
      assert.doesNotMatch(m[5], /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/, `bad entity in text at ${m.index}`);
      continue;
    }
    if (!m[2]) continue;
    if (m[1]) assert.equal(stack.pop(), m[2], `closing </${m[2]}> at ${m.index} does not match`);
    else if (!m[4]) {
      if (stack.length === 0) roots++;
      stack.push(m[2]);
    } else if (stack.length === 0) roots++;
  }
  assert.deepEqual(stack, [], 'every element is closed');
  assert.equal(roots, 1, 'one root element');
}

/** The SVG elements (path or text) whose aria-label matches, with their attributes. */
function marks(svg: string, label: RegExp): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of svg.matchAll(/<(path|text)\s([^>]*)>/g)) {
    const attrs = Object.fromEntries([...m[2].matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
    if (attrs['aria-label'] && label.test(attrs['aria-label'])) out.push(attrs);
  }
  return out;
}

const points = (d: string) => d.split(/[ML]/).filter((s) => s.length > 0).map((p) => p.split(',').map(Number));
const translateX = (t: string) => Number(/translate\(([-\d.e]+),/.exec(t)![1]);

test('smoothing is a bias-corrected moving average (TensorBoard\'s)', () => {
  // by hand with weight 0.5: 1/0.5, (0.25+1)/0.75, (0.625+1.5)/0.875
  const s = smooth([1, 2, 3], 0.5);
  assert.deepEqual(s.map((x) => +x.toFixed(6)), [1, 1.666667, 2.428571]);
  assert.deepEqual(smooth([3, 1, 4], 0), [3, 1, 4]);
});

test('metrics.jsonl: a truncated last line is skipped with a note; a resumed run replaces what followed its checkpoint', () => {
  const t = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();
  const lines = [
    { event: 'start', iter: 0, init_from: 'scratch', backend: 'wasm', model: 'gpt', params: 10, config: { max_iters: 4 }, time: t(0) },
    { iter: 0, train_loss: 4, val_loss: 4.1, saved: false, time: t(1) },
    // steps numbered as nanoGPT numbers them: step k follows the evaluation at k
    { iter: 0, loss: 3.9, lr: 1e-3, ms: 10, time: t(2) },
    { iter: 1, loss: 3.8, lr: 1e-3, ms: 30, time: t(3) },
    { iter: 2, train_loss: 3.7, val_loss: 3.75, saved: true, time: t(4) },
    { iter: 2, loss: 3.6, lr: 1e-3, ms: 20, time: t(5) },
    // killed here; resumed from the checkpoint at 2, ten seconds later
    { event: 'start', iter: 2, init_from: 'resume', backend: 'native', model: 'gpt', params: 10, config: { max_iters: 4 }, time: t(15) },
    { iter: 2, loss: 3.5, lr: 1e-3, ms: 12, time: t(16) },
    { iter: 3, loss: 3.4, lr: 1e-3, ms: 14, time: t(17) },
    { iter: 4, train_loss: 3.3, val_loss: 3.35, saved: true, time: t(18) },
  ].map((r) => JSON.stringify(r)).join('\n') + '\n{"iter": 5, "lo';
  const { run, notes } = parseMetrics(lines, 'run', 'run/metrics.jsonl');
  assert.equal(notes.length, 1);
  assert.match(notes[0], /run\/metrics\.jsonl: skipped a truncated last line/);
  assert.deepEqual(run.steps.map((s) => [s.iter, s.loss]), [[0, 3.9], [1, 3.8], [2, 3.5], [3, 3.4]]);
  assert.deepEqual(run.evals.map((e) => e.iter), [0, 2, 4]);
  assert.equal(run.start?.backend, 'native', 'the latest start record');
  assert.equal(run.wallMs, 5000 + 3000, 'the two parts of the run, not the time it lay dead');
  const midCut = parseMetrics('{"iter": 1, "loss": 2, "lr": 0, "ms": 1}\n{"iter": 2, "lo\n{"iter": 3, "loss": 1, "lr": 0, "ms": 1}\n', 'r');
  assert.match(midCut.notes[0], /skipped line 2/);
  assert.equal(midCut.run.steps.length, 2);
});

test('training draws out_dir/loss.svg: every step, estimate, the best point and the learning rate, at the right places', () => {
  const r = yorick('train', ...tinyRun, '--max_iters=12', '--eval_interval=4', '--lr_decay_iters=12', '--out_dir=out-a');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /plot: out-a[/\\]loss\.svg/);
  const svg = readFileSync(join(dir, 'out-a', 'loss.svg'), 'utf8');
  assertWellFormedXml(svg);
  const { steps, evals } = readMetrics('out-a');
  assert.equal(steps.length, 12);
  assert.equal(evals.length, 4);

  // x: iterations 0..12 over the 640-pixel plot; a point's x says which iteration it is
  const xOf = (iter: number) => (iter / 12) * 640;
  const raw = marks(svg, /series: train loss$/);
  const smoothed = marks(svg, /series: train loss \(smoothed\)$/);
  const lr = marks(svg, /series: learning rate$/);
  for (const [name, line] of [['raw', raw], ['smoothed', smoothed], ['lr', lr]] as const) {
    assert.equal(line.length, 1, `one ${name} line`);
    const pts = points(line[0].d);
    assert.equal(pts.length, steps.length, `${name}: a point per step`);
    pts.forEach(([x], i) => assert.ok(Math.abs(x - xOf(steps[i].iter)) < 0.01, `${name} point ${i} at x ${x}`));
  }
  // the raw line goes through the losses: its y order is the loss order (higher loss, smaller y)
  const ys = points(raw[0].d).map((p) => p[1]);
  for (let i = 1; i < steps.length; i++) assert.equal(Math.sign(ys[i] - ys[i - 1]), -Math.sign(steps[i].loss - steps[i - 1].loss) || 0);

  const trainEst = marks(svg, /series: train estimate$/), valEst = marks(svg, /series: val estimate$/);
  assert.equal(trainEst.length, evals.length);
  assert.equal(valEst.length, evals.length);
  valEst.forEach((p, i) => {
    assert.ok(Math.abs(translateX(p.transform) - xOf(evals[i].iter)) < 0.01);
    assert.match(p['aria-label'], new RegExp(`loss: ${evals[i].val_loss.toFixed(6).slice(0, 6)}`));
  });

  const best = evals.reduce((a, b) => (b.val_loss < a.val_loss ? b : a));
  const bestMark = marks(svg, /^iteration: \d+; loss: [\d.]+$/);
  assert.equal(bestMark.length, 1, 'one best-point marker');
  assert.ok(Math.abs(translateX(bestMark[0].transform) - xOf(best.iter)) < 0.01, 'the marker sits on the lowest val loss');
  assert.match(svg, /best val \(checkpoint\)/);
  assert.match(svg, /out-a \(reference backend\)/);
  assert.match(svg, new RegExp(`best val ${best.val_loss.toFixed(4)} @ ${best.iter}`));
  assert.match(svg, /ms\/iter/);
  assert.match(svg, /gpt 1 layers × 2 heads × 16/);
});

test('off a terminal, training logs every log_interval iterations, each evaluation and save, and a summary; --quiet only the evaluations', () => {
  const args = [...tinyRun, '--max_iters=25', '--eval_interval=10', '--lr_decay_iters=25', '--log_interval=10', '--out_dir=out-log'];
  const r = yorick('train', ...args);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trim().split('\n');
  const saved = `saved ${join('out-log', 'ckpt.safetensors')}`;
  // the last iteration is evaluated too, off the eval_interval schedule (issue 10, finding 11)
  assert.deepEqual(lines.map((l) => l.split(':')[0]), ['step 0', 'iter 10/25', 'step 10', saved, 'iter 20/25', 'step 20', saved, 'iter 25/25', 'step 25', saved]);
  assert.match(lines[1], /^iter 10\/25: loss \d\.\d{4}, lr [\d.]+e-\d, [\d.]+ ms\/iter, \d+s left$/);
  assert.doesNotMatch(r.stderr, /\r|\x1b/, 'no terminal control characters in a file');
  assert.match(r.stdout, /done: 25 iterations in \d+s \([\d.]+ ms\/iter, median\); best val loss \d\.\d{4}/);

  const q = yorick('train', ...args, '--quiet');
  assert.equal(q.code, 0, q.stderr);
  assert.deepEqual(q.stderr.trim().split('\n').map((l) => l.split(':')[0]), ['step 0', 'step 10', 'step 20', 'step 25']);
  assert.equal(q.stdout, '');
});

test('yorick plot compares runs in one picture and a table; bad folders are named, a truncated last line is skipped with a note', () => {
  const b = yorick('train', ...tinyRun, '--max_iters=12', '--eval_interval=4', '--lr_decay_iters=12', '--learning_rate=3e-3', '--out_dir=out-b');
  assert.equal(b.code, 0, b.stderr);
  if (!existsSync(join(dir, 'out-a', 'metrics.jsonl'))) {
    assert.equal(yorick('train', ...tinyRun, '--max_iters=12', '--eval_interval=4', '--lr_decay_iters=12', '--out_dir=out-a').code, 0);
  }
  const r = yorick('plot', 'out-a', 'out-b', '--out', 'cmp.svg');
  assert.equal(r.code, 0, r.stderr);
  const svg = readFileSync(join(dir, 'cmp.svg'), 'utf8');
  assertWellFormedXml(svg);
  const rows = r.stdout.trim().split('\n');
  assert.match(rows[0], /^run\s+best val\s+at iter\s+iters\s+wall\s+ms\/iter\s+backend$/);
  for (const [i, name] of ['out-a', 'out-b'].entries()) {
    const { steps, evals } = readMetrics(name);
    const best = evals.reduce((x, y) => (y.val_loss < x.val_loss ? y : x));
    const cells = rows[i + 1].split(/\s+/);
    assert.deepEqual([cells[0], cells[1], cells[2], cells[3], cells[6]], [name, best.val_loss.toFixed(4), String(best.iter), '12', 'reference']);
    // each run: one smoothed train line of 12 points and 4 val points
    const train = marks(svg, new RegExp(`run: ${name}; kind: train loss \\(smoothed\\)$`));
    assert.equal(train.length, 1);
    assert.equal(points(train[0].d).length, steps.length);
    assert.equal(marks(svg, new RegExp(`^iteration: \\d+; loss: [\\d.]+; run: ${name}; kind: val estimate$`)).filter((m) => m.transform).length, evals.length);
  }
  assert.match(r.stdout, /wrote cmp\.svg/);

  // a run killed while writing its last line
  mkdirSync(join(dir, 'out-cut'));
  cpSync(join(dir, 'out-a', 'metrics.jsonl'), join(dir, 'out-cut', 'metrics.jsonl'));
  appendFileSync(join(dir, 'out-cut', 'metrics.jsonl'), '{"iter": 13, "loss": 2.1');
  const cut = yorick('plot', 'out-cut', '--out', 'cut.svg');
  assert.equal(cut.code, 0, cut.stderr);
  assert.match(cut.stderr, /note: out-cut[/\\]metrics\.jsonl: skipped a truncated last line/);
  assert.match(cut.stdout, /^out-cut\s+\d\.\d{4}\s+\d+\s+12\s/m);

  // not a run
  mkdirSync(join(dir, 'empty-dir'));
  const none = yorick('plot', 'out-a', 'empty-dir', '--out', 'x.svg');
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /empty-dir holds no metrics\.jsonl/);
  assert.doesNotMatch(none.stderr, /\n\s+at /, 'no stack trace');
  assert.match(yorick('plot', 'no-such-dir').stderr, /no-such-dir does not exist/);
  writeFileSync(join(dir, 'empty-dir', 'metrics.jsonl'), 'not json\n');
  assert.match(yorick('plot', 'empty-dir').stderr, /holds no training steps or evaluations/);
  assert.match(yorick('plot', 'out-a', '--out', 'x.txt').stderr, /--out must end in \.svg or \.png/);
  assert.ok(!existsSync(join(dir, 'x.svg')), 'nothing written on error');
});

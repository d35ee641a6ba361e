// Progress lines: a live line on a terminal, plain lines at multiples of logEvery in a file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Progress } from '../src/node/progress.js';

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, isTTY, write(s: string) { chunks.push(s); return true; } } as unknown as NodeJS.WritableStream & { isTTY: boolean; chunks: string[] };
}

test('off a terminal: a line each time the count passes a multiple of logEvery, and at the end', () => {
  const out = stream(false);
  const p = new Progress(25, { stream: out, logEvery: 10 });
  for (let i = 1; i <= 25; i++) p.update(i, `loss ${i}`, 2);
  p.log('step 25: eval');
  p.info('saved');
  assert.deepEqual(out.chunks, [
    'iter 10/25: loss 10, 2.0 ms/iter, 0s left\n', 'iter 20/25: loss 20, 2.0 ms/iter, 0s left\n',
    'iter 25/25: loss 25, 2.0 ms/iter, 0s left\n', 'step 25: eval\n', 'saved\n',
  ]);
  // uneven steps (characters encoded) and a resumed count
  const uneven = stream(false);
  const q = new Progress(100, { stream: uneven, logEvery: 30, from: 40, counter: (d, t) => `${d} of ${t}` });
  for (const d of [45, 59, 61, 89, 95, 100]) q.update(d, 'x');
  assert.deepEqual(uneven.chunks.map((c) => c.split(':')[0]), ['61 of 100', '95 of 100', '100 of 100']);
});

test('quiet: only log(); on a terminal: one redrawn line with messages printed above it', () => {
  const quiet = stream(false);
  const p = new Progress(5, { stream: quiet, quiet: true });
  for (let i = 1; i <= 5; i++) p.update(i, 'x', 1);
  p.info('saved');
  p.log('step 5');
  assert.deepEqual(quiet.chunks, ['step 5\n']);

  const tty = stream(true);
  const t = new Progress(3, { stream: tty });
  t.update(1, 'loss 1', 1);
  t.log('step 1');
  t.update(3, 'loss 3', 1);
  t.done();
  assert.match(tty.chunks[0], /^\r\x1b\[2Kiter 1\/3 \[#{8}-{16}\] loss 1 \| 1\.0 ms\/iter \| 0s left$/);
  assert.match(tty.chunks[1], /^\r\x1b\[2Kstep 1\n.*iter 1\/3/);
  assert.match(tty.chunks[2], /^\r\x1b\[2Kiter 3\/3 \[#{24}\]/);
  assert.equal(tty.chunks[3], '\n');
  assert.equal(tty.chunks.join('').split('\n').length, 3, 'no line per update');
});

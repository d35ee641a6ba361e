// The README's tour is examples/tour.ts, word for word, and it runs: on Tiny Shakespeare, on
// the default (fastest) backend, printing the lecture's encoding and a falling loss.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, shakespearePath, shakespeareSkip } from './helpers.js';

const source = readFileSync(join(repoRoot, 'examples', 'tour.ts'), 'utf8');

test('the README shows examples/tour.ts as it is', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = /## A tour that follows the lecture\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README has a ```ts block under "A tour that follows the lecture"');
  assert.equal(block[1], source, 'the README tour differs from examples/tour.ts: copy the file into the README');
});

test('the tour runs as written', { skip: shakespeareSkip, timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'yorick-tour-'));
  try {
    mkdirSync(join(dir, 'data', 'shakespeare_char'), { recursive: true });
    copyFileSync(shakespearePath, join(dir, 'data', 'shakespeare_char', 'input.txt'));
    const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'examples', 'tour.js')], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /1115394 characters; computing on the (webgpu|native|wasm|reference) backend/);
    assert.match(r.stdout, /\[\s*46,\s*47,\s*47,\s*1,\s*58,\s*46,\s*43,\s*56,\s*43\s*\]/);
    const bigram = Number(/bigram loss before training: ([\d.]+)/.exec(r.stdout)?.[1]);
    assert.ok(Math.abs(bigram - Math.log(65)) < 0.7, `untrained bigram loss ${bigram} is near ln 65`);
    const losses = [...r.stdout.matchAll(/step (\d+): loss ([\d.]+)/g)].map((m) => Number(m[2]));
    assert.equal(losses.length, 4);
    assert.ok(losses[3] < 2.7 && losses[3] < losses[0] - 1, `loss falls: ${losses.join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Same seed, same numbers: the lecture's printed outputs (examples/lecture.ts, on every backend)
// and nanoGPT's train.py run of the CPU recipe, against what PyTorch printed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CharTokenizer } from '../src/tokenizers/char.js';
import { splitTrainVal } from '../src/data/batches.js';
import { resolveConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { backendsUnderTest, repoRoot, shakespearePath, shakespeareSkip } from './helpers.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'torch-random');
const lecture = JSON.parse(readFileSync(join(fixtures, 'lecture.json'), 'utf8'));
const recipe = JSON.parse(readFileSync(join(fixtures, 'nanogpt-cpu-recipe.json'), 'utf8'));
const backends = await backendsUnderTest();

for (const backend of backends) {
  // a software GPU (SwiftShader, CI's WebGPU adapter) runs these far too slowly for the suite:
  // there the kernels and parity suites check WebGPU, and test/cli-webgpu.test.ts follows a wasm run
  const lectureSkip = shakespeareSkip || (backend.name === 'webgpu' ? 'too slow on a software GPU adapter (WebGPU is checked against wasm in cli-webgpu.test.ts)' : false);
  test(`the lecture's printed outputs, character for character (${backend.name})`, { skip: lectureSkip, timeout: 300_000 }, () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'examples', 'lecture.js'), shakespearePath],
      { encoding: 'utf8', env: { ...process.env, YORICK_DEVICE: backend.name } });
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout;
    const cells = lecture.cells;
    const batch = cells[Object.keys(cells).find((k) => k.startsWith('batch'))!];
    const bigram = cells[Object.keys(cells).find((k) => k.startsWith('bigram'))!];
    const gen = cells[Object.keys(cells).find((k) => k.startsWith('generate'))!];
    assert.ok(out.includes('[46,47,47,1,58,46,43,56,43]\nhii there\n'), 'encode("hii there") and back');
    assert.ok(out.includes(`inputs: ${JSON.stringify(batch.xb)}\ntargets: ${JSON.stringify(batch.yb)}\n`), 'the first batch');
    assert.ok(out.includes(`logits: [${bigram.logits_shape.join(', ')}], loss: ${/tensor\(([\d.]+)/.exec(bigram.printed)![1]}\n`), 'the untrained bigram');
    assert.ok(out.includes(JSON.stringify(gen.text)), 'the 100 generated characters');
    for (const line of lecture['bigram.py'].printed_evals) assert.ok(out.includes(line + '\n'), line);
    assert.ok(out.includes(lecture['bigram.py'].printed_sample + '\n'), "bigram.py's 500-character sample");
    assert.ok(out.includes(`(computed on the ${backend.name} backend)`));
  });

  // train.py config/train_shakespeare_char.py with the CPU recipe's overrides (the fixture's command)
  const iters = backend.name === 'reference' ? 4 : 60;
  test(`nanoGPT's CPU recipe: the step-0 estimate and ${iters} iteration losses (${backend.name})`, { skip: lectureSkip, timeout: 300_000 }, async () => {
    const text = readFileSync(shakespearePath, 'utf8');
    const tok = CharTokenizer.fromText(text);
    const config = resolveConfig({ name: 'shakespeare_char_cpu' }, { max_iters: String(iters) });
    const trainer = new Trainer(config, { ...splitTrainVal(tok.encode(text), tok.vocabSize), vocabSize: tok.vocabSize, tokenizer: tok.toSpec() }, { backend });
    const losses: number[] = [];
    let step0 = '';
    await trainer.run({
      onEval: (e) => { if (e.iter === 0) step0 = `step 0: train loss ${e.train.toFixed(7)}, val loss ${e.val.toFixed(7)}`; },
      onStep: (e) => { losses[e.iter] = e.loss; },
    });
    const [, train, val] = /train loss ([\d.]+), val loss ([\d.]+)/.exec(recipe.step0_eval)!.map(Number);
    const [, gotTrain, gotVal] = /train loss ([\d.]+), val loss ([\d.]+)/.exec(step0)!.map(Number);
    assert.ok(Math.abs(gotTrain - train) < 1e-5 && Math.abs(gotVal - val) < 1e-5, `${step0} vs nanoGPT's ${recipe.step0_eval}`);
    assert.equal(losses.length, iters);
    losses.forEach((l, i) => assert.ok(Math.abs(l - recipe.iter_losses[i]) < 1e-3, `iteration ${i}: ${l} vs nanoGPT's ${recipe.iter_losses[i]}`));
  });
}

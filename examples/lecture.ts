// "Let's build GPT", the cells whose output the lecture prints, in yorick: run it with
// `node dist/examples/lecture.js [path/to/input.txt]` and compare with the video. The random
// numbers are PyTorch's (the same seed gives the same batches, weights and samples).
import { readFileSync } from 'node:fs';
import { AdamW, BatchSampler, BigramLanguageModel, CharTokenizer, defaultBackend, generate, IntTensor, noGrad, splitTrainVal,
  tidy, TorchGenerator, type LanguageModel } from 'yorick/node';

const text = readFileSync(process.argv[2] ?? 'data/shakespeare_char/input.txt', 'utf8');
console.log(`length of dataset in characters: ${text.length}`);

// the vocabulary: every character that occurs, sorted
const tok = CharTokenizer.fromText(text);
console.log(JSON.stringify(tok.chars.join('')));
console.log(tok.vocabSize);
console.log(JSON.stringify(tok.encode('hii there')));
console.log(tok.decode(tok.encode('hii there')));

// the first 90% trains, the rest validates
const { train, val } = splitTrainVal(tok.encode(text), tok.vocabSize);

// torch.manual_seed(1337); xb, yb = get_batch('train') with batch_size 4, block_size 8
const generator = new TorchGenerator(1337);
const { x: xb, y: yb } = new BatchSampler({ train, val }, 4, 8, generator).getBatch('train');
const rows = (t: IntTensor) => Array.from({ length: t.shape[0] }, (_, b) => Array.from(t.data.subarray(b * t.shape[1], (b + 1) * t.shape[1])));
console.log('inputs:', JSON.stringify(rows(xb)));
console.log('targets:', JSON.stringify(rows(yb)));

// torch.manual_seed(1337); m = BigramLanguageModel(vocab_size); logits, loss = m(xb, yb)
generator.manualSeed(1337);
const m = new BigramLanguageModel(tok.vocabSize, 8, { generator });
const { logits, loss } = m.forward(xb, yb);
console.log(`logits: [${logits.view([-1, tok.vocabSize]).shape.join(', ')}], loss: ${(await loss!.itemAsync()).toFixed(4)}`);
// the untrained model's gibberish, continuing the same stream
const gibberish = await generate(m, IntTensor.from([[0]]), 100);
console.log(JSON.stringify(tok.decode(gibberish.data)));

// bigram.py: seed, model, AdamW(lr=1e-2), 3000 steps of batch 32, block 8, estimates every 300
generator.manualSeed(1337);
const model = new BigramLanguageModel(tok.vocabSize, 8, { generator });
const batches = new BatchSampler({ train, val }, 32, 8, generator);
const optimizer = new AdamW(model.namedParameters(), { lr: 1e-2 }); // PyTorch's defaults otherwise
async function estimateLoss(net: LanguageModel, evalIters = 200): Promise<{ train: number; val: number }> {
  const out = { train: 0, val: 0 };
  net.eval();
  for (const split of ['train', 'val'] as const) {
    let sum = 0;
    for (let k = 0; k < evalIters; k++) {
      const { x, y } = batches.getBatch(split);
      sum += await noGrad(() => tidy(() => net.forward(x, y).loss!)).itemAsync();
    }
    out[split] = sum / evalIters;
  }
  net.train();
  return out;
}
for (let iter = 0; iter < 3000; iter++) {
  if (iter % 300 === 0) {
    const losses = await estimateLoss(model);
    console.log(`step ${iter}: train loss ${losses.train.toFixed(4)}, val loss ${losses.val.toFixed(4)}`);
  }
  const { x, y } = batches.getBatch('train');
  tidy(() => model.forward(x, y).loss!.backward());
  optimizer.step();
  optimizer.zeroGrad();
}
const sample = await generate(model, IntTensor.from([[0]]), 500);
console.log(tok.decode(sample.data));
console.log(`(computed on the ${defaultBackend().name} backend)`);

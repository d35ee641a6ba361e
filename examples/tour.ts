import { readFileSync } from 'node:fs';
import { AdamW, BatchSampler, BigramLanguageModel, CharTokenizer, defaultBackend, generate, GPT, IntTensor, splitTrainVal,
  tidy } from 'yorick/node'; // in Node the fastest backend that loads here is the default

// 0. the text: Tiny Shakespeare, where `yorick prepare` (or `npm start`) downloads it
const text = readFileSync('data/shakespeare_char/input.txt', 'utf8');
console.log(`${text.length} characters; computing on the ${defaultBackend().name} backend`);

// 1. text -> tokens: the vocabulary is the sorted set of characters
const tok = CharTokenizer.fromText(text);            // 65 characters for Tiny Shakespeare
console.log(tok.encode('hii there'));                // [46, 47, 47, 1, 58, 46, 43, 56, 43]

// 2. tokens -> batches: first 90% train; x and y = x shifted by one, [batch_size, block_size]
const { train, val } = splitTrainVal(tok.encode(text), tok.vocabSize);
const batches = new BatchSampler({ train, val }, 12, 64, 1337);
const { x, y } = batches.getBatch('train');          // IntTensor [12, 64] each

// 3. the bigram model: a vocab x vocab table of next-token logits; untrained, loss ~ -ln(1/65)
const bigram = new BigramLanguageModel(tok.vocabSize);
console.log(`bigram loss before training: ${(await bigram.forward(x, y).loss!.itemAsync()).toFixed(4)}`);

// 4. the GPT: nanoGPT's architecture, config fields and parameter names
const model = new GPT({ vocab_size: tok.vocabSize, block_size: 64, n_layer: 4, n_head: 4, n_embd: 128, dropout: 0, bias: false });

// 5. training: forward, loss, backward, AdamW (decay on 2-D weights only) with clipping at norm 1
const opt = new AdamW(model.namedParameters(), { lr: 1e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
for (let it = 0; it <= 300; it++) {
  const { x, y } = batches.getBatch('train');
  const loss = tidy(() => {                          // frees the step's activations
    const { loss } = model.forward(x, y);
    loss!.backward();
    return loss!;
  });
  opt.step(1.0);
  opt.zeroGrad();
  if (it % 100 === 0) console.log(`step ${it}: loss ${(await loss.itemAsync()).toFixed(4)}`); // a read waits for the device
  loss.dispose();
}

// 6. sampling: softmax + multinomial, temperature / top-k / top-p, with the KV cache
const out = await generate(model, IntTensor.from([[0]]), 200, { temperature: 0.8, topK: 200 });
console.log(tok.decode(out.data));

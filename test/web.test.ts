// The web page end to end in a real browser (Debian's Chromium driven by playwright-core):
// Tiny Shakespeare's gpt2 token counts, 50 steps of shakespeare_char_cpu on wasm with threads
// (the loss falls, the plot has points), a 200-character sample, and a checkpoint written by
// `yorick train` sampled in the page exactly as `yorick sample` samples it. Screenshots of each
// view go to dist/web-screenshots/. Skips, saying why, without Chromium or the text.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import { encodeSplits } from '../src/data/text-split.js';
import { serveStatic } from '../src/node/serve.js';
import { loadTiktoken } from '../src/node/tokenizers.js';
import { BpeTokenizer } from '../src/tokenizers/bpe/tokenizer.js';
import type { Tokenizer } from '../src/tokenizers/types.js';
import { CHROMIUM, CHROMIUM_FLAGS, loadAndTokenize, pageSkip, playwright, statusIs } from './browser.js';
import { repoRoot, shakespearePath } from './helpers.js';

const FLAGS = [...CHROMIUM_FLAGS, '--disable-gpu'];
const skip = pageSkip;

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const shots = join(repoRoot, 'dist', 'web-screenshots');

function yorick(cwd: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `yorick ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

describe('the web page in Chromium', { skip, timeout: 600_000 }, () => {
  let server: Server;
  let base = '';
  let work = '';
  let browser: import('playwright-core').Browser;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'yorick-web-'));
    const { buildWeb } = await import(pathToFileURL(join(repoRoot, 'scripts', 'build-web.mjs')).href);
    const site = await buildWeb({ out: join(work, 'site'), log: () => {} });
    assert.equal(site.shakespeare, true, 'the site serves Tiny Shakespeare');
    server = await serveStatic(join(work, 'site'), { port: 0 });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await playwright!.chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    mkdirSync(shots, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function openPage() {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(base);
    await page.waitForFunction("/^ready|failed/.test(document.getElementById('status').textContent)", null, { timeout: 60_000 });
    const status = await page.textContent('#status');
    assert.match(status!, /ready: compute on wasm with \d+ threads; the page is cross-origin isolated/);
    return { page, errors };
  }


  test('Tiny Shakespeare in gpt2 tokens: prepare\'s counts, shown in the table', async () => {
    const { page, errors } = await openPage();
    await page.click('#use-shakespeare');
    await page.waitForFunction(statusIs(/^text loaded \(1,115,394 characters\)/));
    await page.screenshot({ path: join(shots, '1-text.png') });
    // keyboard: from the Text tab, ArrowRight selects the Tokens tab
    await page.focus('#tab-text');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getAttribute('#tab-tokens', 'aria-selected'), 'true');
    assert.equal(await page.isVisible('#view-tokens'), true);
    await page.selectOption('#tokenizer', 'gpt2');
    await page.click('#tokenize');
    await page.waitForSelector('#token-counts tr[data-tokenizer=gpt2]', { timeout: 60_000 });
    // `yorick prepare --dataset shakespeare` writes 301,966 train and 36,059 val tokens (nanoGPT's numbers)
    assert.equal(await page.textContent('#token-counts tr[data-tokenizer=gpt2] .count'), '338,025 (301,966 + 36,059)');
    assert.equal(await page.textContent('#token-preview span:nth-child(1)'), 'First');
    // the other encodings (rank files fetched and checked by sha256 in the page) and a BPE
    // trained live, against the same counts computed here in Node
    const text = readFileSync(shakespearePath, 'utf8');
    const count = (tok: Tokenizer) => {
      const { train, val } = encodeSplits(text, tok);
      return `${(train.length + val.length).toLocaleString('en-US')} (${train.length.toLocaleString('en-US')} + ${val.length.toLocaleString('en-US')})`;
    };
    for (const name of ['cl100k_base', 'o200k_base']) {
      await page.selectOption('#tokenizer', name);
      await page.click('#tokenize');
      await page.waitForSelector(`#token-counts tr[data-tokenizer=${name}]`, { timeout: 60_000 });
      assert.equal(await page.textContent(`#token-counts tr[data-tokenizer=${name}] .count`), count(loadTiktoken(name)), name);
    }
    await page.selectOption('#tokenizer', 'bpe');
    await page.fill('#bpe-size', '300');
    await page.click('#tokenize');
    await page.waitForSelector('#token-counts tr[data-tokenizer="bpe 300"]', { timeout: 60_000 });
    assert.equal(await page.textContent('#token-counts tr[data-tokenizer="bpe 300"] .count'), count(BpeTokenizer.train(text, 300, 'gpt4')));
    assert.equal(await page.locator('#merge-list li').count(), 44, 'every merge is listed');
    await page.screenshot({ path: join(shots, '2-tokens.png') });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('trains shakespeare_char_cpu 50 steps on wasm threads (pause and resume on the way), plots, samples; a `yorick train` checkpoint samples as `yorick sample`', async (t) => {
    // Node's side first: a dataset, a short run of the same recipe, its ms/iter, its sample
    yorick(work, 'prepare', '--input', shakespearePath, '--dataset', 'shakespeare_char');
    const trained = yorick(work, 'train', 'shakespeare_char_cpu', '--device=wasm', '--max_iters=20', '--eval_interval=20', '--eval_iters=5', '--out_dir=out-web');
    const nodeMs = Number(/\(([\d.]+) ms\/iter, median\)/.exec(trained)?.[1]);
    const settings = ['--start=ROMEO:', '--num_samples=1', '--max_new_tokens=200', '--temperature=0.8', '--top_k=200', '--seed=42'];
    const cliSample = yorick(work, 'sample', '--out_dir=out-web', '--device=wasm', ...settings);

    const { page, errors } = await openPage();
    await loadAndTokenize(page, 'char');
    assert.equal(await page.textContent('#token-counts tr[data-tokenizer=char] .count'), '1,115,394 (1,003,854 + 111,540)');
    await page.click('#tab-batches');
    await page.click('#get-batch');
    await page.waitForSelector('#pairs li');
    assert.equal(await page.locator('#grid-x tr').count(), 4);
    assert.match((await page.textContent('#pairs li:nth-child(1)'))!, /^when the input is ".*" \[\d+\], the target is/);
    await page.screenshot({ path: join(shots, '3-batches.png') });

    await page.click('#tab-train');
    await page.fill('#f-max_iters', '50');
    await page.fill('#f-eval_interval', '25');
    await page.fill('#f-eval_iters', '5');
    await page.click('#train-start');
    await page.waitForFunction(() => (globalThis as unknown as { __yorick: { steps: number } }).__yorick.steps >= 10, null, { timeout: 120_000 });
    await page.click('#train-pause');
    await page.waitForFunction(statusIs(/^paused at iteration \d+/));
    await page.click('#train-resume');
    await page.waitForFunction(statusIs(/^training finished at iteration 50/), null, { timeout: 300_000 });
    await page.waitForFunction(() => (globalThis as unknown as { __yorick: { chartPoints: number } }).__yorick.chartPoints > 0);
    const m = await page.evaluate(() => (globalThis as unknown as { __yorick: { firstStepMs: number; steps: number; chartPoints: number; msPerIter: number; evals: { iter: number; val: number }[] } }).__yorick);
    assert.equal(m.steps, 50);
    assert.equal(m.chartPoints, 50 + 2 * 3, '50 steps and the estimates at 0, 25 and 50');
    assert.ok(await page.locator('#loss-chart svg path').count() > 0, 'the chart is drawn');
    assert.match((await page.textContent('[data-stat=backend]'))!, /^wasm with \d+ threads$/);
    assert.deepEqual(m.evals.map((e) => e.iter), [0, 25, 50]);
    assert.ok(m.evals[0].val > 4 && m.evals[2].val < m.evals[0].val - 0.5, `the val loss falls from about ln(65) = 4.17: ${JSON.stringify(m.evals)}`);
    await page.screenshot({ path: join(shots, '4-train.png'), fullPage: true });

    await page.click('#tab-sample');
    await page.fill('#max-new', '200');
    await page.click('#sample');
    await page.waitForSelector('#sample-out[data-done=true]', { timeout: 60_000 });
    const sampled = (await page.textContent('#sample-out'))!;
    assert.equal([...sampled].length, 'ROMEO:'.length + 200, 'the prompt and 200 characters');
    await page.click('#next-probs');
    await page.waitForSelector('#probs .bar');
    assert.equal(await page.locator('#probs .bar').count(), 20);
    await page.screenshot({ path: join(shots, '5-sample.png'), fullPage: true });

    await page.click('#tab-attention');
    await page.click('#att-show');
    await page.waitForSelector('#att-chart svg', { timeout: 60_000 });
    assert.equal(await page.locator('#att-layer option').count(), 4);
    await page.screenshot({ path: join(shots, '6-attention.png'), fullPage: true });

    // the checkpoint of `yorick train`, opened in the page: the same sample as `yorick sample`
    await page.click('#tab-checkpoints');
    await page.setInputFiles('#ckpt-file', join(work, 'out-web', 'ckpt.safetensors'));
    await page.waitForFunction(statusIs(/^opened ckpt\.safetensors/));
    assert.match((await page.textContent('#ckpt-info'))!, /GPT 4 layers × 4 heads × 128, block 64, 0\.80M parameters, char tokenizer, trained 20 iterations/);
    await page.screenshot({ path: join(shots, '7-checkpoints.png') });
    await page.click('#tab-sample');
    await page.fill('#prompt', 'ROMEO:');
    await page.fill('#sample-seed', '42');
    await page.click('#sample');
    await page.waitForSelector('#sample-out[data-done=true]', { timeout: 60_000 });
    const pageSample = (await page.textContent('#sample-out'))!;
    assert.equal(pageSample + '\n---------------\n', cliSample, 'the page samples the checkpoint as yorick sample does');
    // and keeps training it: from iteration 20 to 25 with its own config
    await page.click('#tab-train');
    assert.equal(await page.textContent('#train-start'), 'Continue the opened checkpoint');
    assert.equal(await page.inputValue('#f-eval_interval'), '20', 'the fields show the checkpoint\'s config');
    await page.fill('#f-max_iters', '25');
    await page.click('#train-start');
    await page.waitForFunction(statusIs(/^training finished at iteration 25/), null, { timeout: 120_000 });
    assert.deepEqual(errors, []);
    t.diagnostic(`shakespeare_char_cpu ms/iter: page (wasm threads, median of the last 20 steps) ${m.msPerIter.toFixed(1)}, node (wasm, median of 20) ${nodeMs}`);
    t.diagnostic(`page opened -> first training step: ${(m.firstStepMs / 1000).toFixed(2)} s (including the test's clicks: text, char tokens, get_batch)`);
    await page.close();
  });

  test('works offline once loaded: the service worker serves every file, threads and all', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(base);
      await page.waitForFunction(statusIs(/^ready/), null, { timeout: 60_000 });
      await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
      await context.setOffline(true);
      await page.reload();
      await page.waitForFunction(statusIs(/^ready/), null, { timeout: 60_000 });
      assert.match((await page.textContent('#status'))!, /wasm with \d+ threads; the page is cross-origin isolated/, 'offline, from the cache, with its headers');
      await loadAndTokenize(page, 'gpt2', 120_000); // its rank file comes from the cache too
      assert.equal(await page.textContent('#token-counts tr[data-tokenizer=gpt2] .count'), '338,025 (301,966 + 36,059)');
    } finally {
      await context.close();
    }
  });

  test('served without COOP/COEP: single-thread wasm, said on the page, and it still trains', async () => {
    const plain = await serveStatic(join(work, 'site'), { port: 0, isolate: false });
    const page = await browser.newPage();
    try {
      await page.goto(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`);
      await page.waitForFunction(statusIs(/^ready/), null, { timeout: 60_000 });
      assert.match((await page.textContent('#status'))!, /compute on wasm, single thread; the page is not cross-origin isolated/);
      await loadAndTokenize(page, 'char');
      await page.click('#tab-train');
      await page.fill('#f-max_iters', '3');
      await page.fill('#f-eval_interval', '3');
      await page.fill('#f-eval_iters', '1');
      await page.click('#train-start');
      await page.waitForFunction(statusIs(/^training finished at iteration 3/), null, { timeout: 120_000 });
      assert.equal(await page.textContent('[data-stat=backend]'), 'wasm, single thread');
    } finally {
      await page.close();
      plain.close();
    }
  });
});

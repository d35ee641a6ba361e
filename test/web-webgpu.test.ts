// The web page on WebGPU in a real browser: Chromium with WebGPU enabled (its SwiftShader
// adapter where there is no GPU). auto must pass over a software adapter (wasm is faster); the
// visitor's explicit pick of webgpu on the Train tab takes it; 10 steps of a shrunk
// shakespeare_char_cpu then give, on WebGPU, the losses wasm gives for the same seed, and they
// fall. Skips, saying why, without Chromium, playwright-core, the text, or a WebGPU adapter.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { serveStatic } from '../src/node/serve.js';
import { CHROMIUM, CHROMIUM_FLAGS, loadAndTokenize, pageSkip, playwright, statusIs, WEBGPU_FLAGS } from './browser.js';
import { repoRoot } from './helpers.js';

const FLAGS = [...CHROMIUM_FLAGS, ...WEBGPU_FLAGS];
const skip = pageSkip;

type Metrics = { steps: number; evals: { iter: number; val: number }[] };

test('the page trains on WebGPU when the visitor picks it: the losses of wasm, falling; auto passes over a software adapter', { skip, timeout: 600_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'yorick-web-gpu-'));
  let server: Server | null = null;
  let browser: import('playwright-core').Browser | null = null;
  try {
    const { buildWeb } = await import(pathToFileURL(join(repoRoot, 'scripts', 'build-web.mjs')).href);
    await buildWeb({ out: join(work, 'site'), log: () => {} });
    server = await serveStatic(join(work, 'site'), { port: 0 });
    browser = await playwright!.chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(statusIs(/^ready/), null, { timeout: 60_000 });

    // the worker asks the same navigator.gpu; the page's own answer decides the skip
    const adapter = await page.evaluate(async () => {
      type Info = { vendor: string; architecture: string; description: string; isFallbackAdapter?: boolean };
      const gpu = (globalThis as unknown as { navigator: { gpu?: { requestAdapter(): Promise<{ info: Info } | null> } } }).navigator.gpu;
      const a = gpu ? await gpu.requestAdapter() : null;
      return a ? { description: [a.info.vendor, a.info.architecture, a.info.description].filter(Boolean).join(' '), fallback: !!a.info.isFallbackAdapter } : null;
    });
    if (!adapter) {
      t.skip('Chromium gives no WebGPU adapter here (navigator.gpu.requestAdapter() is null)');
      return;
    }
    const software = adapter.fallback || /swiftshader|llvmpipe|lavapipe/i.test(adapter.description);
    const status = (await page.textContent('#status'))!;
    if (software) assert.match(status, /^ready: compute on wasm.*skipped: webgpu: .* is a software adapter, slower than wasm/, 'auto passes over a software adapter');
    else assert.match(status, /^ready: compute on webgpu on /, 'auto takes a hardware adapter');
    assert.equal(await page.isDisabled('#train-config option[value=shakespeare_char]'), software, 'shakespeare_char only on WebGPU');

    await loadAndTokenize(page, 'char');
    await page.click('#tab-train');

    // the pick by keyboard: focus the select, type the option's first letters
    await page.focus('#train-backend');
    await page.keyboard.type('webgpu');
    assert.equal(await page.inputValue('#train-backend'), 'webgpu');
    await page.waitForFunction(statusIs(/^ready: compute on webgpu on /), null, { timeout: 60_000 });
    assert.match((await page.textContent('#backend-in-use'))!, /^in use: webgpu on /);
    assert.equal(await page.isDisabled('#train-config option[value=shakespeare_char]'), false, 'shakespeare_char is offered on WebGPU');

    // shakespeare_char_cpu shrunk to what a software adapter does in seconds; no warmup, so 10 steps move
    const shrunk: Record<string, string> = { n_layer: '2', n_embd: '64', max_iters: '10', eval_interval: '10', eval_iters: '2', warmup_iters: '0', learning_rate: '3e-3' };
    const train = async () => {
      for (const [k, v] of Object.entries(shrunk)) await page.fill(`#f-${k}`, v);
      const before = await page.evaluate(() => (globalThis as unknown as { __yorick: Metrics }).__yorick.evals.length);
      await page.click('#train-start');
      await page.waitForFunction(statusIs(/^training finished at iteration 10/), null, { timeout: 300_000 });
      return page.evaluate((n) => (globalThis as unknown as { __yorick: Metrics }).__yorick.evals.slice(n), before);
    };
    const gpu = await train();
    assert.match((await page.textContent('[data-stat=backend]'))!, /^webgpu on /);
    mkdirSync(join(repoRoot, 'dist', 'web-screenshots'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'dist', 'web-screenshots', '8-train-webgpu.png'), fullPage: true });
    assert.deepEqual(gpu.map((e) => e.iter), [0, 10]);
    assert.ok(gpu[0].val > 4 && gpu[1].val < gpu[0].val - 0.3, `the val loss falls from about ln(65) = 4.17 on WebGPU: ${JSON.stringify(gpu)}`);

    // the same run on wasm: the same estimates (float32 sums in another order)
    await page.selectOption('#train-backend', 'wasm');
    await page.waitForFunction(statusIs(/^ready: compute on wasm/), null, { timeout: 60_000 });
    const cpu = await train();
    assert.match((await page.textContent('[data-stat=backend]'))!, /^wasm/);
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(gpu[i].val - cpu[i].val) < 2e-3, `val at ${gpu[i].iter}: webgpu ${gpu[i].val}, wasm ${cpu[i].val}`);
    assert.deepEqual(errors, []);
    t.diagnostic(`adapter: ${adapter.description}${adapter.fallback ? ' (fallback)' : ''}; val losses webgpu ${gpu.map((e) => e.val.toFixed(4)).join(' -> ')}, wasm ${cpu.map((e) => e.val.toFixed(4)).join(' -> ')}`);
  } finally {
    await browser?.close();
    server?.close();
    rmSync(work, { recursive: true, force: true });
  }
});

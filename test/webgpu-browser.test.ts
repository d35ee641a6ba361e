// yorick/webgpu in a page: headless Chromium (with its SwiftShader adapter where there is no
// GPU) imports the backend from dist/, runs a few kernels through Chrome's own WebGPU and WGSL
// compiler, and posts the results back, which must equal the reference backend's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { SWIFTSHADER_ICD } from '../src/backend/webgpu/node-webgpu.js';
import { assertClose, repoRoot } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) ? `needs Debian's chromium at ${CHROMIUM}`
  : !existsSync(SWIFTSHADER_ICD) ? `needs Chromium's SwiftShader Vulkan driver at ${SWIFTSHADER_ICD}` : false;

// runs the same kernels on the reference backend and on WebGPU, posts both
const page = `<!doctype html><script type="module">
import { requestWebGpuBackend } from '/dist/src/backend/webgpu/index.js';
import { ReferenceBackend } from '/dist/src/backend/reference/reference.js';
const post = (body) => fetch('/result', { method: 'POST', body: JSON.stringify(body) });
try {
  const gpu = await requestWebGpuBackend();
  const results = {};
  for (const b of [new ReferenceBackend(), gpu]) {
    const put = (n, f) => { const x = b.alloc(n, false); b.write(x, Float32Array.from({ length: n }, (_, i) => f(i))); return x; };
    const [M, N, K, B, T, C, H] = [33, 65, 17, 2, 9, 12, 3];
    const c = b.alloc(M * N);
    b.matmul(c, put(M * K, Math.sin), put(N * K, Math.cos), M, N, K, false, true, false);
    const qkv = put(B * T * 3 * C, (i) => Math.sin(i * 0.37)), y = b.alloc(B * T * C), saved = b.alloc(b.attentionSaved(B, H, T));
    b.attention(y, saved, qkv, null, B, T, C, H);
    const dqkv = b.alloc(B * T * 3 * C);
    b.attentionBackward(dqkv, put(B * T * C, Math.cos), y, qkv, saved, null, B, T, C, H);
    const loss = b.alloc(1), probs = b.alloc(M * N);
    b.crossEntropy(loss, probs, c, Int32Array.from({ length: M }, (_, i) => (i * 7) % N), M, N);
    results[b.name] = { c: [...await b.read(c, M * N)], y: [...await b.read(y, B * T * C)], dqkv: [...await b.read(dqkv, B * T * 3 * C)], loss: [...await b.read(loss, 1)] };
  }
  await post({ adapter: gpu.adapter, results });
} catch (e) {
  await post({ error: String(e && e.stack || e) });
}
</script>`;

test('yorick/webgpu runs in headless Chromium and matches the reference backend', { skip, timeout: 120_000 }, async () => {
  let resolveResult: (v: string) => void = () => {};
  const result = new Promise<string>((r) => (resolveResult = r));
  const server = createServer((req, res) => {
    if (req.url === '/result') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => { res.end(); resolveResult(body); });
      return;
    }
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    const path = normalize(join(repoRoot, (req.url ?? '').split('?')[0]));
    if (!path.startsWith(join(repoRoot, 'dist')) || !existsSync(path)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': extname(path) === '.js' ? 'text/javascript' : 'application/octet-stream' }).end(readFileSync(path));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const profile = mkdtempSync(join(tmpdir(), 'yorick-chromium-'));
  const browser = spawn(CHROMIUM, ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan',
    '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`],
  { stdio: 'ignore', detached: true }); // its own process group, so its helper processes end with it
  try {
    const timeout = new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no result from the page in 90 s')), 90_000).unref());
    const got = JSON.parse(await Promise.race([result, timeout]));
    assert.ok(!got.error, got.error);
    assert.match(got.adapter, /\S/);
    const { reference, webgpu } = got.results;
    for (const k of ['c', 'y', 'dqkv', 'loss']) assertClose(webgpu[k], reference[k], 1e-5, `${k} in the browser`);
  } finally {
    const exited = new Promise((r) => browser.once('exit', r));
    process.kill(-browser.pid!, 'SIGTERM');
    await exited;
    server.close();
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    } catch {
      // a helper process may still write into its profile for a moment; a stray temp dir is harmless
    }
  }
});

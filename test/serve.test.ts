// yorick serve's static server: the isolation headers wasm threads need, types, and no path
// outside the folder.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveStaticPath, serveStatic } from '../src/node/serve.js';

test('serves files with COOP/COEP, index.html for folders, 404 outside the folder or for missing files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'yorick-serve-'));
  mkdirSync(join(dir, 'site', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'site', 'index.html'), '<p>hi</p>');
  writeFileSync(join(dir, 'site', 'sub', 'k.wasm'), new Uint8Array([0, 97, 115, 109]));
  writeFileSync(join(dir, 'secret.txt'), 'no');
  const root = join(dir, 'site');
  assert.equal(resolveStaticPath(root, '/'), join(root, 'index.html'));
  assert.equal(resolveStaticPath(root, '/../secret.txt'), null);
  assert.equal(resolveStaticPath(root, '/%2e%2e/secret.txt'), null);
  assert.equal(resolveStaticPath(root, '/sub/k.wasm?x=1'), join(root, 'sub', 'k.wasm'));
  const server = await serveStatic(root, { port: 0 });
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(await page.text(), '<p>hi</p>');
    const wasm = await fetch(`${base}/sub/k.wasm`);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.deepEqual([...new Uint8Array(await wasm.arrayBuffer())], [0, 97, 115, 109]);
    assert.equal((await fetch(`${base}/nope.js`)).status, 404);
    assert.equal((await fetch(`${base}/index.html`, { method: 'POST' })).status, 405);
  } finally {
    server.close();
  }
});

// tiktoken encodings from bytes and URLs (how a page loads them): sha256-checked, cached, and
// equal to the Node loader's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTiktoken, rankFileDir } from '../../src/node/tokenizers.js';
import { CharTokenizer, tokenizerFromSpec, tokenizerFromSpecAsync } from '../../src/tokenizers/index.js';
import { rankFilesFromUrl, sha256Hex, TiktokenLoader, tiktokenFromRankFile } from '../../src/tokenizers/tiktoken/load.js';

const gpt2Bytes = () => new Uint8Array(readFileSync(join(rankFileDir(), 'r50k_base.tiktoken')));

test('sha256Hex is SHA-256 (the FIPS 180-2 "abc" vector)', async () => {
  assert.equal(await sha256Hex(new TextEncoder().encode('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('tiktokenFromRankFile: the same ids as the Node loader; other bytes are refused naming the hashes', async () => {
  const tok = await tiktokenFromRankFile('gpt2', gpt2Bytes(), 'r50k_base.tiktoken');
  const text = 'First Citizen:\nBefore we proceed any further, hear me speak. 1234 ünïcode';
  assert.deepEqual(tok.encode(text), loadTiktoken('gpt2').encode(text));
  const bad = gpt2Bytes();
  bad[100] ^= 1;
  await assert.rejects(tiktokenFromRankFile('gpt2', bad, 'served.tiktoken'), /served\.tiktoken has sha256 [0-9a-f]{64}, expected 306cd27f/);
  await assert.rejects(tiktokenFromRankFile('p50k', gpt2Bytes(), 'x'), /unknown tiktoken encoding "p50k"/);
});

test('rankFilesFromUrl fetches base + file name; TiktokenLoader loads each encoding once and retries after a failure', async () => {
  const asked: string[] = [];
  let fail = true;
  const fetchFn = (async (url: string) => {
    asked.push(url);
    if (fail) return new Response('nope', { status: 404 });
    return new Response(gpt2Bytes());
  }) as unknown as typeof fetch;
  const loader = new TiktokenLoader(rankFilesFromUrl('http://localhost:1/site/tiktoken/', fetchFn));
  await assert.rejects(loader.load('gpt2'), /could not fetch the rank file http:\/\/localhost:1\/site\/tiktoken\/r50k_base\.tiktoken: HTTP 404/);
  fail = false;
  const [a, b] = await Promise.all([loader.load('gpt2'), loader.load('r50k_base')]);
  assert.equal(a, b);
  assert.equal(asked.length, 2, 'one failed fetch, then one that is shared');
  assert.deepEqual(await (await tokenizerFromSpecAsync({ kind: 'tiktoken', encoding: 'gpt2' }, loader)).encode('hello world'), [31373, 995]);
  const chars = CharTokenizer.fromText('abc');
  assert.deepEqual((await tokenizerFromSpecAsync(chars.toSpec(), loader)).encode('cab'), [2, 0, 1]);
  assert.throws(() => tokenizerFromSpec({ kind: 'tiktoken', encoding: 'gpt2' }), /tokenizerFromSpecAsync/);
});

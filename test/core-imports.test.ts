// The core must run in a browser: no Node built-ins outside src/node, src/cli and node-*.ts files.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './helpers.js';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

test('core source files import nothing from Node', () => {
  const src = join(repoRoot, 'src');
  const core = walk(src).filter((p) => p.endsWith('.ts')).filter((p) => {
    const rel = relative(src, p);
    return !rel.startsWith('node') && !rel.startsWith('cli') && !/(^|[/\\])node-[^/\\]*\.ts$/.test(rel);
  });
  assert.ok(core.length > 20);
  const nodeOnly = /from ['"](node:|fs|path|os|child_process|worker_threads)['"/]|\bprocess\.|\bBuffer\./;
  for (const p of core) {
    const text = readFileSync(p, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*)/.test(l)).join('\n');
    assert.doesNotMatch(text, nodeOnly, `${relative(repoRoot, p)} uses Node`);
  }
});

#!/usr/bin/env node
// The main job: prepare Tiny Shakespeare (characters), train shakespeare_char_cpu, print samples.
// Extra arguments go to `yorick train` (e.g. --max_iters=200 for a quick look).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

// Ctrl-C reaches yorick too (one process group): train saves and exits 130. This script waits
// for it instead of dying first, then exits with its status.
process.on('SIGINT', () => {});

function yorick(args) {
  console.log(`\n$ yorick ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// On a machine without internet (like this project's CI), a local copy of the text is used
// when one sits beside the checkout; everywhere else `yorick prepare` downloads it.
const localCopy = resolve(root, '..', 'shared', 'data', 'tinyshakespeare.txt');
const haveInput = existsSync(join(root, 'data', 'shakespeare_char', 'input.txt'));
yorick(['prepare', ...(!haveInput && existsSync(localCopy) ? ['--input', localCopy, '--dataset', 'shakespeare_char'] : [])]);
yorick(['train', 'shakespeare_char_cpu', ...process.argv.slice(2)]);

// The README shows this run's loss plot. Only the recipe as it is replaces that picture: a run
// with extra arguments (--max_iters=200 for a quick look) keeps its plot in out_dir alone.
const plot = join(root, 'out-shakespeare-char-cpu', 'loss.svg');
const readmePlot = join(root, 'docs', 'shakespeare-char-cpu-loss.svg');
if (process.argv.length > 2) console.log(`\nthe plot of this run: ${plot} (the README's picture, ${readmePlot}, is left as it is: extra arguments)`);
else if (existsSync(plot)) {
  mkdirSync(dirname(readmePlot), { recursive: true });
  copyFileSync(plot, readmePlot);
  console.log(`\nthe plot of this run: ${plot}, copied to ${readmePlot} for the README`);
}
yorick(['sample', '--out_dir=out-shakespeare-char-cpu', '--num_samples=3', '--max_new_tokens=300']);

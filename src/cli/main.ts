#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { DeviceError, UserError } from '../errors.js';
import { backendEntries } from '../node/backends.js';
import { exportCommand } from './export.js';
import { plotCommand } from './plot.js';
import { prepareCommand } from './prepare.js';
import { sampleCommand } from './sample.js';
import { serveCommand } from './serve.js';
import { tokenizerCommand } from './tokenizer.js';
import { trainCommand } from './train.js';

const usage = `usage: yorick <command> [options]

commands:
  prepare     text -> data/<dataset>/train.bin, val.bin, meta.json
  train       train a GPT (or the bigram model) with nanoGPT's loop
  sample      generate text from a checkpoint (yorick's, nanoGPT's ckpt.pt, or GPT-2's weights)
  export      write a checkpoint as nanoGPT's ckpt.pt or Hugging Face's GPT-2 layout
  plot        draw the loss of one or more runs, and compare them in a table
  tokenizer   train, encode and decode with tokenizers
  serve       serve the web page (npm run web builds it) with the headers wasm threads need
  info        version and the compute backends available here

Run yorick <command> --help for its options.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  return pkg.version;
}

async function info(): Promise<void> {
  console.log(`yorick ${version()} (node ${process.version}, ${process.platform}-${process.arch})`);
  console.log('backends (--device=auto takes the first that loads, webgpu only on a hardware GPU):');
  for (const e of backendEntries) {
    const b = await e.load();
    const adapter = (e as { adapter?: string }).adapter;
    console.log(`  ${e.name.padEnd(10)} ${b ? 'available' : `not available: ${e.why ?? 'did not load'}`} - ${e.describe}`);
    if (b && adapter) console.log(`  ${''.padEnd(10)} adapter: ${adapter}`);
    if (b && e.loadForAuto && !(await e.loadForAuto())) console.log(`  ${''.padEnd(10)} not taken by auto: ${e.autoWhy}`);
  }
}

/** What to try when a device fails: the CPU backends need nothing but the CPU. */
function deviceHint(device: string): string {
  return device === 'native' ? '--device=wasm runs everywhere Node does' : '--device=native (or --device=wasm) runs on the CPU';
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'prepare': return prepareCommand(rest);
    case 'train': return trainCommand(rest);
    case 'sample': return sampleCommand(rest);
    case 'export': return exportCommand(rest);
    case 'plot': return plotCommand(rest);
    case 'tokenizer': return tokenizerCommand(rest);
    case 'serve': return serveCommand(rest);
    case 'info': return info();
    case '--version': case '-v': case 'version':
      console.log(version());
      return info();
    case undefined: case '--help': case '-h': case 'help':
      console.log(usage);
      return;
    default:
      throw new UserError(`unknown command "${command}"\n${usage}`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof DeviceError) {
    process.stderr.write(`error: ${e.message}\nhint: ${deviceHint(e.device)}\n`);
  } else if (e instanceof UserError) {
    process.stderr.write(`error: ${e.message}\n`);
  } else {
    process.stderr.write(`yorick: internal error (please report it):\n${(e as Error)?.stack ?? String(e)}\n`);
  }
  process.exitCode = 1;
});

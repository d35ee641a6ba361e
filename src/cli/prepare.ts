import { existsSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { childPath, ensureDir } from '../node/files.js';
import { UserError } from '../errors.js';
import { downloadShakespeare, prepareDatasetFrom } from '../node/prepare.js';
import { fileTextSource } from '../node/text-source.js';
import { parseArgs, takeFlags } from './args.js';

export const prepareUsage = `usage: yorick prepare [--input FILE] [--dataset NAME] [--tokenizer KIND] [--data_dir data]

Turns a text into data/<dataset>/train.bin, val.bin (token ids; first 90% train) and meta.json.
With no --input, the dataset shakespeare_char (Tiny Shakespeare, characters) is downloaded
into data/shakespeare_char/input.txt, unless that file is already there.
  --input FILE       a UTF-8 text file (dataset name defaults to the file's name)
  --dataset NAME     the folder under data_dir (default: shakespeare_char, or the input's name)
  --tokenizer KIND   char (default), gpt2 (default for shakespeare), cl100k_base, o200k_base,
                     bpe:PATH (a .model or .json from yorick tokenizer train, or minbpe's .model)
                     or spm:PATH (a SentencePiece .model); stored in meta.json with the data
  --data_dir DIR     where datasets live (default: data)`;

export async function prepareCommand(argv: string[]): Promise<void> {
  const { flags, positional } = parseArgs(argv);
  if (flags.help) return void console.log(prepareUsage);
  if (positional.length) throw new UserError(`yorick prepare: unexpected argument "${positional[0]}"\n${prepareUsage}`);
  const f = takeFlags(flags, ['input', 'dataset', 'tokenizer', 'data_dir'] as const, 'prepare');
  const dataDir = f.data_dir ?? 'data';
  const dataset = f.dataset ?? (f.input ? basename(f.input, extname(f.input)) : 'shakespeare_char');
  const dir = childPath(dataDir, dataset, 'dataset name');
  // the input is checked (a readable file) before anything is downloaded or tokenized
  let source = f.input ? fileTextSource(f.input) : null;
  if (!source) {
    if (dataset !== 'shakespeare_char' && dataset !== 'shakespeare') {
      throw new UserError(`yorick prepare: dataset "${dataset}" has no download; give its text with --input FILE`);
    }
    const inputPath = join(dir, 'input.txt');
    if (existsSync(inputPath)) console.log(`using ${inputPath}`);
    else {
      ensureDir(dir, 'dataset folder');
      await downloadShakespeare(inputPath, (s) => console.log(s));
    }
    source = fileTextSource(inputPath);
  }
  // nanoGPT's data/shakespeare uses GPT-2's BPE; everything else defaults to characters
  const tokenizer = f.tokenizer ?? (dataset === 'shakespeare' ? 'gpt2' : 'char');
  prepareDatasetFrom(source, dir, tokenizer, (s) => console.log(s));
}

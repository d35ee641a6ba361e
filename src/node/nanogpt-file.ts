/**
 * nanoGPT's files on disk: ckpt.pt (torch.save's zip) read whole into one buffer, whose tensors
 * the format layer then views without copying; meta.pkl (a character vocabulary) found where
 * nanoGPT's sample.py looks for it; both written back.
 */
import { closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { nanoGptCheckpointParts, readNanoGptCheckpoint, type NanoGptCheckpoint, type NanoGptWriteOptions } from '../io/nanogpt.js';
import { readNanoGptMeta, writeNanoGptMeta } from '../io/nanogpt-meta.js';
import type { TokenizerSpec } from '../tokenizers/types.js';
import { MAX_IO_BYTES, openRegularFile, readAt, readFileBounded, writeFileAtomic, writeFileStreamed } from './files.js';

/** One Uint8Array holds at most this many bytes in this Node (4 GiB in Node 20). */
const MAX_BYTES = 2 ** 32;

/** A whole file in one buffer, read with positioned reads (no 2 GiB limit of readFileSync). */
function readWholeFile(path: string, what: string): Uint8Array {
  const { fd, size } = openRegularFile(path, what);
  try {
    if (size >= MAX_BYTES) throw new UserError(`${what} ${path} is ${(size / 2 ** 30).toFixed(1)} GiB; yorick reads nanoGPT checkpoints of up to 4 GiB`);
    const bytes = new Uint8Array(size);
    readAt(fd, bytes, 0, `${what} ${path}`);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Reads and checks nanoGPT's ckpt.pt; every problem is a UserError naming the file. */
export function readNanoGptFile(path: string): NanoGptCheckpoint {
  if (!existsSync(path)) throw new UserError(`no nanoGPT checkpoint at ${path}`);
  return readNanoGptCheckpoint(readWholeFile(path, 'checkpoint'), path);
}

/** Writes a ckpt.pt whole or not at all, part by part (the storages are not copied). */
export function writeNanoGptFile(path: string, ckpt: NanoGptCheckpoint, opts: NanoGptWriteOptions = {}): void {
  const parts = nanoGptCheckpointParts(ckpt, opts);
  writeFileStreamed(path, (sink) => {
    for (const p of parts) sink.write(p);
  }, MAX_IO_BYTES);
}

/** Where nanoGPT's sample.py looks for a checkpoint's vocabulary: data/<config.dataset>/meta.pkl (data_dir for data). */
export function nanoGptMetaPath(dataDir: string, ckpt: NanoGptCheckpoint): string | null {
  const dataset = ckpt.config.dataset;
  if (typeof dataset !== 'string' || dataset === '' || /[/\\]|^\.\.?$/.test(dataset)) return null;
  return join(dataDir, dataset, 'meta.pkl');
}

/** A meta.pkl's character vocabulary as yorick's char tokenizer spec. */
export function readNanoGptMetaFile(path: string): TokenizerSpec {
  const meta = readNanoGptMeta(readFileBounded(path, 64 << 20, 'meta.pkl'), path);
  return { kind: 'char', chars: meta.chars };
}

/** Writes nanoGPT's meta.pkl for a character vocabulary. */
export function writeNanoGptMetaFile(path: string, chars: readonly string[]): void {
  writeFileAtomic(path, writeNanoGptMeta(chars));
}

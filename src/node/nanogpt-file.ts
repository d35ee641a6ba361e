/**
 * nanoGPT's files on disk: ckpt.pt (torch.save's zip) read whole into one buffer, whose tensors
 * the format layer then views without copying (record by record past 4 GiB); meta.pkl (a
 * character vocabulary) found where nanoGPT's sample.py looks for it; both written back.
 */
import { closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { nanoGptCheckpointParts, readNanoGptCheckpoint, type NanoGptCheckpoint, type NanoGptWriteOptions } from '../io/nanogpt.js';
import { readNanoGptMeta, writeNanoGptMeta } from '../io/nanogpt-meta.js';
import type { ByteSource } from '../io/zip.js';
import type { TokenizerSpec } from '../tokenizers/types.js';
import { MAX_IO_BYTES, openRegularFile, readAt, readFileBounded, writeFileAtomic, writeFileStreamed } from './files.js';

/** One Uint8Array holds at most this many bytes in this Node (4 GiB in Node 20). */
const MAX_BYTES = 2 ** 32;

/**
 * Reads and checks nanoGPT's ckpt.pt; every problem is a UserError naming the file. A file under
 * maxWholeBytes (4 GiB) is read into one buffer, whose tensors are views; a larger one (nanoGPT's
 * checkpoint of gpt2-medium with its AdamW moments is 4.3 GB) is read record by record.
 */
export function readNanoGptFile(path: string, opts: { maxWholeBytes?: number } = {}): NanoGptCheckpoint {
  if (!existsSync(path)) throw new UserError(`no nanoGPT checkpoint at ${path}`);
  const { fd, size } = openRegularFile(path, 'checkpoint');
  try {
    if (size < Math.min(opts.maxWholeBytes ?? MAX_BYTES, MAX_BYTES)) {
      const bytes = new Uint8Array(size);
      readAt(fd, bytes, 0, `checkpoint ${path}`);
      return readNanoGptCheckpoint(bytes, path);
    }
    const source: ByteSource = {
      size,
      read: (offset, length) => {
        const out = new Uint8Array(length);
        readAt(fd, out, offset, `checkpoint ${path}`);
        return out;
      },
    };
    return readNanoGptCheckpoint(source, path);
  } finally {
    closeSync(fd);
  }
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

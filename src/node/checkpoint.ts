import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { UserError } from '../errors.js';
import type { ModelOptions } from '../models/model.js';
import { loadCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.js';

/**
 * Writes the checkpoint to a temporary file, flushes it to disk, then renames it over the old
 * one: a kill at any moment leaves either the old checkpoint or the new one, never half of one.
 */
export function saveCheckpointFile(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Reads a checkpoint file and builds its model (see loadCheckpoint for the options). */
export function loadCheckpointFile(path: string, opts: ModelOptions = {}): LoadedCheckpoint {
  if (!existsSync(path)) throw new UserError(`no checkpoint at ${path}; train one first (yorick train), or pass --out_dir where it is`);
  try {
    return loadCheckpoint(readFileSync(path), path, opts);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

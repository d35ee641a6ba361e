import { existsSync } from 'node:fs';
import { UserError } from '../errors.js';
import type { ModelOptions } from '../models/model.js';
import type { SafetensorsFile } from '../io/safetensors.js';
import { checkCheckpointHeader, type CheckpointParts, loadCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.js';
import { MAX_IO_BYTES, writeFileStreamed } from './files.js';
import { readSafetensorsFile, readSafetensorsHeaderFile, writeSafetensorsFile, writeSafetensorsFileAsync, type IoOptions } from './safetensors-file.js';

/**
 * Writes the checkpoint to a temporary file, flushes it to disk, then renames it over the old
 * one: a kill at any moment leaves either the old checkpoint or the new one, never half of one.
 * Bytes are written in chunks (no 2 GiB limit); parts are streamed tensor by tensor.
 */
export function saveCheckpointFile(path: string, checkpoint: Uint8Array | CheckpointParts, opts: IoOptions = {}): void {
  if (checkpoint instanceof Uint8Array) {
    writeFileStreamed(path, (sink) => sink.write(checkpoint), opts.chunkBytes ?? MAX_IO_BYTES);
  } else {
    writeSafetensorsFile(path, checkpoint.tensors, checkpoint.metadata, opts);
  }
}

/**
 * saveCheckpointFile for parts, giving the event loop a turn every few megabytes: a Ctrl-C
 * during the write is handled at once (discardOpenTempFiles drops the half-written file).
 */
export function saveCheckpointFileAsync(path: string, checkpoint: CheckpointParts, opts: IoOptions = {}): Promise<void> {
  return writeSafetensorsFileAsync(path, checkpoint.tensors, checkpoint.metadata, opts);
}

/**
 * Loads a checkpoint and builds its model (see loadCheckpoint for the options): the header is
 * read and its metadata and tensor list checked before any tensor is read, then each tensor is
 * read into its own array with positioned reads (memory: about one copy of the file, any size).
 */
export function loadCheckpointFile(path: string, opts: ModelOptions & IoOptions = {}): LoadedCheckpoint {
  if (!existsSync(path)) throw new UserError(`no checkpoint at ${path}; train one first (yorick train), or pass --out_dir where it is`);
  let file: SafetensorsFile;
  try {
    const header = readSafetensorsHeaderFile(path, path, opts);
    checkCheckpointHeader(header.metadata, header.entries.map((e) => [e.name, e]), path);
    file = readSafetensorsFile(path, path, opts);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${(e as Error).message}; the checkpoint is corrupt or incomplete`);
  }
  try {
    return loadCheckpoint(file, path, opts);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError((e as Error).message);
  }
}

import { closeSync, existsSync } from 'node:fs';
import { UserError } from '../errors.js';
import { type SafetensorsFile, type TensorSource } from '../io/safetensors.js';
import { deserializeCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.js';
import { MAX_IO_BYTES, openRegularFile, readAt, writeFileStreamed } from './files.js';
import { readSafetensorsFile, readSafetensorsHeaderFile, writeSafetensorsFile, type IoOptions } from './safetensors-file.js';

/** A checkpoint as tensors and metadata, written without one buffer of the whole file. */
export interface CheckpointParts {
  tensors: Map<string, TensorSource>;
  metadata: Record<string, string>;
}

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

/** The largest Uint8Array V8 allocates here: the bound of loading a checkpoint as one buffer. */
const MAX_BUFFER = 2 ** 32 - 1;

/**
 * Loads a checkpoint: the header is checked from the file's first bytes before anything large
 * is allocated, then the file is read with positioned reads (no 2 GiB readFileSync limit).
 */
export function loadCheckpointFile(path: string, opts: IoOptions = {}): LoadedCheckpoint {
  if (!existsSync(path)) throw new UserError(`no checkpoint at ${path}; train one first (yorick train), or pass --out_dir where it is`);
  let bytes: Uint8Array;
  try {
    const { fileSize } = readSafetensorsHeaderFile(path, path, opts);
    if (fileSize > MAX_BUFFER) {
      // the seam: deserializeCheckpoint must take readCheckpointTensors' SafetensorsFile for these
      throw new UserError(`${path} is ${(fileSize / 2 ** 30).toFixed(1)} GiB: loading checkpoints over 4 GiB is not supported yet (the file itself is fine)`);
    }
    const { fd, size } = openRegularFile(path, 'checkpoint');
    try {
      bytes = new Uint8Array(size);
      readAt(fd, bytes, 0, path, opts.chunkBytes ?? MAX_IO_BYTES);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${(e as Error).message}; the checkpoint is corrupt or incomplete`);
  }
  try {
    return deserializeCheckpoint(bytes, path);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

/**
 * A checkpoint file's tensors and metadata, read tensor by tensor (memory: one copy of them).
 * deserializeCheckpoint should take this instead of bytes; then checkpoints of any size load.
 */
export function readCheckpointTensors(path: string, opts: IoOptions = {}): SafetensorsFile {
  return readSafetensorsFile(path, path, opts);
}

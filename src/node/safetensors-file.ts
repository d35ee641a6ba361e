/**
 * safetensors files on disk of any size: written header first, then each tensor's bytes in turn
 * (no buffer of the whole file); read by parsing the header from the file's first bytes, then
 * each tensor straight into its own typed array with positioned reads. Memory: one copy of the
 * tensors. The checks are those of src/io/safetensors.ts, made before anything is allocated.
 */
import { closeSync } from 'node:fs';
import {
  encodeSafetensorsHeader, parseSafetensorsHeader, SafetensorsError, safetensorsDataStart, tensorBytes, typedView,
  type SafetensorsFile, type SafetensorsHeader, type StoredTensor, type TensorEntry, type TensorSource,
} from '../io/safetensors.js';
import { MAX_IO_BYTES, openRegularFile, readAt, writeFileStreamed, writeFileStreamedAsync } from './files.js';

/** V8's limit on a typed array's length (elements, not bytes). */
const MAX_ARRAY_LENGTH = 2 ** 32;

export interface IoOptions {
  /** Bytes per read or write call (tests pass a small value to exercise the chunking). */
  chunkBytes?: number;
}

/** Writes tensors (in the order given) and metadata to `path`, whole or not at all. */
export function writeSafetensorsFile(path: string, tensors: Map<string, TensorSource>, metadata: Record<string, string> = {}, opts: IoOptions = {}): void {
  const { header } = encodeSafetensorsHeader(tensors, metadata); // validates before the file is touched
  writeFileStreamed(path, (sink) => {
    sink.write(header);
    for (const t of tensors.values()) sink.write(tensorBytes(t));
  }, opts.chunkBytes ?? MAX_IO_BYTES);
}

/** Bytes written between two turns of the event loop by the async writer. */
const YIELD_BYTES = 64 << 20;

/**
 * writeSafetensorsFile that hands the thread back to the event loop every YIELD_BYTES, so that
 * a signal (Ctrl-C) is handled during a long write, not after it.
 */
export async function writeSafetensorsFileAsync(path: string, tensors: Map<string, TensorSource>, metadata: Record<string, string> = {}, opts: IoOptions = {}): Promise<void> {
  const { header } = encodeSafetensorsHeader(tensors, metadata);
  const step = Math.min(YIELD_BYTES, opts.chunkBytes ?? YIELD_BYTES);
  await writeFileStreamedAsync(path, async (sink) => {
    sink.write(header);
    for (const t of tensors.values()) {
      const bytes = tensorBytes(t);
      for (let off = 0; off < bytes.length; off += step) {
        sink.write(bytes.subarray(off, Math.min(bytes.length, off + step)));
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }, opts.chunkBytes ?? MAX_IO_BYTES);
}

function readHeader(fd: number, size: number, what: string, chunkBytes: number): SafetensorsHeader {
  const first8 = new Uint8Array(Math.min(8, size));
  readAt(fd, first8, 0, what, chunkBytes);
  const dataStart = safetensorsDataStart(first8, size, what);
  const headerBytes = new Uint8Array(dataStart - 8);
  readAt(fd, headerBytes, 8, what, chunkBytes);
  return parseSafetensorsHeader(headerBytes, dataStart, size, what);
}

/** The checked header of a safetensors file (tensor names, dtypes, shapes, metadata), reading nothing else. */
export function readSafetensorsHeaderFile(path: string, what = path, opts: IoOptions = {}): SafetensorsHeader & { fileSize: number } {
  const { fd, size } = openRegularFile(path, what);
  try {
    return { ...readHeader(fd, size, what, opts.chunkBytes ?? MAX_IO_BYTES), fileSize: size };
  } finally {
    closeSync(fd);
  }
}

/** A safetensors file open for reading one tensor at a time; close() when done. */
export interface OpenSafetensorsFile {
  header: SafetensorsHeader;
  /** The tensor's values, read from the file into an array of its own. */
  read(entry: TensorEntry): StoredTensor;
  close(): void;
}

/** Opens a safetensors file and checks its header (from the file's first bytes; nothing else is read). */
export function openSafetensorsFile(path: string, what = path, opts: IoOptions = {}): OpenSafetensorsFile {
  const chunk = opts.chunkBytes ?? MAX_IO_BYTES;
  const { fd, size } = openRegularFile(path, what);
  let header: SafetensorsHeader;
  try {
    header = readHeader(fd, size, what, chunk);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let open = true;
  return {
    header,
    read(e: TensorEntry): StoredTensor {
      if (!open) throw new Error(`${what} is closed`);
      const bytes = e.end - e.begin;
      const at = header.dataStart + e.begin;
      let data: StoredTensor['data'];
      const typed = e.dtype === 'F32' || e.dtype === 'I32';
      if (bytes / (typed ? 4 : 1) >= MAX_ARRAY_LENGTH) {
        throw new SafetensorsError(`${what}: tensor ${JSON.stringify(e.name)} has ${bytes} bytes of ${e.dtype}, more than one array holds here (2^32 elements)`);
      }
      if (typed) {
        // read into the typed array's own buffer, a window at a time (a byte view of it may not exceed 4 GiB)
        data = e.dtype === 'F32' ? new Float32Array(bytes / 4) : new Int32Array(bytes / 4);
        for (let off = 0; off < bytes; off += chunk) {
          readAt(fd, new Uint8Array(data.buffer, off, Math.min(chunk, bytes - off)), at + off, what, chunk);
        }
      } else {
        const raw = new Uint8Array(bytes);
        readAt(fd, raw, at, what, chunk);
        data = typedView(e.dtype, raw);
      }
      return { dtype: e.dtype, shape: e.shape, data };
    },
    close(): void {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Reads a whole safetensors file, tensor by tensor. */
export function readSafetensorsFile(path: string, what = path, opts: IoOptions = {}): SafetensorsFile {
  const file = openSafetensorsFile(path, what, opts);
  try {
    const tensors = new Map<string, StoredTensor>();
    for (const e of file.header.entries) tensors.set(e.name, file.read(e));
    return { tensors, metadata: file.header.metadata };
  } finally {
    file.close();
  }
}

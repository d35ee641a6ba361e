/**
 * torch.save's file: a zip whose records all sit under one folder (the file's base name, or
 * "archive"): <archive>/data.pkl (the pickle), <archive>/data/<key> (each storage's raw
 * little-endian bytes, 64-byte aligned), <archive>/version ("3\n"; PyTorch 1.13 writes no
 * byteorder record).
 */
import { FormatError } from './format-error.js';
import { readPickle } from './pickle.js';
import { writePickle } from './pickle-writer.js';
import type { PyValue } from './py-values.js';
import { type ByteSource, concatBytes, readZip, zipParts } from './zip.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reads what torch.save wrote (its new zip format); tensors come back as TorchTensor. */
export function readTorchFile(bytes: Uint8Array | ByteSource, what = 'torch.save file'): PyValue {
  const head = bytes instanceof Uint8Array ? bytes : bytes.read(0, Math.min(2, bytes.size));
  if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5) {
    throw new FormatError(`${what}: this is a bare pickle (the legacy torch.save format of PyTorch < 1.6 or _use_new_zipfile_serialization=False), which is not supported; re-save it with torch.save from PyTorch 1.6 or newer`);
  }
  const entries = readZip(bytes, { what });
  const pickles = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    throw new FormatError(`${what}: expected one <archive>/data.pkl record, found ${pickles.length === 0 ? 'none' : pickles.join(', ')} (not a torch.save file?)`);
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const order = entries.get(`${prefix}byteorder`);
  if (order && new TextDecoder().decode(order).trim() !== 'little') {
    throw new FormatError(`${what}: its storages are big-endian (byteorder record); only little-endian files are supported`);
  }
  return readPickle(entries.get(pickles[0])!, {
    what: `${what} (${pickles[0]})`,
    storage: (key) => entries.get(`${prefix}data/${key}`),
  });
}

/**
 * torch.save(value) as a list of parts to write in order (storages are not copied on
 * little-endian hosts). Tensors that share one Float32Array share one storage, as tied weights do.
 */
export function torchFileParts(value: PyValue, archiveName = 'archive'): Uint8Array[] {
  if (!/^[^/\\]+$/.test(archiveName)) throw new Error(`archive name ${JSON.stringify(archiveName)} must be a single path component`);
  const keys = new Map<Float32Array, string>();
  const pkl = writePickle(value, {
    storageKey: (data) => {
      let k = keys.get(data);
      if (k === undefined) keys.set(data, (k = String(keys.size)));
      return k;
    },
  });
  // torch.save writes the records in sorted key order ("0", "1", "10", "100", "11", ...)
  const storages = [...keys].sort((a, b) => (a[1] < b[1] ? -1 : 1)).map(([data, key]) => ({
    name: `${archiveName}/data/${key}`,
    data: littleEndianBytes(data),
  }));
  return zipParts([
    { name: `${archiveName}/data.pkl`, data: pkl },
    ...storages,
    { name: `${archiveName}/version`, data: new TextEncoder().encode('3\n') },
  ]);
}

/** torchFileParts, concatenated. */
export function writeTorchFile(value: PyValue, archiveName = 'archive'): Uint8Array {
  return concatBytes(torchFileParts(value, archiveName));
}

function littleEndianBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

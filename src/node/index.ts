// yorick in Node: everything of the core, with the fastest backend that loads here already the
// default (WebGPU on a hardware GPU, else native, else WebAssembly with threads, else the
// reference loops; YORICK_DEVICE names one), plus the Node-only parts: files, the dataset and checkpoint formats on disk.
import { setDefaultBackend } from '../backend/default.js';
import { loadBackend } from './backends.js';

export * from '../index.js';
export { loadBackend, backendEntries, type BackendEntry } from './backends.js';
export { prepareDataset, loadDataset, downloadShakespeare, readText, SHAKESPEARE_URL, type Dataset, type DatasetMeta } from './prepare.js';
export { saveCheckpointFile, loadCheckpointFile } from './checkpoint.js';
export { loadTokenizer, createTokenizer } from './tokenizers.js';

setDefaultBackend(await loadBackend(process.env.YORICK_DEVICE ?? 'auto'));

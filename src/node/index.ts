// yorick in Node: everything of the core, with the fastest backend that loads here already the
// default (WebGPU on a hardware GPU, else native, else WebAssembly with threads, else the
// reference loops; YORICK_DEVICE names one), plus the Node-only parts: files, the dataset and checkpoint formats on disk.
import { setDefaultBackend } from '../backend/default.js';
import { loadBackend } from './backends.js';

export * from '../index.js';
export { loadBackend, backendEntries, type BackendEntry } from './backends.js';
export { prepareDataset, prepareDatasetFile, prepareDatasetFrom, downloadShakespeare, readText, SHAKESPEARE_URL, type PrepareOptions } from './prepare.js';
export { loadDataset, validateDatasetMeta, readTokenFile, type Dataset, type DatasetMeta } from './dataset.js';
export { fileTextSource, stringTextSource, type TextSource } from './text-source.js';
export { readSafetensorsFile, readSafetensorsHeaderFile, openSafetensorsFile, writeSafetensorsFile, writeSafetensorsFileAsync } from './safetensors-file.js';
export { acquireOutDirLock, releaseOutDirLock, cleanStaleTemps, writeFileAtomic, writeFileStreamed, writeFileStreamedAsync, discardOpenTempFiles } from './files.js';
export { saveCheckpointFile, saveCheckpointFileAsync, loadCheckpointFile } from './checkpoint.js';
export { loadTokenizer, createTokenizer } from './tokenizers.js';
export { findHfModel, hfHubCacheDir, loadHfGpt2, GPT2_NAMES, type HfModelFiles, type HfLoadOptions } from './hf-gpt2-file.js';
export { readNanoGptFile, writeNanoGptFile, readNanoGptMetaFile, writeNanoGptMetaFile } from './nanogpt-file.js';
export { resolveModelSource, loadForSampling, type ModelSource } from './pretrained.js';

setDefaultBackend(await loadBackend(process.env.YORICK_DEVICE ?? 'auto'));

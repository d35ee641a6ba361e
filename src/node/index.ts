// yorick's Node-only API: files, backends that need Node, the dataset and checkpoint formats on disk.
export { loadBackend, backendEntries, type BackendEntry } from './backends.js';
export { prepareDataset, prepareDatasetFile, prepareDatasetFrom, downloadShakespeare, readText, SHAKESPEARE_URL, type PrepareOptions } from './prepare.js';
export { loadDataset, validateDatasetMeta, readTokenFile, type Dataset, type DatasetMeta } from './dataset.js';
export { fileTextSource, stringTextSource, type TextSource } from './text-source.js';
export { readSafetensorsFile, readSafetensorsHeaderFile, writeSafetensorsFile } from './safetensors-file.js';
export { acquireOutDirLock, releaseOutDirLock, cleanStaleTemps, writeFileAtomic, writeFileStreamed } from './files.js';
export { saveCheckpointFile, loadCheckpointFile, readCheckpointTensors, type CheckpointParts } from './checkpoint.js';
export { loadTokenizer, createTokenizer } from './tokenizers.js';

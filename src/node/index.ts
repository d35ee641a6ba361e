// yorick's Node-only API: files, backends that need Node, the dataset and checkpoint formats on disk.
export { loadBackend, backendEntries, type BackendEntry } from './backends.js';
export { prepareDataset, loadDataset, downloadShakespeare, readText, SHAKESPEARE_URL, type Dataset, type DatasetMeta } from './prepare.js';
export { saveCheckpointFile, loadCheckpointFile } from './checkpoint.js';
export { loadTokenizer, createTokenizer } from './tokenizers.js';

// 7 Checkpoints: download the model as ckpt.safetensors; open one written by `yorick train`.
import type { TrainConfig } from '../../src/train/config.js';
import { $, app, attempt, say } from '../app.js';
import { checkpointOpened } from './train.js';

async function open(file: File): Promise<void> {
  say(`opening ${file.name}…`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const info = await attempt('opening the checkpoint', () => app.client.call.loadCheckpoint(bytes, file.name));
  if (!info) return;
  app.hasModel = true;
  app.isGpt = info.kind === 'gpt';
  app.opened = true;
  const c = info.config as TrainConfig;
  $('ckpt-info').textContent = `${file.name}: ${info.kind === 'gpt' ? `GPT ${c.n_layer} layers × ${c.n_head} heads × ${c.n_embd}, block ${c.block_size}` : 'bigram'}, ` +
    `${(info.params / 1e6).toFixed(2)}M parameters, ${info.tokenizer} tokenizer, trained ${info.iter} iterations.`;
  checkpointOpened(c, info.iter);
  say(`opened ${file.name}: sample from it (tab 5) or continue training it (tab 4)`);
  app.refresh();
}

export function initCheckpoints(): void {
  const download = $<HTMLButtonElement>('ckpt-download');
  app.changed.push(() => { download.disabled = !app.hasModel || app.training; });
  download.addEventListener('click', async () => {
    const bytes = await attempt('saving the checkpoint', () => app.client.call.saveCheckpoint());
    if (!bytes) return;
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'ckpt.safetensors';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    say(`ckpt.safetensors: ${(bytes.length / 1e6).toFixed(1)} MB; yorick sample --out_dir=DIR reads it from DIR/ckpt.safetensors`);
  });
  $<HTMLInputElement>('ckpt-file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void open(f);
  });
  // a .safetensors file dropped anywhere opens it
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    const f = e.dataTransfer?.files[0];
    if (!f || !f.name.endsWith('.safetensors')) return;
    e.preventDefault();
    void open(f);
  });
}

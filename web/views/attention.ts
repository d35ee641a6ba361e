// 6 Attention: the weights of any layer and head for a prompt, as a heatmap.
import { $, app, attempt, h, say } from '../app.js';

let last: { pieces: string[]; nLayer: number; nHead: number; maps: Float32Array[] } | null = null;

function fillSelect(id: string, n: number): void {
  const sel = $<HTMLSelectElement>(id);
  const keep = Math.min(Number(sel.value) || 0, n - 1);
  sel.replaceChildren(...Array.from({ length: n }, (_, i) => h('option', { value: String(i), text: String(i) })));
  sel.value = String(keep);
}

async function draw(): Promise<void> {
  if (!last) return;
  const layer = Number($<HTMLSelectElement>('att-layer').value), head = Number($<HTMLSelectElement>('att-head').value);
  const T = last.pieces.length;
  const weights = last.maps[layer].subarray(head * T * T, (head + 1) * T * T);
  const { renderHeatmap } = await import('../chart.js');
  await renderHeatmap($('att-chart'), last.pieces, weights, `layer ${layer}, head ${head}`);
}

export function initAttention(): void {
  const show = $<HTMLButtonElement>('att-show');
  app.changed.push(() => { show.disabled = !app.hasModel || app.training || !app.isGpt; });
  show.addEventListener('click', async () => {
    const r = await attempt('computing attention', () => app.client.call.attention({ prompt: $<HTMLTextAreaElement>('att-prompt').value }));
    if (!r) return;
    last = r;
    fillSelect('att-layer', r.nLayer);
    fillSelect('att-head', r.nHead);
    await draw();
    say(`attention over ${r.pieces.length} tokens: ${r.nLayer} layers × ${r.nHead} heads`);
  });
  $('att-layer').addEventListener('change', () => void draw());
  $('att-head').addEventListener('change', () => void draw());
}

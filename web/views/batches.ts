// 3 Batches: get_batch as a grid of x and y, and one row's context -> target pairs.
import { $, app, attempt, h, showPiece } from '../app.js';

let last: { x: number[]; y: number[]; xPieces: string[]; yPieces: string[]; B: number; T: number } | null = null;

function grid(table: HTMLElement, ids: number[], pieces: string[], B: number, T: number): void {
  table.replaceChildren(...Array.from({ length: B }, (_, b) => h('tr', {},
    ...Array.from({ length: T }, (_, t) => h('td', { title: `id ${ids[b * T + t]}` }, showPiece(pieces[b * T + t]), h('small', { text: String(ids[b * T + t]) }))))));
}

function showRow(b: number): void {
  if (!last) return;
  const { xPieces, yPieces, x, y, T } = last;
  for (const id of ['grid-x', 'grid-y']) [...$(id).querySelectorAll('tr')].forEach((tr, i) => tr.classList.toggle('selected', i === b));
  const pairs = Array.from({ length: T }, (_, t) => {
    const ctx = xPieces.slice(b * T, b * T + t + 1).map(showPiece).join('');
    const ids = x.slice(b * T, b * T + t + 1).join(', ');
    return h('li', { text: `when the input is "${ctx}" [${ids}], the target is "${showPiece(yPieces[b * T + t])}" (${y[b * T + t]})` });
  });
  $('pairs').replaceChildren(...pairs);
}

export function initBatches(): void {
  const button = $<HTMLButtonElement>('get-batch');
  app.changed.push(() => { button.disabled = !app.tokenizer; });
  const rowSelect = $<HTMLSelectElement>('batch-row');
  rowSelect.addEventListener('change', () => showRow(Number(rowSelect.value)));
  button.addEventListener('click', async () => {
    const B = Number($<HTMLInputElement>('batch-size').value), T = Number($<HTMLInputElement>('block-size').value);
    const r = await attempt('get_batch', () => app.client.call.batch({
      batchSize: B, blockSize: T, seed: Number($<HTMLInputElement>('batch-seed').value), split: $<HTMLSelectElement>('batch-split').value as 'train' | 'val',
    }));
    if (!r) return;
    last = { ...r, B, T };
    grid($('grid-x'), r.x, r.xPieces, B, T);
    grid($('grid-y'), r.y, r.yPieces, B, T);
    rowSelect.replaceChildren(...Array.from({ length: B }, (_, b) => h('option', { value: String(b), text: String(b) })));
    showRow(0);
  });
}

// 2 Tokens: the text as colored tokens for each tokenizer, counts side by side, BPE merges live.
import { $, app, attempt, h, say } from '../app.js';

function renderPreview(pieces: string[], ids: number[]): void {
  const box = $('token-preview');
  box.replaceChildren(...pieces.map((p, i) => h('span', { class: `t${i % 6}`, title: `id ${ids[i]}`, text: p })));
}

export function initTokens(): void {
  const select = $<HTMLSelectElement>('tokenizer');
  const sizeLabel = $('bpe-size-label');
  const showSize = () => { sizeLabel.hidden = select.value !== 'bpe'; };
  select.addEventListener('change', showSize);
  showSize();
  const list = $('merge-list');
  app.onEvent((e) => {
    if (e.type !== 'merges') return;
    list.append(...e.merges.map((m) => h('li', { text: `${JSON.stringify(m.piece)} ×${m.count}` })));
    say(`training BPE: ${e.done} of ${e.total} merges`);
  });
  const button = $<HTMLButtonElement>('tokenize');
  app.changed.push(() => { button.disabled = !app.hasText; });
  button.addEventListener('click', async () => {
    const name = select.value;
    const vocabSize = Number($<HTMLInputElement>('bpe-size').value);
    if (name === 'bpe') {
      $('merges').hidden = false;
      list.replaceChildren();
    }
    button.disabled = true;
    say(`tokenizing with ${name}…`);
    const r = await attempt('tokenizing', () => app.client.call.tokenize({ tokenizer: name, vocabSize, previewChars: 3000 }));
    button.disabled = false;
    if (!r) return;
    const label = name === 'bpe' ? `bpe ${vocabSize}` : name;
    const total = r.trainTokens + r.valTokens;
    const row = h('tr', { 'data-tokenizer': label },
      h('td', { text: label }), h('td', { text: r.vocabSize.toLocaleString('en-US') }),
      h('td', { class: 'count', text: `${total.toLocaleString('en-US')} (${r.trainTokens.toLocaleString('en-US')} + ${r.valTokens.toLocaleString('en-US')})` }),
      h('td', { text: (r.chars / total).toFixed(2) }), h('td', { text: `${(r.ms / 1000).toFixed(2)} s` }));
    const body = $('token-counts').querySelector('tbody')!;
    body.querySelector(`tr[data-tokenizer="${label}"]`)?.remove();
    body.append(row);
    renderPreview(r.preview.pieces, r.preview.ids);
    app.tokenizer = label;
    say(`${label}: ${total.toLocaleString('en-US')} tokens; the batches and the model now use these tokens`);
    app.refresh();
  });
}

// 5 Sample: text streamed as it is generated (temperature, top-k, top-p, seed, prompt) and the
// next-token probabilities as bars.
import { $, app, attempt, h, say, showPiece } from '../app.js';

/** An optional number field: empty or "none" is null. */
function optional(id: string, what: string): number | null {
  const v = $<HTMLInputElement>(id).value.trim();
  if (v === '' || v === 'none') return null;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${what} must be a number or empty, got ${JSON.stringify(v)}`);
  return n;
}

function samplingOptions() {
  return {
    temperature: Number($<HTMLInputElement>('temperature').value),
    topK: optional('top-k', 'top_k'),
    topP: optional('top-p', 'top_p'),
  };
}

export function initSample(): void {
  const out = $('sample-out');
  const go = $<HTMLButtonElement>('sample'), stop = $<HTMLButtonElement>('sample-stop'), bars = $<HTMLButtonElement>('next-probs');
  let sampling = false;
  app.changed.push(() => {
    go.disabled = !app.hasModel || app.training || sampling;
    bars.disabled = !app.hasModel || app.training || sampling;
    stop.disabled = !sampling;
  });
  app.onEvent((e) => {
    if (e.type === 'text' && sampling) out.textContent += e.text;
  });
  go.addEventListener('click', async () => {
    let opts;
    try {
      opts = samplingOptions();
    } catch (e) {
      return say((e as Error).message, true);
    }
    out.textContent = '';
    delete out.dataset.done;
    sampling = true;
    app.refresh();
    say('sampling…');
    const text = await attempt('sampling', () => app.client.call.sample({
      prompt: $<HTMLTextAreaElement>('prompt').value, maxNewTokens: Number($<HTMLInputElement>('max-new').value),
      seed: Number($<HTMLInputElement>('sample-seed').value), ...opts,
    }));
    sampling = false;
    if (text !== undefined) {
      out.textContent = text; // the whole sample, exactly as generated
      out.dataset.done = 'true';
      say(`sampled ${text.length} characters`);
    }
    app.refresh();
  });
  stop.addEventListener('click', () => void app.client.call.stopSampling());
  bars.addEventListener('click', async () => {
    let opts;
    try {
      opts = samplingOptions();
    } catch (e) {
      return say((e as Error).message, true);
    }
    const prompt = $<HTMLTextAreaElement>('prompt').value;
    const top = await attempt('computing the probabilities', () => app.client.call.nextTokens({ prompt, ...opts, k: 20 }));
    if (!top) return;
    const max = top[0]?.p || 1;
    $('probs').replaceChildren(h('div', { class: 'note', text: 'token' }), h('div', { class: 'note', text: `after ${JSON.stringify(prompt.slice(-30))}` }), h('div', { class: 'note num', text: 'p' }),
      ...top.flatMap((t) => [
        h('div', { title: `id ${t.id}`, text: showPiece(t.piece) }),
        h('div', {}, h('div', { class: 'bar', style: `width: ${(100 * t.p) / max}%` })),
        h('div', { class: 'num', text: t.p.toFixed(4) }),
      ]));
    say('the bars are the distribution the next token is drawn from, with these temperature, top_k and top_p');
  });
}

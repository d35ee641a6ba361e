// The compute backend, on the Train tab: auto (WebGPU on a hardware GPU, else wasm with threads
// where the page is cross-origin isolated, else single-thread wasm), or the visitor's pick.
// shakespeare_char (6 layers × 384) is offered only on WebGPU.
import { $, app, attempt, say } from '../app.js';

/** What each choice of the select asks the worker for (its backend names, in order). */
const CHOICES: Record<string, string | string[] | undefined> = { auto: undefined, webgpu: 'webgpu', wasm: ['wasm-threads', 'wasm'] };

function isolation(): string {
  return crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated (no threads: serve it with yorick serve)';
}

/** Starts the backend of the select's choice; the status line and the note beside it say which. */
export async function useBackend(): Promise<boolean> {
  const choice = $<HTMLSelectElement>('train-backend').value;
  say(choice === 'auto' ? 'starting the compute backend…' : `starting ${choice}…`);
  const r = await attempt(`starting ${choice === 'auto' ? 'the compute backend' : choice}`, () => app.client.call.useBackend(CHOICES[choice]));
  if (!r) return false;
  app.backend = r.description;
  app.backendName = r.name;
  $('backend-in-use').textContent = `in use: ${r.description}`;
  say(`ready: compute on ${r.description}; the page is ${isolation()}.${r.tried.length ? ` (skipped: ${r.tried.join('; ')})` : ''}`);
  offerGpuConfigs();
  app.refresh();
  return true;
}

function offerGpuConfigs(): void {
  const select = $<HTMLSelectElement>('train-config');
  const big = select.querySelector<HTMLOptionElement>('option[value=shakespeare_char]')!;
  const gpu = app.backendName === 'webgpu';
  big.disabled = !gpu;
  big.textContent = gpu ? 'shakespeare_char (GPT, 6 layers × 384)' : 'shakespeare_char (needs WebGPU)';
  if (!gpu && select.value === 'shakespeare_char') {
    select.value = 'shakespeare_char_cpu';
    select.dispatchEvent(new Event('change'));
  }
}

export function initBackend(): void {
  const select = $<HTMLSelectElement>('train-backend');
  // a paused run continues on the backend it started on, so the choice waits for Stop or the end
  app.changed.push(() => { select.disabled = !app.trainIdle; });
  select.addEventListener('change', () => void useBackend());
}

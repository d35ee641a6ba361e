// What the views share: the worker's client, the page's state, small DOM helpers.
import type { LabEvent } from '../src/lab/lab.js';
import { LabClient, LabError } from '../src/lab/rpc.js';

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

/** Whitespace made visible in token cells: space as ␣, newline as ↵, tab as →. */
export function showPiece(piece: string): string {
  return piece.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\t/g, '→');
}

type Listener = (e: LabEvent) => void;
const listeners: Listener[] = [];

/** Page-wide state; `metrics` is read by the browser test. */
export const app = {
  client: null as unknown as LabClient,
  /** The backend in use, for people ("wasm with 4 threads"), and its name in the worker (webgpu, wasm-threads, wasm). */
  backend: '',
  backendName: '',
  hasText: false,
  tokenizer: '',
  /** A model exists (trained here or opened). */
  hasModel: false,
  isGpt: false,
  training: false,
  /** No run is going or paused (a paused run continues on its own backend). */
  trainIdle: true,
  /** A checkpoint was opened and not yet continued. */
  opened: false,
  metrics: { firstStepMs: null as number | null, steps: 0, evals: [] as { iter: number; val: number }[], chartPoints: 0, msPerIter: null as number | null, tokensPerSec: null as number | null },
  onEvent(fn: Listener): void {
    listeners.push(fn);
  },
  changed: [] as (() => void)[],
  /** Views re-check what their buttons may do. */
  refresh(): void {
    for (const f of this.changed) f();
  },
};

export function startWorker(): void {
  const worker = new Worker(new URL('./lab-worker.js', import.meta.url), { type: 'module' });
  app.client = new LabClient(worker, (e) => listeners.forEach((f) => f(e)));
  worker.addEventListener('error', (e) => say(`the worker failed: ${e.message}`, true));
}

export function say(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', error);
}

/** Runs an action for a button: errors from the worker show in the status line (input errors as they are). */
export async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    const msg = e instanceof LabError && e.user ? e.message : `${what} failed: ${(e as Error).message}`;
    say(msg, true);
    return undefined;
  }
}

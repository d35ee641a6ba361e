// The page: tabs for the lecture's steps, each a view in views/; a Web Worker (lab-worker.ts)
// does the work.
import { $, app, startWorker } from './app.js';
import { initBackend, useBackend } from './views/backend.js';
import { initAttention } from './views/attention.js';
import { initBatches } from './views/batches.js';
import { initCheckpoints } from './views/checkpoints.js';
import { initSample } from './views/sample.js';
import { initText } from './views/text.js';
import { initTokens } from './views/tokens.js';
import { initTrain } from './views/train.js';

function initTabs(): void {
  const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role=tab]')];
  const select = (tab: HTMLButtonElement, focus: boolean) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')!).hidden = !on;
    }
    if (focus) tab.focus();
    history.replaceState(null, '', `#${tab.id.slice(4)}`);
  };
  tabs.forEach((t, i) => {
    t.addEventListener('click', () => select(t, false));
    t.addEventListener('keydown', (e) => {
      const k = e.key;
      const j = k === 'ArrowRight' ? (i + 1) % tabs.length : k === 'ArrowLeft' ? (i - 1 + tabs.length) % tabs.length : k === 'Home' ? 0 : k === 'End' ? tabs.length - 1 : -1;
      if (j >= 0) {
        e.preventDefault();
        select(tabs[j], true);
      }
    });
  });
  // Alt+1..7 from anywhere
  document.addEventListener('keydown', (e) => {
    if (e.altKey && !e.ctrlKey && !e.metaKey && e.key >= '1' && e.key <= String(tabs.length)) {
      e.preventDefault();
      select(tabs[Number(e.key) - 1], true);
    }
  });
  const start = tabs.find((t) => t.id === `tab-${location.hash.slice(1)}`);
  if (start) select(start, false);
}

/** Keeps the site for offline use (service workers run on https and localhost only). */
function registerOffline(): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('sw.js').catch((e) => console.warn(`no offline copy: ${(e as Error).message}`));
}

async function main(): Promise<void> {
  (globalThis as unknown as { __yorick: typeof app.metrics }).__yorick = app.metrics; // read by the browser test
  registerOffline();
  initTabs();
  startWorker();
  const site = await fetch('site.json').then((r) => (r.ok ? r.json() : null)).catch(() => null);
  initText(site?.shakespeare !== false);
  initTokens();
  initBatches();
  initTrain();
  initSample();
  initAttention();
  initCheckpoints();
  app.refresh();
  initBackend();
  await useBackend();
  if (site?.code) $('footer-note').textContent = `This page: ${(site.code.gzip / 1024).toFixed(0)} kB of code gzipped (${(site.codeWithoutChart.gzip / 1024).toFixed(0)} kB before the first chart). Nothing leaves your machine.`;
  app.refresh();
}

void main();

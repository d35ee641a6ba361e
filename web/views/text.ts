// 1 Text: Tiny Shakespeare with one click, pasted text, or a dropped / opened file.
import { $, app, attempt, say } from '../app.js';

async function useText(text: string, from: string): Promise<void> {
  const r = await attempt('loading the text', () => app.client.call.setText(text));
  if (!r) return;
  app.hasText = true;
  app.tokenizer = '';
  $('text-info').textContent = `${from}: ${r.chars.toLocaleString('en-US')} characters. First lines:\n`;
  const pre = document.createElement('pre');
  pre.className = 'sample';
  pre.textContent = text.slice(0, 400);
  $('text-info').append(pre);
  say(`text loaded (${r.chars.toLocaleString('en-US')} characters); next: tokenize it (tab 2)`);
  app.refresh();
}

/** The bytes of a dropped or opened file as UTF-8 text, or an error that says so. */
export async function readTextFile(file: File): Promise<string> {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
  } catch {
    throw new Error(`${file.name} is not UTF-8 text`);
  }
}

export function initText(shakespeareServed: boolean): void {
  const button = $<HTMLButtonElement>('use-shakespeare');
  if (!shakespeareServed) {
    button.disabled = true;
    const note = $('shakespeare-note');
    note.hidden = false;
    note.textContent = 'Tiny Shakespeare was not found when this site was built (data/shakespeare_char/input.txt): paste a text or open a file instead.';
  }
  button.addEventListener('click', async () => {
    say('fetching Tiny Shakespeare…');
    const res = await fetch('data/tinyshakespeare.txt').catch(() => null);
    if (!res?.ok) return say('Tiny Shakespeare is not served beside this page: paste a text or open a file instead', true);
    await useText(await res.text(), 'Tiny Shakespeare');
  });
  $('use-pasted').addEventListener('click', () => {
    const text = $<HTMLTextAreaElement>('text-input').value;
    if (!text) return say('the box is empty: paste some text first', true);
    void useText(text, 'your text');
  });
  const openFile = async (file: File) => {
    const text = await attempt('reading the file', () => readTextFile(file));
    if (text !== undefined) await useText(text, file.name);
  };
  $<HTMLInputElement>('text-file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void openFile(f);
  });
  const box = $('view-text');
  box.addEventListener('dragover', (e) => e.preventDefault());
  box.addEventListener('drop', (e) => {
    e.preventDefault();
    e.stopPropagation();
    const f = e.dataTransfer?.files[0];
    if (f) void openFile(f);
  });
}

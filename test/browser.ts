// What the browser tests share: Debian's Chromium, the flags a closed network and a root user
// need (see .ci/run), those that give WebGPU a SwiftShader adapter, and playwright-core.
import { existsSync } from 'node:fs';
import { shakespeareSkip } from './helpers.js';

export const CHROMIUM = process.env.YORICK_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
/** WebGPU on SwiftShader's Vulkan; a machine with a GPU may give its hardware adapter instead. */
export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];

export type Playwright = typeof import('playwright-core');
export let playwright: Playwright | null = null;
try {
  playwright = await import('playwright-core');
} catch { /* reported in pageSkip */ }

/** Why a page test cannot run here (Chromium, playwright-core, the text), or false. */
export const pageSkip: string | false = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does, or set YORICK_CHROMIUM)`
  : !playwright ? 'the npm package playwright-core is not installed (npm ci)'
    : shakespeareSkip;

/** A page.waitForFunction expression: true once #status matches re; a status shown as an error throws. */
export const statusIs = (re: RegExp) => `(() => { const s = document.getElementById('status'); if (s.classList.contains('error')) throw new Error(s.textContent); return ${re}.test(s.textContent); })()`;

/** Loads Tiny Shakespeare with one click and tokenizes it (the Text and Tokens tabs); returns on the Tokens tab. */
export async function loadAndTokenize(page: import('playwright-core').Page, tokenizer: string, timeout = 30_000): Promise<void> {
  await page.click('#use-shakespeare');
  await page.waitForFunction(statusIs(/^text loaded/));
  await page.click('#tab-tokens');
  await page.selectOption('#tokenizer', tokenizer);
  await page.click('#tokenize');
  await page.waitForSelector(`#token-counts tr[data-tokenizer=${tokenizer}]`, { timeout });
}

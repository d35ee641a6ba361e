import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { serveStatic } from '../node/serve.js';
import { intFlag, parseArgs, takeFlags } from './args.js';

export const serveUsage = `usage: yorick serve [--dir DIR] [--port N] [--host HOST]

Serves the web page built by \`npm run web\` (default dir dist-web, port 8080, host 127.0.0.1)
with the Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy headers that make the page
cross-origin isolated, so the wasm backend can use threads. Open the address it prints.`;

export async function serveCommand(argv: string[]): Promise<void> {
  const { flags, positional } = parseArgs(argv);
  if (flags.help) return void console.log(serveUsage);
  if (positional.length) throw new UserError(`yorick serve: unexpected argument "${positional[0]}"\n${serveUsage}`);
  const f = takeFlags(flags, ['dir', 'port', 'host'] as const, 'serve');
  const dir = f.dir ?? 'dist-web';
  if (!existsSync(join(dir, 'index.html'))) throw new UserError(`no page in ${dir} (missing index.html); build it with: npm run web`);
  const port = intFlag(f.port, 'port', 8080, 0);
  const host = f.host ?? '127.0.0.1';
  let server;
  try {
    server = await serveStatic(dir, { port, host });
  } catch (e) {
    throw new UserError(`cannot listen on ${host}:${port}: ${(e as Error).message}`);
  }
  const addr = server.address() as AddressInfo;
  console.log(`serving ${dir} at http://${host === '0.0.0.0' ? 'localhost' : host}:${addr.port}/ (cross-origin isolated; Ctrl-C stops)`);
}

/**
 * A static file server for the web page (dist-web/): GET and HEAD only, from one folder, with
 * the headers that make the page cross-origin isolated (SharedArrayBuffer, so wasm threads):
 * Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.txt': 'text/plain; charset=utf-8', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.safetensors': 'application/octet-stream', '.tiktoken': 'text/plain; charset=utf-8',
};

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The file a URL path names inside dir (index.html for a folder), or null outside it or missing. */
export function resolveStaticPath(dir: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  const base = resolve(dir);
  const full = normalize(join(base, path));
  if (full !== base && !full.startsWith(base + sep)) return null;
  const file = existsSync(full) && statSync(full).isDirectory() ? join(full, 'index.html') : full;
  return existsSync(file) && statSync(file).isFile() ? file : null;
}

/** Serves dir at host:port (port 0: any free port); resolves once listening. */
export function serveStatic(dir: string, opts: { port?: number; host?: string; isolate?: boolean } = {}): Promise<Server> {
  const isolate = opts.isolate ?? true;
  const server = createServer((req, res) => {
    const headers: Record<string, string> = isolate ? { ...ISOLATION_HEADERS } : {};
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    const file = resolveStaticPath(dir, req.url ?? '/');
    if (!file) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': String(statSync(file).size),
      'Cache-Control': 'no-cache',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => resolvePromise(server));
  });
}

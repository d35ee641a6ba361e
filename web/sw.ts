// The page's service worker: once the page has loaded, every file of the site (the list and a
// version come from the build, see scripts/build-web.mjs) is in the cache, and the page opens and
// works without a network. Cache first; a new build (a new version) replaces the old cache.
const worker = globalThis as unknown as {
  addEventListener(type: 'install' | 'activate' | 'fetch', listener: (event: never) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  location: { origin: string };
};
declare const SITE_VERSION: string;
declare const SITE_FILES: string[];

const CACHE = `yorick-${SITE_VERSION}`;

interface ExtendableEvent { waitUntil(p: Promise<unknown>): void }
interface FetchEvent extends ExtendableEvent { request: Request; respondWith(r: Promise<Response>): void }

worker.addEventListener('install', (event: ExtendableEvent) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(['./', ...SITE_FILES])).then(() => worker.skipWaiting()));
});

worker.addEventListener('activate', (event: ExtendableEvent) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('yorick-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => worker.clients.claim()));
});

worker.addEventListener('fetch', (event: FetchEvent) => {
  const { request } = event;
  if (request.method !== 'GET' || !request.url.startsWith(worker.location.origin)) return;
  // the cached response keeps the headers it was served with (COOP/COEP for wasm threads)
  event.respondWith(caches.open(CACHE).then(async (cache) => (await cache.match(request, { ignoreSearch: true })) ?? fetch(request)));
});

// tabshard's service worker: the app shell offline. Same-origin GETs below this worker's scope
// (the built app: HTML, hashed JS chunks, the engine worker, registry.json) are answered from the
// network when it answers and from the cache otherwise, and every good answer refreshes the cache.
// Model blocks (/ipfs/) never go through the cache: they are verified into IndexedDB by the app.
// Plain JS (no build step) so that it sits next to index.html at a stable URL, relative to any base.
const CACHE = 'tabshard-shell-v1';
const scope = new URL(self.registration.scope);
const SHELL = ['./', './index.html', './registry.json'].map((u) => new URL(u, scope).href);

function cacheable(url) {
  return url.origin === scope.origin && url.href.startsWith(scope.href) && !url.pathname.includes('/ipfs/');
}

async function put(request, response) {
  if (response.ok && response.type === 'basic') await (await caches.open(CACHE)).put(request, response);
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((c) => Promise.all(SHELL.map((u) => c.add(u).catch(() => undefined)))).then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('tabshard-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// The page lists what its first visit loaded before this worker controlled it.
self.addEventListener('message', (event) => {
  const urls = event.data && event.data.type === 'cache-urls' ? event.data.urls : [];
  event.waitUntil(
    caches.open(CACHE).then((c) =>
      Promise.all(urls.filter((u) => cacheable(new URL(u))).map((u) => c.match(u).then((hit) => hit || c.add(u).catch(() => undefined)))),
    ),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || !cacheable(url) || req.headers.has('range')) return;
  event.respondWith(
    (async () => {
      try {
        const res = await fetch(req);
        event.waitUntil(put(req, res.clone()).catch(() => undefined));
        return res;
      } catch (err) {
        // Offline: a page navigation falls back to the shell's index.html.
        const hit = (await caches.match(req, { ignoreSearch: req.mode === 'navigate' })) ||
          (req.mode === 'navigate' ? await caches.match(new URL('./', scope).href) : undefined);
        if (hit) return hit;
        throw err;
      }
    })(),
  );
});

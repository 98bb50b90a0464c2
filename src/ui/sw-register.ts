// Register the service worker that keeps the app shell available offline (public/sw.js), then
// hand it the URLs this first visit already loaded (they were fetched before it controlled us).
// Model blocks are not its business: they live in IndexedDB, verified.
export async function registerServiceWorker(): Promise<void> {
  const sw = navigator.serviceWorker as ServiceWorkerContainer | undefined;
  if (!sw) return; // not offered here (some embedded engines, non-secure contexts)
  try {
    await sw.register(new URL('sw.js', document.baseURI), { scope: './' });
    const reg = await sw.ready;
    const here = new URL('./', document.baseURI).href;
    const urls = new Set([here, new URL('registry.json', document.baseURI).href]);
    for (const e of performance.getEntriesByType('resource')) {
      if (e.name.startsWith(here) && !e.name.includes('/ipfs/')) urls.add(e.name.split('#')[0]);
    }
    reg.active?.postMessage({ type: 'cache-urls', urls: [...urls] });
  } catch {
    // Offline use is a bonus: the app works online without it (private modes may refuse it).
  }
}

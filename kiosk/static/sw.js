/* Hài Lòng kiosk service worker (scope /kiosk/): caches the kiosk shell so it starts without a network.
   Answers are never handled here: they live in IndexedDB and are replayed by kiosk.js. */
'use strict';
const CACHE = 'hailong-kiosk-__APP_VERSION__';
const SHELL = ['/kiosk/', '/kiosk/enrol', '/kiosk/static/kiosk.js', '/kiosk/static/kiosk.css', '/kiosk/static/icon.svg', '/kiosk/manifest.webmanifest', '/static/site.css'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('hailong-kiosk-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/kiosk/api/')) return;
  if (!SHELL.includes(url.pathname)) return;
  // network first (so updates arrive), the cached shell when offline
  event.respondWith(
    fetch(req).then((resp) => {
      if (resp.ok) { const copy = resp.clone(); caches.open(CACHE).then((c) => c.put(url.pathname, copy)); }
      return resp;
    }).catch(() => caches.match(url.pathname).then((hit) => hit || Response.error()))
  );
});

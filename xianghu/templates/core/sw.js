// The service worker of the xianghu web app (rendered by core/pwa.py).
// Network first for pages, so people always see the live state when they can; the
// pages of OFFLINE_PAGES are kept when visited and shown when the network is gone.
// Static files: cache first (their URLs carry a hash). Other requests are not touched.
const VERSION = "{{ version }}";
const SHELL = "xh-shell-" + VERSION;
const PAGES = "xh-pages";
const STATICS = {{ statics|safe }};
const OFFLINE_PAGES = {{ pages|safe }};
const OFFLINE = {{ offline|safe }};
const STATIC_PREFIX = {{ static_prefix|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL).then((cache) => cache.addAll([...STATICS, OFFLINE])).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("xh-shell-") && k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  // Sent when nobody is logged in: pages kept for one user are not shown to the next.
  if (event.data === "forget-pages") {
    event.waitUntil(caches.delete(PAGES));
  }
});

async function page(request) {
  const url = new URL(request.url);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected && OFFLINE_PAGES.includes(url.pathname) && url.search === "") {
      const cache = await caches.open(PAGES);
      await cache.put(url.pathname, response.clone());
    }
    return response;
  } catch (error) {
    const kept = await caches.match(url.pathname, { cacheName: PAGES });
    return kept || (await caches.match(OFFLINE)) || Response.error();
  }
}

async function asset(request) {
  const kept = await caches.match(request);
  if (kept) { return kept; }
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(SHELL);
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (url.pathname.startsWith(STATIC_PREFIX)) {
    event.respondWith(asset(request));
  }
});

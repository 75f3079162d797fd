// Safqa's service worker. The view core.pwa.service_worker serves it at /sw.js (scope /) and puts
// self.SAFQA_SW before it: {version, static: [urls], offline: {lang: url}, defaultLanguage, staticPrefix}.
//
// What it keeps: static files (stylesheet, scripts, font, icons) and the two translated offline pages.
// What it never keeps: HTML of signed-in pages, HTMX partials and API answers. Those always go to the
// network, so after a sign-out and another member's sign-in nothing of the first member can be shown.
// Sign-out also empties its caches (a "clear" message from shell.js and the Clear-Site-Data header).
"use strict";

const CONFIG = self.SAFQA_SW;
const CACHE = `safqa-shell-${CONFIG.version}`;
const LANGUAGE_KEY = "/__safqa-offline-language";

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll([...CONFIG.static, ...Object.values(CONFIG.offline)]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function offlineLanguage() {
  const cache = await caches.open(CACHE);
  const stored = await cache.match(LANGUAGE_KEY);
  const lang = stored ? await stored.text() : CONFIG.defaultLanguage;
  return CONFIG.offline[lang] ? lang : CONFIG.defaultLanguage;
}

async function pageOrOffline(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const cache = await caches.open(CACHE);
    const page = await cache.match(CONFIG.offline[await offlineLanguage()]);
    if (page) return page;
    throw error;
  }
}

async function staticFile(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Network only; the answer is not stored. Offline: the translated offline page.
    event.respondWith(pageOrOffline(request));
  } else if (url.pathname.startsWith(CONFIG.staticPrefix)) {
    event.respondWith(staticFile(request));
  }
  // Everything else (HTMX partials, API, the manifest) goes to the network untouched.
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "clear") {
    event.waitUntil(
      (async () => {
        for (const name of await caches.keys()) await caches.delete(name);
      })(),
    );
  } else if (data.type === "language" && CONFIG.offline[data.lang]) {
    // The page tells which language to show offline (a worker cannot read the language cookie);
    // after a sign-out emptied the caches, the shell is fetched again.
    event.waitUntil(
      (async () => {
        const cache = await caches.open(CACHE);
        await cache.put(LANGUAGE_KEY, new Response(data.lang));
        if (!(await cache.match(CONFIG.offline[data.lang]))) {
          await cache.addAll([...CONFIG.static, ...Object.values(CONFIG.offline)]);
        }
      })(),
    );
  }
});

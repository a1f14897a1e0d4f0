// casebook's service worker. /sw.js (casebook/offline.py) sets self.CASEBOOK_OFFLINE and
// loads Workbox (from npm), idb and outbox.js before this file. Workbox does all caching;
// this file says what is kept and for whom:
// - the static files every page needs, precached at install (Workbox precaching);
// - the outbox page and the scripts' texts, which hold nothing of anyone's ("shell");
// - pages the server marks as the signed-in worker's own (X-Casebook-Offline: <their id>:
//   Today, the caseload, their open cases, the contact form), in a cache of that worker's,
//   which the pages delete at sign-out, at the end of a session and when someone else signs
//   in (page.js). Nothing else is cached.
// A form post of the outbox's kinds that cannot reach the server is kept in the outbox and
// sent later. The worker shows no text: the pages do, in the worker's language.
/* global workbox, casebookOutbox */
(function () {
  "use strict";

  const config = self.CASEBOOK_OFFLINE;
  const outbox = casebookOutbox;
  workbox.setConfig({ modulePathPrefix: config.modulePathPrefix, debug: false });
  // Every module is loaded now: a service worker may load scripts only while it starts.
  const { core, routing, strategies, expiration, precaching, cacheableResponse } = workbox;

  const SHELL_CACHE = "casebook-shell";
  const STATIC_CACHE = "casebook-static";
  const PAGES_PREFIX = "casebook-pages-";
  const OUTBOX_HEADER = "X-Casebook-Outbox";

  core.setCacheNameDetails({ prefix: "casebook" });
  core.clientsClaim();
  self.addEventListener("install", () => self.skipWaiting());

  // --- Static files and the shell --------------------------------------------------------

  precaching.precacheAndRoute(config.precache);
  precaching.cleanupOutdatedCaches();

  const shell = new strategies.NetworkFirst({
    cacheName: SHELL_CACHE,
    networkTimeoutSeconds: 4,
    plugins: [new cacheableResponse.CacheableResponsePlugin({ statuses: [200] })],
  });
  const shellPaths = new Set(config.shell);
  routing.registerRoute(
    ({ url, request }) => url.origin === self.location.origin && shellPaths.has(url.pathname) && !url.search && request.method === "GET",
    shell
  );
  self.addEventListener("install", (event) => {
    // The shell is there before the first time it is needed (Workbox's warm-cache recipe).
    event.waitUntil(Promise.all(config.shell.map(
      (url) => shell.handleAll({ event, request: new Request(url, { credentials: "same-origin" }) })[1]
    )));
  });

  routing.registerRoute(
    ({ url }) => url.origin === self.location.origin && url.pathname.startsWith(config.staticUrl),
    new strategies.StaleWhileRevalidate({
      cacheName: STATIC_CACHE,
      plugins: [
        new cacheableResponse.CacheableResponsePlugin({ statuses: [200] }),
        new expiration.ExpirationPlugin({ maxEntries: 60, maxAgeSeconds: 30 * 86400 }),
      ],
    })
  );

  // --- The signed-in worker's own pages --------------------------------------------------

  const anyQuery = new Set(config.anyQuery);

  // The new-contact form is read for any ?followup=&client= (the page fills them in from its
  // address), and kept only without them.
  const contactFormKey = {
    cacheKeyWillBeUsed: async ({ request, mode }) => {
      const url = new URL(request.url);
      if (mode === "read" && anyQuery.has(url.pathname) && url.search) {
        return `${url.origin}${url.pathname}`;
      }
      return request;
    },
    cacheWillUpdate: async ({ request, response }) => {
      const url = new URL(request.url);
      return anyQuery.has(url.pathname) && url.search ? null : response;
    },
  };

  // The page learns that it is the phone's copy, and of when (page.js shows it).
  const markServed = {
    cachedResponseWillBeUsed: async ({ request, cachedResponse }) => {
      if (cachedResponse) {
        const path = new URL(request.url).pathname;
        await outbox.markServed(path, cachedResponse.headers.get("Date") || "");
      }
      return cachedResponse;
    },
  };

  const pageStrategies = new Map();
  const pagesOf = (userId) => {
    if (!pageStrategies.has(userId)) {
      pageStrategies.set(userId, new strategies.NetworkFirst({
        cacheName: PAGES_PREFIX + userId,
        networkTimeoutSeconds: 4,
        matchOptions: { ignoreVary: true },
        plugins: [
          // Only a page the server marked as this worker's own.
          new cacheableResponse.CacheableResponsePlugin({
            statuses: [200],
            headers: { "X-Casebook-Offline": String(userId) },
          }),
          // A session lasts at most 12 hours (settings.SESSION_MAX_HOURS).
          new expiration.ExpirationPlugin({ maxEntries: 80, maxAgeSeconds: 12 * 3600 }),
          contactFormKey,
          markServed,
        ],
      }));
    }
    return pageStrategies.get(userId);
  };

  routing.registerRoute(
    ({ request, url }) => request.mode === "navigate" && url.origin === self.location.origin && !url.pathname.startsWith("/admin/"),
    async (options) => {
      const userId = await outbox.currentUser();
      if (userId) return pagesOf(userId).handle(options);
      // Nobody signed in on this phone as far as it knows: nothing is kept. The first page
      // after a sign-in names its owner, and the next ones are kept for them.
      const response = await fetch(options.request);
      const owner = response.headers.get("X-Casebook-Offline");
      if (owner) await outbox.setCurrentUser(owner);
      return response;
    }
  );

  // A page that cannot be reached and is not kept: the outbox page, which lists what waits
  // to be sent and links to the pages that are kept.
  routing.setCatchHandler(async ({ request }) => {
    if (request.mode === "navigate") {
      const cache = await caches.open(SHELL_CACHE);
      const page = await cache.match(config.offlinePage);
      if (page) return page;
    }
    return Response.error();
  });

  // --- Form posts that cannot reach the server ---------------------------------------------

  const notifyPages = async (message) => {
    const pages = await self.clients.matchAll({ type: "window" });
    pages.forEach((page) => page.postMessage(message));
  };

  const SYNC_TAG = "casebook-outbox";
  const askForSync = async () => {
    try {
      if (self.registration.sync) await self.registration.sync.register(SYNC_TAG);
    } catch (error) {
      // No background sync here: the pages send when they open or come back online.
    }
  };

  const fieldsOf = async (request) => {
    const data = await request.formData();
    const fields = [];
    data.forEach((value, name) => {
      if (typeof value === "string") fields.push([name, value]);
    });
    return fields;
  };

  const network = new strategies.NetworkOnly({ networkTimeoutSeconds: 20 });

  const sendOrKeep = (kind) => async ({ request, event }) => {
    const copy = request.clone();
    let response;
    try {
      response = await network.handle({ request, event });
    } catch (error) {
      const userId = await outbox.currentUser();
      const item = await outbox.keep({
        userId,
        kind,
        url: request.url,
        fields: await fieldsOf(copy),
        offline: self.navigator.onLine === false,
      });
      await askForSync();
      await notifyPages({ type: "outbox-changed" });
      if (request.mode === "navigate") {
        return Response.redirect(`${config.offlinePage}?kept=${encodeURIComponent(item.id)}`, 303);
      }
      return new Response(null, { status: 202, headers: { "X-Casebook-Kept": item.id } });
    }
    if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
      // Saved: a copy of this form kept on the phone must not reuse its id.
      const fields = await fieldsOf(copy);
      const id = outbox.field(fields, "submission_id");
      await outbox.markUsed(id);
      if (id && (await outbox.get(id))) {
        await outbox.remove(id);
        await notifyPages({ type: "outbox-changed" });
      }
    }
    return response;
  };

  Object.entries(config.kinds).forEach(([kind, pattern]) => {
    const path = new RegExp(pattern);
    routing.registerRoute(
      ({ url, request }) => url.origin === self.location.origin && path.test(url.pathname) && !request.headers.has(OUTBOX_HEADER),
      sendOrKeep(kind),
      "POST"
    );
  });

  // Background sync: the browser wakes the worker once the connection is back, even with
  // no page open. A round that could not reach the server is retried by the browser later.
  self.addEventListener("sync", (event) => {
    if (event.tag !== SYNC_TAG) return;
    event.waitUntil((async () => {
      const userId = await outbox.currentUser();
      if (!userId) return;
      const result = await outbox.send(userId, config.sessionUrl);
      await notifyPages({ type: "outbox-changed" });
      if (result.offline) throw new Error("The server could not be reached.");
    })());
  });
})();

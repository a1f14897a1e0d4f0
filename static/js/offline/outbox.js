// The phone's outbox: records saved on the phone while the server could not be reached, kept
// in IndexedDB (through idb, from npm), and sending them when it can be reached again, oldest
// first and one at a time, each with its one-time submission id, so that a record sent twice
// is saved once (the server answers a repeat as it answered the first).
//
// Shared by the pages (page.js) and the service worker (sw.js, which loads it with
// importScripts): no DOM and no text here. What the server answered is kept as a code
// (core/offline.py); the pages say it in words, in the worker's language.
//
// An item: {id (the submission id), user_id, kind ("contact", "attempt", "note"), url,
// fields ([name, value] pairs, as typed), created_at (ms), state ("waiting" or
// "attention"), problem (a code), status (the HTTP status), location (where the saved
// record is)}.
(function (root) {
  "use strict";

  const DB_NAME = "casebook-offline";
  const LOCK = "casebook-outbox";
  // Ids of records already sent (or saved while online): a copy of a form kept on the
  // phone may carry one of them, and is then given a new id. Ids only, no client data.
  const USED_DAYS = 30;
  // Problem codes (core/offline.py).
  const SIGNED_OUT = "signed_out";
  // Fields never sent: the page's label for the outbox list, and the stale CSRF token.
  const LOCAL_FIELDS = new Set(["outbox_label", "csrfmiddlewaretoken"]);

  let opened;
  const db = () => {
    opened = opened || root.idb.openDB(DB_NAME, 1, {
      upgrade(database) {
        const outbox = database.createObjectStore("outbox", { keyPath: "id" });
        outbox.createIndex("user", "user_id");
        // "user": who is signed in on this phone; "served:<path>": a page just shown from
        // the service worker's copy, with the time it was synced.
        database.createObjectStore("meta");
        database.createObjectStore("used");
      },
    });
    return opened;
  };

  const newId = () => root.crypto.randomUUID();

  const withLock = (work) => {
    const locks = root.navigator && root.navigator.locks;
    return locks ? locks.request(LOCK, work) : work();
  };

  const field = (fields, name) => {
    const pair = fields.find(([key]) => key === name);
    return pair ? pair[1] : "";
  };

  const setField = (fields, name, value) => {
    const kept = fields.filter(([key]) => key !== name);
    kept.push([name, value]);
    return kept;
  };

  // --- Who is signed in on this phone -------------------------------------------------

  const currentUser = async () => (await (await db()).get("meta", "user")) || null;

  const setCurrentUser = async (userId) => {
    const database = await db();
    if (userId) await database.put("meta", String(userId), "user");
    else await database.delete("meta", "user");
  };

  // --- Pages shown from the phone's copy ----------------------------------------------

  const markServed = async (path, syncedAt) => {
    await (await db()).put("meta", { syncedAt, servedAt: Date.now() }, `served:${path}`);
  };

  // When this page was synced, if the service worker just showed it from its copy.
  const takeServed = async (path) => {
    const database = await db();
    const mark = await database.get("meta", `served:${path}`);
    if (!mark) return null;
    await database.delete("meta", `served:${path}`);
    return Date.now() - mark.servedAt < 60_000 ? mark : null;
  };

  // The worker's Today list as the new-contact form needs it offline (a follow-up's client).
  const rememberToday = async (names) => {
    await (await db()).put("meta", names, "today");
  };

  const todayName = async (followupId) => {
    const names = (await (await db()).get("meta", "today")) || {};
    return names[followupId] || "";
  };

  // What the pages kept about the signed-in worker, at sign-out and when the session ends.
  // The outbox stays: each record in it is sent only by the worker who saved it.
  const forgetPages = async () => {
    const database = await db();
    const keys = await database.getAllKeys("meta");
    await Promise.all(
      keys.filter((key) => key === "today" || String(key).startsWith("served:"))
        .map((key) => database.delete("meta", key))
    );
  };

  // --- The outbox ----------------------------------------------------------------------

  const markUsed = async (id) => {
    if (id) await (await db()).put("used", Date.now(), id);
  };

  const pruneUsed = async () => {
    const database = await db();
    const oldest = Date.now() - USED_DAYS * 86_400_000;
    let cursor = await database.transaction("used", "readwrite").store.openCursor();
    while (cursor) {
      if (cursor.value < oldest) await cursor.delete();
      cursor = await cursor.continue();
    }
  };

  // Keep a form's fields in the outbox. The same record kept again (a task opened and
  // sent while the connection dropped) replaces its earlier copy; a copy of a form whose
  // id was already used is given a new one. `offline`: the request cannot have reached
  // the server, so a new id is always safe.
  const keep = async ({ userId, kind, url, fields, offline = false }) => {
    const database = await db();
    let id = field(fields, "submission_id");
    const earlier = id ? await database.get("outbox", id) : null;
    const createdAt = earlier ? earlier.created_at : Date.now();
    if (!earlier && (!id || offline || (await database.get("used", id)))) id = newId();
    fields = setField(fields, "submission_id", id);
    if (kind !== "contact" && !field(fields, "saved_at")) {
      fields = setField(fields, "saved_at", new Date(createdAt).toISOString());
    }
    const item = {
      id,
      user_id: userId ? String(userId) : (earlier && earlier.user_id) || null,
      kind,
      url,
      fields,
      created_at: createdAt,
      state: "waiting",
      problem: "",
      status: 0,
      location: "",
    };
    await database.put("outbox", item);
    return item;
  };

  const items = async (userId) => {
    if (!userId) return [];
    const all = await (await db()).getAllFromIndex("outbox", "user", String(userId));
    return all.sort((a, b) => a.created_at - b.created_at);
  };

  const counts = async (userId) => {
    const all = await items(userId);
    return {
      waiting: all.filter((item) => item.state === "waiting").length,
      attention: all.filter((item) => item.state === "attention").length,
    };
  };

  const get = async (id) => (await db()).get("outbox", id);

  const remove = async (id) => (await db()).delete("outbox", id);

  const label = async (id, text) => {
    const database = await db();
    const item = await database.get("outbox", id);
    if (item && text) {
      item.fields = setField(item.fields, "outbox_label", text);
      await database.put("outbox", item);
    }
  };

  // --- Sending -------------------------------------------------------------------------

  // Who the server says is signed in, with a CSRF token to send with; null when it
  // cannot be reached.
  const session = async (sessionUrl) => {
    try {
      const response = await root.fetch(sessionUrl, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) return null;
      return await response.json();
    } catch (error) {
      return null;
    }
  };

  const post = (item, csrf) => {
    const body = new FormData();
    item.fields.forEach(([name, value]) => {
      if (!LOCAL_FIELDS.has(name)) body.append(name, value);
    });
    body.append("csrfmiddlewaretoken", csrf);
    return root.fetch(item.url, {
      method: "POST",
      body,
      credentials: "same-origin",
      redirect: "manual",
      cache: "no-store",
      headers: { "X-CSRFToken": csrf, "X-Casebook-Outbox": "1" },
    });
  };

  // Send this user's waiting records, oldest first, one at a time. Returns what happened:
  // {sent, attention, offline, signedOut}. A record the server refused to save becomes a
  // task for the worker ("attention"), kept with everything typed; nothing is dropped.
  const send = (userId, sessionUrl) => withLock(async () => {
    const result = { sent: 0, attention: 0, offline: false, signedOut: false, locations: [] };
    const waiting = (await items(userId)).filter((item) => item.state === "waiting");
    if (!waiting.length) return result;
    const who = await session(sessionUrl);
    if (!who) return { ...result, offline: true };
    if (String(who.user) !== String(userId)) return { ...result, signedOut: true };
    const database = await db();
    for (const item of waiting) {
      let response;
      try {
        response = await post(item, who.csrf);
      } catch (error) {
        return { ...result, offline: true };
      }
      const problem = response.headers.get("X-Casebook-Problem") || "";
      if (problem === SIGNED_OUT) return { ...result, signedOut: true };
      if (response.status === 204) {
        await markUsed(item.id);
        await database.delete("outbox", item.id);
        result.sent += 1;
        result.locations.push(response.headers.get("X-Casebook-Location") || "");
      } else if (problem) {
        item.state = "attention";
        item.problem = problem;
        item.status = response.status;
        await database.put("outbox", item);
        result.attention += 1;
      } else {
        // The server is in trouble (a 5xx, a limit): try again later, in the same order.
        return { ...result, offline: true };
      }
    }
    return result;
  });

  // Tasks the worker has resolved on their form (its one-time id is now recorded) leave
  // the outbox. Returns how many left.
  const resolveRecorded = async (userId, recordedUrl) => {
    const tasks = (await items(userId)).filter((item) => item.state === "attention");
    if (!tasks.length) return 0;
    const query = tasks.map((item) => `id=${encodeURIComponent(item.id)}`).join("&");
    let answer;
    try {
      const response = await root.fetch(`${recordedUrl}?${query}`, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) return 0;
      answer = await response.json();
    } catch (error) {
      return 0;
    }
    if (String(answer.user) !== String(userId)) return 0;
    const done = new Set(answer.recorded);
    const database = await db();
    let resolved = 0;
    for (const item of tasks) {
      if (done.has(item.id)) {
        await markUsed(item.id);
        await database.delete("outbox", item.id);
        resolved += 1;
      }
    }
    return resolved;
  };

  root.casebookOutbox = {
    counts,
    currentUser,
    field,
    forgetPages,
    get,
    items,
    keep,
    label,
    markServed,
    markUsed,
    newId,
    pruneUsed,
    rememberToday,
    remove,
    resolveRecorded,
    send,
    session,
    setCurrentUser,
    takeServed,
    todayName,
  };
})(self);

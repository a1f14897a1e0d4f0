// The installable app, on every page (templates/offline/_head.html) and on the outbox page:
// registers the service worker (sw.js), keeps the phone's data to the signed-in worker's own
// (another worker's copies are deleted at sign-in, the worker's own at sign-out and when the
// session ends), shows "Waiting to send (N)" in the header, sends what the outbox holds when
// the connection returns, marks a page shown from the phone's copy with the time it was
// synced, warns at logout about records not sent, and lists the outbox with its tasks.
// Every text goes through Django's JavaScript catalogue (gettext).
(function () {
  "use strict";

  const meta = document.querySelector('meta[name="casebook-offline"]');
  const outbox = window.casebookOutbox;
  if (!meta || !outbox || !("indexedDB" in window) || !window.isSecureContext) return;
  const conf = meta.dataset;

  // Called by these names, so that makemessages finds the texts.
  const gettext = window.gettext || ((text) => text);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const fmt = (text, values) => {
    if (window.interpolate) return window.interpolate(text, values, !Array.isArray(values));
    return Array.isArray(values) ? values.reduce((s, v) => s.replace("%s", v), text) : text;
  };

  const PAGES_PREFIX = "casebook-pages-";
  const SYNC_TAG = "casebook-outbox";
  const onOutboxPage = conf.outboxPage === "1";
  // The forms whose records the outbox keeps (sw.js keeps their posts by their address).
  const FORMS = "#contact-form, form.attempt-form, form.reached-form, #attempt-form, form.case-note-form, #case-note-form";
  let user = onOutboxPage ? null : conf.user || null;

  const element = (tag, className, text) => {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  };

  const when = (value) => {
    const date = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(date.getTime())) return "";
    return new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      dateStyle: "medium",
      timeStyle: "short",
    }).format(date);
  };

  // --- The service worker -------------------------------------------------------------

  const worker = "serviceWorker" in navigator
    ? navigator.serviceWorker.register(conf.sw, { scope: "/" }).catch(() => null)
    : Promise.resolve(null);

  const askForSync = async () => {
    const registration = await worker;
    try {
      if (registration && registration.sync) await registration.sync.register(SYNC_TAG);
    } catch (error) {
      // No background sync: sent when a page opens or the connection returns.
    }
  };

  // --- Whose data the phone keeps -------------------------------------------------------

  const dropPages = async (keepUser) => {
    if (!("caches" in window)) return;
    const names = await caches.keys();
    await Promise.all(
      names.filter((name) => name.startsWith(PAGES_PREFIX) && name !== PAGES_PREFIX + keepUser)
        .map((name) => caches.delete(name))
    );
  };

  // Sign-out, or the end of the session: the worker's pages leave the phone. What waits in
  // the outbox stays, sent only when the same worker signs in again.
  const forgetMe = async () => {
    await dropPages(null);
    await outbox.forgetPages();
    await outbox.setCurrentUser(null);
  };

  const settle = async () => {
    if (onOutboxPage) {
      user = await outbox.currentUser();
      return;
    }
    if (!user) {
      // No one is signed in (the login page): nothing of anyone's is kept.
      await forgetMe();
      return;
    }
    if ((await outbox.currentUser()) !== user) await outbox.forgetPages();
    await dropPages(user);
    await outbox.setCurrentUser(user);
    await outbox.pruneUsed();
  };

  // The session ends after the idle time (casebook.js sends the page to the login page then):
  // the worker's pages leave the phone a moment before.
  const watchIdle = () => {
    const seconds = parseInt(document.body.dataset.idleSeconds || "0", 10);
    if (!user || !seconds) return;
    let timer;
    const reset = () => {
      clearTimeout(timer);
      timer = setTimeout(forgetMe, Math.max(seconds - 5, 1) * 1000);
    };
    document.addEventListener("htmx:afterRequest", reset);
    reset();
  };

  // --- The header's count ---------------------------------------------------------------

  const badge = () => {
    let link = document.getElementById("outbox-status");
    const brand = document.querySelector(".navbar .navbar-brand");
    if (!link && brand) {
      link = element("a", "btn btn-sm ms-2 me-auto outbox-status");
      link.id = "outbox-status";
      link.href = conf.outbox;
      link.hidden = true;
      brand.after(link);
    }
    return link;
  };

  const refreshBadge = async () => {
    const link = badge();
    if (!link) return;
    const { waiting, attention } = await outbox.counts(user);
    link.hidden = !waiting && !attention;
    link.classList.toggle("btn-warning", !attention);
    link.classList.toggle("btn-danger", !!attention);
    const parts = [];
    if (waiting) parts.push(fmt(gettext("Waiting to send (%s)"), [waiting]));
    if (attention) parts.push(fmt(gettext("Needs your attention (%s)"), [attention]));
    link.textContent = parts.join(" · ");
  };

  // --- A page shown from the phone's copy ---------------------------------------------------

  const markIfCopy = async () => {
    const mark = await outbox.takeServed(location.pathname);
    if (!mark) return false;
    const synced = when(mark.syncedAt);
    const banner = element(
      "div",
      "alert alert-warning offline-banner",
      synced ? fmt(gettext("Offline: shown as of %s"), [synced]) : gettext("Offline: shown as last synced")
    );
    banner.id = "offline-banner";
    banner.setAttribute("role", "status");
    const main = document.querySelector("main");
    if (main) main.prepend(banner);
    return true;
  };

  // --- Forms: one-time ids, and what the phone says about each ------------------------------

  const kindOf = (form) => {
    if (form.matches("#contact-form")) return "contact";
    if (form.matches("form.case-note-form, #case-note-form")) return "note";
    return "attempt";
  };

  const labelOf = (form) => {
    const row = form.closest(".followup-row");
    const name = row ? row.querySelector(".client-name") : document.querySelector("main h1");
    return name ? name.textContent.trim() : "";
  };

  const hidden = (form, name) => {
    let input = form.querySelector(`input[name="${name}"]`);
    if (!input) {
      input = element("input");
      input.type = "hidden";
      input.name = name;
      form.append(input);
    }
    return input;
  };

  // Every form the outbox keeps carries a one-time id; a copy of a page kept on the phone
  // gets new ones (its ids may have been used since).
  const giveIds = (root, fresh) => {
    const forms = [...root.querySelectorAll(FORMS)];
    if (root.matches && root.matches(FORMS)) forms.push(root);
    forms.forEach((form) => {
      const id = hidden(form, "submission_id");
      if (fresh || !id.value) id.value = outbox.newId();
      if (kindOf(form) !== "contact") hidden(form, "outbox_label").value = labelOf(form);
    });
  };

  // The new-contact form read offline for a follow-up of Today: the copy is the empty form,
  // so the follow-up and its client come from the address.
  const fillFromAddress = async () => {
    const form = document.getElementById("contact-form");
    const params = new URLSearchParams(location.search);
    if (!form || !params.get("followup") || !params.get("client")) return;
    hidden(form, "followup").value = params.get("followup");
    const client = form.querySelector('input[name="client"]');
    if (!client) return;
    client.value = params.get("client");
    const chosen = document.getElementById("chosen-client");
    const label = document.getElementById("chosen-client-label");
    if (chosen && label) {
      label.textContent = (await outbox.todayName(params.get("followup"))) || gettext("Client from your Today list");
      chosen.classList.remove("d-none");
      document.getElementById("new-client-fields")?.classList.add("d-none");
    }
  };

  const rememberToday = async () => {
    const rows = document.querySelectorAll(".followup-row[data-followup]");
    if (!rows.length || !user) return;
    const names = {};
    rows.forEach((row) => {
      const name = row.querySelector(".client-name");
      if (name) names[row.dataset.followup] = name.textContent.trim();
    });
    await outbox.rememberToday(names);
  };

  const keptHere = (form, id) => {
    const row = form.closest(".followup-row") || form.parentElement;
    row.querySelectorAll(".outbox-kept").forEach((el) => el.remove());
    const note = element("div", "alert alert-warning py-1 px-2 my-1 small outbox-kept", gettext("Saved on this phone: waiting to send."));
    note.setAttribute("role", "status");
    note.dataset.kept = id;
    form.before(note);
    giveIds(form, true);
    refreshBadge();
  };

  // Kept by the service worker (it could not reach the server): the row stays as it was.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const kept = event.detail.xhr && event.detail.xhr.getResponseHeader("X-Casebook-Kept");
    if (!kept) return;
    event.detail.shouldSwap = false;
    const form = event.detail.requestConfig.elt.closest("form");
    if (form) keptHere(form, kept);
  });

  const fieldsOf = (form, submitter) => {
    const fields = [];
    new FormData(form, submitter || undefined).forEach((value, name) => {
      if (typeof value === "string") fields.push([name, value]);
    });
    return fields;
  };

  const keepHere = async (form, submitter) => {
    const item = await outbox.keep({
      userId: user,
      kind: kindOf(form),
      url: new URL(form.getAttribute("action") || location.href, location.href).href,
      fields: fieldsOf(form, submitter),
      offline: true,
    });
    await askForSync();
    return item;
  };

  // Without a service worker in charge yet (the first page after installing), a form sent
  // with no connection is kept here.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches(FORMS) || !user) return;
    if ((navigator.serviceWorker && navigator.serviceWorker.controller) || navigator.onLine !== false) return;
    if (form.hasAttribute("hx-post")) return;
    event.preventDefault();
    const item = await keepHere(form, event.submitter);
    location.assign(`${conf.outbox}?kept=${encodeURIComponent(item.id)}`);
  }, true);

  document.addEventListener("htmx:sendError", async (event) => {
    if (navigator.serviceWorker && navigator.serviceWorker.controller) return;
    const form = event.detail.requestConfig && event.detail.requestConfig.elt.closest("form");
    if (!form || !form.matches(FORMS) || !user) return;
    const submitter = event.detail.requestConfig.triggeringEvent && event.detail.requestConfig.triggeringEvent.submitter;
    const item = await keepHere(form, submitter);
    keptHere(form, item.id);
  });

  if (window.htmx) window.htmx.onLoad((root) => giveIds(root, false));

  // --- Sending --------------------------------------------------------------------------

  let signedOut = false;
  let sending = null;

  const sendNow = () => {
    if (!user) return Promise.resolve(null);
    if (sending) return sending;
    sending = (async () => {
      const result = await outbox.send(user, conf.session);
      signedOut = result.signedOut;
      if (!result.offline && !result.signedOut) await outbox.resolveRecorded(user, conf.recorded);
      await refreshBadge();
      await renderOutbox();
      return result;
    })().finally(() => { sending = null; });
    return sending;
  };

  window.addEventListener("online", () => sendNow());
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && event.data.type === "outbox-changed") {
        refreshBadge();
        renderOutbox();
      }
    });
  }

  // --- Logging out -------------------------------------------------------------------------

  const logOut = async (form) => {
    await forgetMe();
    form.dataset.outboxChecked = "1";
    form.submit();
  };

  let dialog = null;
  const logoutDialog = (form) => {
    if (dialog) return dialog;
    const root = element("div", "modal fade");
    root.id = "outbox-logout";
    root.tabIndex = -1;
    root.setAttribute("aria-labelledby", "outbox-logout-title");
    const box = element("div", "modal-dialog modal-dialog-centered");
    const content = element("div", "modal-content");
    const header = element("div", "modal-header");
    const title = element("h2", "modal-title h5");
    title.id = "outbox-logout-title";
    header.append(title);
    const body = element("div", "modal-body");
    body.append(element("p", "", gettext("They are kept on this phone. Send them now, or keep them here: they are sent when you sign in again on this phone, and nobody else who signs in here sees them.")));
    const status = element("p", "small mb-0");
    status.id = "outbox-logout-status";
    status.setAttribute("aria-live", "polite");
    body.append(status);
    const footer = element("div", "modal-footer");
    const send = element("button", "btn btn-primary", gettext("Send now"));
    send.type = "button";
    const keep = element("button", "btn btn-outline-danger", gettext("Keep them on this device and log out"));
    keep.type = "button";
    const cancel = element("button", "btn btn-link", gettext("Cancel"));
    cancel.type = "button";
    cancel.dataset.bsDismiss = "modal";
    footer.append(send, keep, cancel);
    content.append(header, body, footer);
    box.append(content);
    root.append(box);
    document.body.append(root);

    send.addEventListener("click", async () => {
      send.disabled = true;
      status.textContent = gettext("Sending…");
      const result = await sendNow();
      send.disabled = false;
      const { waiting, attention } = await outbox.counts(user);
      if (!waiting && !attention) {
        status.textContent = gettext("Everything was sent. Logging out…");
        await logOut(form);
        return;
      }
      dialog.count(waiting + attention);
      if (result && result.signedOut) status.textContent = gettext("Your session has ended: log in again to send them.");
      else if (result && result.offline) status.textContent = gettext("The server cannot be reached: nothing more could be sent.");
      else status.textContent = gettext("Some need your attention first: open them from the list on this phone.");
    });
    keep.addEventListener("click", () => logOut(form));

    dialog = {
      modal: new window.bootstrap.Modal(root),
      count: (n) => {
        title.textContent = fmt(ngettext("%s record has not been sent", "%s records have not been sent", n), [n]);
      },
      status,
    };
    return dialog;
  };

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !user || form.dataset.outboxChecked) return;
    if (new URL(form.action, location.href).pathname !== conf.logout) return;
    event.preventDefault();
    const { waiting, attention } = await outbox.counts(user);
    if (!waiting && !attention) {
      await logOut(form);
      return;
    }
    const shown = logoutDialog(form);
    shown.count(waiting + attention);
    shown.status.textContent = "";
    shown.modal.show();
  }, true);

  // --- The outbox page ---------------------------------------------------------------------

  const OUTCOMES = {
    reached: () => gettext("Reached"),
    no_answer: () => gettext("No answer"),
    left_message: () => gettext("Left a message"),
    wrong_number: () => gettext("Wrong number"),
    declined: () => gettext("Declined"),
  };

  const PROBLEMS = {
    duplicate: () => gettext("This may be a client the agency already knows: open it to choose them, or to confirm a new person."),
    invalid: () => gettext("The server could not save it as it is: open it to see what to change."),
    forbidden: () => gettext("It is no longer yours to change (the case may have been reassigned): open it to see why."),
    gone: () => gettext("Its case is no longer one you can see (it may have been reassigned)."),
    conflict: () => gettext("The case was closed meanwhile: open it to see what to do."),
  };

  const describe = (item) => {
    const field = (name) => outbox.field(item.fields, name);
    if (item.kind === "contact") {
      const who = field("legal_name") || field("preferred_name") || field("description")
        || (field("client") ? gettext("an existing client") : "");
      return who ? fmt(gettext("Crisis contact: %s"), [who]) : gettext("Crisis contact");
    }
    const who = field("outbox_label");
    if (item.kind === "note") {
      const text = field("text");
      const excerpt = text.length > 80 ? `${text.slice(0, 79)}…` : text;
      return fmt(gettext("Note on %(client)s: %(text)s"), { client: who, text: excerpt });
    }
    const outcome = OUTCOMES[field("outcome")] ? OUTCOMES[field("outcome")]() : field("outcome");
    return fmt(gettext("Follow-up attempt with %(client)s: %(outcome)s"), { client: who, outcome });
  };

  // A task opens on its own form, sent once more with everything typed: the server shows it
  // with what to change (a likely existing client to choose, an error), as on any page.
  const openTask = async (item, button) => {
    button.disabled = true;
    const who = await outbox.session(conf.session);
    button.disabled = false;
    if (!who || String(who.user) !== String(user)) {
      alert(who ? gettext("Log in again to open it.") : gettext("No connection: it can be opened once the connection returns."));
      return;
    }
    const form = element("form");
    form.method = "post";
    form.action = item.url;
    form.hidden = true;
    item.fields.forEach(([name, value]) => {
      if (name === "csrfmiddlewaretoken" || name === "outbox_label") return;
      const input = element("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    });
    const token = element("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = who.csrf;
    form.append(token);
    document.body.append(form);
    form.submit();
  };

  const taskRow = (item) => {
    const row = element("li", "list-group-item outbox-item");
    row.dataset.outboxId = item.id;
    row.append(element("div", "fw-semibold text-break", describe(item)));
    row.append(element("div", "small text-muted", fmt(gettext("Saved on this phone %s"), [when(item.created_at)])));
    if (item.state !== "attention") return row;
    const problem = PROBLEMS[item.problem] ? PROBLEMS[item.problem]() : PROBLEMS.invalid();
    row.append(element("div", "small text-danger", problem));
    const actions = element("div", "d-flex gap-2 mt-2");
    const open = element("button", "btn btn-sm btn-primary", gettext("Open"));
    open.type = "button";
    open.addEventListener("click", () => openTask(item, open));
    const drop = element("button", "btn btn-sm btn-outline-danger", gettext("Remove from this phone"));
    drop.type = "button";
    drop.addEventListener("click", async () => {
      if (!window.confirm(gettext("Remove it from this phone? It has not been saved on the server, and it cannot be brought back."))) return;
      await outbox.remove(item.id);
      await refreshBadge();
      await renderOutbox();
    });
    actions.append(open, drop);
    row.append(actions);
    return row;
  };

  const renderOutbox = async () => {
    if (!onOutboxPage) return;
    const nobody = document.getElementById("outbox-nobody");
    const lists = document.getElementById("outbox-lists");
    const signedOutNotice = document.getElementById("outbox-signed-out");
    nobody.hidden = !!user;
    lists.hidden = !user;
    signedOutNotice.hidden = !signedOut;
    if (!user) return;
    const all = await outbox.items(user);
    const waiting = document.getElementById("outbox-waiting");
    const attention = document.getElementById("outbox-attention");
    waiting.replaceChildren(...all.filter((item) => item.state === "waiting").map(taskRow));
    attention.replaceChildren(...all.filter((item) => item.state === "attention").map(taskRow));
    document.getElementById("outbox-waiting-empty").hidden = waiting.children.length > 0;
    document.getElementById("outbox-attention-section").hidden = attention.children.length === 0;
  };

  const outboxPage = () => {
    if (!onOutboxPage) return;
    const params = new URLSearchParams(location.search);
    document.getElementById("outbox-kept").hidden = !params.get("kept");
    // Shown in place of a page that could not be reached and is not kept on the phone.
    document.getElementById("outbox-unreachable").hidden = location.pathname === conf.outbox;
    document.getElementById("outbox-send").addEventListener("click", () => sendNow());
  };

  // --- On every page --------------------------------------------------------------------------

  (async () => {
    outboxPage();
    await settle();
    const copy = !onOutboxPage && (await markIfCopy());
    giveIds(document, copy);
    if (copy) await fillFromAddress();
    await rememberToday();
    watchIdle();
    await refreshBadge();
    await renderOutbox();
    if (!user) return;
    const { waiting } = await outbox.counts(user);
    if (waiting) await askForSync();
    if (navigator.onLine !== false) await sendNow();
  })();
})();

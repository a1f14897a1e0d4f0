// Idle logoff: the server ends the session after the idle time; send the page to the
// login screen at the same moment, so nobody reads a stale record on an unattended phone.
(function () {
  const body = document.body;
  const seconds = parseInt(body.dataset.idleSeconds || "0", 10);
  if (!seconds) return;
  let timer;
  const reset = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { window.location.href = body.dataset.logoutUrl; }, seconds * 1000);
  };
  document.addEventListener("htmx:afterRequest", reset);
  reset();
})();

// A page that comes back with form errors opens on their summary (templates/_error_summary.html):
// the focus moves there, so a screen reader reads it and the next tab reaches its links.
// A link focuses its field, found by id or, for a control with ids of its own, by name.
(function () {
  const summary = document.getElementById("form-errors");
  if (!summary || !summary.classList.contains("error-summary")) return;
  summary.focus();
  summary.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-field]");
    if (!link) return;
    const field = document.getElementById(link.hash.slice(1))
      || document.querySelector(`[name="${CSS.escape(link.dataset.field)}"]:not([type=hidden])`);
    if (!field) return;
    event.preventDefault();
    const details = field.closest("details");
    if (details) details.open = true;
    field.scrollIntoView({ block: "center" });
    field.focus({ preventScroll: true });
  });
})();

// An offer that lasts a few seconds (the Today list's "Logged: reached — Undo") goes away
// after `data-expires-in` seconds; the server refuses a late one all the same.
htmx.onLoad(function (root) {
  const offers = root.matches?.("[data-expires-in]") ? [root] : [];
  offers.push(...root.querySelectorAll("[data-expires-in]"));
  offers.forEach((el) => {
    setTimeout(() => el.remove(), parseFloat(el.dataset.expiresIn) * 1000);
  });
});

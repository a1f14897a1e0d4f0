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

// New crisis contact: choosing a suggested client, drafts, and the C-SSRS screener's skip
// logic (also on the page correcting a contact). The server enforces the rules; this only
// keeps the form short on a phone.
(function () {
  const form = document.getElementById("contact-form");
  if (!form) return;
  // The page's texts come from Django's JavaScript catalogue (base.html); the offline app
  // keeps this script, and a page it shows may lack the catalogue: then in English.
  const gettext = window.gettext || ((s) => s);

  // --- An existing client chosen from the suggestions -----------------------------------
  const clientInput = form.querySelector("input[name=client]");
  const chosen = document.getElementById("chosen-client");
  const chosenLabel = document.getElementById("chosen-client-label");
  const newFields = document.getElementById("new-client-fields");

  const setClient = (id, label) => {
    clientInput.value = id;
    chosenLabel.textContent = label;
    chosen.classList.toggle("d-none", !id);
    newFields.classList.toggle("d-none", !!id);
    // Lets the draft autosave notice the change (hidden inputs fire no events).
    clientInput.dispatchEvent(new Event("input", { bubbles: true }));
  };

  form.addEventListener("click", (event) => {
    const use = event.target.closest("[data-use-client]");
    if (use) {
      setClient(use.dataset.useClient, use.dataset.label.trim());
      chosen.scrollIntoView({ block: "nearest" });
      return;
    }
    if (event.target.closest("[data-change-client]")) {
      setClient("", "");
      newFields.querySelector("input, select, textarea").focus();
    }
  });

  // If the session has ended, a suggestion or autosave request is redirected to the login
  // page: say so instead of showing that page inside the form.
  form.addEventListener("htmx:beforeSwap", (event) => {
    const { xhr, requestConfig, target } = event.detail;
    const asked = new URL(requestConfig.path, window.location.href).pathname;
    if (xhr.responseURL && new URL(xhr.responseURL).pathname !== asked) {
      event.detail.shouldSwap = false;
      target.textContent = gettext("Signed out: log in again; your last saved draft is kept.");
    }
  });
  // On a phone the connection comes and goes: never leave "Draft saved" showing when the
  // latest save failed.
  const draftFailed = (message) => (event) => {
    if (event.detail.elt.id === "contact-fields") {
      document.getElementById("draft-status").textContent = message;
    }
  };
  form.addEventListener("htmx:responseError", draftFailed(gettext("Draft not saved")));
  form.addEventListener("htmx:sendError", draftFailed(gettext("Draft not saved: no connection")));

  // A draft saved after the contact was stored would come back next time: stop autosave
  // once the form is submitted.
  form.addEventListener("submit", () => { form.dataset.submitting = "1"; });
  form.addEventListener("htmx:confirm", (event) => {
    if (form.dataset.submitting && event.target.id === "contact-fields") event.preventDefault();
  });
})();

// --- C-SSRS skip logic ------------------------------------------------------------------
(function () {
  const form = document.querySelector("form[data-cssrs-form]");
  if (!form) return;
  // Question 2 gates 3-5; question 6 gates 6b. Skipped questions are disabled, so they are
  // not sent, but keep their answers if the gate is opened again.
  const performed = form.querySelector("input[name=cssrs_performed]");
  const questions = document.getElementById("cssrs-questions");
  const GATED = ["cssrs_method", "cssrs_intent", "cssrs_plan"];

  const answer = (name) => {
    const checked = form.querySelector(`input[name=${name}]:checked:not(:disabled)`);
    return checked ? checked.value : "";
  };
  const setAsked = (name, asked) => {
    const row = document.getElementById(`q-${name}`);
    row.hidden = !asked;
    row.querySelectorAll("input").forEach((input) => { input.disabled = !asked; });
  };

  const applySkipLogic = () => {
    const on = performed.checked;
    questions.hidden = !on;
    questions.querySelectorAll("input").forEach((input) => { input.disabled = !on; });
    if (!on) return;
    const thoughts = answer("cssrs_suicidal_thoughts");
    GATED.forEach((name) => setAsked(name, thoughts !== "no"));
    setAsked("cssrs_behavior_recent", answer("cssrs_behavior") !== "no");
  };

  form.addEventListener("change", (event) => {
    if (event.target === performed || event.target.name?.startsWith("cssrs_")) applySkipLogic();
  });
  applySkipLogic();
})();

// "Now" beside each time: the current time in the agency's time zone, to the minute.
(function () {
  const form = document.getElementById("contact-form");
  if (!form) return;
  const timeZone = form.dataset.timezone || undefined;
  const nowLocal = () => {
    const parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date()).forEach(({ type, value }) => { parts[type] = value; });
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
  };
  form.addEventListener("click", (event) => {
    const button = event.target.closest("[data-now-for]");
    if (!button) return;
    const input = document.getElementById(button.dataset.nowFor);
    input.value = nowLocal();
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();

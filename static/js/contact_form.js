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
  // Answering is doing the screen: the first answer ticks "Screen done". Turning the
  // switch off hides the questions (and their answers are not sent).
  const performed = form.querySelector("input[name=cssrs_performed]");
  const questions = document.getElementById("cssrs-questions");
  const GATED = ["cssrs_method", "cssrs_intent", "cssrs_plan"];
  let switchedOff = false;

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
    const on = performed.checked || !switchedOff;
    questions.hidden = !on;
    questions.querySelectorAll("input").forEach((input) => { input.disabled = !on; });
    if (!on) return;
    const thoughts = answer("cssrs_suicidal_thoughts");
    GATED.forEach((name) => setAsked(name, thoughts !== "no"));
    setAsked("cssrs_behavior_recent", answer("cssrs_behavior") !== "no");
  };

  form.addEventListener("change", (event) => {
    if (event.target === performed) {
      switchedOff = !performed.checked;
    } else if (event.target.name?.startsWith("cssrs_")) {
      performed.checked = true;
    } else if (event.target.name === "call_nature") {
      // A call whose nature asks for the screen (data-opened-by) opens it.
      const screen = document.getElementById("cssrs");
      const codes = (screen.dataset.openedBy || "").split(" ");
      if (screen.tagName === "DETAILS" && codes.includes(event.target.dataset.code)) screen.open = true;
      return;
    } else {
      return;
    }
    applySkipLogic();
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

// Folded parts of the form (<details data-folded>): each says in its summary what it
// holds, so a default or an answer is never out of sight; a part opens by itself when the
// browser finds a field in it to correct.
(function () {
  const form = document.getElementById("contact-form");
  if (!form) return;

  const labelOf = (input) => {
    const label = input.labels && input.labels[0];
    return label ? label.textContent.replace(/\*\s*$/, "").trim() : "";
  };
  const valueOf = (input) => {
    if (input.type === "checkbox" || input.type === "radio") return input.checked ? labelOf(input) : "";
    if (input.tagName === "SELECT") return input.value ? input.selectedOptions[0].textContent.trim() : "";
    const value = input.value.trim();
    // A time reads as its label and the hour: "On scene 14:05".
    if (value && input.type === "datetime-local") return `${labelOf(input)} ${value.slice(11, 16)}`;
    return value;
  };
  const summarise = (part) => {
    const summary = part.querySelector("[data-summary]");
    if (!summary) return;
    const values = [...part.querySelectorAll("input, select, textarea")]
      .filter((input) => input.type !== "hidden" && !input.disabled && !input.closest("[data-no-summary]"))
      .map(valueOf)
      .filter(Boolean);
    summary.textContent = values.length ? values.join(" · ") : (summary.dataset.none || "");
  };
  const parts = () => form.querySelectorAll("details[data-folded]");
  parts().forEach(summarise);
  // Typing fires input, a tick or a choice change; "Now" sends an input event of its own.
  ["input", "change"].forEach((type) => form.addEventListener(type, (event) => {
    const part = event.target.closest("details[data-folded]");
    if (part) summarise(part);
  }));

  form.addEventListener("invalid", (event) => {
    const part = event.target.closest("details:not([open])");
    if (part) part.open = true;
  }, true);

  // An unidentified person is described instead of named: the description appears, ready
  // for typing.
  const unidentified = form.querySelector("input[name=is_unidentified]");
  const description = document.getElementById("unidentified-description");
  if (unidentified && description) {
    unidentified.addEventListener("change", () => {
      description.hidden = !unidentified.checked && !description.querySelector("textarea, input").value;
      if (unidentified.checked) description.querySelector("textarea, input").focus();
    });
  }
})();

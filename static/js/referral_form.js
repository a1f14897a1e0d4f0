// The referral and consent forms: show the new-consent fields only when a new consent is
// being recorded, and the 42 CFR Part 2 elements only when Part 2 applies (a referral to
// substance use treatment, or substance use information shared). Without JavaScript
// every field shows and the server decides.
(function () {
  const form = document.querySelector("[data-referral-form], [data-consent-form]");
  if (!form) return;
  const part2Block = form.querySelector("[data-part2-fields]");

  function part2Applies() {
    const need = form.querySelector("[name=need_category]");
    const shares = form.querySelector("[name=shared_items][value=substance_use]");
    const flag = form.querySelector("[name=is_part2]");
    if (flag) return flag.checked;
    return (need && need.value === "substance_use") || (shares && shares.checked);
  }

  function consentMode() {
    const chosen = form.querySelector("[name=consent_choice]:checked");
    return chosen ? chosen.value : "new";
  }

  function update() {
    if (part2Block) part2Block.hidden = !part2Applies();
    const existing = form.querySelector("[data-consent-existing]");
    const fresh = form.querySelector("[data-consent-new]");
    if (existing && fresh) {
      const mode = consentMode();
      existing.hidden = mode !== "existing";
      fresh.hidden = mode !== "new";
    }
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "consent") {
      const existing = form.querySelector("[name=consent_choice][value=existing]");
      if (existing) existing.checked = true;
    }
    update();
  });
  update();
})();

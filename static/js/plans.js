// The safety plan's pages. The print page's Print button; on the form, a row more for a
// step ("Add a line"), and Enter in a box not saving a plan half written (in the service
// search it searches). Without JavaScript the form still has empty rows under each step,
// and Enter (the form's first button, "Find") saves nothing.
(function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });

  const form = document.getElementById("safety-plan-form");
  if (!form) return;

  form.addEventListener("keydown", function (event) {
    const field = event.target;
    if (event.key !== "Enter" || field.tagName !== "INPUT") return;
    if (field.type === "checkbox" || field.type === "submit") return;
    event.preventDefault();
    if (field.type === "search") field.dispatchEvent(new Event("search", { bubbles: true }));
  });

  form.querySelectorAll("[data-add-row]").forEach(function (button) {
    const rows = document.getElementById(button.dataset.addRow);
    const max = parseInt(button.dataset.max, 10) || 12;
    if (!rows || !rows.lastElementChild) return;
    const full = function () {
      return rows.children.length >= max;
    };
    button.hidden = full();
    button.addEventListener("click", function () {
      const row = rows.lastElementChild.cloneNode(true);
      row.querySelectorAll("[id]").forEach(function (element) {
        element.removeAttribute("id");
      });
      row.querySelectorAll("input, select").forEach(function (field) {
        field.classList.remove("is-invalid");
        if (field.type === "checkbox") {
          // A lethal-means step's "done" box posts its row's index.
          field.checked = false;
          field.value = String(rows.children.length);
        } else {
          field.value = "";
        }
      });
      rows.appendChild(row);
      const first = row.querySelector("input, select");
      if (first) first.focus();
      button.hidden = full();
    });
  });
})();

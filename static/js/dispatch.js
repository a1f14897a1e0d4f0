// The live dispatch pages (dispatch/live.py): the connection's state, the board's map and
// the team phone's shared position. The panels refresh themselves (hx-trigger on the
// WebSocket's messages); this file adds what htmx does not do.

// Reconnect soon after a drop: jittered, doubling from half a second, never more than 5 s
// apart (htmx's own doubles without a ceiling: a board could wait minutes).
htmx.config.wsReconnectDelay = (retryCount) =>
  Math.min(500 * 2 ** retryCount, 5000) * (0.5 + Math.random() / 2);

// A page that loses its connection says so, and says when it is back.
(function () {
  const status = document.getElementById("live-status");
  if (!status) return;
  document.body.addEventListener("htmx:wsClose", () => status.classList.remove("d-none"));
  document.body.addEventListener("htmx:wsError", () => status.classList.remove("d-none"));
  document.body.addEventListener("htmx:wsOpen", () => status.classList.add("d-none"));
  document.body.dataset.live = "connecting";
  document.body.addEventListener("htmx:wsOpen", () => { document.body.dataset.live = "open"; });
  document.body.addEventListener("htmx:wsClose", () => { document.body.dataset.live = "closed"; });
})();

// A button that asks before it acts (SOS).
document.addEventListener("submit", (event) => {
  const button = event.submitter || event.target.querySelector("[data-confirm]");
  if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});

// The board's map: units and waiting requests from the panel's markers, drawn again each
// time the panels are. Tiles only when a tile server is set up; the lists hold the same.
(function () {
  const element = document.getElementById("dispatch-map");
  if (!element || typeof L === "undefined") return;
  const map = L.map(element, { zoomControl: true, attributionControl: true });
  if (element.dataset.tileUrl) {
    L.tileLayer(element.dataset.tileUrl, {
      maxZoom: 19,
      attribution: element.dataset.tileAttribution || "",
    }).addTo(map);
  }
  const layer = L.featureGroup().addTo(map);
  let fitted = false;
  const colours = { unit: "#0d6efd", emergent: "#dc3545", urgent: "#fd7e14" };

  // "Van 3 (en route)": the unit's status as the page's language says it.
  const unitTooltip = (m) => interpolate(
    gettext("%(unit)s (%(status)s)"),
    { unit: m.label, status: (m.status_label || m.status.replace("_", " ")).toLowerCase() },
    true,
  );

  function draw() {
    const data = document.getElementById("dispatch-markers");
    if (!data) return;
    const markers = JSON.parse(data.textContent);
    layer.clearLayers();
    for (const m of markers) {
      const colour = m.kind === "unit" ? colours.unit : (colours[m.status] || "#6c757d");
      L.circleMarker([m.lat, m.lon], {
        radius: m.kind === "unit" ? 9 : 7,
        color: colour,
        fillColor: colour,
        fillOpacity: m.kind === "unit" && m.status !== "available" ? 0.3 : 0.8,
      })
        .bindTooltip(m.kind === "unit" ? unitTooltip(m) : m.label)
        .addTo(layer);
    }
    if (markers.length && !fitted) {
      map.fitBounds(layer.getBounds().pad(0.2), { maxZoom: 14 });
      fitted = true;
    } else if (!fitted) {
      map.setView([0, 0], 1);
    }
  }
  draw();
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "board-panels") draw();
  });
})();

// The team's phone: while the unit shares its position (the team's choice, on shift
// only), the browser's position is sent at most every 30 seconds and goes with each tap.
(function () {
  if (!document.getElementById("unit-panel") || !navigator.geolocation) return;
  let last = null;
  let sentAt = 0;

  function sharingForm() {
    const form = document.getElementById("sharing-form");
    return form && form.dataset.sharing === "on" ? form : null;
  }

  function fill() {
    if (!last || !sharingForm()) return;
    for (const form of document.querySelectorAll(".step-form, .sos-form")) {
      form.elements.latitude.value = last.latitude.toFixed(6);
      form.elements.longitude.value = last.longitude.toFixed(6);
    }
  }

  function send() {
    const form = sharingForm();
    if (!form || !last || Date.now() - sentAt < 30000) return;
    sentAt = Date.now();
    const body = new FormData();
    body.append("latitude", last.latitude.toFixed(6));
    body.append("longitude", last.longitude.toFixed(6));
    if (last.accuracy != null) body.append("accuracy_m", Math.round(last.accuracy));
    fetch(form.dataset.positionUrl, {
      method: "POST",
      body,
      headers: { "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
      credentials: "same-origin",
    }).catch(() => { sentAt = 0; });
  }

  navigator.geolocation.watchPosition(
    (position) => {
      last = position.coords;
      fill();
      send();
    },
    () => {},
    { enableHighAccuracy: true, maximumAge: 15000 },
  );
  document.body.addEventListener("htmx:afterSwap", fill);
})();

// A new request's known client: "This is the person" from the lookup fills the hidden
// field and names them; "Not this person" clears it.
(function () {
  const field = document.getElementById("id_client");
  const chosen = document.getElementById("chosen-client");
  if (!field || !chosen) return;
  document.addEventListener("click", (event) => {
    const use = event.target.closest("[data-use-client]");
    if (use) {
      field.value = use.dataset.useClient;
      document.getElementById("chosen-client-name").textContent = use.dataset.label;
      chosen.hidden = false;
    } else if (event.target.id === "clear-client") {
      field.value = "";
      chosen.hidden = true;
    }
  });
})();

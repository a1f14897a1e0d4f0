// Directory search: "Use my location" puts the phone's coordinates ("lat,lng") in the
// Near box and searches again. Without JavaScript or geolocation the button stays hidden
// and the worker types an address.
(function () {
  const button = document.getElementById("use-my-location");
  const near = document.getElementById("id_near");
  const error = document.getElementById("location-error");
  if (!button || !near || !("geolocation" in navigator)) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    button.disabled = true;
    error.textContent = "";
    navigator.geolocation.getCurrentPosition(
      function (position) {
        near.value = position.coords.latitude.toFixed(5) + "," + position.coords.longitude.toFixed(5);
        button.disabled = false;
        near.dispatchEvent(new Event("change", { bubbles: true }));
      },
      function () {
        button.disabled = false;
        error.textContent = gettext("Could not get your location. Type an address instead.");
      },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 }
    );
  });
})();

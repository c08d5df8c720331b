// Maps of positions (Leaflet, vendored). Each .map element carries its data in data-map (JSON):
// {"track": [[lat, lon], ...]} for a trip, {"cars": [{"lat", "lon", "label", "on_road"}]} for the fleet.
// data-tiles: a {z}/{x}/{y} tile URL, or empty for a plain background (offline, tests, no tile server).
(function () {
  "use strict";
  var BLUE = "#000091", GREEN = "#18753c", RED = "#c9191e";

  function dot(latlng, color, text, permanent) {
    return L.circleMarker(latlng, {radius: 7, color: "#fff", weight: 2, fillColor: color, fillOpacity: 1})
      .bindTooltip(text, {permanent: !!permanent, direction: "top"});
  }

  function draw(el) {
    var data = JSON.parse(el.getAttribute("data-map") || "{}");
    var map = L.map(el, {scrollWheelZoom: false});
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, {maxZoom: 19, attribution: el.getAttribute("data-attribution") || ""}).addTo(map);
    } else {
      el.classList.add("map-plain");
    }
    var points = [];
    var track = data.track || [];
    if (track.length) {
      L.polyline(track, {color: BLUE, weight: 4}).addTo(map);
      dot(track[0], GREEN, "Départ").addTo(map);
      dot(track[track.length - 1], RED, "Arrivée").addTo(map);
      points = points.concat(track);
    }
    (data.cars || []).forEach(function (car) {
      dot([car.lat, car.lon], car.on_road ? RED : BLUE, car.label, true).addTo(map);
      points.push([car.lat, car.lon]);
    });
    if (points.length) {
      map.fitBounds(L.latLngBounds(points), {padding: [30, 30], maxZoom: 16});
    } else {
      map.setView([46.6, 2.4], 5);  // France
    }
    el.setAttribute("data-drawn", String(points.length));
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.L) { return; }
    Array.prototype.forEach.call(document.querySelectorAll(".map[data-map]"), draw);
  });
})();

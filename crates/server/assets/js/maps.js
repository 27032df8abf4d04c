// FitForAll maps (Leaflet 1.9.4, no tile server): province and city outlines drawn as a light
// basemap, venue markers, and choropleths. Page data comes from <script type="application/json"
// id="map-data">; names are inserted as text, never as HTML.
(function () {
  'use strict';

  var element = document.getElementById('map');
  var dataElement = document.getElementById('map-data');
  if (!element || !dataElement || typeof L === 'undefined') return;
  var data = JSON.parse(dataElement.textContent);

  var ZHEJIANG_BOUNDS = L.latLngBounds([27.0, 118.0], [31.2, 123.0]);
  var CHINA_BOUNDS = L.latLngBounds([17.5, 73.5], [53.6, 134.8]);
  var BASE = {
    province: { pane: 'basemap', interactive: false, color: '#c8c5b8', weight: 1, fillColor: '#f1efe8', fillOpacity: 1 },
    city: { pane: 'basemap', interactive: false, color: '#a9b8a3', weight: 1.2, fillColor: '#fbfaf5', fillOpacity: 1 }
  };

  var map = L.map(element, { zoomSnap: 0.25, minZoom: 3, maxZoom: 18, scrollWheelZoom: false, worldCopyJump: false });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  map.attributionControl.addAttribution('Outlines: Apache ECharts');
  map.createPane('basemap').style.zIndex = 250;
  map.createPane('labels').style.zIndex = 350;
  map.getPane('labels').style.pointerEvents = 'none';
  element.addEventListener('focus', function () { map.scrollWheelZoom.enable(); });
  map.on('click', function () { map.scrollWheelZoom.enable(); });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function loadJson(url) {
    return fetch(url, { credentials: 'same-origin' }).then(function (response) {
      if (!response.ok) throw new Error(url + ': ' + response.status);
      return response.json();
    });
  }

  // Light basemap: provinces of China, then Zhejiang's cities with their names.
  function addBasemap(withCityLabels) {
    var outlines = data.outlines || {};
    var provinces = loadJson(outlines.provinces).then(function (geojson) {
      return L.geoJSON(geojson, { style: function () { return BASE.province; } }).addTo(map);
    });
    return provinces.then(function () { return loadJson(outlines.cities); }).then(function (geojson) {
      var layer = L.geoJSON(geojson, { style: function () { return BASE.city; } }).addTo(map);
      if (withCityLabels) addLabels(geojson, 'map-label');
      return layer;
    }).catch(function (error) { console.warn('outlines not loaded', error); });
  }

  function addLabels(geojson, className, only) {
    geojson.features.forEach(function (feature) {
      var cp = feature.properties && feature.properties.cp;
      if (!cp || (only && !only(feature))) return;
      L.marker([cp[1], cp[0]], {
        pane: 'labels', interactive: false, keyboard: false,
        icon: L.divIcon({ className: className, html: el('span', null, feature.properties.name), iconSize: null })
      }).addTo(map);
    });
  }

  // Landmarks (西湖, 杭州东站, …) as grey labels from zoom 11: orientation without tiles.
  function addLandmarks() {
    var layer = L.layerGroup();
    (data.landmarks || []).forEach(function (place) {
      var label = el('span', 'landmark');
      label.appendChild(el('i'));
      label.appendChild(document.createTextNode(place.name));
      L.marker([place.lat, place.lng], {
        pane: 'labels', interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'landmark-icon', html: label, iconSize: null })
      }).addTo(layer);
    });
    function update() {
      if (map.getZoom() >= 11) layer.addTo(map); else layer.remove();
    }
    map.on('zoomend', update);
    update();
  }

  function venuePopup(venue) {
    var box = el('div', 'popup');
    box.appendChild(el('strong', 'popup-title', venue.name));
    if (venue.kind) box.appendChild(el('div', 'popup-meta', venue.kind));
    var link = el('a', 'popup-link', (data.text && data.text.view_venue) || '→');
    link.href = venue.url;
    box.appendChild(link);
    return box;
  }

  function venueMarker(venue, style) {
    var html = el('span', 'venue-marker-inner', style === 'numbered' ? venue.n : '');
    var size = style === 'nearby' ? 18 : 30;
    var marker = L.marker([venue.lat, venue.lng], {
      title: venue.name,
      alt: venue.name,
      riseOnHover: true,
      icon: L.divIcon({ className: 'venue-marker venue-marker-' + style, html: html, iconSize: [size, size], iconAnchor: [size / 2, size / 2], popupAnchor: [0, -size / 2] })
    });
    marker.bindPopup(venuePopup(venue));
    return marker;
  }

  function showVenues() {
    var venues = data.venues || [];
    var bounds = L.latLngBounds([]);
    if (data.center) {
      var center = L.latLng(data.center.lat, data.center.lng);
      var circle = L.circle(center, { radius: data.center.radius_m, color: '#0b7a55', weight: 1.5, dashArray: '6 6', fillColor: '#0b7a55', fillOpacity: 0.05, interactive: false }).addTo(map);
      L.circleMarker(center, { radius: 7, color: '#fff', weight: 3, fillColor: '#d9480f', fillOpacity: 1, className: 'search-center' })
        .bindTooltip((data.text && data.text.search_center ? data.text.search_center + ': ' : '') + (data.center.label || ''))
        .addTo(map);
      bounds.extend(center);
      if (!venues.length) bounds.extend(circle.getBounds());
    }
    var focus = data.kind === 'venue' && venues.length ? venues[0] : null;
    (data.nearby || []).forEach(function (venue) {
      venueMarker(venue, 'nearby').addTo(map);
      bounds.extend([venue.lat, venue.lng]);
      // Keep the venue itself in the middle: extend by the mirror image too.
      if (focus) bounds.extend([2 * focus.lat - venue.lat, 2 * focus.lng - venue.lng]);
    });
    venues.forEach(function (venue) {
      var marker = venueMarker(venue, data.kind === 'venues' ? 'numbered' : 'single').addTo(map);
      if (data.kind === 'venue') marker.setZIndexOffset(1000);
      bounds.extend([venue.lat, venue.lng]);
    });
    if (data.kind === 'venue' && venues.length && !bounds.isValid()) {
      map.setView([venues[0].lat, venues[0].lng], 14);
    } else if (bounds.isValid() && bounds.getNorthEast().equals(bounds.getSouthWest())) {
      map.setView(bounds.getCenter(), 14);
    } else if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [28, 28], maxZoom: 15 });
    } else {
      map.fitBounds(ZHEJIANG_BOUNDS);
    }
    addBasemap(true);
    addLandmarks();
  }

  function showChoropleth() {
    var features = data.features || {};
    var text = data.text || {};
    var zhejiang = data.mode === 'zhejiang';
    map.fitBounds(zhejiang ? ZHEJIANG_BOUNDS : CHINA_BOUNDS, { padding: [8, 8] });
    var background = zhejiang
      ? loadJson(data.outlines.provinces).then(function (geojson) {
          L.geoJSON(geojson, { style: function () { return BASE.province; } }).addTo(map);
        })
      : Promise.resolve();
    var url = zhejiang ? data.outlines.cities : data.outlines.provinces;
    background.then(function () { return loadJson(url); }).then(function (geojson) {
      var highlighted = null;
      function styleOf(feature) {
        var info = features[feature.id];
        var isCurrent = feature.id === data.highlight;
        return {
          className: 'choropleth-area' + (isCurrent ? ' is-current' : ''),
          color: isCurrent ? '#1d2521' : '#ffffff',
          weight: isCurrent ? 3 : 1,
          fillColor: info ? info.color : data.no_data_color,
          fillOpacity: info && info.value ? 0.92 : 0.7
        };
      }
      function describe(feature) {
        var info = features[feature.id];
        var name = info && info.name ? info.name : feature.properties.name;
        var value = info && info.value ? info.value + ' ' + (text.unit || '') : (text.no_data || '');
        return { name: name, value: value, url: info ? info.url : null };
      }
      var layer = L.geoJSON(geojson, {
        style: styleOf,
        onEachFeature: function (feature, path) {
          var about = describe(feature);
          path.bindTooltip(about.name + ' · ' + about.value, { sticky: true, direction: 'top', className: 'choropleth-tooltip' });
          var box = el('div', 'popup');
          box.appendChild(el('strong', 'popup-title', about.name));
          box.appendChild(el('div', 'popup-meta', about.value));
          if (about.url) {
            var link = el('a', 'popup-link', text.open_region || '→');
            link.href = about.url;
            box.appendChild(link);
          }
          path.bindPopup(box);
          path.on('mouseover', function () { path.setStyle({ weight: 2.5, color: '#1d2521' }); path.bringToFront(); if (highlighted) highlighted.bringToFront(); });
          path.on('mouseout', function () { layer.resetStyle(path); });
          if (feature.id === data.highlight) highlighted = path;
        }
      }).addTo(map);
      if (highlighted) highlighted.bringToFront();
      if (zhejiang) addLabels(geojson, 'map-label');
    }).catch(function (error) { console.warn('outlines not loaded', error); });
  }

  if (data.kind === 'choropleth') showChoropleth(); else showVenues();
  window.fitforallMap = map;
})();

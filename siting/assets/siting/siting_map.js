/* siting map runtime: builds the plan layers from compact column data.
 * Every value taken from the plan is put into the page as text (textContent),
 * never parsed as HTML, so hostile names show as text and run nothing.
 * Licence: MIT (same as the siting package).
 */
(function () {
  'use strict';
  var S = {index: [], siteGroup: null};

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  S.el = el;

  function num(v, digits) {
    if (v === null || v === undefined || (typeof v === 'number' && !isFinite(v))) { return '–'; }
    return Number(v).toLocaleString('en-US', {maximumFractionDigits: digits, minimumFractionDigits: 0});
  }
  var FORMATS = {
    text: function (v) { return (v === null || v === undefined || v === '') ? '–' : String(v); },
    int: function (v) { return num(v, 0); },
    float1: function (v) { return num(v, 1); },
    cny: function (v) { return (v === null || v === undefined) ? '–' : 'CNY ' + num(v, 0); },
    m: function (v) { return (v === null || v === undefined) ? '–' : num(v, 1) + ' m'; },
    pct: function (v) { return (v === null || v === undefined) ? '–' : num(100 * v, 1) + ' %'; },
    bool: function (v) { return v ? 'yes' : 'no'; },
    dbm: function (v) { return (v === null || v === undefined) ? '–' : num(v, 1) + ' dBm'; }
  };
  S.format = function (fmt, v) { return (FORMATS[fmt] || FORMATS.text)(v); };

  /* A popup / tooltip table: title and [label, value] rows, all as text. */
  function table(title, rows, cls) {
    var box = el('div', 'siting-pop ' + (cls || ''));
    if (title !== null && title !== undefined) { box.appendChild(el('div', 'siting-pop-title', title)); }
    var t = el('table');
    for (var i = 0; i < rows.length; i++) {
      var tr = el('tr');
      tr.appendChild(el('th', null, rows[i][0]));
      tr.appendChild(el('td', null, rows[i][1]));
      t.appendChild(tr);
    }
    box.appendChild(t);
    return box;
  }
  S.table = table;

  /* Column access: plain arrays, or dictionary-encoded {codes: [...], values: [...]}. */
  function col(data, name, i) {
    var c = data.cols[name];
    if (c === undefined) { return null; }
    if (Array.isArray(c)) { return c[i]; }
    var code = c.codes[i];
    return code < 0 ? null : c.values[code];
  }
  S.col = col;

  function rowsFor(data, i, fields) {
    var rows = [];
    for (var k = 0; k < fields.length; k++) {
      var f = fields[k];
      rows.push([f[0], S.format(f[2], col(data, f[1], i))]);
    }
    return rows;
  }

  function popupFn(data, i, spec) {
    return function () {
      var title = spec.title ? col(data, spec.title, i) : null;
      var box = table((spec.title_prefix || '') + (title === null ? '' : title),
                      rowsFor(data, i, spec.fields), spec.cls);
      if (spec.note) {
        var note = spec.note(data, i);
        if (note) { box.appendChild(el('div', 'siting-pop-note', note)); }
      }
      return box;
    };
  }

  function canvas() { return L.canvas({padding: 0.5}); }

  /* Selected sites: one marker per site, shown when its class and its year are both on. */
  S.sites = function (data, spec) {
    var group = L.featureGroup();
    var renderer = canvas();
    var markers = new Array(data.n);
    group._filters = {cls: {}, year: {}};
    for (var i = 0; i < data.n; i++) {
      var cls = col(data, 'site_class', i);
      var style = spec.styles[cls] || spec.styles._default;
      var existing = col(data, 'existing', i);
      var m = L.circleMarker([data.lat[i], data.lon[i]], {
        renderer: renderer, radius: style.radius, fillColor: style.color, fillOpacity: 0.9,
        color: existing ? '#000000' : '#ffffff', weight: existing ? 2 : 1
      });
      m._sitingCls = cls;
      m._sitingR = style.radius;
      m._sitingYear = String(col(data, 'rollout_year', i));
      m.bindPopup(popupFn(data, i, {title: 'candidate_id', title_prefix: 'Site ',
        fields: spec.fields, cls: 'siting-site', note: function (d, j) {
          var gain = col(d, 'marginal_gain', j);
          var rank = col(d, 'gain_rank', j);
          if (gain === null || gain === undefined) { return null; }
          return 'Chosen because it newly covers ' + num(gain, 1) +
            ' weighted demand (rank ' + num(rank, 0) + ' of ' + num(d.n, 0) + ' by marginal gain).';
        }}));
      m.bindTooltip(String(col(data, 'candidate_id', i)), {direction: 'top'});
      markers[i] = m;
      S.index.push({label: String(col(data, 'candidate_id', i)), kind: 'site', layer: m});
    }
    group._sitingMarkers = markers;
    /* Markers shrink when zoomed out so a district of sites stays readable. */
    function resize() {
      var map = group._map;
      if (!map) { return; }
      var scale = Math.min(1, Math.max(0.35, Math.pow(2, map.getZoom() - 14)));
      for (var j = 0; j < markers.length; j++) { markers[j].setRadius(markers[j]._sitingR * scale); }
    }
    group.on('add', function () { resize(); group._map.on('zoomend', resize); });
    group.on('remove', function (e) { if (e.target._map) { e.target._map.off('zoomend', resize); } });
    group.sitingRefresh = function () {
      var map = group._map || group._mapToAdd;
      var f = group._filters;
      for (var j = 0; j < markers.length; j++) {
        var mk = markers[j];
        var c = f.cls[mk._sitingCls], y = f.year[mk._sitingYear];
        var on = (!c || (map && map.hasLayer(c))) && (!y || (map && map.hasLayer(y)));
        if (on && !group.hasLayer(mk)) { group.addLayer(mk); }
        if (!on && group.hasLayer(mk)) { group.removeLayer(mk); }
      }
    };
    S.siteGroup = group;
    return group;
  };

  /* An entry of the layer control that switches a class or a rollout year of the sites. */
  S.siteFilter = function (sites, kind, value) {
    var g = L.layerGroup();
    sites._filters[kind][String(value)] = g;
    g.on('add', function () { sites.sitingRefresh(); });
    g.on('remove', function () { sites.sitingRefresh(); });
    return g;
  };

  /* Every candidate, clustered; markers are built the first time the layer is shown. */
  S.candidates = function (data, spec) {
    var group = L.markerClusterGroup({chunkedLoading: true, disableClusteringAtZoom: 18,
      showCoverageOnHover: false, spiderfyOnMaxZoom: false});
    var built = false;
    group.on('add', function () {
      if (built) { return; }
      built = true;
      var renderer = canvas();
      var markers = new Array(data.n);
      for (var i = 0; i < data.n; i++) {
        var cls = col(data, 'site_class', i);
        var style = spec.styles[cls] || spec.styles._default;
        var sel = col(data, 'selected', i);
        var m = L.circleMarker([data.lat[i], data.lon[i]], {
          renderer: renderer, radius: 4, fillColor: style.color, fillOpacity: sel ? 0.9 : 0.45,
          color: sel ? '#000000' : style.color, weight: 1
        });
        m.bindPopup(popupFn(data, i, {title: 'candidate_id', title_prefix: 'Candidate ',
          fields: spec.fields, cls: 'siting-candidate'}));
        markers[i] = m;
      }
      group.addLayers(markers);
    });
    return group;
  };

  /* Light point layer (uncovered demand): canvas circles with a tooltip. */
  S.points = function (data, spec) {
    var group = L.featureGroup();
    var renderer = canvas();
    for (var i = 0; i < data.n; i++) {
      var m = L.circleMarker([data.lat[i], data.lon[i]], {
        renderer: renderer, radius: data.r ? data.r[i] : 3, stroke: false,
        fillColor: spec.color, fillOpacity: 0.75
      });
      m.bindTooltip(popupFn(data, i, {title: null, fields: spec.fields, cls: 'siting-tip'}));
      group.addLayer(m);
    }
    return group;
  };

  /* Polygons / lines with a per-feature style and a text tooltip. */
  S.geo = function (fc, spec) {
    var layer = L.geoJSON(fc, {
      style: function (f) { return f.properties._style; },
      onEachFeature: function (f, lyr) {
        var p = f.properties;
        var data = {cols: {}};
        for (var k in p) { if (Object.prototype.hasOwnProperty.call(p, k)) { data.cols[k] = [p[k]]; } }
        var fn = popupFn(data, 0, {title: spec.title, title_prefix: spec.title_prefix || '',
          fields: spec.fields, cls: 'siting-tip'});
        lyr.bindTooltip(fn, {sticky: true});
        lyr.bindPopup(fn);
        if (spec.search) {
          S.index.push({label: String(p[spec.search]), kind: spec.kind || 'area', layer: lyr});
          if (spec.search_alt && p[spec.search_alt]) {
            S.index.push({label: String(p[spec.search_alt]), kind: spec.kind || 'area', layer: lyr});
          }
        }
      }
    });
    return layer;
  };

  /* Legend: list of items {type: 'dot'|'ramp'|'line'|'head', ...}, built as DOM text. */
  S.legend = function (map, items, title) {
    var ctl = L.control({position: 'bottomright'});
    ctl.onAdd = function () {
      var box = el('div', 'siting-legend leaflet-bar');
      var head = el('div', 'siting-legend-title', title);
      var body = el('div', 'siting-legend-body');
      head.addEventListener('click', function () { body.classList.toggle('siting-hidden'); });
      box.appendChild(head);
      for (var i = 0; i < items.length; i++) {
        var it = items[i];
        var row = el('div', 'siting-legend-row');
        if (it.type === 'head') { row.className += ' siting-legend-head'; row.textContent = it.label; }
        else if (it.type === 'ramp') {
          var bar = el('span', 'siting-legend-ramp');
          bar.style.background = 'linear-gradient(to right,' + it.colors.join(',') + ')';
          row.appendChild(el('span', 'siting-legend-lo', it.lo));
          row.appendChild(bar);
          row.appendChild(el('span', 'siting-legend-hi', it.hi));
        } else {
          var sw = el('span', 'siting-legend-' + (it.type === 'line' ? 'line' : 'dot'));
          if (it.type === 'line') { sw.style.borderTop = '3px ' + (it.dash ? 'dashed ' : 'solid ') + it.color; }
          else { sw.style.background = it.color; sw.style.borderColor = it.stroke || '#ffffff'; }
          row.appendChild(sw);
          row.appendChild(el('span', null, it.label));
        }
        body.appendChild(row);
      }
      box.appendChild(body);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    ctl.addTo(map);
    return ctl;
  };

  /* Headline box: plan name and a few figures. */
  S.info = function (map, title, rows) {
    var ctl = L.control({position: 'topleft'});
    ctl.onAdd = function () {
      var box = table(title, rows, 'siting-info leaflet-bar');
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    ctl.addTo(map);
    return ctl;
  };

  /* Search box over site IDs and zone / town names. */
  S.search = function (map) {
    var ctl = L.control({position: 'topleft'});
    ctl.onAdd = function () {
      var box = el('div', 'siting-search leaflet-bar');
      var input = el('input');
      input.type = 'search';
      input.placeholder = 'Site ID or zone name';
      input.setAttribute('aria-label', 'Search site IDs and zone names');
      var listId = 'siting-search-list';
      input.setAttribute('list', listId);
      var dl = el('datalist');
      dl.id = listId;
      var seen = {};
      for (var i = 0; i < S.index.length; i++) {
        var lab = S.index[i].label;
        if (seen[lab]) { continue; }
        seen[lab] = S.index[i];
        var o = el('option');
        o.value = lab;
        dl.appendChild(o);
      }
      var msg = el('div', 'siting-search-msg');
      function go() {
        var q = input.value.trim();
        if (!q) { return; }
        var hit = seen[q];
        if (!hit) {
          var ql = q.toLowerCase();
          for (var j = 0; j < S.index.length; j++) {
            if (S.index[j].label.toLowerCase().indexOf(ql) >= 0) { hit = S.index[j]; break; }
          }
        }
        if (!hit) { msg.textContent = 'Not found: ' + q; return; }
        msg.textContent = '';
        S.show(map, hit);
      }
      input.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') { go(); } });
      input.addEventListener('change', go);
      box.appendChild(input);
      box.appendChild(dl);
      box.appendChild(msg);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    ctl.addTo(map);
    return ctl;
  };

  S.show = function (map, hit) {
    var lyr = hit.layer;
    if (hit.kind === 'site') {
      var sites = S.siteGroup;
      var f = sites._filters;
      var c = f.cls[lyr._sitingCls], y = f.year[lyr._sitingYear];
      if (c && !map.hasLayer(c)) { map.addLayer(c); }
      if (y && !map.hasLayer(y)) { map.addLayer(y); }
      if (!map.hasLayer(sites)) { map.addLayer(sites); }
      map.setView(lyr.getLatLng(), Math.max(map.getZoom(), 16));
      lyr.openPopup();
    } else {
      map.fitBounds(lyr.getBounds(), {maxZoom: 16});
      lyr.openPopup();
    }
  };

  /* WGS84 -> GCJ-02 (the published approximation used by Chinese web maps). */
  var A = 6378245.0, EE = 0.00669342162296594323;
  function outOfChina(lat, lon) { return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271; }
  function tLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    return r;
  }
  function tLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    return r;
  }
  function wgs2gcj(lat, lon) {
    if (outOfChina(lat, lon)) { return [lat, lon]; }
    var dLat = tLat(lon - 105.0, lat - 35.0), dLon = tLon(lon - 105.0, lat - 35.0);
    var radLat = lat / 180.0 * Math.PI, magic = Math.sin(radLat);
    magic = 1 - EE * magic * magic;
    var sq = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    dLon = (dLon * 180.0) / (A / sq * Math.cos(radLat) * Math.PI);
    return [lat + dLat, lon + dLon];
  }
  function gcj2wgs(lat, lon) {
    var w = [lat, lon];
    for (var i = 0; i < 3; i++) {
      var g = wgs2gcj(w[0], w[1]);
      w = [w[0] - (g[0] - lat), w[1] - (g[1] - lon)];
    }
    return w;
  }
  S.wgs2gcj = wgs2gcj;
  S.gcj2wgs = gcj2wgs;

  /* A tile layer whose tiles are in GCJ-02: each tile is drawn where its content really is
   * in WGS84, so the plan overlays (WGS84) line up with the streets on the tiles. */
  S.gcjTileLayer = function (url, options) {
    var Gcj = L.TileLayer.extend({
      _getTiledPixelBounds: function (center) {
        var g = wgs2gcj(center.lat, center.lng);
        return L.TileLayer.prototype._getTiledPixelBounds.call(this, L.latLng(g[0], g[1]));
      },
      _getTilePos: function (coords) {
        var pos = L.TileLayer.prototype._getTilePos.call(this, coords);
        var pg = coords.scaleBy(this.getTileSize());
        var nw = this._map.unproject(pg, coords.z);
        var w = gcj2wgs(nw.lat, nw.lng);
        var pw = this._map.project(L.latLng(w[0], w[1]), coords.z);
        return pos.add(pw.subtract(pg));
      }
    });
    return new Gcj(url, options);
  };

  window.SitingMap = S;
}());

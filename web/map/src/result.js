// The map of one finished run, with no server: the VS Code result panel (and anything else that
// holds a run JSON, the `fused-ls run --format json` contract) draws `result.geojson` features,
// an H3 frame's hexagons (`result.h3.geojson`, or the `geojson` the runner built from them) and a
// raster (`result.raster.png_base64` at `result.raster.bounds`), fitted in view. It never fetches
// anything, so it works under a webview's strict CSP (nonce'd script, no remote origin). With
// `viz` (the package's `fused:vizConfig`, which the caller adds to the run) the features are
// styled as the live map styles them.
//
// A separate entry from main.js (the live map of `fused-ls serve`, which talks to its server):
// built to dist/result.js by build.mjs. It reads the run from
// `<script type="application/json" id="fused-run">` in `#fused-result-map`'s page and draws into
// that element; `window.__fusedResultMap` exposes the deck and a projection for tests.

import { Deck, MapView, WebMercatorViewport } from "@deck.gl/core";
import { BitmapLayer, GeoJsonLayer, PathLayer } from "@deck.gl/layers";
import { vizProps } from "./viz.js";

// The live map's feature colours (main.js), so a run looks the same in both.
const FILL = [255, 140, 0, 180];
const LINE = [120, 60, 0, 255];

/** What a run JSON gives the map: features (a FeatureCollection), a raster, the bounds to fit. */
export function resultData(run) {
  const r = run && run.result;
  if (!r) return { features: null, raster: null, bounds: null };
  let features = null;
  if (r.geojson && Array.isArray(r.geojson.features) && r.geojson.features.length) features = r.geojson;
  else if (r.h3 && r.h3.geojson && Array.isArray(r.h3.geojson.features)) features = r.h3.geojson;
  let raster = null;
  const png = r.raster && (r.raster.png_base64 || r.raster.png);
  if (png && validBounds(r.raster.bounds)) {
    raster = { bounds: r.raster.bounds, image: "data:image/png;base64," + String(png).replace(/\s/g, "") };
  }
  // Not `total_bounds`: it is in the frame's CRS, which may not be degrees; the GeoJSON is.
  const bounds =
    (raster && raster.bounds) || (features ? featureBounds(features) : null) || (validBounds(run.bounds) ? run.bounds : null);
  return { features, raster, bounds };
}

function validBounds(b) {
  return Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === "number" && Number.isFinite(v));
}

/** The bounds of every coordinate in a FeatureCollection. */
function featureBounds(fc) {
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c) => {
    if (typeof c[0] === "number") {
      w = Math.min(w, c[0]);
      e = Math.max(e, c[0]);
      s = Math.min(s, c[1]);
      n = Math.max(n, c[1]);
    } else for (const x of c) visit(x);
  };
  const geom = (g) => {
    if (!g) return;
    if (g.type === "GeometryCollection") (g.geometries || []).forEach(geom);
    else if (g.coordinates) visit(g.coordinates);
  };
  for (const f of fc.features) geom(f && f.geometry);
  return Number.isFinite(w) ? [w, s, e, n] : null;
}

function ring([w, s, e, n]) {
  return [[w, n], [e, n], [e, s], [w, s], [w, n]];
}

async function draw(el, run) {
  const status = document.getElementById("fused-map-status");
  const say = (t) => status && (status.textContent = t);
  const data = resultData(run);
  if (!data.features && !data.raster) {
    el.hidden = true;
    return null;
  }
  let image = null;
  if (data.raster) {
    image = new Image();
    image.src = data.raster.image;
    await image.decode();
  }
  const width = el.clientWidth || 400;
  const height = el.clientHeight || 300;
  let view = { longitude: 0, latitude: 0, zoom: 1 };
  if (data.bounds) {
    const [w, s, e, n] = data.bounds;
    // A point (or a single row) has no extent: pad it so fitBounds has one.
    const pad = w === e || s === n ? 0.001 : 0;
    const vp = new WebMercatorViewport({ width, height });
    const fit = vp.fitBounds([[w - pad, s - pad], [e + pad, n + pad]], { padding: Math.min(30, width / 8, height / 8) });
    view = { longitude: fit.longitude, latitude: fit.latitude, zoom: Math.min(fit.zoom, 20) };
  }
  const layers = [];
  let vizError = null;
  // The run's tile or bounds as an outline: where the UDF was asked to draw.
  if (validBounds(run.bounds)) {
    layers.push(new PathLayer({ id: "run-bounds", data: [ring(run.bounds)], getPath: (p) => p, getColor: [150, 150, 160, 255], getWidth: 1, widthUnits: "pixels" }));
  }
  if (image) {
    const viz = vizProps(run.viz, "rasterLayer", (message) => (vizError = message));
    layers.push(new BitmapLayer({ ...viz, id: "raster", image, bounds: data.raster.bounds }));
  }
  if (data.features) {
    layers.push(
      new GeoJsonLayer({
        pickable: true,
        stroked: true,
        filled: true,
        pointType: "circle",
        getPointRadius: 4,
        pointRadiusUnits: "pixels",
        getFillColor: FILL,
        getLineColor: LINE,
        getLineWidth: 1,
        lineWidthUnits: "pixels",
        // The package's `fused:vizConfig`, as the live map draws it (the caller puts it in `viz`).
        ...vizProps(run.viz, "vectorLayer", (message) => (vizError = message)),
        id: "features",
        data: data.features,
      }),
    );
  }
  let deck;
  try {
    deck = new Deck({
      parent: el,
      width: "100%",
      height: "100%",
      views: new MapView({ repeat: false }),
      initialViewState: view,
      controller: true,
      layers,
      getTooltip: ({ object }) =>
        object && object.properties
          ? { text: Object.entries(object.properties).slice(0, 8).map(([k, v]) => `${k}: ${v}`).join("\n") }
          : null,
      onError: (e) => say(`map: ${e && e.message ? e.message : e}`),
    });
  } catch (e) {
    // No WebGL2 (a remote desktop without a GPU, a locked-down browser): say so, keep the rest.
    say(`The map needs WebGL2, which this view does not have: ${e}`);
    return null;
  }
  const n = data.features ? data.features.features.length : 0;
  const outline = validBounds(run.bounds) ? ": the grey outline is the run's bounds" : "";
  say(
    `${n ? `${n} feature${n === 1 ? "" : "s"}` : ""}${n && image ? " and " : ""}${image ? "a raster" : ""} on the map (no basemap${outline})` +
      (vizError ? `; ${vizError}` : ""),
  );
  let drawn = 0;
  deck.setProps({ onAfterRender: () => (drawn += 1) });
  window.__fusedResultMap = {
    deck,
    data,
    drawn: () => drawn,
    // Pixel position of [lng, lat] in the map element.
    project: (p) => deck.getViewports()[0].project(p),
  };
  return deck;
}

function start() {
  const el = document.getElementById("fused-result-map");
  const src = document.getElementById("fused-run");
  if (!el || !src) return;
  let run;
  try {
    run = JSON.parse(src.textContent || "null");
  } catch (_) {
    return;
  }
  draw(el, run).catch((e) => {
    const status = document.getElementById("fused-map-status");
    if (status) status.textContent = `map: ${e}`;
  });
}

start();

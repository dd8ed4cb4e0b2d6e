// The live map of fused-ls. One page, three hosts: `fused-ls serve`, the VS Code panel and the
// browser Neovim opens. It draws one UDF: a Tile UDF as a tile layer whose tiles come from
// `<base><udf>/run/tiles/{z}/{x}/{y}?format=json`, a File UDF's result fitted in view.
//
// It talks to the server only through the endpoints README documents ("`fused-ls serve`"),
// so anything it shows a user can also get with curl. No basemap and no CDN: the background is
// a tile grid with its coordinates, so it works offline.

import { Deck, MapView, WebMercatorViewport } from "@deck.gl/core";
import { TileLayer } from "@deck.gl/geo-layers";
import { BitmapLayer, GeoJsonLayer, PathLayer, SolidPolygonLayer, TextLayer } from "@deck.gl/layers";
import { vizProps } from "./viz.js";

const config = JSON.parse(document.getElementById("fused-config")?.textContent || "{}");
// The base URL ends with the token: `http://127.0.0.1:PORT/<token>/`. The server gives it
// relative to this page (`./`, `../`), so it holds under a proxy's path prefix
// (`https://HOST/proxy/PORT/<token>/`): every URL below is built on this absolute form.
const base = new URL(config.base || "./", location.href).href;

const state = {
  udfs: [],
  udf: null,
  params: {},
  // Bumped to reload every tile (a parameter changed, the UDF was saved).
  generation: 0,
  overlay: true,
  // Counts redraws (the labels' update trigger).
  redraws: 0,
  // What each tile's request gave: `z/x/y` → {ms, cache, error, bbox}.
  tiles: new Map(),
  fileResult: null,
  // A File UDF's result as layers: {features, raster: {bounds, image}}.
  fileData: null,
  modified: null,
};

const $ = (id) => document.getElementById(id);

function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

function query() {
  const q = new URLSearchParams();
  q.set("format", "json");
  for (const [k, v] of Object.entries(state.params)) {
    if (v !== "" && v !== undefined) q.set(k, v);
  }
  return q.toString();
}

// What one run JSON (the `fused-ls run --format json` contract) gives the map.
function layersData(run) {
  const r = run && run.result;
  if (!r) return { features: null, raster: null };
  let features = null;
  if (r.geojson && r.geojson.features) features = r.geojson;
  else if (r.h3 && r.h3.geojson && r.h3.geojson.features) features = r.h3.geojson;
  let raster = null;
  if (r.raster && r.raster.bounds && (r.raster.png_base64 || r.raster.png)) {
    raster = {
      bounds: r.raster.bounds,
      image: "data:image/png;base64," + (r.raster.png_base64 || r.raster.png),
    };
  }
  return { features, raster };
}

async function loadImage(src) {
  const img = new Image();
  img.src = src;
  await img.decode();
  return img;
}

// A tile's data: the run, its timing and whether the server's cache answered.
async function getTileData({ index, signal, bbox }) {
  const { x, y, z } = index;
  const key = `${z}/${x}/${y}`;
  const started = performance.now();
  const url = `${base}${encodeURIComponent(state.udf.name)}/run/tiles/${z}/${x}/${y}?${query()}`;
  const info = { key, bbox, ms: null, cache: null, error: null };
  state.tiles.set(key, info);
  let res;
  try {
    res = await fetch(url, { signal });
  } catch (e) {
    if (signal.aborted) throw e; // panned away: deck.gl drops the tile
    info.error = { class: "NetworkError", message: String(e) };
    redraw();
    return { info };
  }
  info.ms = Math.round(performance.now() - started);
  info.cache = res.headers.get("x-fused-cache");
  if (res.status === 204) {
    redraw();
    return { info };
  }
  let run = null;
  try {
    run = await res.json();
  } catch (e) {
    info.error = { class: `HTTP ${res.status}`, message: "the answer was not JSON" };
  }
  if (run && run.error) info.error = run.error;
  else if (!res.ok && !info.error) info.error = { class: `HTTP ${res.status}`, message: JSON.stringify(run) };
  const data = layersData(run);
  if (data.raster) data.raster.image = await loadImage(data.raster.image);
  redraw();
  return { info, ...data };
}

function tileSubLayers(props) {
  const { data, tile } = props;
  if (!data) return [];
  const out = [];
  if (data.raster) {
    const [w, s, e, n] = data.raster.bounds;
    out.push(new BitmapLayer({ ...vizPropsOf("rasterLayer"), id: `${props.id}-raster`, image: data.raster.image, bounds: [w, s, e, n] }));
  }
  if (data.features && data.features.features.length) {
    out.push(featureLayer(`${props.id}-features`, data.features));
  }
  return out;
}

// What the package's `fused:vizConfig` sets on a layer (viz.js).
function vizPropsOf(key) {
  return vizProps(state.udf && state.udf["fused:vizConfig"], key, (message) => setStatus(message, true));
}

// Of `tileLayer` (Workbench saves e.g. `{"@@type": "TileLayer", "minZoom": 0, "maxZoom": 19,
// "tileSize": 256}`), what shapes the tiles requested; loading, cancelling and drawing stay the
// map's.
const TILE_LAYER_KEYS = ["minZoom", "maxZoom", "tileSize", "zoomOffset", "opacity"];
function tileLayerProps() {
  const all = vizPropsOf("tileLayer");
  return Object.fromEntries(Object.entries(all).filter(([k]) => TILE_LAYER_KEYS.includes(k)));
}

function featureLayer(id, data) {
  return new GeoJsonLayer({
    pickable: true,
    stroked: true,
    filled: true,
    pointType: "circle",
    getPointRadius: 4,
    pointRadiusUnits: "pixels",
    getFillColor: [255, 140, 0, 180],
    getLineColor: [120, 60, 0, 255],
    getLineWidth: 1,
    lineWidthUnits: "pixels",
    ...vizPropsOf("vectorLayer"),
    id,
    data,
  });
}

// The background: every visible tile's outline and `z/x/y`, and (overlay on) what its request
// gave. An errored tile is outlined red and can be clicked for its error.
function gridLayers() {
  const tiles = [...state.tiles.values()].filter((t) => t.bbox);
  const ring = (b) => [
    [b.west, b.north],
    [b.east, b.north],
    [b.east, b.south],
    [b.west, b.south],
    [b.west, b.north],
  ];
  const layers = [
    // An errored tile is tinted and can be clicked anywhere for its error.
    new SolidPolygonLayer({
      id: "errored",
      data: tiles.filter((t) => t.error),
      getPolygon: (t) => ring(t.bbox),
      getFillColor: [220, 30, 30, 40],
      pickable: true,
      updateTriggers: { getPolygon: tiles.length },
    }),
    new PathLayer({
      id: "grid",
      data: tiles,
      getPath: (t) => ring(t.bbox),
      getColor: (t) => (t.error ? [220, 30, 30, 255] : [150, 150, 160, 255]),
      getWidth: (t) => (t.error ? 3 : 1),
      widthUnits: "pixels",
      pickable: true,
      updateTriggers: { getColor: state.generation + ":" + tiles.length, getWidth: tiles.length },
    }),
  ];
  if (state.overlay) {
    layers.push(
      new TextLayer({
        id: "grid-labels",
        data: tiles,
        getPosition: (t) => [t.bbox.west, t.bbox.north],
        getText: (t) => {
          const parts = [t.key];
          if (t.ms !== null) parts.push(`${t.ms} ms${t.cache ? " " + t.cache : ""}`);
          if (t.error) parts.push(`${t.error.class}`);
          return parts.join("\n");
        },
        getColor: (t) => (t.error ? [200, 20, 20, 255] : [80, 80, 90, 255]),
        getSize: 12,
        getTextAnchor: "start",
        getAlignmentBaseline: "top",
        getPixelOffset: [4, 4],
        // Readable over any raster or feature.
        background: true,
        getBackgroundColor: [255, 255, 255, 200],
        backgroundPadding: [2, 1],
        characterSet: "auto",
        // Tiles' timings change in place: recompute the labels on every redraw.
        updateTriggers: { getText: state.redraws, getColor: state.redraws },
      })
    );
  }
  return layers;
}

function udfLayers() {
  if (!state.udf) return [];
  if (state.udf.mode === "tile") {
    return [
      new TileLayer({
        id: `udf-${state.generation}`,
        getTileData,
        renderSubLayers: tileSubLayers,
        tileSize: 256,
        minZoom: 0,
        maxZoom: 22,
        maxRequests: 6,
        ...tileLayerProps(),
        // Tiles that left the view are cancelled: their fetch is aborted, the server kills
        // the run.
        refinementStrategy: "best-available",
        onViewportLoad: () => setStatus(`${state.udf.name}: tiles loaded`),
      }),
    ];
  }
  const layers = [];
  const data = state.fileData;
  if (data && data.raster) {
    layers.push(new BitmapLayer({ ...vizPropsOf("rasterLayer"), id: "file-raster", image: data.raster.image, bounds: data.raster.bounds }));
  }
  if (data && data.features) layers.push(featureLayer("file-features", data.features));
  return layers;
}

let deck = null;
let viewState = { longitude: -73.99, latitude: 40.72, zoom: 13 };

function redraw() {
  if (!deck) return;
  state.redraws += 1;
  // The errored tiles' tint under the result; the grid and its labels over it, so a raster
  // never hides which tile is which.
  const grid = gridLayers();
  const under = grid.filter((l) => l.id === "errored");
  const over = grid.filter((l) => l.id !== "errored");
  deck.setProps({ layers: [...under, ...udfLayers(), ...over] });
}

// The grid needs tiles even for a File UDF: a tile layer that only records what is visible.
function visibleTilesForFile() {
  const vp = new WebMercatorViewport({ ...viewState, width: deck.width, height: deck.height });
  const z = Math.max(0, Math.min(22, Math.round(vp.zoom)));
  const n = 2 ** z;
  const [w, s, e, nn] = vp.getBounds();
  const tx = (lng) => Math.floor(((lng + 180) / 360) * n);
  const ty = (lat) => {
    const r = (lat * Math.PI) / 180;
    return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  };
  const lng = (x) => (x / n) * 360 - 180;
  const lat = (y) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / n))) * 180) / Math.PI;
  state.tiles.clear();
  const [x0, x1, y0, y1] = [tx(w), tx(e), ty(nn), ty(s)];
  if ((x1 - x0 + 1) * (y1 - y0 + 1) > 400) return;
  for (let x = Math.max(0, x0); x <= Math.min(n - 1, x1); x++) {
    for (let y = Math.max(0, y0); y <= Math.min(n - 1, y1); y++) {
      const key = `${z}/${x}/${y}`;
      state.tiles.set(key, { key, bbox: { west: lng(x), east: lng(x + 1), north: lat(y), south: lat(y + 1) }, ms: null, cache: null, error: null });
    }
  }
}

function showDetails(html) {
  const el = $("details");
  el.innerHTML = html;
  el.hidden = !html;
}

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function errorHtml(key, e) {
  const line = e.line ? ` (line ${e.line})` : "";
  return `<b>${escapeHtml(key)}</b>: <span class="error">${escapeHtml(e.class)}: ${escapeHtml(e.message || "")}${line}</span>` +
    (e.traceback ? `<pre>${escapeHtml(e.traceback)}</pre>` : "");
}

function onClick(info) {
  if (!info.object) return showDetails("");
  if (info.layer && (info.layer.id === "grid" || info.layer.id === "errored")) {
    const t = info.object;
    if (t.error) return showDetails(errorHtml(t.key, t.error));
    return showDetails(`<b>${escapeHtml(t.key)}</b>: ${t.ms ?? "?"} ms${t.cache ? ", cache " + escapeHtml(t.cache) : ""}`);
  }
  const props = info.object.properties || {};
  const rows = Object.entries(props)
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(JSON.stringify(v))}</td></tr>`)
    .join("");
  showDetails(`<table>${rows}</table>`);
}

async function runFile() {
  setStatus(`running ${state.udf.name}…`);
  const started = performance.now();
  const res = await fetch(`${base}${encodeURIComponent(state.udf.name)}/run/file?${query()}`);
  const ms = Math.round(performance.now() - started);
  const run = res.status === 204 ? null : await res.json().catch(() => null);
  state.fileResult = run;
  if (run && run.error) {
    setStatus(`${run.error.class}: ${run.error.message}`, true);
    showDetails(errorHtml(state.udf.name, run.error));
  } else {
    setStatus(`${state.udf.name}: ${ms} ms`);
  }
  const data = layersData(run);
  if (data.raster) data.raster.image = await loadImage(data.raster.image);
  state.fileData = data;
  // Fit the result in view.
  const b = (data.raster && data.raster.bounds) || (run && run.result && run.result.total_bounds);
  if (b && b.every((v) => typeof v === "number")) {
    const vp = new WebMercatorViewport({ width: deck.width, height: deck.height });
    const { longitude, latitude, zoom } = vp.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40 });
    viewState = { longitude, latitude, zoom: Math.min(zoom, 20) };
    deck.setProps({ initialViewState: { ...viewState } });
    visibleTilesForFile();
  }
  redraw();
}

// What a typed value becomes in the UDF, asked of the server (`<udf>/coerce`: fused_core's
// coercion table, what the runner applies), so the page never re-implements the SDK's rules.
// `{ok, repr, type}`, `{ok: false, error}`, `{ok, at_run}`, or null when the field is empty.
async function coerced(name, value) {
  if (value === "") return null;
  const q = new URLSearchParams([[name, value]]);
  const res = await fetch(`${base}${encodeURIComponent(state.udf.name)}/coerce?${q}`);
  const body = await res.json();
  if (!res.ok) return { ok: false, error: body.error || { class: `HTTP ${res.status}`, message: "" } };
  return body[name];
}

function showCoerced(hint, p, c) {
  hint.classList.toggle("error", !!(c && !c.ok));
  if (!c) {
    hint.textContent = p.default !== undefined && p.default !== null ? `empty: the default ${p.default} is used` : "empty: not passed";
  } else if (!c.ok) {
    hint.textContent = `✗ ${c.error.class}: ${c.error.message}`;
  } else if (c.repr === null) {
    hint.textContent = `→ ${(c.at_run || "").replaceAll("`", "")}`;
  } else {
    hint.textContent = `→ ${c.repr} (${c.type})`;
  }
}

function paramPanel() {
  const el = $("params");
  el.innerHTML = "";
  // The tile receiver gets the tile's bounds, not a value from the panel.
  for (const p of (state.udf.parameters || []).filter((p) => !p.tile)) {
    const row = document.createElement("label");
    const name = document.createElement("span");
    name.textContent = p.name + (p.annotation ? `: ${p.annotation}` : "");
    const input = document.createElement("input");
    input.name = p.name;
    input.value = state.params[p.name] ?? "";
    input.placeholder = p.default !== undefined && p.default !== null ? String(p.default) : "";
    const hint = document.createElement("small");
    hint.className = "coerced";
    hint.dataset.param = p.name;
    // The rule, on hover; the result for the value typed, below the field.
    if (p.receives) hint.title = p.receives.replaceAll("`", "");
    showCoerced(hint, p, null);
    // Answers can arrive out of order while typing: only the latest one is shown.
    let asked = 0;
    const check = async () => {
      const n = ++asked;
      const value = input.value;
      let c;
      try {
        c = await coerced(p.name, value);
      } catch (e) {
        c = { ok: false, error: { class: "NetworkError", message: String(e) } };
      }
      if (n === asked) showCoerced(hint, p, c);
      return { c, value, latest: n === asked };
    };
    input.addEventListener("input", check);
    input.addEventListener("change", async () => {
      const { c, value, latest } = await check();
      if (!latest) return;
      if (c && !c.ok) {
        // A run with it would fail on every tile before the UDF is called: request nothing.
        setStatus(`${p.name} = ${JSON.stringify(value)} is not applied: ${c.error.class}: ${c.error.message}`, true);
        return;
      }
      state.params[p.name] = value;
      reload();
    });
    row.append(name, input, hint);
    el.append(row);
  }
}

function reload() {
  state.generation += 1;
  state.tiles.clear();
  showDetails("");
  if (state.udf.mode === "tile") redraw();
  else runFile();
}

function initialView(udf) {
  const v = udf.defaultViewState || udf["fused:defaultViewState"];
  if (v && typeof v.longitude === "number" && typeof v.latitude === "number") {
    return { longitude: v.longitude, latitude: v.latitude, zoom: typeof v.zoom === "number" ? v.zoom : 13 };
  }
  // The default tile of `fused-ls run --tile` (13/2411/3079), centred; at zoom 12 its 256 px
  // tiles are drawn at their own size.
  return { longitude: -74.0258, latitude: 40.7305, zoom: 12 };
}

async function pollModified() {
  try {
    // This UDF's entry alone: one package hashed per poll, not every one served.
    const res = await fetch(`${base}udfs?${new URLSearchParams([["name", state.udf.name]])}`);
    const udfs = res.ok ? await res.json() : [];
    const now = udfs.find((u) => u.name === state.udf.name);
    const stamp = now && (now.version ?? now.last_modified);
    if (stamp !== undefined && state.modified !== null && stamp !== state.modified) {
      state.udf = { ...state.udf, ...now };
      setStatus(`${state.udf.name} changed: reloading`);
      reload();
    }
    state.modified = stamp ?? null;
  } catch (_) {
    // The server is gone or restarting: try again later.
  }
  setTimeout(pollModified, 1000);
}

async function main() {
  let udfs;
  try {
    udfs = await (await fetch(`${base}udfs`)).json();
  } catch (e) {
    setStatus(`cannot list the UDFs at ${base}udfs: ${e}`, true);
    return;
  }
  state.udfs = udfs;
  const wanted =
    config.udf || decodeURIComponent(location.pathname.slice(new URL(base).pathname.length).replace(/\/$/, "")) || null;
  const pick = $("udf");
  for (const u of udfs) {
    const o = document.createElement("option");
    o.value = u.name;
    o.textContent = `${u.name} (${u.mode})`;
    pick.append(o);
  }
  state.udf = udfs.find((u) => u.name === wanted) || udfs[0];
  if (!state.udf) {
    setStatus("no UDF found under the served paths", true);
    return;
  }
  pick.value = state.udf.name;
  pick.addEventListener("change", () => {
    location.href = `${base}${encodeURIComponent(pick.value)}/`;
  });
  $("overlay").checked = state.overlay;
  $("overlay").addEventListener("change", (e) => {
    state.overlay = e.target.checked;
    redraw();
  });
  viewState = initialView(state.udf);
  deck = new Deck({
    parent: $("map"),
    views: new MapView({ repeat: false }),
    initialViewState: viewState,
    controller: true,
    layers: [],
    onClick,
    onViewStateChange: ({ viewState: v }) => {
      viewState = v;
      if (state.udf.mode !== "tile") {
        visibleTilesForFile();
        redraw();
      }
    },
    getTooltip: ({ object, layer }) =>
      object && layer && object.properties
        ? { text: Object.entries(object.properties).slice(0, 8).map(([k, v]) => `${k}: ${v}`).join("\n") }
        : null,
  });
  window.__fusedMap = { state, deck };
  paramPanel();
  setStatus(`${state.udf.name} (${state.udf.mode})`);
  if (state.udf.mode === "tile") {
    // The tile layer reports the tiles it wants through getTileData; the grid follows them.
    // Tiles that left the view leave the grid too.
    deck.setProps({
      onAfterRender: () => {
        const layer = deck.props.layers.find((l) => l.id.startsWith("udf-"));
        const visible = layer && layer.state && layer.state.tileset && layer.state.tileset.selectedTiles;
        if (!visible) return;
        const keep = new Set(visible.map((t) => `${t.index.z}/${t.index.x}/${t.index.y}`));
        let changed = false;
        for (const k of [...state.tiles.keys()]) {
          if (!keep.has(k)) {
            state.tiles.delete(k);
            changed = true;
          }
        }
        if (changed) redraw();
      },
    });
    redraw();
  } else {
    visibleTilesForFile();
    await runFile();
  }
  pollModified();
}

main();

// The arguments of the server's `fused.run` command, built from what a user types in the "Run as
// Tile" quick pick. Pure (no vscode import) so that Node's test runner checks it
// (test/runArgs.test.ts).

export type TileSpec =
  | { kind: "default" }
  | { kind: "tile"; tile: string }
  | { kind: "latlng"; lat: number; lng: number; z: number }
  | { kind: "bbox"; bbox: [number, number, number, number] };

export type RunArgs = {
  uri: string;
  mode: "file" | "tile";
  tile?: string;
  lat?: number;
  lng?: number;
  z?: number;
  bbox?: [number, number, number, number];
  params?: Record<string, string>;
};

const NUM = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`;

/**
 * Reads a tile spec as typed: `z/x/y` (also `z x y`, `z,x,y`), `lat lng z` (also with commas),
 * `minx miny maxx maxy` (a bbox, four numbers), or nothing for the server's default tile
 * (13/2411/3079, what `fused.run` uses without a spec).
 * Returns an error message for anything else.
 */
export function parseTileSpec(input: string): TileSpec | { error: string } {
  const text = input.trim();
  if (text === "") return { kind: "default" };
  const parts = text.split(/[\s,/]+/).filter((p) => p !== "");
  if (!parts.every((p) => new RegExp(`^${NUM}$`).test(p))) {
    return { error: `not numbers: "${text}" (expected z/x/y, "lat lng z" or "minx miny maxx maxy")` };
  }
  const nums = parts.map(Number);
  if (parts.length === 3 && text.includes("/")) return tileFromZxy(nums);
  if (parts.length === 3) {
    // Three integers without a slash could be z x y or lat lng z; a latitude or longitude
    // with a fraction decides. Integers only: read as z/x/y, the form the map and Workbench show.
    if (nums.every(Number.isInteger)) return tileFromZxy(nums);
    const [lat, lng, z] = nums;
    if (!Number.isInteger(z) || z < 0 || z > 30) return { error: `zoom must be an integer 0–30, got ${z}` };
    if (Math.abs(lat) > 85.0511) return { error: `latitude must be within ±85.05, got ${lat}` };
    if (Math.abs(lng) > 180) return { error: `longitude must be within ±180, got ${lng}` };
    return { kind: "latlng", lat, lng, z };
  }
  if (parts.length === 4) {
    const [minx, miny, maxx, maxy] = nums;
    if (!(minx < maxx && miny < maxy)) return { error: `a bbox needs minx < maxx and miny < maxy, got ${text}` };
    return { kind: "bbox", bbox: [minx, miny, maxx, maxy] };
  }
  return { error: `expected 3 numbers (z/x/y or lat lng z) or 4 (a bbox), got ${parts.length}` };
}

function tileFromZxy([z, x, y]: number[]): TileSpec | { error: string } {
  if (![z, x, y].every(Number.isInteger)) return { error: `z/x/y must be integers, got ${z}/${x}/${y}` };
  if (z < 0 || z > 30) return { error: `zoom must be 0–30, got ${z}` };
  const n = 2 ** z;
  if (x < 0 || x >= n || y < 0 || y >= n) return { error: `at zoom ${z}, x and y must be 0–${n - 1}` };
  return { kind: "tile", tile: `${z}/${x}/${y}` };
}

/** `fused.run`'s argument for a document and a spec (`undefined`: a File run). */
export function runArgs(uri: string, spec?: TileSpec, params?: Record<string, string>): RunArgs {
  const args: RunArgs = { uri, mode: spec ? "tile" : "file" };
  if (spec?.kind === "tile") args.tile = spec.tile;
  if (spec?.kind === "latlng") Object.assign(args, { lat: spec.lat, lng: spec.lng, z: spec.z });
  if (spec?.kind === "bbox") args.bbox = spec.bbox;
  if (params && Object.keys(params).length > 0) args.params = params;
  return args;
}

/** A short label for a spec, for the status line and the "last" entry of the quick pick. */
export function describeSpec(spec: TileSpec): string {
  switch (spec.kind) {
    case "default":
      return "the server's default tile (13/2411/3079)";
    case "tile":
      return `tile ${spec.tile}`;
    case "latlng":
      return `${spec.lat} ${spec.lng} z${spec.z}`;
    case "bbox":
      return `bbox ${spec.bbox.join(" ")}`;
  }
}

/** The text that `parseTileSpec` reads back as the same spec. */
export function specText(spec: TileSpec): string {
  switch (spec.kind) {
    case "default":
      return "";
    case "tile":
      return spec.tile;
    case "latlng":
      return `${spec.lat} ${spec.lng} ${spec.z}`;
    case "bbox":
      return spec.bbox.join(" ");
  }
}

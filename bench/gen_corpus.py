#!/usr/bin/env python3
"""Generate a synthetic corpus of Fused UDF packages for benchmarking `fused-ls check`.

    gen_corpus.py OUT_DIR --count N --seed S [--node-share F]

Each package is a folder `Name/` holding `README.md` (sometimes `README.MD`),
`Name.py` with one `@fused.udf` function, `meta.json` in the published shape
(one line; about 10% indented), and for about a quarter of them a `utils.py`
declared as a header. The UDFs look like published ones: File and Tile mode,
20-120 lines, heavy imports inside the body, `@fused.cache` helpers, a mix of
annotations (str, int, float, bool, list, dict, fused.types.Bounds, Optional,
none), and about a fifth carry one deliberate problem (an unannotated parameter,
a bad `engine=`, an invalid `cache_max_age`, a deprecated `bbox`, ...).

Python 3.11 standard library only. The output is a pure function of
(--count, --seed, --node-share): the same arguments write the same bytes.
A manifest `corpus.json` at the top of OUT_DIR lists every package with its
mode, the problem planted in it (or null) and the fused-ls rule code it should draw.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

DATASETS = [
    "Overture", "Sentinel2", "Landsat", "NAIP", "NLCD", "CDL", "DEM", "GOES",
    "ERA5", "NOAA_Storms", "OSM_Roads", "Census_ACS", "Airbnb", "NYC_Taxi",
    "FEMA_Flood", "Building_Footprints", "Solar_Potential", "Wildfire",
    "Soil_Moisture", "MODIS_LST", "Copernicus_DEM", "Population", "Crop_Yield",
    "Transit_Stops", "Parcels", "Air_Quality", "Night_Lights", "Hydrography",
]
ACTIONS = [
    "Tile_Example", "Zonal_Stats", "H3_Aggregate", "Hexify", "Buffer",
    "Clip", "NDVI", "Change_Detection", "Heatmap", "Isochrone", "Join",
    "Timeseries", "Mosaic", "Classify", "Sample", "Dissolve", "Explorer",
    "Reader", "Density", "Overlay",
]
COLORS = ["jade", "coral", "olive", "plum", "azure", "crimson", "amber", "teal",
          "peach", "scarlet", "lavender", "cyan", "maroon", "copper"]
ANIMALS = ["catfish", "wombat", "egret", "quail", "ostrich", "mole", "panda",
           "kiwi", "boa", "orca", "firefly", "stork", "lynx", "heron"]
USERS = ["chloe", "max", "dusan", "isaac", "joris", "plinio", "sina", "kevin",
         "milind", "tyler"]
AUTHORS = [("Isaac Brodsky", "isaacbrodsky"), ("Sina Kashuk", "kashuk"),
           ("Plinio Guzman", "pgzmnk"), ("Max Lenormand", "MaxLenormand"),
           ("Joris Van den Bossche", "jorisvandenbossche"),
           ("Chloe He", "chloe"), ("Tyler Erickson", "tylere")]
TAGS = ["raster", "vector", "aws", "h3", "duckdb", "overture", "lulc",
        "30-meter", "tile", "file", "census", "climate", "mobility", "stac"]
PLACES = [  # (name, lon, lat)
    ("San Francisco", -122.42, 37.77), ("New York", -74.01, 40.71),
    ("Austin", -97.74, 30.27), ("Denver", -104.99, 39.74),
    ("Seattle", -122.33, 47.61), ("London", -0.12, 51.51),
    ("Paris", 2.35, 48.86), ("Nairobi", 36.82, -1.29),
    ("Sao Paulo", -46.63, -23.55), ("Tokyo", 139.69, 35.68),
]
VALID_ENGINES = ["local", "remote", "realtime", "m5.large", "m5.xlarge",
                 "r5.2xlarge", "t3.medium", "c2-standard-8", "small", "medium"]
BAD_ENGINES = ["gpu", "m5.huge", "Realtime", "batch", "r6.large", "large-gpu"]
BAD_KEYWORDS = [("timeout", "60"), ("memory", '"4GB"'), ("cache", "False"),
                ("retries", "3"), ("gpu", "True")]

PROBLEMS = [  # (kind, weight)
    ("unannotated-parameter", 4),
    ("bad-engine", 4),
    ("bad-cache-max-age", 2),
    ("unknown-decorator-keyword", 2),
    ("instance-type", 1),
    ("bbox-parameter", 2),
    ("bounds-int", 1),
    ("xyz-parameters", 1),
    ("reserved-parameter", 1),
    ("future-annotations", 1),
    ("default-contradicts", 2),
    ("union-annotation", 1),
    ("iterable-annotation", 1),
    ("utils-not-declared", 1),
    ("meta-name-mismatch", 1),
    ("unpinned-github-load", 1),
    ("nbsp-syntax-error", 1),
    ("default-parameters-unknown", 1),
]
# The fused-ls rule each planted problem should draw (codes are stable, see
# server/crates/fused_core/src/registry.rs). check.sh reports how many were found.
PROBLEM_CODES = {
    "unannotated-parameter": "FUSED023", "bad-engine": "FUSED042",
    "bad-cache-max-age": "FUSED041", "unknown-decorator-keyword": "FUSED040",
    "instance-type": "FUSED043", "bbox-parameter": "FUSED030", "bounds-int": "FUSED031",
    "xyz-parameters": "FUSED032", "reserved-parameter": "FUSED033",
    "future-annotations": "FUSED021", "default-contradicts": "FUSED024",
    "union-annotation": "FUSED020", "iterable-annotation": "FUSED022",
    "utils-not-declared": "FUSED065", "meta-name-mismatch": "FUSED063",
    "unpinned-github-load": "FUSED054", "nbsp-syntax-error": "FUSED001",
    "default-parameters-unknown": "FUSED045",
}
PROBLEM_SHARE = 0.22
INDENTED_META_SHARE = 0.10
UTILS_SHARE = 0.25
TILE_SHARE = 0.45
NESTED_SHARE = 0.30


def hexsha(rng: random.Random, n: int = 40) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def weighted(rng: random.Random, pairs):
    total = sum(w for _, w in pairs)
    r = rng.uniform(0, total)
    for item, w in pairs:
        r -= w
        if r <= 0:
            return item
    return pairs[-1][0]


def bounds_around(rng: random.Random, lon: float, lat: float) -> list[float]:
    d = rng.choice([0.01, 0.02, 0.05, 0.1, 0.25])
    return [round(lon - d, 4), round(lat - d, 4), round(lon + d, 4), round(lat + d, 4)]


# --------------------------------------------------------------------------
# Parameters: name -> (annotation, default factory, usage lines)
# usage lines may use {v} for the main data variable.
# --------------------------------------------------------------------------

def _param_pool(rng: random.Random):
    year = rng.choice(range(2015, 2025))
    return {
        # str
        "path": ("str", repr(f"s3://fused-asset/data/{rng.choice(DATASETS).lower()}/{year}/"),
                 ['print(f"reading from {path}")']),
        "table": ("str", repr(f"s3://fused-asset/infra/{rng.choice(['building', 'roads', 'parcels'])}_{rng.choice(['us', 'global', 'eu'])}/"),
                  []),
        "variable": ("str", repr(rng.choice(["t2m", "tp", "ndvi", "elevation", "pm25"])), []),
        "collection": ("str", repr(rng.choice(["sentinel-2-l2a", "landsat-c2-l2", "naip", "cop-dem-glo-30"])), []),
        "color_attr": ("str", repr(rng.choice(["value", "count", "height", "population"])), []),
        "date_range": ("str", repr(f"{year}-01-01/{year}-12-31"), ['start, end = date_range.split("/")']),
        "output": ("str", repr(rng.choice(["geojson", "parquet", "png"])), []),
        "query": ("str", repr(rng.choice(["restaurant", "school", "hospital", "park"])), []),
        # int
        "year": ("int", str(year), ['print(f"year={year}")']),
        "h3_res": ("int", str(rng.choice([6, 7, 8, 9, 10])), ['assert 0 <= h3_res <= 15, "h3_res out of range"']),
        "min_zoom": ("int", str(rng.choice([8, 10, 12, 14])), []),
        "limit": ("int", str(rng.choice([100, 500, 1000, 10000])), []),
        "buffer_m": ("int", str(rng.choice([50, 100, 250, 500])), []),
        "n_clusters": ("int", str(rng.choice([3, 5, 8])), []),
        "month": ("int", str(rng.randint(1, 12)), []),
        # float
        "threshold": ("float", str(rng.choice([0.1, 0.25, 0.3, 0.5, 0.75])), []),
        "min_area": ("float", str(rng.choice([10.0, 25.5, 100.0])), []),
        "cloud_cover": ("float", str(rng.choice([5.0, 10.0, 20.0])), []),
        "scale": ("float", str(rng.choice([0.5, 1.0, 2.0])), []),
        "lat": ("float", str(rng.choice(PLACES)[2]), []),
        "lng": ("float", str(rng.choice(PLACES)[1]), []),
        # bool
        "verbose": ("bool", rng.choice(["True", "False"]), ['if verbose:', '    print("verbose mode on")']),
        "dissolve": ("bool", "False", []),
        "normalize": ("bool", "True", []),
        "use_cache": ("bool", "True", []),
        # list / dict
        "bands": ("list", repr(rng.choice([["B04", "B08"], ["red", "nir"], ["B02", "B03", "B04"]])), []),
        "columns": ("list", repr(rng.choice([["id", "height"], ["name", "category", "geometry"]])), []),
        "style": ("dict", repr({"color": rng.choice(["#ff0000", "#00aa88"]), "opacity": 0.8}), []),
        # Optional
        "max_rows": ("Optional[int]", "None", ['if max_rows is not None:', '    print(f"capping at {max_rows} rows")']),
        "crs": ("Optional[str]", "None", []),
        "min_value": ("float | None", "None", []),
        # unannotated (very common in the wild)
        "name": (None, repr(rng.choice(["demo", "test", "prod"])), []),
        "resolution": (None, str(rng.choice([10, 30, 60])), []),
    }


# --------------------------------------------------------------------------
# Themes: each gives imports, a cached helper, processing steps, a return
# --------------------------------------------------------------------------

def theme_vector(rng, ctx):
    v = "gdf"
    imports = ["import geopandas as gpd", "import pandas as pd",
               rng.choice(["import shapely", "from shapely.geometry import box"])]
    helper = [
        '@fused.cache' + rng.choice(['', '(cache_max_age="30d")']),
        'def load_table(path: str, columns=None):',
        '    import geopandas as gpd',
        '',
        '    gdf = gpd.read_parquet(path, columns=columns)',
        '    print(f"loaded {len(gdf)} rows from {path}")',
        '    return gdf',
    ]
    load = [f'{v} = load_table({"table" if "table" in ctx["params"] else repr("s3://fused-asset/infra/building_us/part-0.parquet")})']
    steps = [
        [f'{v} = {v}[{v}.geometry.notna()]'],
        [f'{v} = {v}.to_crs(3857)', f'{v}["area"] = {v}.geometry.area', f'{v} = {v}.to_crs(4326)'],
        [f'{v}["centroid_x"] = {v}.geometry.centroid.x', f'{v}["centroid_y"] = {v}.geometry.centroid.y'],
        [f'{v} = {v}[{v}["area"] > {rng.choice([10, 50, 200])}] if "area" in {v} else {v}'],
        [f'if len({v}) == 0:', '    print("no features in this area")', f'    return gpd.GeoDataFrame(geometry=[], crs=4326)'],
        [f'{v}["geometry"] = {v}.geometry.simplify({rng.choice(["0.0001", "0.00005"])})'],
        [f'{v} = {v}.reset_index(drop=True)', f'{v}["fid"] = range(len({v}))'],
        [f'{v} = {v}.explode(index_parts=False)'],
        [f'summary = {v}.describe(include="all")', 'print(summary.T.head())'],
        [f'{v}["bucket"] = pd.cut({v}.index, bins={rng.choice([4, 5, 10])}, labels=False)'],
        [f'{v} = {v}.dissolve(by="bucket", as_index=False) if "bucket" in {v} else {v}'],
        ['# keep only what the map needs',
         f'keep = [c for c in ["fid", "area", "bucket", "geometry"] if c in {v}.columns]',
         f'{v} = {v}[keep]'],
        [f'{v}["label"] = {v}.index.astype(str)'],
    ]
    if ctx["mode"] == "tile":
        tb = ctx["tile_param"]
        steps.append(['from shapely.geometry import box as _box', '',
                      f'{v} = {v}.clip(_box(*{tb}))' if tb == "bounds" else f'{v} = {v}.clip({tb})'])
        steps.append([f'print(f"tile {{{tb}}}: {{len({v})}} features")'])
    return v, imports, helper, load, steps, [f"return {v}"]


def theme_raster(rng, ctx):
    v = "arr"
    imports = ["import numpy as np", rng.choice(["import rasterio", "import xarray as xr"])]
    helper = [
        '@fused.cache',
        'def read_band(url: str, bounds: list, shape: tuple = (256, 256)):',
        '    import numpy as np',
        '    import rasterio',
        '    from rasterio.warp import Resampling',
        '    from rasterio.windows import from_bounds',
        '',
        '    with rasterio.open(url) as src:',
        '        window = from_bounds(*bounds, transform=src.transform)',
        '        data = src.read(1, window=window, out_shape=shape, resampling=Resampling.bilinear)',
        '    return np.asarray(data, dtype="float32")',
    ]
    url = repr(f"s3://fused-asset/data/{rng.choice(['dem', 'nlcd', 'cdl', 's2'])}/{rng.randint(2015, 2024)}/cog.tif")
    src_bounds = ctx["tile_param"] if ctx["mode"] == "tile" else repr(ctx["bounds"])
    if ctx["mode"] == "tile" and src_bounds != "bounds":
        src_bounds = f"{src_bounds}.total_bounds"
    load = [f'{v} = read_band({url}, {src_bounds})']
    steps = [
        [f'{v} = np.where(np.isfinite({v}), {v}, 0)'],
        [f'lo, hi = np.percentile({v}, [2, 98])', f'{v} = np.clip(({v} - lo) / max(hi - lo, 1e-9), 0, 1)'],
        [f'mask = {v} > {rng.choice(["0", "0.1", "0.2"])}', f'print(f"{{mask.mean():.1%}} valid pixels")'],
        [f'{v} = ({v} * 255).astype("uint8")'],
        [f'print({v}.shape, {v}.dtype, float({v}.min()), float({v}.max()))'],
        [f'if {v}.size == 0:', '    return None'],
        [f'{v} = np.flipud({v}) if {rng.choice(["True", "False"])} else {v}'],
        ['# stretch contrast a little', f'{v} = np.sqrt({v}.astype("float32") / 255.0) * 255'],
        [f'{v} = {v}.astype("uint8")'],
        [f'kernel = np.ones(({rng.choice([3, 5])}, {rng.choice([3, 5])})) / {rng.choice([9, 25])}',
         f'print("kernel sum", kernel.sum())'],
    ]
    if "bands" in ctx["params"]:
        steps.append(['for band in bands:', '    print(f"band {band}")'])
    return v, imports, helper, load, steps, [f"return {v}" if rng.random() < 0.6 else f"return {v}, {src_bounds}"]


def theme_h3(rng, ctx):
    v = "df"
    imports = ["import duckdb", "import pandas as pd"] + (["import h3"] if rng.random() < 0.5 else [])
    res = "h3_res" if "h3_res" in ctx["params"] else str(rng.choice([7, 8, 9]))
    helper = [
        '@fused.cache' + rng.choice(['', '(cache_max_age="7d")']),
        'def run_query(sql: str):',
        '    import duckdb',
        '',
        '    con = duckdb.connect()',
        '    con.sql("INSTALL h3 FROM community; LOAD h3; INSTALL httpfs; LOAD httpfs;")',
        '    return con.sql(sql).df()',
    ]
    if ctx["mode"] == "tile":
        tb = ctx["tile_param"]
        where = [f'xmin, ymin, xmax, ymax = {tb}' if tb == "bounds" else f'xmin, ymin, xmax, ymax = {tb}.total_bounds',
                 'where = f"lng BETWEEN {xmin} AND {xmax} AND lat BETWEEN {ymin} AND {ymax}"']
    else:
        b = ctx["bounds"]
        where = [f'where = "lng BETWEEN {b[0]} AND {b[2]} AND lat BETWEEN {b[1]} AND {b[3]}"']
    src = repr(f"s3://fused-asset/data/{rng.choice(['taxi', 'places', 'ais', 'crimes'])}/*.parquet")
    load = where + [
        'sql = f"""',
        f'    SELECT h3_latlng_to_cell(lat, lng, {{{res}}}) AS hex, COUNT(*) AS cnt' if res == "h3_res"
        else f'    SELECT h3_latlng_to_cell(lat, lng, {res}) AS hex, COUNT(*) AS cnt',
        f'    FROM read_parquet({src})',
        '    WHERE {where}',
        '    GROUP BY 1',
        '"""',
        f'{v} = run_query(sql)',
    ]
    steps = [
        [f'{v} = {v}[{v}["cnt"] > {rng.choice([0, 1, 5])}]'],
        [f'{v}["pct"] = {v}["cnt"] / {v}["cnt"].sum()'],
        [f'{v} = {v}.sort_values("cnt", ascending=False)'],
        [f'{v}["hex"] = {v}["hex"].astype("uint64")'],
        [f'print({v}.head())'],
        [f'{v} = {v}.rename(columns={{"cnt": "count"}})'],
        [f'{v}["log_count"] = ({v}["count"] if "count" in {v} else {v}["cnt"]).clip(lower=1).apply(lambda c: c.bit_length())'],
        [f'if {v}.empty:', '    print("empty result")', f'    return pd.DataFrame({{"hex": [], "count": []}})'],
    ]
    if "limit" in ctx["params"]:
        steps.append([f'{v} = {v}.head(limit)'])
    return v, imports, helper, load, steps, [f"return {v}"]


def theme_table(rng, ctx):
    v = "df"
    imports = ["import pandas as pd", "import requests"] + (["import json"] if rng.random() < 0.4 else [])
    helper = [
        '@fused.cache',
        'def fetch(url: str, params: dict):',
        '    import requests',
        '',
        '    r = requests.get(url, params=params, timeout=30)',
        '    r.raise_for_status()',
        '    return r.json()',
    ]
    url = repr(f"https://api.example.org/v{rng.randint(1, 3)}/{rng.choice(['stations', 'events', 'permits', 'listings'])}")
    load = [f'records = fetch({url}, {{"limit": {rng.choice([100, 1000, 5000])}}})',
            f'{v} = pd.DataFrame(records.get("results", []))']
    steps = [
        [f'{v} = {v}.dropna(how="all")'],
        [f'if "date" in {v}:', f'    {v}["date"] = pd.to_datetime({v}["date"], errors="coerce")'],
        [f'{v} = {v}.drop_duplicates()'],
        [f'print(f"{{len({v})}} rows, columns: {{list({v}.columns)}}")'],
        [f'{v}.columns = [c.lower().replace(" ", "_") for c in {v}.columns]'],
        [f'if "value" in {v}:', f'    {v} = {v}[{v}["value"] >= 0]'],
        [f'{v} = {v}.reset_index(drop=True)'],
        ['# convert to points when coordinates are present',
         f'if {{"lat", "lng"}} <= set({v}.columns):',
         '    import geopandas as gpd',
         '',
         f'    {v} = gpd.GeoDataFrame({v}, geometry=gpd.points_from_xy({v}.lng, {v}.lat), crs=4326)'],
        [f'{v}["row"] = range(len({v}))'],
    ]
    if "limit" in ctx["params"]:
        steps.append([f'{v} = {v}.head(limit)'])
    return v, imports, helper, load, steps, [f"return {v}"]


def generic_blocks(rng, var):
    """Theme-independent blocks that make long UDFs longer without repeating."""
    n = rng.choice([3, 5, 8])
    return [
        ["import time", "", "t0 = time.time()", f"print(f\"step took {{time.time() - t0:.2f}}s\")"],
        ["def color_for(value, vmin=0, vmax=1):",
         "    frac = 0 if vmax == vmin else (value - vmin) / (vmax - vmin)",
         "    frac = min(max(frac, 0), 1)",
         "    return [int(255 * frac), int(128 * (1 - frac)), 200, 180]"],
        ["palette = {",
         '    "low": [26, 152, 80],',
         '    "mid": [254, 224, 139],',
         '    "high": [215, 48, 39],',
         "}",
         'print("palette", list(palette))'],
        ["try:",
         f'    sibling = fused.load("{rng.choice(DATASETS)}_Utils")',
         "    print(sibling)",
         "except Exception as e:",
         '    print(f"could not load helper UDF: {e}")'],
        [f"for i in range({n}):",
         "    if i % 2 == 0:",
         '        print(f"chunk {i}")',
         "    else:",
         "        continue"],
        ["stats = {",
         f'    "rows": len({var}) if hasattr({var}, "__len__") else 0,',
         f'    "kind": type({var}).__name__,',
         "}",
         "print(stats)"],
        ["@fused.cache",
         "def lookup_codes(kind: str = \"landcover\"):",
         "    import pandas as pd",
         "",
         "    codes = {11: \"water\", 21: \"developed\", 41: \"forest\", 82: \"cropland\"}",
         "    return pd.DataFrame({\"code\": list(codes), \"label\": list(codes.values())})",
         "",
         "codes = lookup_codes()",
         'print(codes.head())'],
        ["# TODO: move this into utils once it stabilises",
         "def chunked(seq, size):",
         "    for start in range(0, len(seq), size):",
         "        yield seq[start:start + size]",
         "",
         f"parts = list(chunked(list(range({n * 10})), {n}))",
         'print(f"{len(parts)} parts")'],
        ["with open(\"/tmp/last_run.txt\", \"w\") as f:",
         f'    f.write(str(type({var})))'],
        ["import datetime", "", 'print("run at", datetime.datetime.utcnow().isoformat())'],
    ]


TILE_THEMES = [theme_vector, theme_raster, theme_h3]
FILE_THEMES = [theme_vector, theme_raster, theme_h3, theme_table]

UTILS_FUNCS = {
    "clip_to_bounds": [
        "def clip_to_bounds(gdf, bounds):",
        "    from shapely.geometry import box",
        "",
        "    return gdf.clip(box(*bounds))",
    ],
    "add_area": [
        "def add_area(gdf, col=\"area_m2\"):",
        "    gdf = gdf.copy()",
        "    gdf[col] = gdf.to_crs(3857).geometry.area",
        "    return gdf",
    ],
    "to_uint8": [
        "def to_uint8(arr, lo=None, hi=None):",
        "    import numpy as np",
        "",
        "    lo = np.nanmin(arr) if lo is None else lo",
        "    hi = np.nanmax(arr) if hi is None else hi",
        "    return (np.clip((arr - lo) / max(hi - lo, 1e-9), 0, 1) * 255).astype(\"uint8\")",
    ],
    "summarize": [
        "def summarize(df, by=None):",
        "    if by is None:",
        "        return df.describe()",
        "    return df.groupby(by).size().rename(\"n\").reset_index()",
    ],
    "build_url": [
        "def build_url(base: str, **params) -> str:",
        "    from urllib.parse import urlencode",
        "",
        "    return f\"{base}?{urlencode(params)}\" if params else base",
    ],
}


# --------------------------------------------------------------------------
# One package
# --------------------------------------------------------------------------

def make_name(rng: random.Random, i: int) -> str:
    if rng.random() < 0.25:
        return f"{rng.choice(COLORS)}_{rng.choice(ANIMALS)}_{i:04d}"
    return f"{rng.choice(DATASETS)}_{rng.choice(ACTIONS)}_{i:04d}"


def render_param(name: str, ann, default: str) -> str:
    if ann is None:
        return f"{name}={default}"
    return f"{name}: {ann} = {default}"


def make_package(rng: random.Random, i: int):
    name = make_name(rng, i)
    mode = "tile" if rng.random() < TILE_SHARE else "file"
    problem = weighted(rng, PROBLEMS) if rng.random() < PROBLEM_SHARE else None
    if problem in ("bbox-parameter", "bounds-int"):
        mode = "tile"  # these are tile-receiver problems
    has_utils = rng.random() < UTILS_SHARE or problem == "utils-not-declared"
    place = rng.choice(PLACES)
    bounds = bounds_around(rng, place[1], place[2])

    # ---- parameters ----
    pool = _param_pool(rng)
    names = sorted(pool)
    k = rng.choice([0, 1, 1, 2, 2, 3, 3, 4, 5, 6])
    chosen = rng.sample(names, k)
    # Optional / `| None` are rare in published UDFs: keep about one in three
    chosen = [n for n in chosen if not (pool[n][0] or "").startswith("Optional")
              and "| None" not in (pool[n][0] or "") or rng.random() < 0.35]
    params: list[tuple[str, object, str]] = []
    if mode == "tile":
        first = "bounds"
        ann = "fused.types.Bounds"
        if rng.random() < 0.06:
            ann = rng.choice(["fused.types.Tile", "fused.types.TileGDF"])
        if problem == "bbox-parameter":
            first, ann = "bbox", rng.choice(["fused.types.Bbox", "fused.types.TileGDF"])
        if problem == "bounds-int":
            ann = "int"
        default = "None" if ann != "fused.types.Bounds" else repr(bounds)
        if ann == "int":
            default = "0"
        params.append((first, ann, default))
    elif rng.random() < 0.15:
        params.append(("bounds", "fused.types.Bounds", repr(bounds)))
    for n in chosen:
        ann, default, _ = pool[n]
        params.append((n, ann, default))
    if problem == "unannotated-parameter":
        params.append((rng.choice(["source", "label", "mode_name", "tolerance"]), None,
                       # Not a string: a string default receives a string anyway (no FUSED023).
                       rng.choice(["0.5", "3", "True", "[1, 2]"])))
    if problem == "xyz-parameters":
        params += [("x", "int", str(rng.randint(0, 4000))), ("y", "int", str(rng.randint(0, 4000))),
                   ("z", "int", str(rng.randint(10, 14)))]
    if problem == "reserved-parameter":
        params.append((rng.choice(["cache", "engine", "cache_max_age"]), None, "None"))
    if problem == "default-contradicts":
        params.append((rng.choice(["n_samples", "zoom_level", "max_features"]), "int", repr(str(rng.randint(2, 20)))))
    if problem == "union-annotation":
        # No `str` in it: that is FUSED026 (a string is what it declares), not FUSED020.
        params.append(("config", rng.choice(["Union[dict, list, None]", "Union[int, float]"]), "None"))
    if problem == "iterable-annotation":
        params.append(("ids", rng.choice(["Iterable", "Iterable[int]"]), "None"))

    pnames = {p[0] for p in params}
    ctx = {"mode": mode, "params": pnames, "bounds": bounds,
           "tile_param": params[0][0] if mode == "tile" else None}
    theme = rng.choice(TILE_THEMES if mode == "tile" else FILE_THEMES)
    var, imports, helper, load, steps, ret = theme(rng, ctx)

    # ---- decorator ----
    kw: list[str] = []
    r = rng.random()
    if r < 0.08:
        kw.append(f'engine="{rng.choice(VALID_ENGINES)}"')
    elif r < 0.16:
        kw.append(f'cache_max_age="{rng.choice(["0s", "30m", "12h", "1d", "7d"])}"')
    elif r < 0.19:
        kw.append(f'name="{name}"')
    if problem == "bad-engine":
        kw.append(f'engine="{rng.choice(BAD_ENGINES)}"')
    if problem == "bad-cache-max-age":
        kw.append(f'cache_max_age="{rng.choice(["10 minutes", "1 day", "30", "2w"])}"')
    if problem == "unknown-decorator-keyword":
        k_, v_ = rng.choice(BAD_KEYWORDS)
        kw.append(f"{k_}={v_}")
    if problem == "instance-type":
        kw.append(f'instance_type="{rng.choice(["m5.large", "r5.xlarge", "t3.small"])}"')
    if problem == "default-parameters-unknown":
        kw.append('default_parameters={"resolutoin": 9}')
    if kw:
        deco = f"@fused.udf({', '.join(kw)})"
    else:
        deco = rng.choice(["@fused.udf", "@fused.udf", "@fused.udf", "@fused.udf()"])

    # ---- signature ----
    sig: list[str] = []
    rendered = [render_param(n, a, d) for n, a, d in params]
    one_line = f"def udf({', '.join(rendered)}):"
    if len(one_line) <= 88 and rng.random() < 0.7:
        sig.append(one_line)
    else:
        sig.append("def udf(")
        for p in rendered:
            sig.append(f"    {p},")
        sig.append("):")

    # ---- body ----
    body: list[str] = []
    if rng.random() < 0.3:
        body.append(f'"""{rng.choice(["Load", "Compute", "Aggregate", "Render"])} '
                    f'{name.replace("_", " ").lower()} for the map."""')
    body += imports
    if has_utils:
        util_names = sorted(UTILS_FUNCS)
        body.append(f"from utils import {', '.join(rng.sample(util_names, rng.randint(1, 2)))}")
    if rng.random() < 0.35 or problem == "unpinned-github-load":
        ref = rng.choice(["main", "dev"]) if problem == "unpinned-github-load" else hexsha(rng, rng.choice([7, 40]))
        body.append(f'common = fused.load("https://github.com/fusedio/udfs/tree/{ref}/public/common/").utils')
    elif rng.random() < 0.1:
        body.append(f'helpers = fused.load("{rng.choice(DATASETS)}_Utils")')
    body.append("")
    if rng.random() < 0.88:
        body += helper
    else:  # the same helper without @fused.cache
        body += helper[1:]
    # a second, smaller cached helper now and then
    if rng.random() < 0.3:
        body += ["", "@fused.cache", "def get_metadata(key: str):",
                 '    return {"key": key, "source": "fused"}', ""]
    else:
        body.append("")
    for n, a, d in params:
        body += pool.get(n, (None, None, []))[2] if n in pool else []
    body += load
    nbsp_done = problem != "nbsp-syntax-error"
    target = max(20, min(120, int(rng.triangular(20, 120, 45))))
    base_len = 1 + len(sig) + len(body) + len(ret)  # decorator + sig + body + return
    extra = generic_blocks(rng, var)
    rng.shuffle(extra)
    order = list(range(len(steps)))
    rng.shuffle(order)
    steps = [steps[j] for j in order] + extra
    order = list(range(len(steps)))
    idx = 0
    while base_len < target - 1:
        step = steps[idx % len(steps)]
        idx += 1
        if base_len + len(step) > 119:
            break
        if idx > len(steps) and (idx - 1) % len(steps) == 0:
            # recycled steps: say so once, as a person would
            step = ["# second pass over the data"] + step
        if step[0].startswith(("def ", "@", "import ", "try:", "# ")) and body and body[-1] != "":
            step = [""] + step  # a blank line before a new block, as people write
        body += step
        base_len += len(step)
        if not nbsp_done and rng.random() < 0.5:
            # a non-breaking space pasted between tokens: SyntaxError
            body.append(f"print(len({var}),\u00a0'rows')")
            base_len += 1
            nbsp_done = True
    if not nbsp_done:
        body.append(f"print(len({var}),\u00a0'rows')")
    body += ret

    lines: list[str] = []
    if problem == "future-annotations":
        lines += ["from __future__ import annotations", ""]
    typing_needed = [t for t in ("Optional", "Union", "Iterable")
                     if any(isinstance(a, str) and t in a for _, a, _ in params)]
    if rng.random() < 0.4:
        lines.append("import fused")
    if typing_needed:
        lines.append(f"from typing import {', '.join(typing_needed)}")
    if lines and lines[-1] != "":
        lines += ["", ""]
    if rng.random() < 0.1:
        lines += [f'DEFAULT_COLOR = "{rng.choice(["#3366cc", "#dc3912", "#ff9900"])}"', "", ""]
    lines.append(deco)
    lines += sig
    for b in body:
        lines.append(("    " + b) if b else "")
    code = "\n".join(lines) + "\n"

    # ---- utils.py ----
    utils_code = None
    if has_utils:
        chosen_utils = sorted(UTILS_FUNCS)
        u: list[str] = [f'"""Helpers for {name}."""', ""]
        for fn in chosen_utils:
            u += UTILS_FUNCS[fn] + ["", ""]
        utils_code = "\n".join(u).rstrip() + "\n"

    # ---- README ----
    readme_name = "README.MD" if rng.random() < 0.15 else "README.md"
    desc = (f"This UDF {rng.choice(['loads', 'aggregates', 'renders', 'samples'])} "
            f"{rng.choice(DATASETS).replace('_', ' ')} data around {place[0]} "
            f"in {mode.capitalize()} mode.")
    readme = (f"## Overview\n\n{desc}\n\n## External links\n\n"
              f"- [Dataset documentation](https://example.org/{name.lower()})\n\n"
              f"## Run this in any Jupyter Notebook\n\n```python\nimport fused\n\n"
              f"udf = fused.load(\"{name}\")\nresult = fused.run(udf)\n```\n")

    # ---- meta.json ----
    meta_name = name + "_copy" if problem == "meta-name-mismatch" else name
    metadata: dict = {
        "fused:udfType": rng.choice(["auto", "auto", "auto", mode]),
        "fused:slug": meta_name,
        "fused:name": meta_name,
    }
    if rng.random() < 0.95:
        if mode == "tile":
            metadata["fused:vizConfig"] = {
                "tileLayer": {"@@type": "TileLayer", "minZoom": 0, "maxZoom": 19, "tileSize": 256, "pickable": True},
                "rasterLayer": {"@@type": "BitmapLayer", "pickable": True},
                "vectorLayer": {"@@type": "GeoJsonLayer", "stroked": True, "filled": rng.random() < 0.5,
                                "pickable": True, "lineWidthMinPixels": 1, "pointRadiusMinPixels": 1,
                                "getFillColor": [208, 208, 208, 40]},
            }
        else:
            metadata["fused:vizConfig"] = {
                "vectorLayer": {"@@type": "GeoJsonLayer", "stroked": True, "filled": True, "pickable": True,
                                "getFillColor": {"@@function": "colorContinuous", "attr": "value",
                                                 "domain": [0, rng.choice([10, 100, 1000])],
                                                 "colors": rng.choice(["Teal", "Magenta", "Sunset"])}},
            }
    if rng.random() < 0.6:
        metadata["fused:description"] = f"## Overview\n\n{desc}\n"
    if rng.random() < 0.5:
        metadata["fused:defaultViewState"] = {"enable": True, "latitude": place[2], "longitude": place[1],
                                              "zoom": rng.choice([10, 12, 13, 14]), "pitch": 0, "bearing": 0}
    if rng.random() < 0.5:
        metadata["fused:id"] = None
    if rng.random() < 0.4:
        metadata["fused:assetUrl"] = f"https://fused-magic.s3.us-west-2.amazonaws.com/thumbnails/udfs-staging/{name}.png"
    if rng.random() < 0.35:
        ref = hexsha(rng)
        authors = rng.sample(AUTHORS, rng.randint(1, 3))
        metadata.update({
            "fused:gitUrl": f"https://github.com/fusedio/udfs/tree/{ref}/public/{name}/",
            "fused:gitShortUrl": f"https://github.com/fusedio/udfs/tree/{ref[:7]}/public/{name}/",
            "fused:gitPath": f"public/{name}",
            "fused:gitRef": ref,
            "fused:gitAuthorNames": [a[0] for a in authors],
            "fused:gitAuthorUsernames": [a[1] for a in authors],
            "fused:gitLastModified": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00+00:00",
            "fused:gitRepo": "fusedio/udfs",
        })
    if rng.random() < 0.4:
        metadata["fused:tags"] = [{"id": t, "label": t} for t in rng.sample(TAGS, rng.randint(1, 4))]
    if rng.random() < 0.2:
        metadata["fused:explorerTab"] = rng.choice(["public", "community", "self"])
    headers = []
    if has_utils and problem != "utils-not-declared":
        headers.append({"module_name": "utils", "source_file": "utils.py"})
    meta = {
        "version": "0.0.3",
        "job_config": {
            "version": "0.0.3",
            "name": None,
            "steps": [{
                "type": "udf",
                "udf": {
                    "type": "geopandas_v2",
                    "name": meta_name,
                    "entrypoint": "udf",
                    "parameters": {},
                    "metadata": metadata,
                    "source": f"{name}.py",
                    "headers": headers,
                },
            }],
            "metadata": None,
        },
    }
    indented = rng.random() < INDENTED_META_SHARE
    meta_text = json.dumps(meta, indent=2) if indented else json.dumps(meta)

    files = {readme_name: readme, f"{name}.py": code, "meta.json": meta_text}
    if utils_code is not None:
        files["utils.py"] = utils_code
    info = {"name": name, "mode": mode, "problem": problem,
            "expect": PROBLEM_CODES[problem] if problem else None, "utils": has_utils,
            "indented_meta": indented, "udf_lines": base_len}
    return name, files, info


def make_node(rng: random.Random, i: int):
    """A canvas node (textbox or json_ui): a folder with meta.json that is not Python."""
    kind = rng.choice(["textbox", "json_ui"])
    name = f"{kind}_{rng.choice(COLORS)}_{i:04d}"
    if kind == "textbox":
        body = f"# Notes\n\nThis canvas shows {rng.choice(DATASETS).replace('_', ' ')} layers.\n\n- step one\n- step two\n"
    else:
        body = json.dumps({"title": name, "controls": [{"type": "slider", "min": 0, "max": 10}]}, indent=2) + "\n"
    meta = {"version": "0.0.3", "job_config": {"version": "0.0.3", "name": None, "steps": [{
        "type": "udf", "udf": {"type": "geopandas_v2", "name": name, "entrypoint": "udf", "parameters": {},
                               "metadata": {"fused:udfType": "auto", "fused:slug": name, "fused:name": name,
                                            "isNodeTemplate": True, "nodeTemplateType": kind},
                               "source": f"{name}.py", "headers": []}}], "metadata": None}}
    files = {"README.md": f"{kind} node\n", f"{name}.py": body, "meta.json": json.dumps(meta)}
    return name, files, {"name": name, "mode": "node", "problem": None, "expect": None, "utils": False,
                         "indented_meta": False, "udf_lines": 0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, default=1000, help="number of packages (default 1000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--node-share", type=float, default=0.0,
                    help="share of canvas nodes (textbox/json_ui) among the packages (default 0)")
    args = ap.parse_args(argv)
    if args.count < 0:
        ap.error("--count must be >= 0")

    rng = random.Random(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    manifest = []
    for i in range(args.count):
        if args.node_share > 0 and rng.random() < args.node_share:
            name, files, info = make_node(rng, i)
        else:
            name, files, info = make_package(rng, i)
        if rng.random() < NESTED_SHARE:
            rel = os.path.join("community", rng.choice(USERS), name)
        else:
            rel = name
        pkg_dir = os.path.join(args.out_dir, rel)
        os.makedirs(pkg_dir, exist_ok=True)
        for fname, text in sorted(files.items()):
            with open(os.path.join(pkg_dir, fname), "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
        info["path"] = rel
        manifest.append(info)
    with open(os.path.join(args.out_dir, "corpus.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"count": args.count, "seed": args.seed, "packages": manifest}, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

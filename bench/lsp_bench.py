#!/usr/bin/env python3
"""LSP benchmark: `fused-ls server` side by side with `ruff server` on the same UDF files.

    lsp_bench.py WORK_DIR --fused-ls BIN [--ruff BIN] [--sizes 300,5000] [--edits 100]
                 [--runs 3] [--seed 1] [--timeout 30] [--json FILE]
    lsp_bench.py WORK_DIR --generate-only [--sizes ...] [--seed ...]

It writes one UDF package per size into WORK_DIR (`Lsp_Bench_<N>/`: `Lsp_Bench_<N>.py` of
exactly N lines holding several `@fused.udf` functions, `meta.json`, `README.md`), then, for
each file and each server, starts the server over stdio and measures with one harness:

- initialize: the round trip of the `initialize` request (the process was just spawned, so
  this includes its start-up);
- didOpen -> the first `textDocument/publishDiagnostics` for the file;
- didChange -> publishDiagnostics: single-character insertions typed one after the other in
  the middle of a function (a trailing comment on a statement, so the file stays valid), each
  one waiting for the diagnostics of its version before the next; median and p95;
- VmRSS of the server process (from /proc/<pid>/status) after the edits.

Each file gets `--runs` fresh sessions per server (servers interleaved, so background noise
hits both alike) after one untimed warm-up start per server. initialize, didOpen and RSS are
the median over the sessions; the didChange figures pool the edits of all sessions.

Python 3.11 standard library only. The generated files are a pure function of (--sizes,
--seed). Exit status: 0 ran (goal met or not), 1 goal missed under --enforce, 2 could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

# ==========================================================================
# 1. The UDF files
# ==========================================================================

PLACES = [  # (name, lon, lat)
    ("San Francisco", -122.42, 37.77), ("New York", -74.01, 40.71), ("Austin", -97.74, 30.27),
    ("Denver", -104.99, 39.74), ("Seattle", -122.33, 47.61), ("London", -0.12, 51.51),
    ("Paris", 2.35, 48.86), ("Nairobi", 36.82, -1.29), ("Tokyo", 139.69, 35.68),
]
SUBJECTS = ["buildings", "roads", "parcels", "ndvi", "elevation", "landcover", "taxi_trips",
            "air_quality", "flood_zones", "population", "crop_yield", "transit", "night_lights",
            "soil_moisture", "wildfire", "permits", "listings", "stations"]
VERBS = ["load", "clip", "aggregate", "summarize", "hexify", "sample", "score", "render",
         "join", "filter", "classify", "dissolve"]


def bounds_around(rng: random.Random) -> list[float]:
    _, lon, lat = rng.choice(PLACES)
    d = rng.choice([0.01, 0.02, 0.05, 0.1])
    return [round(lon - d, 4), round(lat - d, 4), round(lon + d, 4), round(lat + d, 4)]


# A step is (lines, imports it needs at the top of the UDF body, parameters it needs).
# Lines may use {v} (the main variable). Every import and every local a step creates is used,
# so ruff's default rules find nothing but what is planted on purpose.

def vector_theme(rng: random.Random, tile: bool):
    table = rng.choice(["building", "roads", "parcels", "places"])
    helper = [
        "@fused.cache" + rng.choice(["", '(cache_max_age="30d")']),
        "def load_table(path: str, columns: list = None):",
        "    import geopandas as gpd",
        "",
        "    # read only the columns the map needs",
        "    gdf = gpd.read_parquet(path, columns=columns)",
        '    print(f"loaded {len(gdf)} rows from {path}")',
        "    return gdf",
    ]
    load = [f'{{v}} = load_table("s3://fused-asset/infra/{table}_us/part-0.parquet")']
    steps = [
        (["{v} = {v}[{v}.geometry.notna()]"], set(), set()),
        (["# areas in square metres, then back to lon/lat", "{v} = {v}.to_crs(3857)",
          '{v}["area"] = {v}.geometry.area', "{v} = {v}.to_crs(4326)"], set(), set()),
        (['{v}["centroid_x"] = {v}.geometry.centroid.x',
          '{v}["centroid_y"] = {v}.geometry.centroid.y'], set(), set()),
        (['{v} = {v}[{v}["area"] > min_area] if "area" in {v} else {v}'], set(), {"min_area"}),
        (["if len({v}) == 0:", '    print("no features in this area")',
          "    return gpd.GeoDataFrame(geometry=[], crs=4326)"], {"import geopandas as gpd"}, set()),
        (['{v}["geometry"] = {v}.geometry.simplify(%s)' % rng.choice(["0.0001", "0.00005"])],
         set(), set()),
        (["{v} = {v}.reset_index(drop=True)", '{v}["fid"] = range(len({v}))'], set(), set()),
        (["{v} = {v}.explode(index_parts=False)"], set(), set()),
        (['summary = {v}.describe(include="all")', "print(summary.T.head())"], set(), set()),
        (['{v}["bucket"] = pd.cut({v}.index, bins=%d, labels=False)' % rng.choice([4, 5, 10])],
         {"import pandas as pd"}, set()),
        (["# keep only what the map needs",
          'keep = [c for c in ["fid", "area", "bucket", "geometry"] if c in {v}.columns]',
          "{v} = {v}[keep]"], set(), set()),
        (['{v}["label"] = {v}.index.astype(str)'], set(), set()),
        (["if dissolve:", '    {v} = {v}.dissolve(by="bucket", as_index=False) if "bucket" in {v} else {v}'],
         set(), {"dissolve"}),
    ]
    if tile:
        steps.append((["from shapely.geometry import box", "", "{v} = {v}.clip(box(*bounds))"],
                      set(), {"bounds"}))
        steps.append((['print(f"tile {bounds}: {len({v})} features")'], set(), {"bounds"}))
    return "gdf", helper, load, steps


def raster_theme(rng: random.Random, tile: bool):
    helper = [
        "@fused.cache",
        "def read_band(url: str, bounds: list, shape: tuple = (256, 256)):",
        "    import numpy as np",
        "    import rasterio",
        "    from rasterio.enums import Resampling",
        "    from rasterio.windows import from_bounds",
        "",
        "    with rasterio.open(url) as src:",
        "        window = from_bounds(*bounds, transform=src.transform)",
        "        data = src.read(1, window=window, out_shape=shape, resampling=Resampling.bilinear)",
        '    return np.asarray(data, dtype="float32")',
    ]
    dataset = rng.choice(["dem", "nlcd", "cdl", "s2"])
    url = f"s3://fused-asset/data/{dataset}/{rng.randint(2015, 2024)}/cog.tif"
    src = "bounds" if tile else repr(bounds_around(rng))
    load = [f'{{v}} = read_band("{url}", {src})']
    steps = [
        (["{v} = np.where(np.isfinite({v}), {v}, 0)"], {"import numpy as np"}, set()),
        (["lo, hi = np.percentile({v}, [2, 98])",
          "{v} = np.clip(({v} - lo) / max(hi - lo, 1e-9), 0, 1)"], {"import numpy as np"}, set()),
        (["mask = {v} > threshold", 'print(f"{mask.mean():.1%} valid pixels")'], set(), {"threshold"}),
        (['{v} = ({v} * 255).astype("uint8")'], set(), set()),
        (["print({v}.shape, {v}.dtype, float({v}.min()), float({v}.max()))"], set(), set()),
        (["if {v}.size == 0:", "    return None"], set(), set()),
        (["# stretch contrast a little", '{v} = np.sqrt({v}.astype("float32") / 255.0) * 255'],
         {"import numpy as np"}, set()),
        (["kernel = np.ones((3, 3)) / 9", 'print("kernel sum", kernel.sum())'],
         {"import numpy as np"}, set()),
        (["for band in bands:", '    print(f"band {band}")'], set(), {"bands"}),
        (["if normalize:", "    {v} = {v} / max(float({v}.max()), 1e-9)"], set(), {"normalize"}),
    ]
    return "arr", helper, load, steps


def h3_theme(rng: random.Random, tile: bool):
    helper = [
        "@fused.cache" + rng.choice(["", '(cache_max_age="7d")']),
        "def run_query(sql: str):",
        "    import duckdb",
        "",
        "    con = duckdb.connect()",
        '    con.sql("INSTALL h3 FROM community; LOAD h3; INSTALL httpfs; LOAD httpfs;")',
        "    return con.sql(sql).df()",
    ]
    src = f"s3://fused-asset/data/{rng.choice(['taxi', 'places', 'ais', 'crimes'])}/*.parquet"
    if tile:
        where = ["xmin, ymin, xmax, ymax = bounds"]
    else:
        b = bounds_around(rng)
        where = [f"xmin, ymin, xmax, ymax = {b[0]}, {b[1]}, {b[2]}, {b[3]}"]
    load = where + [
        'where = f"lng BETWEEN {xmin} AND {xmax} AND lat BETWEEN {ymin} AND {ymax}"',
        'sql = f"""',
        "    SELECT h3_latlng_to_cell(lat, lng, {h3_res}) AS hex, COUNT(*) AS cnt",
        f"    FROM read_parquet('{src}')",
        "    WHERE {where}",
        "    GROUP BY 1",
        '"""',
        "{v} = run_query(sql)",
    ]
    steps = [
        (['{v} = {v}[{v}["cnt"] > 1]'], set(), set()),
        (['{v}["pct"] = {v}["cnt"] / {v}["cnt"].sum()'], set(), set()),
        (['{v} = {v}.sort_values("cnt", ascending=False)'], set(), set()),
        (['{v}["hex"] = {v}["hex"].astype("uint64")'], set(), set()),
        (["print({v}.head())"], set(), set()),
        (["{v} = {v}.head(limit)"], set(), {"limit"}),
        (['{v}["parent"] = [h3.cell_to_parent(int(h), max(h3_res - 2, 0)) for h in {v}["hex"]]'],
         {"import h3"}, set()),
        (["if {v}.empty:", '    print("empty result")',
          '    return pd.DataFrame({"hex": [], "cnt": []})'], {"import pandas as pd"}, set()),
    ]
    return "df", helper, load, steps


def table_theme(rng: random.Random, tile: bool):
    helper = [
        "@fused.cache",
        "def fetch(url: str, params: dict):",
        "    import requests",
        "",
        "    r = requests.get(url, params=params, timeout=30)",
        "    r.raise_for_status()",
        "    return r.json()",
    ]
    url = f"https://api.example.org/v{rng.randint(1, 3)}/{rng.choice(['stations', 'events', 'permits'])}"
    load = [f'records = fetch("{url}", {{"limit": limit}})',
            '{v} = pd.DataFrame(records.get("results", []))']
    steps = [
        (['{v} = {v}.dropna(how="all")'], set(), set()),
        (['if "date" in {v}:', '    {v}["date"] = pd.to_datetime({v}["date"], errors="coerce")'],
         set(), set()),
        (["{v} = {v}.drop_duplicates()"], set(), set()),
        (['print(f"{len({v})} rows, columns: {list({v}.columns)}")'], set(), set()),
        (['{v}.columns = [c.lower().replace(" ", "_") for c in {v}.columns]'], set(), set()),
        (['if "value" in {v}:', '    {v} = {v}[{v}["value"] >= 0]'], set(), set()),
        (["# convert to points when coordinates are present",
          'if {"lat", "lng"} <= set({v}.columns):',
          "    import geopandas as gpd",
          "",
          "    {v} = gpd.GeoDataFrame({v}, geometry=gpd.points_from_xy({v}.lng, {v}.lat), crs=4326)"],
         set(), set()),
        (['{v}["row"] = range(len({v}))'], set(), set()),
        (["if verbose:", '    print(json.dumps({"rows": len({v})}))'], {"import json"}, {"verbose"}),
    ]
    return "df", helper, ["import pandas as pd"], load, steps


def generic_steps(rng: random.Random):
    n = rng.choice([3, 5, 8])
    return [
        (["t0 = time.time()", 'print(f"step took {time.time() - t0:.2f}s")'], {"import time"}, set()),
        (["def color_for(value, vmin=0, vmax=1):",
          "    frac = 0 if vmax == vmin else (value - vmin) / (vmax - vmin)",
          "    frac = min(max(frac, 0), 1)",
          "    return [int(255 * frac), int(128 * (1 - frac)), 200, 180]",
          "",
          'print("low colour", color_for(0.1))'], set(), set()),
        (["palette = {", '    "low": [26, 152, 80],', '    "mid": [254, 224, 139],',
          '    "high": [215, 48, 39],', "}", 'print("palette", list(palette))'], set(), set()),
        (["try:", '    sibling = fused.load("Common_Utils")', "    print(sibling)",
          "except Exception as e:", '    print(f"could not load helper UDF: {e}")'], set(), set()),
        ([f"for i in range({n}):", "    if i % 2 == 0:", '        print(f"chunk {i}")',
          "    else:", "        continue"], set(), set()),
        (["stats = {", '    "rows": len({v}) if hasattr({v}, "__len__") else 0,',
          '    "kind": type({v}).__name__,', "}", "print(stats)"], set(), set()),
        (["@fused.cache", 'def lookup_codes(kind: str = "landcover"):', "    import pandas as pd", "",
          '    codes = {11: "water", 21: "developed", 41: "forest", 82: "cropland"}',
          '    return pd.DataFrame({"code": list(codes), "label": list(codes.values())})', "",
          "codes = lookup_codes()", "print(codes.head())"], set(), set()),
        (["# TODO: move this into utils once it stabilises", "def chunked(seq, size):",
          "    for start in range(0, len(seq), size):", "        yield seq[start:start + size]", "",
          f"parts = list(chunked(list(range({n * 10})), {n}))", 'print(f"{len(parts)} parts")'],
         set(), set()),
        (['print("run at", datetime.datetime.now(datetime.timezone.utc).isoformat())'],
         {"import datetime"}, set()),
    ]


PARAMS = {  # name -> (annotation, default factory)
    "min_area": ("float", lambda r: repr(r.choice([10.0, 25.5, 100.0]))),
    "dissolve": ("bool", lambda r: "False"),
    "threshold": ("float", lambda r: repr(r.choice([0.1, 0.25, 0.5]))),
    "bands": ("list", lambda r: repr(r.choice([["B04", "B08"], ["red", "nir"]]))),
    "normalize": ("bool", lambda r: "True"),
    "h3_res": ("int", lambda r: str(r.choice([7, 8, 9]))),
    "limit": ("int", lambda r: str(r.choice([100, 1000, 5000]))),
    "verbose": ("bool", lambda r: r.choice(["True", "False"])),
    "year": ("int", lambda r: str(r.randint(2015, 2024))),
    "path": ("str", lambda r: repr(f"s3://fused-asset/data/{r.choice(SUBJECTS)}/")),
}


def make_udf(rng: random.Random, name: str, target: int, plant_unused: bool,
             plant_unannotated: bool) -> list[str]:
    """One `@fused.udf` function of exactly `target` lines (decorator to return)."""
    tile = rng.random() < 0.45
    theme = rng.choice([vector_theme, raster_theme, h3_theme, table_theme])
    if tile and theme is table_theme:
        theme = vector_theme
    got = theme(rng, tile)
    if len(got) == 5:  # a theme whose load needs imports of its own
        var, helper, base_imports, load, steps = got
    else:
        var, helper, load, steps = got
        base_imports = []
    steps = steps + generic_steps(rng)
    rng.shuffle(steps)

    # parameters: those the load needs, then those the chosen steps need
    needed = [p for p in PARAMS if any(re.search(rf"\b{p}\b", ln) for ln in load)]
    if theme is h3_theme and "h3_res" not in needed:
        needed.append("h3_res")

    deco = rng.choice(["@fused.udf", "@fused.udf", "@fused.udf()",
                       '@fused.udf(cache_max_age="1d")', '@fused.udf(engine="realtime")'])
    body: list[str] = []
    doc = [f'"""{rng.choice(VERBS).capitalize()} {rng.choice(SUBJECTS).replace("_", " ")} '
           f'for the map ({"tile" if tile else "file"} mode)."""']
    # fixed part: signature (estimated later), doc, imports, blank, helper, blank, load, return
    chosen: list[tuple[list[str], set, set]] = []
    params = list(needed)
    if tile:
        params.insert(0, "bounds")
    if plant_unannotated:
        load = load + ['print(f"run {label}")']

    def sig_lines(ps: list[str]) -> int:
        n = len(ps) + (1 if plant_unannotated else 0)
        return 1 if n <= 2 else n + 2

    def total(ch, ps, imps) -> int:
        n_imp = len(imps) + (1 if plant_unused else 0)
        steps_len = sum(len(s[0]) + (1 if s[0][0].startswith(("def ", "@", "try:", "#", "from ")) else 0)
                        for s in ch)
        return (1 + sig_lines(ps) + len(doc) + n_imp + 1 + len(helper) + 1 + len(load)
                + steps_len + 1)

    imps: set[str] = set(base_imports)
    for st in steps:
        lines, need_imp, need_par = st
        new_ps = params + [p for p in sorted(need_par) if p not in params]
        new_imp = imps | need_imp
        if total(chosen + [st], new_ps, new_imp) > target:
            continue
        chosen.append(st)
        params, imps = new_ps, new_imp
    if plant_unannotated:
        params.append("label")

    # signature
    rendered = []
    for p in params:
        if p == "bounds":
            rendered.append(f"bounds: fused.types.Bounds = {bounds_around(rng)!r}")
        elif p == "label":  # planted: unannotated (fused-ls FUSED023)
            rendered.append('label="demo"')
        else:
            ann, dflt = PARAMS[p]
            rendered.append(f"{p}: {ann} = {dflt(rng)}")
    if len(rendered) <= 2:
        sig = [f"def {name}({', '.join(rendered)}):"]
    else:
        sig = [f"def {name}("] + [f"    {r}," for r in rendered] + ["):"]

    body += doc
    imp_lines = sorted(imps, key=lambda s: (s.startswith("from "), s))
    if plant_unused:
        imp_lines.append("import os")  # planted: unused (ruff F401)
    body += imp_lines
    body.append("")
    body += helper
    body.append("")
    body += [ln.replace("{v}", var) for ln in load]
    for lines, _, _ in chosen:
        lines = [ln.replace("{v}", var) for ln in lines]
        if lines[0].startswith(("def ", "@", "try:", "#", "from ")) and body[-1] != "":
            lines = [""] + lines
        body += lines
    ret = [f"return {var}"]
    have = 1 + len(sig) + len(body) + len(ret)
    if have < target:  # fill the last few lines with the notes people leave
        notes = ["# notes:", "# - the numbers above were tuned on a few tiles by hand",
                 "# - revisit once the source data is refreshed",
                 "# - keep this UDF cheap: it runs per tile",
                 "# - see the README for the parameters",
                 "# - ask in #udfs before changing the output schema"]
        fill = target - have
        body += ([""] + notes)[:fill] + ["# -"] * max(0, fill - len(notes) - 1)
    out = [deco] + sig + ["    " + ln if ln else "" for ln in body + ret]
    return out


def make_file(n_lines: int, seed: int, name: str) -> tuple[str, dict]:
    """A Python file of exactly `n_lines` lines holding `@fused.udf` functions (`udf` first)."""
    rng = random.Random(f"{seed}:{n_lines}")
    header = [
        f'"""{name}: UDFs generated by bench/lsp_bench.py for the LSP benchmark.',
        "",
        "The entrypoint is `udf`; the other `@fused.udf` functions are variants kept in the same file.",
        '"""',
        "import fused",
        "",
        "DEFAULT_CRS = 4326",
        "",
        "",
    ]
    lines = list(header)
    k = 0
    info = {"udfs": 0, "planted_unused_import": 0, "planted_unannotated": 0}
    while len(lines) < n_lines:
        left = n_lines - len(lines)
        if k > 0:
            left -= 2  # two blank lines between functions
        if left < 30:
            if k == 0:
                raise ValueError(f"{n_lines} lines is too small for a UDF file")
            lines += ["", "", "# end of the generated UDFs"] + ["#"] * max(0, left - 1)
            lines = lines[:n_lines]
            break
        size = rng.randint(45, 110)
        if left - size < 30:  # the last function takes the rest
            size = left
        fname = "udf" if k == 0 else f"{rng.choice(VERBS)}_{rng.choice(SUBJECTS)}_{k:03d}"
        plant_unused = k % 12 == 0  # one unused import every 12 UDFs, the entrypoint first
        plant_unann = k % 15 == 1
        if k > 0:
            lines += ["", ""]
        udf = make_udf(rng, fname, size, plant_unused, plant_unann)
        lines += udf
        info["udfs"] += 1
        info["planted_unused_import"] += plant_unused
        info["planted_unannotated"] += plant_unann
        k += 1
    assert len(lines) == n_lines, (len(lines), n_lines)
    return "\n".join(lines) + "\n", info


def write_package(root: Path, n_lines: int, seed: int) -> tuple[Path, dict]:
    name = f"Lsp_Bench_{n_lines}"
    pkg = root / name
    pkg.mkdir(parents=True, exist_ok=True)
    text, info = make_file(n_lines, seed, name)
    py = pkg / f"{name}.py"
    py.write_text(text, encoding="utf-8")
    meta = {"job_config": {"steps": [{"type": "udf", "udf": {
        "entrypoint": "udf", "source": f"{name}.py", "headers": []}}]}}
    (pkg / "meta.json").write_text(json.dumps(meta) + "\n", encoding="utf-8")
    (pkg / "README.md").write_text(
        f"## Overview\n\n{name}: {info['udfs']} UDFs in one file, generated for the LSP "
        f"benchmark (bench/lsp.sh).\n", encoding="utf-8")
    info.update(lines=n_lines, bytes=len(text.encode()), path=str(py), name=name)
    return py, info


def edit_site(text: str) -> tuple[int, int]:
    """(line, column) where the edits are typed: the end of a statement line near the middle of
    the function that holds the file's middle line (0-based; the text is ASCII, so UTF-16 and
    UTF-8 columns agree)."""
    lines = text.split("\n")
    mid = len(lines) // 2
    start = max(i for i in range(mid + 1) if lines[i].startswith("def "))
    end = next((i for i in range(mid, len(lines)) if lines[i].startswith(("@fused.udf", "# end"))),
               len(lines))
    centre = (start + end) // 2
    for d in range(0, end - start):
        for i in (centre + d, centre - d):
            ln = lines[i] if start < i < end else ""
            s = ln.strip()
            # a plain statement at the UDF's own indentation, not a string or a comment
            if (ln.startswith("    ") and not ln.startswith("     ") and s and "=" in s
                    and not s.startswith(("#", '"', "'", "def ", "@", "return")) and not s.endswith(
                        (":", "(", "[", "{", ",", "\\", '"""'))):
                return i, len(ln)
    raise ValueError("no statement line to type at")


# ==========================================================================
# 2. A small LSP client
# ==========================================================================

class LspError(Exception):
    pass


def vscode_capabilities() -> dict:
    """What VS Code 1.9x sends, minus `textDocument.diagnostic` (pull diagnostics): with it, ruff
    waits to be asked instead of publishing, and this benchmark measures publishDiagnostics."""
    return {
        "general": {"positionEncodings": ["utf-16"],
                    "markdown": {"parser": "marked", "version": "1.1.0"},
                    "regularExpressions": {"engine": "ECMAScript", "version": "ES2020"},
                    "staleRequestSupport": {"cancel": True, "retryOnContentModified": []}},
        "textDocument": {
            "synchronization": {"dynamicRegistration": True, "willSave": True,
                                "willSaveWaitUntil": True, "didSave": True},
            "publishDiagnostics": {"relatedInformation": True, "versionSupport": False,
                                   "tagSupport": {"valueSet": [1, 2]},
                                   "codeDescriptionSupport": True, "dataSupport": True},
            "codeAction": {"dynamicRegistration": True, "isPreferredSupport": True,
                           "disabledSupport": True, "dataSupport": True,
                           "resolveSupport": {"properties": ["edit"]},
                           "codeActionLiteralSupport": {"codeActionKind": {"valueSet": [
                               "", "quickfix", "refactor", "refactor.extract", "refactor.inline",
                               "refactor.rewrite", "source", "source.organizeImports",
                               "source.fixAll"]}}},
            "hover": {"dynamicRegistration": True, "contentFormat": ["markdown", "plaintext"]},
            "formatting": {"dynamicRegistration": True},
            "rangeFormatting": {"dynamicRegistration": True},
        },
        "workspace": {
            "applyEdit": True, "workspaceEdit": {"documentChanges": True},
            "didChangeConfiguration": {"dynamicRegistration": True},
            "didChangeWatchedFiles": {"dynamicRegistration": True, "relativePatternSupport": True},
            "executeCommand": {"dynamicRegistration": True},
            "configuration": True, "workspaceFolders": True,
        },
        "window": {"workDoneProgress": True, "showMessage": {"messageActionItem": {
            "additionalPropertiesSupport": True}}, "showDocument": {"support": True}},
    }


class Lsp:
    """One server over stdio. A reader thread stamps each message on arrival and answers the
    server's own requests at once (null; `workspace/configuration`: a list of nulls)."""

    def __init__(self, argv: list[str], stderr_path: Path, timeout: float, env: dict | None = None):
        self.timeout = timeout
        self.stderr = open(stderr_path, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, bufsize=0,
                                     env={**os.environ, **(env or {})})
        self.q: queue.Queue = queue.Queue()
        self.wlock = threading.Lock()
        self.next_id = 0
        self.server_requests: dict[str, int] = {}
        self.publishes: dict[str, int] = {}  # publishDiagnostics received, by uri
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    # -- wire --
    def _write(self, msg: dict) -> None:
        body = json.dumps(msg, separators=(",", ":")).encode()
        # A server that stops reading its input would block this write forever once the pipe
        # is full (the 5,000-line didOpen is larger than a pipe): kill it after the timeout.
        watchdog = threading.Timer(self.timeout, self.proc.kill)
        watchdog.daemon = True
        with self.wlock:
            watchdog.start()
            try:
                self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                self.proc.stdin.flush()
            finally:
                watchdog.cancel()

    def _read(self) -> None:
        f = self.proc.stdout
        try:
            while True:
                length = None
                while True:
                    line = f.readline()
                    if not line:
                        self.q.put((time.perf_counter(), None))
                        return
                    line = line.strip()
                    if not line:
                        break
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if length is None:
                    continue
                body = b""
                while len(body) < length:
                    chunk = f.read(length - len(body))
                    if not chunk:
                        self.q.put((time.perf_counter(), None))
                        return
                    body += chunk
                t = time.perf_counter()
                msg = json.loads(body)
                if "method" in msg and "id" in msg:  # a request from the server
                    m = msg["method"]
                    self.server_requests[m] = self.server_requests.get(m, 0) + 1
                    if m == "workspace/configuration":
                        result = [None] * len(msg.get("params", {}).get("items", []))
                    else:
                        result = None
                    # answered from another thread, so this one never stops reading
                    threading.Thread(target=self._reply, args=(msg["id"], result),
                                     daemon=True).start()
                elif msg.get("method") == "textDocument/publishDiagnostics":
                    u = (msg.get("params") or {}).get("uri", "")
                    self.publishes[u] = self.publishes.get(u, 0) + 1
                self.q.put((t, msg))
        except Exception as e:  # a broken frame: report it as the end of the stream
            self.q.put((time.perf_counter(), {"__reader_error__": repr(e)}))

    def _reply(self, rid, result) -> None:
        try:
            self._write({"jsonrpc": "2.0", "id": rid, "result": result})
        except (OSError, ValueError):
            pass

    def _next(self, deadline: float):
        left = deadline - time.perf_counter()
        if left <= 0:
            raise LspError("timed out")
        try:
            t, msg = self.q.get(timeout=left)
        except queue.Empty:
            raise LspError("timed out") from None
        if msg is None:
            raise LspError(f"the server closed its output (exit code {self.proc.poll()})")
        if "__reader_error__" in msg:
            raise LspError(f"unreadable message from the server: {msg['__reader_error__']}")
        return t, msg

    # -- protocol --
    def notify(self, method: str, params) -> float:
        t = time.perf_counter()
        self._write({"jsonrpc": "2.0", "method": method, "params": params})
        return t

    def request(self, method: str, params, timeout: float | None = None):
        """Sends a request, waits for its reply; returns (seconds, result)."""
        self.next_id += 1
        rid = self.next_id
        t0 = time.perf_counter()
        self._write({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = t0 + (timeout or self.timeout)
        while True:
            t, msg = self._next(deadline)
            if msg.get("id") == rid and "method" not in msg:
                if "error" in msg:
                    raise LspError(f"{method} failed: {msg['error']}")
                return t - t0, msg.get("result")

    def drain(self) -> int:
        n = 0
        while True:
            try:
                _, msg = self.q.get_nowait()
            except queue.Empty:
                return n
            if msg is None:
                raise LspError(f"the server closed its output (exit code {self.proc.poll()})")
            n += 1

    def wait_publish(self, uri: str, t0: float, version: int | None):
        """The first publishDiagnostics for `uri` received after t0 (and, when `version` is
        given, for that version). Returns (seconds since t0, params)."""
        deadline = t0 + self.timeout
        while True:
            t, msg = self._next(deadline)
            if msg.get("method") != "textDocument/publishDiagnostics":
                continue
            p = msg.get("params") or {}
            if p.get("uri") != uri or t < t0:
                continue
            if version is not None and p.get("version") != version:
                continue
            return t - t0, p

    def rss_kib(self) -> tuple[int | None, int | None]:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return None, None
        vals = {}
        for line in status.splitlines():
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                vals[k] = int(v.split()[0])
        return vals.get("VmRSS"), vals.get("VmHWM")

    def cpu_seconds(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.request("shutdown", None, timeout=min(self.timeout, 5))
                self.notify("exit", None)
            except (LspError, OSError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.stderr.close()


# ==========================================================================
# 3. One session: initialize, didOpen, the edits, memory
# ==========================================================================

TYPED = "  # tuned by hand for the downtown tiles, keep in sync with the README and the map"


def initialize_params(root: Path, init_options) -> dict:
    return {
        "processId": os.getpid(),
        "clientInfo": {"name": "Visual Studio Code", "version": "1.95.0"},
        "locale": "en",
        "rootPath": str(root),
        "rootUri": root.resolve().as_uri(),
        "workspaceFolders": [{"uri": root.resolve().as_uri(), "name": root.name}],
        "capabilities": vscode_capabilities(),
        "initializationOptions": init_options,
        "trace": "off",
    }


def session(name: str, srv: dict, py: Path, text: str, edits: int, timeout: float,
            log_dir: Path) -> dict:
    root = py.parent
    uri = py.resolve().as_uri()
    init_options = srv["init_options"]
    if not text.isascii():
        raise ValueError("the edit site math assumes an ASCII file")
    lsp = Lsp(srv["argv"], log_dir / f"{name}.stderr.log", timeout, srv.get("env"))
    out: dict = {"server": name}
    try:
        init_s, res = lsp.request("initialize", initialize_params(root, init_options))
        caps = (res or {}).get("capabilities", {})
        out["initialize_ms"] = init_s * 1000
        out["position_encoding"] = caps.get("positionEncoding", "(not sent: utf-16)")
        sync = caps.get("textDocumentSync")
        out["sync"] = sync.get("change") if isinstance(sync, dict) else sync
        out["server_info"] = (res or {}).get("serverInfo", {})
        lsp.notify("initialized", {})

        t0 = lsp.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": text}})
        open_s, p = lsp.wait_publish(uri, t0, None)
        out["open_ms"] = open_s * 1000
        out["open_diagnostics"] = len(p.get("diagnostics", []))
        out["open_codes"] = sorted({str(d.get("code")) for d in p.get("diagnostics", [])})
        versioned = p.get("version") is not None
        out["versioned"] = versioned

        line, col = edit_site(text)
        out["edit_site"] = [line + 1, col + 1]
        out["edit_line"] = text.split("\n")[line].strip()
        latencies = []
        extra = 0
        for i in range(edits):
            version = i + 2
            ch = TYPED[i % len(TYPED)]
            c = col + i
            extra += lsp.drain()  # anything late from before belongs to an older version
            t0 = lsp.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": line, "character": c},
                                              "end": {"line": line, "character": c}},
                                    "rangeLength": 0, "text": ch}]})
            dt, p = lsp.wait_publish(uri, t0, version if versioned else None)
            latencies.append(dt * 1000)
        out["edit_ms"] = latencies
        out["stray_messages"] = extra
        out["last_diagnostics"] = len(p.get("diagnostics", [])) if edits else out["open_diagnostics"]
        rss, hwm = lsp.rss_kib()
        out["rss_kib"], out["hwm_kib"] = rss, hwm
        out["cpu_s"] = lsp.cpu_seconds()
        out["server_requests"] = dict(lsp.server_requests)
        out["publishes"] = lsp.publishes.get(uri, 0)
    finally:
        lsp.close()
    return out


def many_files(srv: dict, root: Path, n: int, lines: int, edits: int, seed: int,
               timeout: float, log_dir: Path) -> dict:
    """Many files open in one folder (issue 10, item 9): `n` loose UDF files of `lines` lines
    each in one folder, all opened at once; then the single-character edits of `session` typed
    into the first one. Reports the time until every file has its first publish, the server's
    peak and final RSS, and the edit latencies (to compare with the single-file figures)."""
    folder = root / f"Many_{n}"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        py = folder / f"many_{i:04d}.py"
        if not py.exists():
            py.write_text(make_file(lines, seed * 100_003 + i, py.stem)[0], encoding="utf-8")
        files.append(py)
    texts = [f.read_text(encoding="utf-8") for f in files]
    lsp = Lsp(srv["argv"], log_dir / "many.stderr.log", timeout, srv.get("env"))
    out: dict = {"files": n, "bytes_per_file": sum(len(t) for t in texts) // max(n, 1)}
    try:
        lsp.request("initialize", initialize_params(folder, srv["init_options"]))
        lsp.notify("initialized", {})
        rss0, _ = lsp.rss_kib()
        out["rss_before_kib"] = rss0
        uris = [f.resolve().as_uri() for f in files]
        t0 = time.perf_counter()
        peak = 0
        for uri, text in zip(uris, texts):
            lsp.notify("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": "python", "version": 1, "text": text}})
        # every file's first publish (the reader thread counts them), sampling RSS meanwhile
        deadline = t0 + max(timeout, n * 0.2)
        while any(lsp.publishes.get(u, 0) == 0 for u in uris):
            if time.perf_counter() > deadline:
                done = sum(lsp.publishes.get(u, 0) > 0 for u in uris)
                out["hwm_kib"] = lsp.rss_kib()[1]
                raise LspError(f"timed out after {time.perf_counter() - t0:.0f} s: {done} of {n} "
                               f"files published; peak RSS {out['hwm_kib'] / 1024:.0f} MiB")
            if lsp.proc.poll() is not None:
                raise LspError(f"the server exited ({lsp.proc.returncode}) after opening the files")
            peak = max(peak, lsp.rss_kib()[0] or 0)
            lsp.drain()
            time.sleep(0.05)
        out["open_all_s"] = time.perf_counter() - t0
        time.sleep(0.5)  # publishes still on their way, background parses
        lsp.drain()
        out["publishes_per_file"] = sum(lsp.publishes.get(u, 0) for u in uris) / n
        py, text = files[0], texts[0]
        uri = uris[0]
        line, col = edit_site(text)
        latencies = []
        for i in range(edits):
            version = i + 2
            lsp.drain()
            t1 = lsp.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": line, "character": col + i},
                                              "end": {"line": line, "character": col + i}},
                                    "rangeLength": 0, "text": TYPED[i % len(TYPED)]}]})
            dt, _ = lsp.wait_publish(uri, t1, version)
            latencies.append(dt * 1000)
        out["edit_ms"] = latencies
        rss, hwm = lsp.rss_kib()
        out["rss_kib"], out["hwm_kib"], out["sampled_peak_kib"] = rss, hwm, peak
        out["cpu_s"] = lsp.cpu_seconds()
    finally:
        lsp.close()
    return out


def print_many(m: dict) -> None:
    mib = lambda k: f"{(m.get(k) or 0) / 1024:.1f} MiB"
    e = m.get("edit_ms") or []
    print(f"\n  {m['files']} files of {m['bytes_per_file'] / 1024:.1f} KiB open in one folder (fused-ls)")
    print(f"    all opened and published in {m['open_all_s']:.2f} s "
          f"({m['publishes_per_file']:.2f} publishes per file)")
    print(f"    RSS: {mib('rss_before_kib')} before, peak {mib('hwm_kib')} (VmHWM), "
          f"{mib('rss_kib')} after {len(e)} edits")
    if e:
        print(f"    didChange -> publish in one of them: median {statistics.median(e):.2f} ms, "
              f"p95 {p95(e):.2f} ms")


def start_only(name: str, srv: dict, root: Path, timeout: float, log_dir: Path):
    """Spawn, initialize, shut down: (initialize round trip in ms, serverInfo). Used untimed
    as the warm-up (page cache, dynamic loader) and for extra initialize samples."""
    lsp = Lsp(srv["argv"], log_dir / f"{name}.stderr.log", timeout, srv.get("env"))
    try:
        dt, res = lsp.request("initialize", initialize_params(root, srv["init_options"]))
        lsp.notify("initialized", {})
        return dt * 1000, (res or {}).get("serverInfo") or {}
    finally:
        lsp.close()


# ==========================================================================
# 4. Figures
# ==========================================================================

def p95(xs: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    s = sorted(xs)
    return s[max(0, -(-95 * len(s) // 100) - 1)]


def summarize(sessions: list[dict], init_extra: list[float]) -> dict:
    edits = [x for s in sessions for x in s["edit_ms"]]
    rss = [s["rss_kib"] for s in sessions if s.get("rss_kib")]
    first = sessions[0]
    return {
        "initialize_ms": statistics.median([s["initialize_ms"] for s in sessions] + init_extra),
        "initialize_samples": len(sessions) + len(init_extra),
        "open_ms": statistics.median(s["open_ms"] for s in sessions),
        "edit_median_ms": statistics.median(edits) if edits else float("nan"),
        "edit_p95_ms": p95(edits) if edits else float("nan"),
        "edit_max_ms": max(edits) if edits else float("nan"),
        "rss_mib": statistics.median(rss) / 1024 if rss else float("nan"),
        "hwm_mib": max((s["hwm_kib"] or 0) for s in sessions) / 1024,
        "cpu_s": statistics.median(s["cpu_s"] or 0 for s in sessions),
        "edits": len(edits),
        "sessions": len(sessions),
        "open_diagnostics": first["open_diagnostics"],
        "open_codes": first["open_codes"],
        "last_diagnostics": first["last_diagnostics"],
        "versioned": first["versioned"],
        "position_encoding": first["position_encoding"],
        "sync": first["sync"],
        "server_info": first["server_info"],
        "server_requests": first["server_requests"],
        "edit_site": first["edit_site"],
        "edit_line": first["edit_line"],
        "stray_messages": sum(s["stray_messages"] for s in sessions),
        "publishes": first["publishes"],
    }


FIGURES = [  # (key, label, unit, format)
    ("initialize_ms", "initialize round trip", "ms", "{:.1f}"),
    ("open_ms", "didOpen -> publishDiagnostics", "ms", "{:.1f}"),
    ("edit_median_ms", "didChange -> publish, median", "ms", "{:.2f}"),
    ("edit_p95_ms", "didChange -> publish, p95", "ms", "{:.2f}"),
    ("rss_mib", "resident memory (VmRSS)", "MiB", "{:.1f}"),
]


def fmt(v, f: str) -> str:
    return "-" if v is None or v != v else f.format(v)


def print_file(info: dict, res: dict[str, dict | None], errors: dict[str, str]) -> tuple[bool, list]:
    names = list(res)
    print()
    print(f"{info['name']}.py: {info['lines']} lines, {info['bytes'] / 1024:.1f} KiB, "
          f"{info['udfs']} @fused.udf functions")
    site = next((r for r in res.values() if r), None)
    if site:
        print(f"  edits typed at the end of line {site['edit_site'][0]} `{site['edit_line']}`: "
              f"{TYPED[:24]!r}...")
    w = 34
    print(f"  {'':{w}} {'':4}" + "".join(f"{n:>14}" for n in names))
    for key, label, unit, f in FIGURES:
        row = "".join(f"{fmt(res[n][key] if res[n] else None, f):>14}" for n in names)
        print(f"  {label:{w}} {unit:4}{row}")
    print("  " + "-" * (w + 5 + 14 * len(names)))
    extra = [
        ("initialize samples (starts)", lambda s: str(s["initialize_samples"])),
        ("edits timed", lambda s: f"{s['sessions']}x{s['edits'] // max(s['sessions'], 1)}"),
        ("didChange -> publish, max  ms", lambda s: f"{s['edit_max_ms']:.2f}"),
        ("peak RSS (VmHWM)          MiB", lambda s: f"{s['hwm_mib']:.1f}"),
        ("CPU per session (user+sys)  s", lambda s: f"{s['cpu_s']:.2f}"),
        ("diagnostics on open / at end", lambda s: f"{s['open_diagnostics']} / {s['last_diagnostics']}"),
        ("publishes per session (1 + edits)",
         lambda s: f"{s['publishes']} ({1 + s['edits'] // max(s['sessions'], 1)})"),
        ("publish carries version", lambda s: "yes" if s["versioned"] else "no"),
        ("position encoding", lambda s: str(s["position_encoding"])),
    ]
    for label, g in extra:
        row = "".join(f"{(g(res[n]) if res[n] else '-'):>14}" for n in names)
        print(f"  {label:{w + 5}}{row}")
    for n in names:
        s = res[n]
        if s:
            print(f"  {n}: codes on open {', '.join(s['open_codes']) or '-'}; "
                  f"server requests answered: "
                  f"{', '.join(f'{k} x{v}' for k, v in sorted(s['server_requests'].items())) or 'none'}")
    for n, e in errors.items():
        print(f"  {n}: no figures: {e}")

    losses = []
    ok = "fused-ls" in res and res["fused-ls"] is not None
    for key, label, unit, f in FIGURES:
        a = res.get("fused-ls")
        b = res.get("ruff")
        if not a or not b:
            continue
        if a[key] > b[key]:
            losses.append(f"{label} {fmt(a[key], f)} > {fmt(b[key], f)} {unit}")
    if "ruff" not in res or res["ruff"] is None:
        verdict = "not met (no ruff figures to compare)"
        met = False
    elif not ok:
        verdict = "not met (no fused-ls figures)"
        met = False
    elif losses:
        verdict = "not met (" + "; ".join(losses) + ")"
        met = False
    else:
        verdict = "met"
        met = True
    print(f"goal: fused-ls at or below ruff on every figure: {verdict}")
    return met, losses


# ==========================================================================
# 5. Main
# ==========================================================================

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work_dir")
    ap.add_argument("--fused-ls", dest="fused_ls", help="the fused-ls binary")
    ap.add_argument("--ruff", help="the ruff binary (omit to skip the ruff column)")
    ap.add_argument("--ruff-skip-reason", default="not given")
    ap.add_argument("--sizes", default="300,5000", help="file sizes in lines (default 300,5000)")
    ap.add_argument("--edits", type=int, default=100, help="single-character edits per session")
    ap.add_argument("--runs", type=int, default=3, help="sessions per server and file (default 3)")
    ap.add_argument("--init-samples", type=int, default=10,
                    help="extra start/initialize/shutdown cycles per server and file (default 10)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for any answer")
    ap.add_argument("--json", help="write every figure to this file")
    ap.add_argument("--enforce", action="store_true", help="exit 1 when the goal is missed")
    ap.add_argument("--many", type=int, default=0,
                    help="also open this many 300-line files in one folder at once (0: skip)")
    ap.add_argument("--many-only", action="store_true", help="run only the --many case")
    ap.add_argument("--generate-only", action="store_true")
    args = ap.parse_args(argv)

    work = Path(args.work_dir)
    sizes = [int(s) for s in args.sizes.replace(" ", ",").split(",") if s]
    pkgs = []
    for n in sizes:
        py, info = write_package(work / "workspace", n, args.seed)
        pkgs.append((py, info))
        print(f"bench: wrote {py} ({info['lines']} lines, {info['udfs']} UDFs)", file=sys.stderr)
    if args.generate_only:
        return 0
    if not args.fused_ls:
        ap.error("--fused-ls is required")

    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    servers = {"fused-ls": {"argv": [args.fused_ls, "server"], "init_options": None}}
    if args.ruff:
        # ruff's default rule set whatever the machine has: no user config (an empty
        # XDG_CONFIG_HOME) and no config file lookup ("editorOnly" with no editor settings).
        empty = work / "xdg-empty"
        empty.mkdir(exist_ok=True)
        servers["ruff"] = {"argv": [args.ruff, "server"],
                           "init_options": {"settings": {"configurationPreference": "editorOnly"}},
                           "env": {"XDG_CONFIG_HOME": str(empty)}}

    print("bench: warm-up start of each server", file=sys.stderr)
    versions = {}
    for name, srv in servers.items():
        try:
            _, si = start_only(name, srv, pkgs[0][0].parent, args.timeout, logs)
            versions[name] = f"{si.get('name', name)} {si.get('version', '?')}"
        except (LspError, OSError) as e:
            versions[name] = f"{name} (warm-up failed: {e})"
            print(f"bench: {name} warm-up failed: {e}", file=sys.stderr)
    print("  servers  " + " vs ".join(versions.values())
          + ("" if args.ruff else f" (ruff skipped: {args.ruff_skip_reason})"))
    print(f"  method   per file and server: {args.runs} fresh session(s) after a warm-up start, "
          f"{args.edits} single-character edits each;\n"
          f"           VS Code's client capabilities (utf-16, push diagnostics); seed {args.seed}")

    all_results = {}
    goals = []
    if args.many:
        try:
            m = many_files(servers["fused-ls"], work / "workspace", args.many, 300, args.edits,
                           args.seed, args.timeout, logs)
            print_many(m)
            all_results["many_files"] = m
        except (LspError, OSError, ValueError) as e:
            print(f"bench: the {args.many}-file case failed: {e}", file=sys.stderr)
            all_results["many_files"] = {"error": str(e)}
    for py, info in ([] if args.many_only else pkgs):
        text = py.read_text(encoding="utf-8")
        sessions: dict[str, list] = {n: [] for n in servers}
        errors: dict[str, str] = {}
        for r in range(args.runs):
            for name, srv in servers.items():
                if name in errors:
                    continue
                try:
                    s = session(name, srv, py, text, args.edits, args.timeout, logs)
                    sessions[name].append(s)
                    print(f"bench: {info['name']} {name} run {r + 1}: init {s['initialize_ms']:.1f} ms, "
                          f"open {s['open_ms']:.1f} ms, edits median "
                          f"{statistics.median(s['edit_ms']) if s['edit_ms'] else float('nan'):.2f} ms, "
                          f"RSS {(s['rss_kib'] or 0) / 1024:.1f} MiB", file=sys.stderr)
                except (LspError, OSError, ValueError) as e:
                    errors[name] = str(e)
                    print(f"bench: {info['name']} {name} run {r + 1} failed: {e} "
                          f"(stderr: {logs / (name + '.stderr.log')})", file=sys.stderr)
        # extra initialize samples: a start is cheap and one sample per session is noisy
        init_extra: dict[str, list] = {n: [] for n in servers}
        for _ in range(args.init_samples):
            for name, srv in servers.items():
                if name in errors:
                    continue
                try:
                    init_extra[name].append(start_only(name, srv, py.parent, args.timeout, logs)[0])
                except (LspError, OSError) as e:
                    errors[name] = f"initialize-only start: {e}"
                    print(f"bench: {info['name']} {name} initialize-only start failed: {e}",
                          file=sys.stderr)
        res = {n: (summarize(sessions[n], init_extra[n]) if sessions[n] and n not in errors else None)
               for n in servers}
        if "ruff" not in servers:
            errors["ruff"] = f"skipped ({args.ruff_skip_reason})"
            res["ruff"] = None
        met, losses = print_file(info, res, errors)
        goals.append(met)
        all_results[info["name"]] = {"file": info, "results": res, "errors": errors,
                                     "goal_met": met, "losses": losses}
    if args.json:
        Path(args.json).write_text(json.dumps(all_results, indent=2, default=str))
    per_file = [v for k, v in all_results.items() if k != "many_files"]
    if per_file and all(v["results"].get("fused-ls") is None for v in per_file):
        return 2
    if args.enforce and not all(goals):
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # a bug in the harness is "could not run", not "goal missed"
        import traceback
        traceback.print_exc()
        sys.exit(2)

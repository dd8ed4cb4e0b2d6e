"""fused-ls's bundled runner: runs one UDF, locally, the way the Fused SDK would.

Started by `fused-ls run` (and the language server) as a separate process under the user's
interpreter: `python runner.py REQUEST.json RESULT.json`. The request names the UDF's file, its
entrypoint, the mode, the tile bounds and the parameters as strings. The result (JSON) is written
to RESULT.json; the UDF's own stdout and stderr stay the process's, captured by fused-ls.

It works without the `fused` package: a small stand-in provides `fused.udf`, `fused.types`,
`fused.cache` (memoisation) and `fused.load` of local packages. With the real package installed,
the UDF sees the real one; only `@fused.udf` is intercepted so the plain function can be called.
Nothing here is ever cached across runs: each run is a fresh process.
"""

import datetime as _dt
import functools
import json
import math
import os
import sys
import time
import traceback
import types
import typing
import uuid
import zipfile

PREVIEW_ROWS = 10
# The GeoJSON for the editor's map travels twice (the fused.run reply and fused/runResult) and is
# parsed by the editor each time: 1,000 features or 256 KiB, whichever comes first (a few
# hundred detailed polygons, every one of 1,000 simple ones). The full result goes to `-o`.
GEOJSON_MAX_FEATURES = 1000
GEOJSON_MAX_BYTES = 256 << 10
# GeoJSON coordinates are rounded to this many decimal places (1e-7 degree is about 1 cm).
GEOJSON_DECIMALS = 7
# A returned value (a string, a list, a dict, a repr) and the preview rows travel the same way:
# capped at this many characters of JSON, with `"truncated": true` in the result when cut.
VALUE_MAX_BYTES = 256 << 10
# An error's message and traceback are capped the same way (a UDF can raise a 100 MB message).
ERROR_MAX_CHARS = 64 << 10


# ---------------------------------------------------------------------------- the fused stand-in

def _make_fused_standin():
    fused = types.ModuleType("fused")
    fused.__fused_ls_standin__ = True
    ftypes = types.ModuleType("fused.types")
    for name in ("Tile", "Bounds", "TileXYZ", "TileGDF", "ViewportGDF", "Bbox"):
        setattr(ftypes, name, type(name, (), {"__module__": "fused.types"}))
    fused.types = ftypes

    def cache(func=None, **_kwargs):
        def wrap(f):
            memo = {}

            @functools.wraps(f)
            def inner(*args, **kwargs):
                try:
                    key = json.dumps([args, kwargs], sort_keys=True, default=repr)
                except Exception:
                    return f(*args, **kwargs)
                if key not in memo:
                    memo[key] = f(*args, **kwargs)
                return memo[key]

            return inner

        return wrap(func) if callable(func) else wrap

    fused.cache = cache
    fused.load = _load
    fused.udf = _udf_decorator
    sys.modules["fused"] = fused
    sys.modules["fused.types"] = ftypes
    return fused


class _Loaded:
    """What `fused.load` returns in the stand-in: the UDF's function and its helper modules."""

    def __init__(self, func, modules):
        self._func = func
        for name, mod in modules.items():
            setattr(self, name, mod)

    def __call__(self, *args, **kwargs):
        return self._func(*args, **kwargs)

    def run_local(self, **kwargs):
        return self._func(**kwargs)


def _load(target, *args, **kwargs):
    t = str(target)
    if t.startswith("https://github.com/") or "://" in t:
        raise RuntimeError(
            f"fused.load({t!r}): loading from GitHub or the Fused server needs the network and the "
            "real `fused` package; fused-ls's runner is offline. Vendor the package locally and load its folder."
        )
    if "\n" in t:
        return _exec_package({"<code>": t}, "<code>", None, "<code>")
    path = os.path.abspath(os.path.expanduser(t))
    if t.endswith(".py"):
        with open(path, encoding="utf-8") as f:
            return _exec_package({os.path.basename(path): f.read()}, os.path.basename(path), None, path)
    if t.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            files = {n: z.read(n).decode("utf-8") for n in names if n.endswith((".py", ".json"))}
        return _exec_meta_package(files, path)
    if os.path.isdir(path) and os.path.exists(os.path.join(path, "meta.json")):
        files = {}
        for n in os.listdir(path):
            if n.endswith((".py", ".json")):
                with open(os.path.join(path, n), encoding="utf-8") as f:
                    files[n] = f.read()
        return _exec_meta_package(files, path)
    raise RuntimeError(
        f"fused.load({t!r}): no local package there (a folder with meta.json, a .zip or a .py); "
        "a Fused platform id needs the real `fused` package and a login"
    )


def _exec_meta_package(files, where):
    meta = json.loads(files["meta.json"])
    udf = meta["job_config"]["steps"][0]["udf"]
    headers = {}
    for h in udf.get("headers", []):
        if isinstance(h, dict) and h.get("source_file") in files:
            headers[h["module_name"]] = files[h["source_file"]]
    return _exec_package({udf["source"]: files[udf["source"]]}, udf["source"], udf.get("entrypoint"), where, headers)


def _module(name, code, filename):
    mod = types.ModuleType(name)
    mod.__file__ = filename
    exec(compile(code, filename, "exec"), mod.__dict__)
    return mod


def _exec_package(files, main, entrypoint, where, headers=None):
    modules = {}
    for name, code in (headers or {}).items():
        mod = _module(name, code, os.path.join(str(where), name + ".py"))
        sys.modules[name] = mod
        modules[name] = mod
    captured = []
    ns = _exec_udf_file(files[main], os.path.join(str(where), main), captured)
    func = _pick(captured, entrypoint, ns)
    return _Loaded(func, modules)


# --------------------------------------------------------------------------- running the UDF file

class _Captured:
    def __init__(self, func, kwargs):
        self.func = func
        self.kwargs = kwargs


def _udf_decorator(func=None, **kwargs):
    """`@fused.udf` / `@fused.udf(...)`: records the plain function."""
    sink = _udf_decorator.sink

    def wrap(f):
        sink.append(_Captured(f, kwargs))
        return f

    return wrap(func) if callable(func) else wrap


_udf_decorator.sink = []


def _exec_udf_file(code, filename, captured):
    fused = sys.modules["fused"]
    real_udf = getattr(fused, "udf")
    previous = _udf_decorator.sink
    _udf_decorator.sink = captured
    fused.udf = _udf_decorator
    try:
        ns = {"__name__": "__fused_udf__", "__file__": filename, "fused": fused}
        exec(compile(code, filename, "exec"), ns)
        return ns
    finally:
        fused.udf = real_udf if real_udf is not _udf_decorator else _udf_decorator
        _udf_decorator.sink = previous


def _pick(captured, entrypoint, ns):
    for c in captured:
        if entrypoint is None or c.func.__name__ == entrypoint:
            return c.func
    if entrypoint and callable(ns.get(entrypoint)):
        return ns[entrypoint]
    names = ", ".join(c.func.__name__ for c in captured) or "none"
    raise RuntimeError(f"no @fused.udf function named {entrypoint!r} (decorated: {names})")


# ------------------------------------------------------------------------------------- coercion

def _ann_text(ann):
    if isinstance(ann, str):
        return ann
    # The real SDK's fused.types are TypeVars (`~Bounds`): their __name__ is the type's name.
    name = getattr(ann, "__name__", None) or getattr(ann, "__qualname__", None) or str(ann)
    return name.lstrip("~")


def _future_coerce(text, value):
    """Under `from __future__ import annotations` the SDK matches the annotation's text."""
    t = text.strip()
    base = t[len("fused.types."):] if t.startswith("fused.types.") else t
    if base in ("Tile", "TileGDF", "Bounds", "TileXYZ", "Bbox", "ViewportGDF"):
        return True, _fused_type(base, value)
    if t in ("datetime", "datetime.datetime"):
        return True, _dt.datetime.fromisoformat(value)
    if t in ("date", "datetime.date"):
        return True, _dt.date.fromisoformat(value)
    if t in ("time", "datetime.time"):
        return True, _dt.time.fromisoformat(value)
    if t in ("uuid.UUID", "UUID"):
        return True, uuid.UUID(value)
    if "GeoDataFrame" in t:
        return True, _gdf_from_geojson(value)
    if "DataFrame" in t:
        import pandas as pd
        import io

        return True, pd.read_json(io.StringIO(value))
    return False, value


def _fused_type(name, value):
    if isinstance(value, str):
        value = json.loads(value)
    return value


def _gdf_from_geojson(value):
    import geopandas as gpd

    data = json.loads(value) if isinstance(value, str) else value
    if data.get("type") == "FeatureCollection":
        return gpd.GeoDataFrame.from_features(data["features"], crs=4326)
    if data.get("type") == "Feature":
        return gpd.GeoDataFrame.from_features([data], crs=4326)
    from shapely.geometry import shape

    return gpd.GeoDataFrame(geometry=[shape(data)], crs=4326)


def coerce(ann, value):
    """A string argument → what the SDK passes for annotation `ann` (SDK-FACTS' table)."""
    if ann is None or ann is _EMPTY or value is None:
        return value
    if isinstance(ann, str):
        return _future_coerce(ann, value)[1]
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Union or (sys.version_info >= (3, 10) and origin is getattr(types, "UnionType", None)):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return coerce(non_none[0], value)
        return value  # any other Union: unchanged
    if origin is typing.Literal:
        return value
    if origin is not None:
        ann = origin
    if not isinstance(value, str):
        return value
    if ann is str:
        return str(value)
    if ann is bool:
        return value.lower() != "false" and value != ""
    if ann is int:
        return int(value, 10)
    if ann is float:
        return float(value)
    if ann in (list, dict):
        return json.loads(value)
    if ann is tuple:
        return tuple(json.loads(value))
    if ann is uuid.UUID:
        return uuid.UUID(value)
    if ann in (_dt.datetime, _dt.date, _dt.time):
        return ann.fromisoformat(value)
    module = getattr(ann, "__module__", "") or ""
    name = getattr(ann, "__name__", "")
    if module.startswith("fused") and name in ("Tile", "TileGDF", "Bounds", "TileXYZ", "Bbox", "ViewportGDF"):
        return _fused_type(name, value)
    if name == "GeoDataFrame":
        return _gdf_from_geojson(value)
    if name == "DataFrame":
        import io
        import pandas as pd

        return pd.read_json(io.StringIO(value))
    if module.startswith("shapely"):
        from shapely import wkt

        return wkt.loads(value)
    return value  # Iterable and anything else: unchanged (the SDK does the same)


_EMPTY = object()


def _named(exc, prefix):
    """`exc` again, its message prefixed with the parameter: same class. JSONDecodeError takes
    (msg, doc, pos), not one message; a class that cannot be rebuilt from a message becomes a
    ValueError naming it."""
    if isinstance(exc, json.JSONDecodeError):
        return json.JSONDecodeError(prefix + exc.msg, exc.doc, exc.pos)
    try:
        return type(exc)(f"{prefix}{exc}")
    except Exception:
        return ValueError(f"{prefix}{type(exc).__name__}: {exc}")


# ------------------------------------------------------------------------------------ tile input

def _tile_value(ann, bounds, tile):
    """What the receiver gets in Tile mode, decided by its annotation."""
    text = _ann_text(ann) if ann is not _EMPTY else ""
    base = text.split(".")[-1].strip("'\"")
    if base == "Bounds" or ann is list or text.startswith(("list", "List", "typing.List")):
        return list(bounds)
    if base == "Bbox":
        from shapely.geometry import box

        return box(*bounds)
    if base == "TileXYZ":
        import mercantile

        return mercantile.Tile(tile["x"], tile["y"], tile["z"])
    import geopandas as gpd
    from shapely.geometry import box

    return gpd.GeoDataFrame({"x": [tile["x"]], "y": [tile["y"]], "z": [tile["z"]]}, geometry=[box(*bounds)], crs=4326)


def _receiver(sig):
    params = list(sig.parameters)
    for name in ("bounds", "bbox"):
        if name in params:
            return name
    return params[0] if params else None


# ------------------------------------------------------------------------------------ the result

class _Raw:
    """JSON text already serialised (the GeoJSON, the preview): spliced into the result as is."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


def _finite(o, depth=0):
    """`o` with every NaN and infinity (in dicts, lists and tuples) made None: JSON has no NaN,
    and a UDF's mean of nothing is NaN. Past 100 levels the value is left as it is."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if depth > 100:
        return o
    if isinstance(o, dict):
        return {k: _finite(v, depth + 1) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v, depth + 1) for v in o]
    return o


def _dumps(value):
    """`json.dumps` (the C encoder, one shot) with `_Raw` values spliced in without a re-parse.
    Strict JSON: NaN and infinities become null (see `_finite`)."""
    value = _finite(value)
    raws = {}
    token = "fused-ls-raw-" + uuid.uuid4().hex + "-"

    def default(o):
        if isinstance(o, _Raw):
            key = token + str(len(raws))
            raws[key] = o.text
            return key
        return str(o)

    text = json.dumps(value, default=default, allow_nan=False)
    for key, raw in raws.items():
        text = text.replace(json.dumps(key), raw, 1)
    return text


def _geojson_features(head):
    """The rows of a GeoDataFrame in EPSG:4326 as GeoJSON Feature texts.

    Vectorised: shapely 2's `to_geojson` for the geometries (coordinates rounded to
    GEOJSON_DECIMALS places, ~1 cm) and pandas' `to_json` for the properties. None when this
    shapely or pandas cannot (the caller falls back to geopandas' `to_json`).
    """
    import numpy as np
    import pandas as pd
    import shapely

    if not hasattr(shapely, "to_geojson"):
        return None
    if len(head) == 0:
        return []
    geoms = np.asarray(head.geometry.values, dtype=object)
    has_z = shapely.has_z(geoms)
    if has_z.all() or not has_z.any():
        # (Mixed 2D/3D rows keep full precision: shapely 2.0's transform is all-2D or all-3D.)
        geoms = shapely.transform(geoms, lambda c: np.round(c, GEOJSON_DECIMALS), include_z=bool(has_z.any()))
    gtexts = shapely.to_geojson(geoms)
    # A plain DataFrame: with a second geometry column, geopandas would keep its own to_json.
    props = pd.DataFrame(head.drop(columns=[head.geometry.name]))
    if len(props.columns):
        lines = props.to_json(orient="records", lines=True, date_format="iso", default_handler=str)
        ptexts = lines.rstrip("\n").split("\n")
    else:
        ptexts = ["{}"] * len(head)
    ids = [json.dumps(str(i)) for i in head.index]
    if len(ptexts) != len(head):
        return None
    return [
        '{"id": %s, "type": "Feature", "properties": %s, "geometry": %s}' % (i, p, "null" if g is None else g)
        for i, p, g in zip(ids, ptexts, gtexts)
    ]


def _geojson_capped(base, n):
    """A FeatureCollection of the first rows of `base`, at most `n` and whole features only, as
    many as fit GEOJSON_MAX_BYTES (at least one). Serialises in chunks sized from the first, so
    rows past the cap are never written. `(text, count)`, or None (the caller falls back)."""
    head = '{"type": "FeatureCollection", "features": ['
    size, kept, at, chunk = len(head) + 2, [], 0, min(n, 32)
    while at < n:
        features = _geojson_features(base.iloc[at : at + chunk])
        if features is None:
            return None
        for f in features:
            size += len(f) + 2
            if size > GEOJSON_MAX_BYTES and kept:
                return head + ", ".join(kept) + "]}", len(kept)
            kept.append(f)
        at += len(features)
        # Enough rows for what is left of the budget at the average size so far, and a margin.
        average = (size - len(head)) / max(len(kept), 1)
        chunk = max(16, int((GEOJSON_MAX_BYTES - size) / average * 1.1) + 1)
    return head + ", ".join(kept) + "]}", len(kept)


def _geojson_fallback(base, n):
    """geopandas' own `to_json` (older shapely): halves the count until it fits the byte cap."""
    sample = max(1, min(n, 20))
    per_feature = len(base.head(sample).to_json()) / sample
    n = max(1, min(n, int(GEOJSON_MAX_BYTES / max(per_feature, 1.0))))
    while True:
        text = base.head(n).to_json()
        if len(text) <= GEOJSON_MAX_BYTES or n <= 1:
            return text, n
        n = max(1, n // 2)


# ---------------------------------------------------------------------------- rasters and H3
#
# A map draws more than GeoDataFrames: an image (a numpy array, an xarray.DataArray, or the
# `(array, [minx, miny, maxx, maxy])` tuple Fused documents for placing one) and a DataFrame of H3
# cells (hexagons). Their pixels and rows go to fused-ls in files beside the result file
# (`result.rgba`, `result.h3.jsonl`), not in the JSON: fused-ls encodes the PNG and builds the
# hexagons (fused_run::raster, fused_run::h3), so the JSON stays capped and `serve` reuses them.

# The longest side of the image handed over (64 MiB of RGBA at most): a larger array is strided.
RASTER_MAX_SIDE = 4096
# The names of an H3 cell column, in the order they are looked for (any case).
H3_COLUMNS = ("hex", "h3", "cell")


def _finite_bounds(b):
    """`[minx, miny, maxx, maxy]` as floats, from a list, tuple or array of 4 finite numbers."""
    try:
        if isinstance(b, (str, bytes, dict)) or len(b) != 4:
            return None
        out = [float(v) for v in b]
    except Exception:  # noqa: BLE001 - not a sequence of numbers: not bounds
        return None
    return out if all(math.isfinite(v) for v in out) else None


def _axis_edges(values):
    """`(low edge, high edge, descending)` of 1-D, evenly spaced pixel-centre coordinates."""
    import numpy as np

    try:
        v = np.asarray(values, dtype="float64")
    except Exception:  # noqa: BLE001 - dates, strings: no bounds from them
        return None
    if v.ndim != 1 or len(v) < 2 or not np.isfinite(v).all() or v[-1] == v[0]:
        return None
    half = abs(v[-1] - v[0]) / (len(v) - 1) / 2
    return float(v.min() - half), float(v.max() + half), bool(v[-1] < v[0])


def _xarray_parts(da):
    """A DataArray's values (bands first, the first row north) and, when it has x/y or lon/lat
    coordinates, the bounds of its pixels' edges."""
    import numpy as np

    def find(names):
        return next((d for d in da.dims if str(d).lower() in names), None)

    xd, yd = find(("x", "lon", "longitude")), find(("y", "lat", "latitude"))
    if xd is None or yd is None:
        return np.asarray(da.values), None, None
    da = da.transpose(*[d for d in da.dims if d not in (xd, yd)], yd, xd)
    arr = np.asarray(da.values)
    if arr.ndim > 3 or (arr.ndim == 3 and arr.shape[0] not in (1, 3, 4)):
        # Its other dimensions are the bands (a `time` of 1 and a `band` of 3 included): never
        # read as bands-last, its layout is known.
        arr = arr.reshape((-1,) + arr.shape[-2:])
        if arr.shape[0] not in (1, 3, 4):
            return None
    xs = _axis_edges(da.coords[xd].values) if xd in da.coords else None
    ys = _axis_edges(da.coords[yd].values) if yd in da.coords else None
    if xs is None or ys is None:
        return arr, None, None
    if xs[2]:  # east first: columns flipped so the first is west
        arr = arr[..., ::-1]
    if not ys[2]:  # south first: rows flipped so the first is north
        arr = arr[..., ::-1, :]
    return arr, [xs[0], ys[0], xs[1], ys[1]], "coords"


def _raster_parts(value):
    """`(array, bounds, where the bounds came from)` when `value` is an image, else None."""
    if isinstance(value, tuple) and len(value) == 2:
        inner = _raster_parts(value[0])
        bounds = _finite_bounds(value[1])
        if inner is None or bounds is None:
            return None
        return inner[0], bounds, "returned"
    cls = type(value)
    # (xarray is never imported here: only a value it made is looked at.)
    if (cls.__module__ or "").split(".")[0] == "xarray" and cls.__name__ == "DataArray":
        return _xarray_parts(value)  # (None when its bands are not 1, 3 or 4)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray):
        return value, None, None
    return None


def _number(v):
    v = v.item() if hasattr(v, "item") else v
    return int(v) if isinstance(v, bool) else v


def _raster(value, ctx):
    """`result.raster` for an image a map can draw, else None; its RGBA pixels (north-up,
    transparent where masked or NaN) are written to `ctx["side"] + ".rgba"`."""
    parts = _raster_parts(value)
    if parts is None:
        return None
    import numpy as np

    arr, bounds, bounds_from = parts
    masked = isinstance(arr, np.ma.MaskedArray)
    mask = np.ma.getmaskarray(arr) if masked else None
    data = np.asarray(np.ma.getdata(arr)) if masked else np.asarray(arr)
    if data.dtype.kind not in "biuf":
        return None
    if data.ndim == 2:
        data, mask = data[None], None if mask is None else mask[None]
    elif data.ndim == 3 and data.shape[0] in (1, 3, 4):
        pass  # bands first, as rasterio reads them (and when both readings fit)
    elif data.ndim == 3 and data.shape[2] in (1, 3, 4):
        data, mask = np.moveaxis(data, 2, 0), None if mask is None else np.moveaxis(mask, 2, 0)
    else:
        return None
    bands, height, width = data.shape
    if height == 0 or width == 0:
        return None
    step = -(-max(height, width) // RASTER_MAX_SIDE)
    if step > 1:
        data, mask = data[:, ::step, ::step], None if mask is None else mask[:, ::step, ::step]
    valid = np.ones(data.shape[1:], dtype=bool)
    if mask is not None:
        valid &= ~mask.any(axis=0)
    if data.dtype.kind == "f":
        valid &= np.isfinite(data).all(axis=0)
    lo = hi = None
    if valid.any():
        values = data[:, valid]
        lo, hi = _number(values.min()), _number(values.max())
    if data.dtype == np.uint8:
        pixels = data
    else:
        # One range over every band (colours keep their balance), min to 0 and max to 255.
        pixels = np.zeros(data.shape, dtype=np.uint8)
        span = float(hi) - float(lo) if lo is not None else 0.0
        for b in range(bands):
            band = data[b].astype("float64")
            if span > 0:
                band = np.rint(np.clip((band - float(lo)) * (255.0 / span), 0, 255))
            else:
                band = np.full(band.shape, 255.0)  # one value: drawn at full intensity
            pixels[b] = np.where(valid, band, 0).astype(np.uint8)
    h, w = pixels.shape[1:]
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[..., :3] = np.moveaxis(pixels[:3], 0, 2) if bands >= 3 else pixels[0][..., None]
    rgba[..., 3] = pixels[3] if bands == 4 else 255
    rgba[~valid] = 0
    if bounds is None and ctx.get("bounds"):
        bounds, bounds_from = [float(v) for v in ctx["bounds"]], "tile"
    if ctx.get("side"):
        with open(ctx["side"] + ".rgba", "wb") as f:
            f.write(np.ascontiguousarray(rgba).data)
    return {
        "width": int(width), "height": int(height), "bands": int(bands), "dtype": str(data.dtype),
        "min": lo, "max": hi, "bounds": bounds, "bounds_from": bounds_from,
        # What the file holds; fused-ls replaces it with the PNG's size.
        "rgba": {"width": int(w), "height": int(h)},
    }


def _h3_text(v):
    """A cell as the hex string h3o parses: an integer formatted, a string stripped; None when
    it is neither, or its bits do not say "cell" (mode 1)."""
    np = sys.modules.get("numpy")
    ints = (int,) if np is None else (int, np.integer)
    if isinstance(v, str):
        t = v.strip().lower()
        t = t[2:] if t.startswith("0x") else t
        if not 1 <= len(t) <= 16 or any(ch not in "0123456789abcdef" for ch in t):
            return None
        n = int(t, 16)
    elif isinstance(v, ints) and not isinstance(v, bool):
        n = int(v)
    else:
        return None
    return format(n, "x") if n > 0 and (n >> 59) & 0xF == 1 else None


def _h3_column(df):
    """The H3 cell column of a DataFrame (`hex`, `h3` or `cell`, any case, holding integers or
    hex strings that are cells), or None."""
    names = {}
    for c in df.columns:
        names.setdefault(str(c).lower(), c)
    for name in H3_COLUMNS:
        c = names.get(name)
        if c is None or getattr(df[c], "ndim", 1) != 1:
            continue
        first = df[c].dropna().head(1).tolist()
        if not first or _h3_text(first[0]) is not None:
            return c
    return None


def _h3_rows(df, column, path, n):
    """The first `n` rows (all when None) as JSON lines `[cell, {other columns}]` for fused-ls."""
    import pandas as pd

    head = df if n is None else df.head(n)
    cells = [_h3_text(v) for v in head[column].tolist()]
    props = pd.DataFrame(head.drop(columns=[column]))
    if len(props.columns) and len(head):
        lines = props.to_json(orient="records", lines=True, date_format="iso", default_handler=str)
        lines = lines.rstrip("\n").split("\n")
    else:
        lines = ["{}"] * len(head)
    with open(path, "w", encoding="utf-8") as f:
        for cell, p in zip(cells, lines):
            f.write("[%s, %s]\n" % (json.dumps(cell), p))


def _describe(result, ctx=None):
    """`result` as the run JSON's `result`. `ctx`: the tile's bounds, where to write the pixels
    or H3 rows for fused-ls (`side`), and the `-o` path; None describes without writing."""
    ctx = ctx or {}
    out = {"type": type(result).__module__ + "." + type(result).__qualname__}
    try:
        import pandas as pd
    except Exception:  # pragma: no cover - pandas missing
        pd = None
    if pd is not None and isinstance(result, pd.DataFrame):
        out["rows"] = int(len(result))
        out["columns"] = [str(c) for c in result.columns]
        geom = getattr(result, "geometry", None) if hasattr(result, "crs") else None
        if geom is not None:
            out["crs"] = str(result.crs) if result.crs is not None else None
            # (NaN for an empty frame: null, as JSON has no NaN.)
            out["total_bounds"] = [float(v) if v == v else None for v in result.total_bounds]
            if ctx.get("brief"):
                # The caller takes the rows from `features_path`; the rest is its business.
                return out
            preview = result.head(PREVIEW_ROWS).drop(columns=[result.geometry.name])
            # GeoJSON for a map, capped in features and in bytes: it travels to the editor.
            n = min(len(result), GEOJSON_MAX_FEATURES)
            try:
                # str() of an EPSG CRS is cheap; to_epsg() searches pyproj's database (~50 ms).
                is_4326 = result.crs is None or str(result.crs).upper() in ("EPSG:4326", "OGC:CRS84")
                base = result.head(n)
                base = base if is_4326 else base.to_crs(4326)
                try:
                    capped = _geojson_capped(base, n)
                except Exception:  # noqa: BLE001 - e.g. a geometry GEOS cannot write: the slow way
                    capped = None
                text, n = capped if capped is not None else _geojson_fallback(base, n)
                out["geojson"] = _Raw(text)
            except Exception as e:  # noqa: BLE001
                out["geojson_error"] = str(e)
            out["geojson_truncated"] = n < len(result)
        else:
            preview = result.head(PREVIEW_ROWS)
            column = _h3_column(result)
            if column is not None:
                # Drawn as hexagons: fused-ls makes the polygons (and `geojson`) from these rows,
                # the first GEOJSON_MAX_FEATURES, or all of them for `-o out.geojson`.
                out["h3"] = {"column": str(column), "cells": int(result[column].notna().sum())}
                if ctx.get("side"):
                    every = str(ctx.get("output") or "").endswith((".geojson", ".json"))
                    try:
                        _h3_rows(result, column, ctx["side"] + ".h3.jsonl", None if every else GEOJSON_MAX_FEATURES)
                    except Exception as e:  # noqa: BLE001
                        out["geojson_error"] = str(e)
        preview = pd.DataFrame(preview)  # plain pandas (a second geometry column is a GeoDataFrame)
        rows = len(preview)
        while True:
            text = preview.head(rows).to_json(orient="records", date_format="iso", default_handler=str)
            if len(text) <= VALUE_MAX_BYTES or rows == 0:
                break
            rows //= 2  # (a cell can hold megabytes: fewer rows until the preview fits)
        if rows < len(preview):
            out["truncated"] = True
        out["preview"] = _Raw(text)
        return out
    try:
        raster = _raster(result, ctx)
    except Exception as e:  # noqa: BLE001 - e.g. an array too large to convert under the memory limit
        raster = None
        out["raster_error"] = f"{type(e).__name__}: {e}"
    if raster is not None:
        out["raster"] = raster
    if isinstance(result, str):
        if len(result) > VALUE_MAX_BYTES:
            out["value"] = result[:VALUE_MAX_BYTES]
            out["truncated"] = True
        else:
            out["value"] = result
    elif isinstance(result, (int, float, bool)) or result is None:
        out["value"] = result
    elif isinstance(result, (list, tuple, dict)):
        try:
            text, cut = _json_capped(result)
            out["value"] = _Raw(text)
            if cut:
                out["truncated"] = True
        except Exception:  # noqa: BLE001
            _repr_value(out, result)
        if isinstance(result, (list, tuple)):
            out["rows"] = len(result)
    else:
        _repr_value(out, result)
    return out


def _repr_value(out, result):
    text = repr(result)
    out["value"] = text[:10000]
    if len(text) > 10000:
        out["truncated"] = True


def _json_capped(value):
    """A list, tuple or dict as JSON of at most VALUE_MAX_BYTES characters: the leading items
    (whole ones) that fit, serialised one by one so that items past the cap are never written.
    `(text, cut)`."""
    is_dict = isinstance(value, dict)
    items = value.items() if is_dict else value
    parts, size = [], 2
    for item in items:
        if is_dict:
            # One-item dicts: the key is written exactly as json.dumps writes keys (or refused).
            part = json.dumps({item[0]: _finite(item[1])}, default=str, allow_nan=False)[1:-1]
        else:
            part = json.dumps(_finite(item), default=str, allow_nan=False)
        size += len(part) + 2
        if size > VALUE_MAX_BYTES:
            return ("{" if is_dict else "[") + ", ".join(parts) + ("}" if is_dict else "]"), True
        parts.append(part)
    return ("{" if is_dict else "[") + ", ".join(parts) + ("}" if is_dict else "]"), False


class OutputError(ValueError):
    """`-o` names a format the result cannot be written in: reported without a traceback (the
    runner's own frames would say nothing to the user)."""


def _write_output(value, path, described):
    """`-o out.geojson|.parquet|.csv|.png`. fused-ls itself writes a raster's PNG and an H3
    frame's GeoJSON (hexagons), from what `_describe` handed over."""
    name = os.path.basename(path)
    if "raster" in described or "raster_error" in described:
        if path.endswith(".png"):
            if "raster_error" in described:
                raise OutputError(f"`-o {name}`: the raster cannot be converted: {described['raster_error']}")
            return
        raise OutputError(
            f"`-o {name}`: the UDF returned a raster ({described['type']}); write it to a .png"
        )
    if path.endswith(".png"):
        raise OutputError(
            f"`-o {name}`: the UDF returned {described['type']}, not a raster (a numpy array, an "
            "xarray.DataArray or an (array, [minx, miny, maxx, maxy]) tuple); write it to a "
            ".geojson, .parquet or .csv"
        )
    if "h3" in described and path.endswith((".geojson", ".json")):
        return
    if path.endswith(".csv"):
        value.to_csv(path, index=False)
    elif path.endswith(".parquet"):
        value.to_parquet(path)
    elif path.endswith((".geojson", ".json")):
        if hasattr(value, "to_file"):
            value.to_file(path, driver="GeoJSON")
        elif hasattr(value, "to_json"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(value.to_json(orient="records"))
        else:
            with open(path, "w", encoding="utf-8") as f:
                json.dump(value, f, default=str)
    else:
        raise ValueError(f"cannot write {path!r}: use .geojson, .parquet, .csv or .png")


# `_write_features`' file: this magic, the header's length (a little-endian u32), the header (JSON:
# the row count and, for each part, where its bytes are: `[offset, length]` from the end of the
# header), then the parts. Read by fused-ls (fused_serve's `features`).
FEATURES_MAGIC = b"FLSFEAT1"


def _write_features(value, path):
    """`fused-ls serve`'s GeoJSON and vector tiles: every row of a GeoDataFrame (no cap), in
    EPSG:4326, in one binary file at `path + ".feat"` (FEATURES_MAGIC) fused-ls turns into either.
    Nothing is written for a result that is not a GeoDataFrame: fused-ls says so.

    Built from whole-column operations, no work per row in Python (a tile of 2,000 polygons took
    11 ms as WKB records and pandas' JSON lines, 1 ms so):
    - `geometry`: when every geometry is a point, a line or a polygon without holes (or missing),
      `simple`: a type per row (u8: 0 none, 1 point, 2 line, 3 polygon), its coordinate count
      (u32) and all the coordinates (f64 x, y), from GEOS's bulk accessors; otherwise `wkb`: each
      row's 2-D WKB length (u32, 0 for none) and the WKBs end to end.
    - `columns`: each other column in order, numbers as little-endian arrays (`f64`, `i64`,
      `u64`, `bool` as u8; NaN is a missing value), anything else `json`: pandas' JSON list of the
      column (what `result.geojson` writes for it).
    - `ids`: the index, as `{"start", "step"}` for a RangeIndex, else a JSON list of its strings.
    """
    if getattr(value, "geometry", None) is None or not hasattr(value, "crs"):
        return
    import numpy as np
    import pandas as pd
    import shapely

    is_4326 = value.crs is None or str(value.crs).upper() in ("EPSG:4326", "OGC:CRS84")
    base = value if is_4326 else value.to_crs(4326)
    gname = base.geometry.name
    if not base.columns.is_unique:
        # (What pandas' records JSON said before: an attribute table needs unique names.)
        raise ValueError("DataFrame columns must be unique for orient='records'.")
    parts, size = [], 0

    def part(data):
        """`data` (bytes or a contiguous array, written as it is: a copy of a tile's 2 MB of
        coordinates costs as much in page faults as the writing) placed after the others."""
        nonlocal size
        n = data.nbytes if hasattr(data, "nbytes") else len(data)
        parts.append(data)
        size += n
        return [size - n, n]

    geoms = np.asarray(base.geometry.values, dtype=object)
    geometry = None
    if hasattr(shapely, "get_type_id"):
        types = shapely.get_type_id(geoms)  # -1 missing, 0 point, 1 line, 2 ring, 3 polygon
        polygons = types == 3
        if np.isin(types, (-1, 0, 1, 3)).all() and not (
            polygons.any() and shapely.get_num_interior_rings(geoms[polygons]).any()
        ):
            codes = np.array([0, 1, 2, 0, 3], dtype="u1")[types + 1]
            counts = shapely.get_num_coordinates(geoms).astype("<u4")
            coords = np.ascontiguousarray(shapely.get_coordinates(geoms), dtype="<f8")
            geometry = {"kind": "simple", "types": part(codes), "counts": part(counts), "coords": part(coords)}
    if geometry is None:
        if hasattr(shapely, "to_wkb"):
            wkbs = shapely.to_wkb(geoms, output_dimension=2, byte_order=1).tolist()
        else:  # shapely 1.x
            wkbs = [None if g is None else g.wkb for g in geoms]
        lengths = np.fromiter((0 if w is None else len(w) for w in wkbs), dtype="<u4", count=len(wkbs))
        geometry = {"kind": "wkb", "lengths": part(lengths), "data": part(b"".join(w for w in wkbs if w is not None))}
    columns = []
    for name in base.columns:
        if name == gname:
            continue
        col = base[name]
        dtype = col.dtype
        kind = None
        if isinstance(dtype, np.dtype):
            kind = {"b": ("bool", "u1"), "i": ("i64", "<i8"), "u": ("u64", "<u8"), "f": ("f64", "<f8")}.get(dtype.kind)
        if kind is not None:
            data = np.ascontiguousarray(col.to_numpy(), dtype=kind[1])
            kind = kind[0]
        else:
            if getattr(dtype, "name", "") == "geometry":
                # A second geometry column: its WKT, as pandas' default handler writes it.
                col = pd.Series(col.to_numpy(dtype=object), dtype=object)
            data = col.to_json(orient="records", date_format="iso", default_handler=str).encode("utf-8")
            kind = "json"
        columns.append({"name": str(name), "kind": kind, "data": part(data)})
    index = base.index
    if isinstance(index, pd.RangeIndex) and all(-(1 << 63) <= int(v) < (1 << 63) for v in (index.start, index.step)):
        ids = {"start": int(index.start), "step": int(index.step)}
    else:
        ids = {"json": part(json.dumps([str(i) for i in index]).encode("utf-8"))}
    header = json.dumps({"rows": int(len(base)), "geometry": geometry, "columns": columns, "ids": ids}).encode("utf-8")
    with open(path + ".feat", "wb") as f:
        f.write(FEATURES_MAGIC + len(header).to_bytes(4, "little") + header)
        for data in parts:
            f.write(data)


def _capped_text(text):
    if len(text) <= ERROR_MAX_CHARS:
        return text
    return text[:ERROR_MAX_CHARS] + f"\n[fused-ls: truncated: {ERROR_MAX_CHARS} of {len(text)} characters shown]"


def _error(exc, filename):
    tb = traceback.extract_tb(exc.__traceback__)
    line = None
    for frame in tb:
        if frame.filename == filename:
            line = frame.lineno
    name = type(exc).__name__
    message = _capped_text(str(exc))
    if isinstance(exc, MemoryError):
        # (numpy raises a subclass, `_ArrayMemoryError`: one class for every runaway allocation)
        name = "MemoryError"
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit != resource.RLIM_INFINITY:
            message = (message + " " if message else "") + (
                f"(the run's memory limit is {limit >> 20} MiB: `--memory-mib` or the `runMemoryMiB` setting)"
            )
    if isinstance(exc, OutputError):
        return {"class": name, "message": message, "line": None, "traceback": ""}
    return {
        "class": name,
        "message": message,
        "line": line,
        "traceback": _capped_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))),
    }


def _known_to_inspect(filename, headers):
    """Tells `inspect.getmodule` where this run's files belong before the UDF runs, as its own
    scan would conclude: the UDF's file to no module, each header's file to its module.

    geopandas warns about planar operations in a geographic CRS (a buffer in EPSG:4326, common
    in tile UDFs) through `inspect.stack()`, and for a file it has not met `getmodule` copies
    `sys.modules` and reads an attribute of each of its ~1,200 modules: in a freshly forked run
    that writes to (copies) the pages of all of them, 2.5 ms a tile (3.5 ms against 1 ms for the
    same warning in a warm process). Only CPython's caches are filled, and only with what the
    scan finds (a UDF that also imports its own file as a module would get None for its frames
    from `getmodule`, as before that import); without them (another Python), nothing is done."""
    import inspect

    by_file = getattr(inspect, "modulesbyfile", None)
    by_name = getattr(inspect, "_filesbymodname", None)
    if not isinstance(by_file, dict) or not isinstance(by_name, dict):
        return
    try:
        for name, path in headers.items():
            by_file[os.path.normcase(os.path.abspath(path))] = name
            by_name[name] = path
        # A name no module has: `getmodule` answers None for the UDF's frames, as after a scan.
        by_file.setdefault(os.path.normcase(os.path.abspath(filename)), "__fused_ls_udf_file__")
    except Exception:  # noqa: BLE001 - a cache, never a reason for a run to fail
        pass


def main():
    request_path, result_path = sys.argv[1], sys.argv[2]
    with open(request_path, encoding="utf-8") as f:
        req = json.load(f)
    result = {"ok": False, "result": None, "error": None}
    filename = req["source_path"]
    start = time.perf_counter()
    try:
        try:
            import fused  # noqa: F401  (the real package when installed)
        except Exception:
            _make_fused_standin()
        pkg_dir = req.get("package_dir")
        if pkg_dir:
            if sys.path[:1] != [pkg_dir]:  # (a child serving the package's runs has it)
                sys.path.insert(0, pkg_dir)
            os.chdir(pkg_dir)
        for name, path in req.get("headers", {}).items():
            with open(path, encoding="utf-8") as f:
                sys.modules[name] = _module(name, f.read(), path)
        _known_to_inspect(filename, req.get("headers", {}))
        with open(filename, encoding="utf-8") as f:
            code = f.read()
        captured = []
        ns = _exec_udf_file(code, filename, captured)
        func = _pick(captured, req.get("entrypoint"), ns)
        import inspect

        sig = inspect.signature(func)
        hints = {}
        for name, p in sig.parameters.items():
            hints[name] = p.annotation if p.annotation is not inspect.Parameter.empty else _EMPTY
        kwargs = {}
        for name, value in req.get("params", {}).items():
            if name not in sig.parameters and not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
                raise TypeError(f"{func.__name__}() has no parameter {name!r}")
            try:
                kwargs[name] = coerce(hints.get(name, _EMPTY), value)
            except Exception as exc:
                ann = _ann_text(hints.get(name, _EMPTY)) if hints.get(name, _EMPTY) is not _EMPTY else "no annotation"
                raise _named(exc, f"parameter {name!r} ({ann}) cannot take {value!r}: ") from exc
        if req.get("mode") == "tile":
            receiver = _receiver(sig)
            if receiver is None:
                raise TypeError("a Tile run needs a parameter to receive the tile (`bounds`)")
            kwargs[receiver] = _tile_value(hints.get(receiver, _EMPTY), req["bounds"], req["tile"])
        value = func(**kwargs)
        # `features_path` (fused-ls serve's GeoJSON/MVT): the rows are written there, so the
        # description's own capped GeoJSON and preview would be thrown away: skip them (brief).
        ctx = {"bounds": req.get("bounds"), "side": os.path.splitext(result_path)[0], "output": req.get("output_path"),
               "brief": bool(req.get("features_path"))}
        described = _describe(value, ctx)
        if req.get("output_path"):
            _write_output(value, req["output_path"], described)
        if req.get("features_path"):
            _write_features(value, req["features_path"])
        # Only now: a result that cannot be described or written is an error, not `ok`.
        result["ok"] = True
        result["result"] = described
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are UDF errors too
        result["error"] = _error(exc, filename)
    result["elapsed_ms"] = round((time.perf_counter() - start) * 1000, 3)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        text = _dumps(result)
    except Exception as exc:  # noqa: BLE001 - what the UDF returned cannot be JSON: say so
        result["ok"] = False
        result["result"] = None
        result["error"] = dict(
            _error(exc, filename),
            **{
                "class": "BadResult",
                "message": f"the UDF's result cannot be written as JSON: {type(exc).__name__}: {exc}",
                "line": None,
            },
        )
        text = json.dumps(result, default=str)
    with open(result_path, "w", encoding="utf-8") as f:
        f.write(text)


# ------------------------------------------------------------------------- process lifetime
#
# fused-ls holds the write end of this process's stdin and never writes to it during a run:
# end of file there means fused-ls closed it (timeout, cancel) or died (even `kill -9`). Either
# way the run ends and nothing it started survives: this process is a subreaper, so whatever the
# UDF started, daemons that double-fork into their own session included, lands below it and is
# killed. The processes that run UDFs die with this one (PR_SET_PDEATHSIG).

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option, arg):
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0) == 0
    except Exception:  # noqa: BLE001 - not Linux: the pipe still ends runs with fused-ls
        return False


def _die_with_parent(parent):
    """In a freshly forked child: SIGKILL when `parent` (the forking, single-threaded process)
    dies; at once when it already has."""
    import signal

    _prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent:
        os._exit(1)


def _state(pid):
    """`(ppid, state)` of `pid` from /proc, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[-1].split()
        return int(fields[1]), fields[0]
    except (OSError, IndexError, ValueError):
        return None


def _children(of):
    """`(pid, is_zombie)` of every process whose parent is `of`: from the kernel's per-thread
    lists when it keeps them (cheap), else from a scan of /proc."""
    pids = set()
    try:
        for task in os.listdir(f"/proc/{of}/task"):
            with open(f"/proc/{of}/task/{task}/children", "rb") as f:
                pids.update(int(p) for p in f.read().split())
    except OSError:
        pids = {int(n) for n in os.listdir("/proc") if n.isdigit()}
    found = []
    for pid in pids:
        st = _state(pid)
        if st is not None and st[0] == of:
            found.append((pid, st[1] == b"Z"))
    return found


def _kill(pid, reap=False):
    """SIGKILL to `pid`'s process group (when it leads one: a run's child does) and to `pid`
    itself; gone already is fine. `reap`: then wait for it (it must be this process's child)."""
    import signal

    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if reap:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _stop_strays(keep=()):
    """Kills every process below this one but `keep` (orphans of a run land here, this being a
    subreaper) and reaps them; returns how many were still running."""
    me, stopped = os.getpid(), 0
    for _ in range(1000):  # killed processes' children land here in turn
        kids = [(p, z) for p, z in _children(me) if p not in keep]
        if not kids:
            break
        for p, zombie in kids:
            if zombie:
                continue
            stopped += 1
            _kill(p)
        for p, _ in kids:
            try:
                os.waitpid(p, 0)
            except ChildProcessError:
                pass
    return stopped


def _stray_note(n):
    if n:
        os.write(2, f"\n[fused-ls: stopped {n} process{'es' if n > 1 else ''} the UDF left running]\n".encode())


def _parent_gone(parent):
    """Whether fused-ls (`parent`) died or is dying. Not only `getppid() != parent`: a killed
    process closes its files (our stdin's end of file wakes us) before its children are handed
    to the reaper, so right after the end of file getppid() may still name it. The kernel marks
    it exiting (PF_EXITING, 0x4 in /proc/PID/stat's flags) before it closes anything."""
    if os.getppid() != parent:
        return True
    try:
        with open(f"/proc/{parent}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return True
    fields = stat[stat.rfind(b")") + 2:].split()
    try:
        state, flags = fields[0], int(fields[6])
    except (IndexError, ValueError):
        return False
    return state in (b"Z", b"X") or bool(flags & 0x4)


def _remove_own_folder():
    """fused-ls died: the temp folder it made for this process (the runner's own) goes too."""
    import shutil

    folder = os.path.dirname(os.path.abspath(sys.argv[0]))
    if os.path.basename(folder).startswith(("fused-ls-run-", "fused-ls-worker-")):
        shutil.rmtree(folder, ignore_errors=True)


def supervise():
    """`runner.py REQUEST RESULT`: the UDF runs in a forked child (`main`); this process waits
    for it, or for fused-ls to close stdin, then stops every process left and exits as the child
    did (its code, or its signal)."""
    import resource
    import select
    import signal

    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    parent, me = os.getppid(), os.getpid()
    pid = os.fork()
    if pid == 0:
        _die_with_parent(me)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)  # not the pipe from fused-ls: only this process watches it
        os.close(null)
        main()
        return
    status = None
    while status is None:
        try:
            ready = select.select([0], [], [], 0.05)[0]
        except InterruptedError:
            ready = []
        if ready and not os.read(0, 4096):
            break  # fused-ls stopped the run, or is gone
        done, st = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            status = st
    if status is None:
        _kill(pid, reap=True)
        _stop_strays()
        if _parent_gone(parent):
            _remove_own_folder()
        os._exit(1)
    _stray_note(_stop_strays())
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(sig, signal.SIG_DFL)
        os.kill(me, sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


# --------------------------------------------------------------------------------- warm worker

def _prewarm():
    """Imports the heavy libraries and pays their lazy, per-process initialisations once, so
    that every forked child inherits them instead of paying them again on each run."""
    import inspect  # noqa: F401  (main() imports it per run)

    for name in ("numpy", "pandas", "shapely", "shapely.geometry", "pyproj", "geopandas", "mercantile"):
        try:
            __import__(name)
        except Exception:
            pass
    try:
        import fused  # noqa: F401
    except Exception:
        _make_fused_standin()
    try:
        import warnings

        import geopandas as gpd
        import numpy as np
        from shapely.geometry import Point

        gdf = gpd.GeoDataFrame(
            {"id": np.arange(2), "name": ["a", "b"]}, geometry=[Point(0, 0), Point(1, 1)], crs=4326
        )
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            # A planar operation in a geographic CRS warns through inspect.stack(), which resolves
            # the file of every loaded module (thousands of realpath calls); the cache it fills
            # (inspect's module-by-file maps, linecache) is inherited by the children.
            gdf["geometry"] = gdf.geometry.buffer(0.001)
        # pyproj's CRS and transformer, shapely's GeoJSON writer, pandas' JSON writer.
        _dumps({"result": _describe(gdf), "projected": _describe(gdf.to_crs(3857))})
    except Exception:
        pass


def _reseed():
    """Fresh random state for this run, as a new interpreter would have: every child is forked
    from the same worker, so without this each warm run would draw the same `random` and
    `numpy.random` numbers (the SDK's runs, each a new process, do not)."""
    import random

    random.seed()
    np = sys.modules.get("numpy")
    if np is not None:
        try:
            np.random.seed()
        except Exception:  # noqa: BLE001
            pass


def _spare(busy=()):
    """Forks the child that will run the next job, ahead of time: fork() and the child's setup
    are off the run's critical path. The child starts its own session at once (so fused-ls can
    kill it and everything it starts), then blocks reading its job from a pipe; the worker gone
    (end of file, no job) ends it. `busy`: the pipes of other children (the running one, the
    one kept for reuse), closed in the new child: it must not hold them open.

    Jobs are lines. A job with a `reuse` key (fused-ls serve's runs of one package version) may
    leave the child alive after its run, announced as `K<code>`: the worker then hands it the
    next job with the same key. Tiles of one UDF so share a process, as they do in the SDK's
    own loop, but never with other code, and each run still gets a fresh UDF namespace and
    fresh package modules; a run that leaves a thread or a process behind ends its child.
    Returns `(pid, job pipe to write, done pipe to read)`."""
    import resource
    import signal

    job_r, job_w = os.pipe()
    done_r, done_w = os.pipe()
    worker_pid = os.getpid()
    pid = os.fork()
    if pid:
        os.close(job_r)
        os.close(done_w)
        return pid, job_w, done_r
    code = 1
    try:
        _die_with_parent(worker_pid)
        os.setsid()
        for fd in (job_w, done_r, *busy):
            os.close(fd)
        # Output goes to files fused-ls reads back; a flood stops at the size limit.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)  # not the worker's pipes to fused-ls, not even while waiting
        os.close(null)
        sys.stdin = open(os.devnull)
        jobs, served = _Lines(job_r), 0
        while True:
            line = jobs.next()
            if not line or not line.strip():
                os._exit(0)  # the worker retired this child (or is gone)
            code = 1  # until the run is over: a job that fails before it is a failed run
            job = json.loads(line)
            limit = int(job.get("output_limit", 256 << 20))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            memory = job.get("memory_limit")
            if memory:
                # Counts what the worker imported too (this process is its fork).
                resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
            for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
                f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(f, fd)
                os.close(f)
            sys.argv = [sys.argv[0], job["request"], job["result"]]
            _reseed()
            code = 0
            try:
                main()
            except BaseException:  # noqa: BLE001
                code = 1
            served += 1
            sys.stdout.flush()
            sys.stderr.flush()
            keep = bool(job.get("reuse")) and served < _REUSE_LIMIT and _reusable()
            # The result is written: say so now rather than after the exit's teardown ("K": this
            # child stays, waiting for the next run of the same package).
            os.write(done_w, (("K" if keep else "") + str(code)).encode())
            if not keep:
                os._exit(code)
            code = None  # announced: nothing more to say until the next job
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            if code is not None:
                os.write(done_w, str(code).encode())
        except BaseException:  # noqa: BLE001
            pass
        os._exit(code or 0)


# How many runs one child serves before a fresh one takes over (what a run leaks stays bounded).
_REUSE_LIMIT = 64


def _reusable():
    """Whether this child may serve another run: the run left no thread, no process and no
    replaced standard stream behind (anything it left would see or touch the next run)."""
    import threading

    try:
        return (
            threading.active_count() == 1
            and sys.stdout is sys.__stdout__
            and sys.stderr is sys.__stderr__
            and not _children(os.getpid())
        )
    except Exception:  # noqa: BLE001
        return False


def _wait_run(pid, done_r, jobs):
    """The run's end: the exit code the child announces after writing its result (it then
    exits, or stays for the next run of its package: `kept`), or, when it died without
    announcing, its wait status. Returns `(status, reaped, kept)`. `jobs`' end of file (fused-ls
    gone) ends the run and returns None. `done_r` stays open only for a kept child."""
    import select

    kept = False
    try:
        while True:
            ready, _, _ = select.select([done_r, jobs.fd], [], [], 0.05)
            if jobs.fd in ready and not jobs.fill():
                return None
            if done_r in ready:
                data = os.read(done_r, 16).strip()
                kept = data.startswith(b"K")
                if kept:
                    data = data[1:]
                if data.isdigit():
                    return (int(data) & 0xFF) << 8, False, kept  # the wait status of exit(code)
                kept = False
                return os.waitpid(pid, 0)[1], True, False
            # A grandchild may hold the pipe open after the child died: check the child too.
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return status, True, False
    finally:
        if not kept:
            os.close(done_r)


def _retire(child):
    """Ends a kept child (idle, waiting for a job): killed with its session, and reaped."""
    pid, job_w, done_r = child
    for fd in (job_w, done_r):
        try:
            os.close(fd)
        except OSError:
            pass
    _kill(pid, reap=True)


def _reuse_key(line):
    """What a job must share with the kept child's last job to run in it: the package version
    (`reuse`, set by fused-ls) and the limits the child set for itself."""
    try:
        job = json.loads(line)
    except ValueError:
        return None
    if not job.get("reuse"):
        return None
    return (job["reuse"], job.get("memory_limit"), job.get("output_limit"))


class _Lines:
    """Lines from a file descriptor, read with os.read so that select() on it is never fooled by
    a buffer; `fill` also tells end of file apart while a run is going on."""

    def __init__(self, fd):
        self.fd, self.buf, self.eof = fd, b"", False

    def fill(self):
        data = os.read(self.fd, 1 << 16)
        self.buf += data
        self.eof = not data
        return bool(data)

    def next(self):
        while b"\n" not in self.buf:
            if self.eof or not self.fill():
                return None
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8")


def worker():
    """`runner.py --worker`: import the heavy libraries once, then fork a child per run.

    Each line on stdin is a job `{"request", "result", "stdout", "stderr"}`; for each, a child
    process runs it (its own session, so fused-ls can kill it and everything it started, and a
    fresh UDF namespace), and this process answers `{"pid": ...}` when the child starts and
    `{"done": pid, "status": ...}` when it ends. Nothing of one run is visible to the next: the
    child is forked, before the job arrives, from this process, which never runs a UDF. The one
    exception is asked for: jobs with the same `reuse` key (runs of one package version, see
    `_spare`) may share a child, answered `{"done": ..., "kept": true}`.
    """
    import gc

    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    parent = os.getppid()
    _prewarm()
    # Everything imported so far is long-lived: out of the collector's sight, so a child's
    # collections neither walk it nor write to (and so copy) the pages it lives on.
    gc.collect()
    gc.freeze()
    out = sys.stdout
    spare = _spare()
    # The child kept after a run with a reuse key: `(key, (pid, job pipe, done pipe))`.
    kept = None
    out.write(json.dumps({"ready": True, "python": sys.version.split()[0]}) + "\n")
    out.flush()
    jobs = _Lines(0)
    while True:
        line = jobs.next()
        if line is None:
            break
        if not line.strip():
            continue
        key = _reuse_key(line)
        child = None
        if kept is not None and kept[0] == key:
            child = kept[1]
            try:
                os.write(child[1], (line + "\n").encode("utf-8"))
            except OSError:  # it died while idle: retire it, the spare runs the job
                _retire(child)
                child = None
            kept = None
        elif kept is not None:  # another package's run, or one that must run fresh
            _retire(kept[1])
            kept = None
        fresh = child is None
        while child is None:
            pid, job_w, done_r = spare
            try:
                os.write(job_w, (line + "\n").encode("utf-8"))
                if key is None:
                    os.close(job_w)  # end of file after the job: the child runs it and exits
                    job_w = None
                child = (pid, job_w, done_r)
            except OSError:  # the spare died while waiting: fork another
                os.close(job_w)
                os.close(done_r)
                os.waitpid(pid, 0)
                spare = _spare()
        pid, job_w, done_r = child
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()
        if fresh:
            # The next job's child, forked from this process (not from the run) while the run
            # goes on.
            spare = _spare(busy=tuple(fd for fd in (job_w, done_r) if fd is not None))
        ended = _wait_run(pid, done_r, jobs)
        if ended is None:  # fused-ls is gone, or stopping this worker: so is the run
            _kill(pid)
            break
        status, reaped, keep = ended
        if keep:
            kept = (key, child)
        else:
            if job_w is not None:
                os.close(job_w)
            if not reaped:
                os.waitpid(pid, 0)
        # Daemons the run left (orphans land here, this being a subreaper); not the spare, not
        # the kept child.
        stopped = _stop_strays(keep=(spare[0], pid) if keep else (spare[0],))
        done = {"done": pid, "status": status, "stopped": stopped}
        if keep:
            done["kept"] = True
        out.write(json.dumps(done) + "\n")
        out.flush()
    _stop_strays()
    if _parent_gone(parent):
        _remove_own_folder()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker()
    else:
        supervise()

"""What fused 2.9.5 does with UDF packages: load each, then run it locally.

Usage: python sdk_outcome.py DIR[@tile] [DIR[@tile] ...]

For each package folder, prints one JSON line prefixed `OUTCOME `:
  {"path": DIR, "stage": "load" | "run" | "ok", "class": <exception class or null>,
   "message": <str>, "warnings": [<warnings raised while loading>]}

Each package is loaded as `fused.load(".")` from inside its folder, because the SDK resolves
relative `fused.load` paths in UDF code against the working directory. `fused.load` is lenient:
it turns failures of the module's top level into warnings, so those are reported too. The run
is `fused.run(udf, engine="local", cache=False)`, a tile run (x=2411, y=3079, z=13) for `@tile`.
One process for many packages: importing fused takes seconds.
"""
import json
import os
import sys
import warnings

import fused


def outcome(arg: str) -> dict:
    path, _, mode = arg.partition("@")
    caught = []
    out = {"path": path, "stage": "ok", "class": None, "message": "", "warnings": caught}
    home = os.getcwd()
    os.chdir(path)
    try:
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter("always")
            try:
                udf = fused.load(".")
            except BaseException as e:  # noqa: BLE001 - SystemExit from UDF code is an outcome too
                out.update(stage="load", message=str(e))
                out["class"] = type(e).__name__
                udf = None
            caught.extend(str(w.message) for w in ws)
        if udf is not None:
            kw = {"x": 2411, "y": 3079, "z": 13} if mode == "tile" else {}
            try:
                fused.run(udf, engine="local", cache=False, **kw)
            except BaseException as e:  # noqa: BLE001
                out.update(stage="run", message=str(e))
                out["class"] = type(e).__name__
    finally:
        os.chdir(home)
    return out


for a in sys.argv[1:]:
    print("OUTCOME " + json.dumps(outcome(a), default=str), flush=True)

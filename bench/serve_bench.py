"""`fused-ls serve` against the SDK's warm loop: 16 tiles, 2,000 buffered points each.

Usage: serve_bench.py FUSED_LS_BINARY SDK_PYTHON [--workers N] [--rounds N]

Prints, per format, the wall time of 16 concurrent tile requests from a cold cache (a fresh
cache key per round: the `round` parameter), the same 16 again (cache hits), and the SDK's loop.
Also the UDF's own compute time per tile (its body as a plain function in the SDK's process), the
limit that sets on paper (16 x compute / workers), and the limit measured the way the server is:
the same 16 tiles computed by as many plain warm processes as there are workers, in parallel,
wall time, just before each server pass (same machine load, same cores).
"""
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BODY = '''
    """2,000 random points inside the tile, buffered: a geopandas Tile UDF for the benchmark."""
    import geopandas as gpd
    import numpy as np

    minx, miny, maxx, maxy = bounds
    rng = np.random.default_rng(7)
    xs = minx + rng.random(n) * (maxx - minx)
    ys = miny + rng.random(n) * (maxy - miny)
    gdf = gpd.GeoDataFrame({"id": np.arange(n), "v": rng.random(n)}, geometry=gpd.points_from_xy(xs, ys), crs=4326)
    gdf["geometry"] = gdf.geometry.buffer((maxx - minx) / 200)
    return gdf
'''

UDF = "import fused\n\n\n@fused.udf\ndef udf(bounds: fused.types.Bounds = None, n: int = 2000, round: int = 0):" + BODY

# The SDK's warm loop, and the UDF's own compute time: the same body as a plain function, called
# with each tile's bounds in the same process (no SDK, no serialisation).
SDK_LOOP = '''
import json, sys, time
import fused, mercantile
udf = fused.load(sys.argv[1])
tiles = json.loads(sys.argv[2])
ns = {}
exec("def compute(bounds, n=2000, round=0):" + sys.argv[3], ns)
x, y, z = tiles[0]
fused.run(udf, x=x, y=y, z=z, engine="local", cache=False).to_json()  # warm: imports, first call
ns["compute"](list(mercantile.bounds(x, y, z)))
start = time.perf_counter()
for x, y, z in tiles:
    text = fused.run(udf, x=x, y=y, z=z, engine="local", cache=False).to_json()
sdk = (time.perf_counter() - start) * 1000
start = time.perf_counter()
for x, y, z in tiles:
    ns["compute"](list(mercantile.bounds(x, y, z)))
print(json.dumps({"ms": sdk, "compute": (time.perf_counter() - start) * 1000 / len(tiles)}))
'''

# The limit, measured: one plain warm process per worker computes its share of the tiles (the
# UDF's body, nothing else) when told to; the pass's wall time is from the first start to the
# last end (the processes report `time.time()`).
LIMIT_PROC = '''
import json, sys, time
import mercantile
ns = {}
exec("def compute(bounds, n=2000, round=0):" + sys.argv[1], ns)
tiles = json.loads(sys.argv[2])
ns["compute"](list(mercantile.bounds(*tiles[0])))  # warm: imports, first call
print("ready", flush=True)
for line in sys.stdin:
    start = time.time()
    for x, y, z in tiles:
        ns["compute"](list(mercantile.bounds(x, y, z)))
    print(json.dumps([start, time.time()]), flush=True)
'''

Z = 14
X0, Y0 = 4823, 6159  # lower Manhattan at z=14
TILES = [(X0 + i, Y0 + j, Z) for j in range(4) for i in range(4)]


def make_package(root):
    pkg = os.path.join(root, "Tile_Buffers")
    os.makedirs(pkg)
    with open(os.path.join(pkg, "Tile_Buffers.py"), "w") as f:
        f.write(UDF)
    with open(os.path.join(pkg, "README.md"), "w") as f:
        f.write("# Tile_Buffers\n\n2,000 buffered points per tile.\n")
    meta = {"version": "0.0.3", "job_config": {"version": "0.0.3", "steps": [{"type": "udf", "udf": {
        "type": "geopandas_v2", "name": "Tile_Buffers", "entrypoint": "udf", "parameters": {},
        "metadata": {}, "headers": [], "source": "Tile_Buffers.py"}}]}}
    with open(os.path.join(pkg, "meta.json"), "w") as f:
        json.dump(meta, f)
    return pkg


def get(url):
    with urllib.request.urlopen(url, timeout=600) as r:
        return r.status, r.read(), r.headers.get("x-fused-cache")


def pass_of_16(base, fmt, rnd, pool):
    urls = [f"{base}Tile_Buffers/run/tiles/{z}/{x}/{y}?format={fmt}&round={rnd}" for x, y, z in TILES]
    start = time.perf_counter()
    out = list(pool.map(get, urls))
    ms = (time.perf_counter() - start) * 1000
    assert all(s == 200 for s, _, _ in out), [s for s, _, _ in out]
    return ms, sum(len(b) for _, b, _ in out), {c for _, _, c in out}


class LimitPass:
    """`workers` plain processes computing the 16 tiles between them, in parallel."""

    def __init__(self, python, workers):
        shares = [TILES[i::workers] for i in range(workers)]
        self.procs = [subprocess.Popen([python, "-c", LIMIT_PROC, BODY, json.dumps(share)], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                      for share in shares if share]
        for p in self.procs:
            assert p.stdout.readline().strip() == "ready"

    def run(self):
        for p in self.procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        spans = [json.loads(p.stdout.readline()) for p in self.procs]
        return (max(e for _, e in spans) - min(s for s, _ in spans)) * 1000

    def close(self):
        for p in self.procs:
            p.stdin.close()
            p.wait()


def main():
    binary, python = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    workers = int(args[args.index("--workers") + 1]) if "--workers" in args else os.cpu_count()
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
    with tempfile.TemporaryDirectory() as root:
        pkg = make_package(root)
        sdk, computes = [], []
        for _ in range(rounds):
            out = subprocess.run([python, "-c", SDK_LOOP, pkg, json.dumps(TILES), BODY], capture_output=True, text=True, check=True)
            got = json.loads(out.stdout.strip().splitlines()[-1])
            sdk.append(got["ms"])
            computes.append(got["compute"])
        limit_pass = LimitPass(python, workers)
        limits = []
        rows = {}
        rnd = 0
        # The default (runs of one package version share a child) and a fresh child per run.
        for mode, extra in (("", []), (", --fork-per-run", ["--fork-per-run"])):
            srv = subprocess.Popen([binary, "serve", root, "--no-open", "--python", python, "--workers", str(workers),
                                    *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                base = srv.stdout.readline().strip()
                pool = concurrent.futures.ThreadPoolExecutor(16)
                # Warm the workers (their imports) with a pass in JSON.
                rnd += 1
                list(pool.map(get, [f"{base}Tile_Buffers/run/tiles/{z}/{x}/{y}?format=json&round=-{rnd}"
                                    for x, y, z in TILES]))
                for fmt in ("geojson", "mvt"):
                    cold, hot, size = [], [], 0
                    for _ in range(rounds):
                        rnd += 1
                        limits.append(limit_pass.run())
                        ms, size, caches = pass_of_16(base, fmt, rnd, pool)
                        assert caches == {"miss"}, caches
                        cold.append(ms)
                        ms, _, caches = pass_of_16(base, fmt, rnd, pool)
                        assert caches == {"hit"}, caches
                        hot.append(ms)
                    rows[fmt + mode] = (statistics.median(cold), statistics.median(hot), size)
            finally:
                srv.kill()
                srv.wait()
        limit_pass.close()
    sdk_ms = statistics.median(sdk)
    compute = statistics.median(computes)
    paper = 16 * compute / workers
    limit = statistics.median(limits)
    print(f"16 tiles at z={Z}, 2,000 buffered points each; {workers} workers; median of {rounds}")
    print(f"UDF compute per tile (median, one process): {compute:.1f} ms; 16 x compute / workers = {paper:.0f} ms")
    print(f"limit measured (16 tiles on {workers} plain processes in parallel, median of {len(limits)}): {limit:.0f} ms")
    print(f"{'':52} {'16 tiles':>10} {'vs SDK':>8} {'vs limit':>9} {'vs 16c/w':>9} {'cached':>8} {'bytes':>10}")
    print(f"{'SDK warm loop (fused.run + to_json)':52} {sdk_ms:>8.0f}ms {'1.0x':>8} {'':>9} {'':>9} {'':>8} {'':>10}")
    for fmt, (cold, hot, size) in rows.items():
        print(f"{'fused-ls serve, format=' + fmt:52} {cold:>8.0f}ms {sdk_ms / cold:>7.1f}x {cold / limit:>8.2f}x "
              f"{cold / paper:>8.2f}x {hot:>6.1f}ms {size:>10}")


if __name__ == "__main__":
    main()

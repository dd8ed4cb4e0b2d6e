"""Warm runs: the second run of a geopandas UDF through `fused-ls server` (its warm worker)
against the SDK's own `python -c "import fused; fused.load(p).run_local()"` on the same package.

Usage: run_bench.py FUSED_LS_BINARY SDK_PYTHON [--runs N]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

UDF = '''import fused


@fused.udf
def udf(n: int = 2000, radius: float = 0.001):
    """Buffers n points around lower Manhattan and returns them as a GeoDataFrame."""
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import Point

    rng = np.random.default_rng(7)
    xs = -74.02 + rng.random(n) * 0.02
    ys = 40.70 + rng.random(n) * 0.02
    gdf = gpd.GeoDataFrame({"id": np.arange(n)}, geometry=[Point(x, y) for x, y in zip(xs, ys)], crs=4326)
    gdf["geometry"] = gdf.geometry.buffer(radius)
    return gdf
'''


def make_package(root):
    pkg = os.path.join(root, "Warm_Buffers")
    os.makedirs(pkg)
    with open(os.path.join(pkg, "Warm_Buffers.py"), "w") as f:
        f.write(UDF)
    with open(os.path.join(pkg, "README.md"), "w") as f:
        f.write("# Warm_Buffers\n\nBuffers random points; a geopandas UDF for the warm-run benchmark.\n")
    meta = {"job_config": {"steps": [{"type": "udf", "udf": {"name": "Warm_Buffers", "entrypoint": "udf", "headers": [], "source": "Warm_Buffers.py"}}]}}
    with open(os.path.join(pkg, "meta.json"), "w") as f:
        json.dump(meta, f)
    return pkg


class Lsp:
    def __init__(self, binary, python):
        self.p = subprocess.Popen([binary, "server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.next = 1
        self.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}, "initializationOptions": {"python": python, "runTimeout": 600}})
        self.notify("initialized", {})

    def send(self, msg):
        body = json.dumps(msg).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()

    def read(self):
        length = 0
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("the server closed its output")
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.p.stdout.read(length))

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params):
        rid = self.next
        self.next += 1
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            m = self.read()
            if "method" in m and "id" in m:  # the server's own requests
                self.send({"jsonrpc": "2.0", "id": m["id"], "result": None})
            elif m.get("id") == rid:
                if "error" in m:
                    raise RuntimeError(m["error"])
                return m["result"]

    def close(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        self.p.wait(timeout=10)


def measure(binary, python, pkg, root, n, runs):
    src = os.path.join(pkg, "Warm_Buffers.py")
    uri = "file://" + src
    sdk = []
    for _ in range(runs):
        t = time.perf_counter()
        code = f"import fused; r = fused.load({pkg!r}).run_local(n={n}); d = getattr(r, 'data', r); assert len(d) == {n}, r"
        subprocess.run([python, "-c", code], check=True, capture_output=True, cwd=root)
        sdk.append(time.perf_counter() - t)
    cold = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([binary, "run", pkg, "-p", f"n={n}", "--python", python, "--format", "json"], check=True, capture_output=True)
        cold.append(time.perf_counter() - t)
    lsp = Lsp(binary, python)
    with open(src) as f:
        lsp.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": f.read()}})
    times = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        r = lsp.request("workspace/executeCommand", {"command": "fused.run", "arguments": [{"uri": uri, "params": {"n": str(n)}}]})
        times.append(time.perf_counter() - t)
        assert r["ok"] and r["result"]["rows"] == n, r
    lsp.close()
    return sdk, cold, times[0], times[1:]


def main():
    binary, python = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    med = lambda xs: statistics.median(xs) * 1000
    print("warm-run benchmark: a geopandas UDF (n buffered points as a GeoDataFrame), same package, same interpreter")
    print(f"  interpreter: {python}; median of {runs} runs each")
    with tempfile.TemporaryDirectory() as root:
        pkg = make_package(root)
        for n in (200, 2000):
            sdk, cold, first, warm = measure(binary, python, pkg, root, n, runs)
            rows = [
                ('SDK: python -c "import fused; fused.load(p).run_local()"', med(sdk)),
                ("fused-ls run (a fresh process per run)", med(cold)),
                ("fused-ls server, first fused.run", first * 1000),
                ("fused-ls server, later fused.run (warm worker)", med(warm)),
            ]
            print(f"\n  n = {n} points" + " " * 42 + "median ms")
            for label, ms in rows:
                print(f"  {label:<56}{ms:9.1f}")
            ratio = med(sdk) / med(warm)
            print(f"  speed ratio: the warm run is {ratio:.1f}x the SDK's; goal >= 10x: {'met' if ratio >= 10 else 'not met'}")


if __name__ == "__main__":
    main()

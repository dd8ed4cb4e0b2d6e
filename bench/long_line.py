#!/usr/bin/env python3
"""Long lines and closed documents: `fused-ls server` over stdio on a package whose `Pkg.py`
ends in one `DATA = [1, 1, ...]` line of SIZE MB. Prints, per size, the time from a keystroke at
the end of the line to its diagnostics, the server's RSS (before the open, peak, after the
close) and, with --burst, how long a burst of keystrokes 50 ms apart takes to publish.

    python3 bench/long_line.py target/release/fused-ls --sizes 1.2,6,10 [--keys 8] [--burst 20]

Stdlib only. Figures in README.md ("Speed", long lines).
"""
import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

META = (
    '{"version":"0.0.3","job_config":{"version":"0.0.3","steps":[{"type":"udf","udf":'
    '{"type":"geopandas_v2","name":"Pkg","entrypoint":"udf","parameters":{},"metadata":'
    '{"fused:udfType":"auto","fused:slug":"Pkg","fused:name":"Pkg"},"headers":[],'
    '"source":"Pkg.py"}}]}}'
)


def mib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    raise RuntimeError(f"no {field}: the server exited")


class Server:
    def __init__(self, binary, root):
        self.p = subprocess.Popen(
            [binary, "server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": "file://" + root,
            "capabilities": {"general": {"positionEncodings": ["utf-16"]}}}})
        self.wait(lambda m: m.get("id") == 1)
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def _read(self):
        f = self.p.stdout
        while True:
            headers = {}
            while True:
                line = f.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                k, v = line.decode().split(":", 1)
                headers[k.lower()] = v.strip()
            self.q.put(json.loads(f.read(int(headers["content-length"]))))

    def send(self, m):
        b = json.dumps(m).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(b) + b)
        self.p.stdin.flush()

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait(self, pred, timeout=300):
        end = time.time() + timeout
        while True:
            m = self.q.get(timeout=max(0.01, end - time.time()))
            if "id" in m and "method" in m:  # a request from the server
                self.send({"jsonrpc": "2.0", "id": m["id"], "result": None})
                continue
            if pred(m):
                return m

    def published(self, uri, version=None):
        return self.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                         and m["params"]["uri"] == uri
                         and (version is None or m["params"].get("version") == version))

    def stop(self):
        self.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        self.wait(lambda m: m.get("id") == 2)
        self.notify("exit", None)
        self.p.wait(10)


def one(binary, mb, keys, burst):
    root = tempfile.mkdtemp(prefix="fused-ls-long-line-")
    try:
        pkg = os.path.join(root, "Pkg")
        os.makedirs(pkg)
        with open(os.path.join(pkg, "meta.json"), "w") as f:
            f.write(META)
        literal = "DATA = [" + "1, " * int(mb * 1e6 / 3) + "]"
        udf = "@fused.udf\ndef udf(n: int = 1):\n    return n\n\n" + literal + "\n"
        path = os.path.join(pkg, "Pkg.py")
        with open(path, "w") as f:
            f.write(udf)
        uri = "file://" + path
        s = Server(binary, root)
        time.sleep(0.5)
        base = mib(s.p.pid, "VmRSS")
        s.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": udf}})
        s.published(uri, 1)
        col, version, times = len(literal) - 1, 1, []

        def key():
            nonlocal col, version
            version += 1
            at = {"line": 4, "character": col}
            s.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": at, "end": at}, "text": "2, "}]})
            col += 3

        for k in range(keys):
            t = time.time()
            key()
            s.published(uri, version)
            times.append(time.time() - t)
            # After the first, time for the background parse to land: the others are the
            # steady state of typing (incremental re-parses).
            time.sleep(4 if k == 0 else 0.2)
        burst_s = None
        if burst:
            t = time.time()
            for _ in range(burst):
                key()
                time.sleep(0.05)
            s.published(uri, version)
            burst_s = time.time() - t
        peak = mib(s.p.pid, "VmHWM")
        s.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        s.published(uri)
        time.sleep(2)
        after = mib(s.p.pid, "VmRSS")
        s.stop()
        steady = sorted(times[1:]) or times
        return {
            "mb": mb, "first_key_s": times[0] if times else None,
            "key_median_s": steady[len(steady) // 2] if steady else None,
            "key_max_s": max(steady) if steady else None,
            "burst_s": burst_s, "rss_before_mib": base, "rss_peak_mib": peak,
            "rss_after_close_mib": after,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--sizes", default="1.2,6,10", help="MB, comma-separated")
    ap.add_argument("--keys", type=int, default=8)
    ap.add_argument("--burst", type=int, default=0, help="keystrokes 50 ms apart (0: none)")
    ap.add_argument("--json", help="write the figures here too")
    a = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("size    first key  key median  key max  burst    RSS before  peak      after close")
    rows = []
    for mb in (float(x) for x in a.sizes.split(",")):
        r = one(a.binary, mb, a.keys, a.burst)
        rows.append(r)
        fmt = lambda v: "-" if v is None else f"{v:.3f}s"
        print(f"{mb:<7} {fmt(r['first_key_s']):<10} {fmt(r['key_median_s']):<11} "
              f"{fmt(r['key_max_s']):<8} {fmt(r['burst_s']):<8} {r['rss_before_mib']:>4} MiB    "
              f"{r['rss_peak_mib']:>5} MiB  {r['rss_after_close_mib']:>5} MiB", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())

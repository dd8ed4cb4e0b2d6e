"""Where `fused-ls serve`'s CPU goes, per cold tile: the server, the warm workers, the children
they fork (one per run: the UDF, the hand-over, and the kernel's fork, page-fault and exit work
in them), and this client. Same UDF and tiles as serve_bench.py.

Usage: serve_cpu.py FUSED_LS_BINARY SDK_PYTHON [FORMAT (mvt)] [ROUNDS (5)] [WORKERS (2)]

Reads utime/stime (and the workers' cutime/cstime, which their reaped children add to, plus the
utime/stime of their live children: the spare, and the child kept for the package's next run) from
/proc before and after ROUNDS passes of 16 cold tiles, and prints milliseconds per tile. CPU
time, not wall time: it holds up better than the benchmark's walls when the machine is shared.
"""
import concurrent.futures
import os
import resource
import subprocess
import sys
import tempfile

import serve_bench as sb


def stat(pid):
    """utime, stime, cutime, cstime of `pid`, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return [int(v) for v in fields[11:15]]


def worker_stat(pid):
    """A worker's utime, stime, and its children's user and system time, reaped or alive."""
    ut, st, cut, cst = stat(pid)
    for child in children(pid):
        try:
            cu, cs, _, _ = stat(child)
        except OSError:  # reaped meanwhile: counted in cutime/cstime at the next look
            continue
        cut, cst = cut + cu, cst + cs
    return [ut, st, cut, cst]


def children(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(p) for p in f.read().split()]
    return out


def main():
    binary, python = sys.argv[1], sys.argv[2]
    fmt = sys.argv[3] if len(sys.argv) > 3 else "mvt"
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    workers = sys.argv[5] if len(sys.argv) > 5 else "2"
    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory() as root:
        sb.make_package(root)
        srv = subprocess.Popen([binary, "serve", root, "--no-open", "--python", python, "--workers", workers],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            base = srv.stdout.readline().strip()
            pool = concurrent.futures.ThreadPoolExecutor(16)
            # Warm the workers (imports) and the check, as the benchmark does.
            list(pool.map(sb.get, [f"{base}Tile_Buffers/run/tiles/{z}/{x}/{y}?format=json&round=-1"
                                   for x, y, z in sb.TILES]))
            pids = children(srv.pid)
            s0, w0, c0 = stat(srv.pid), [worker_stat(p) for p in pids], resource.getrusage(resource.RUSAGE_SELF)
            walls = [sb.pass_of_16(base, fmt, rnd, pool)[0] for rnd in range(1, rounds + 1)]
            s1, w1, c1 = stat(srv.pid), [worker_stat(p) for p in pids], resource.getrusage(resource.RUSAGE_SELF)
        finally:
            srv.kill()
            srv.wait()
    n = 16 * rounds

    def ms(ticks):
        return ticks * 1000 / hz / n

    def total(i, j):
        return sum(b[i] - a[i] + b[j] - a[j] for a, b in zip(w0, w1))

    client = (c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime) * 1000 / n
    print(f"format={fmt}, {rounds} passes of 16 cold tiles: {', '.join(f'{w:.0f}' for w in walls)} ms")
    print(f"CPU per tile: server {ms(s1[0] - s0[0] + s1[1] - s0[1]):.1f} ms, workers {ms(total(0, 1)):.1f} ms, "
          f"run children {ms(total(2, 3)):.1f} ms (of it in the kernel {ms(sum(b[3] - a[3] for a, b in zip(w0, w1))):.1f}), "
          f"client {client:.1f} ms")


if __name__ == "__main__":
    main()

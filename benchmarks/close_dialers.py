"""How long a socket with many dialers takes to close, beside pynng.

One process per measurement: a Rep0 listener and a Req0 socket with N
non-blocking dials to it over tcp; once all N pipes are up, the Req0
socket is closed and the close is timed (wall and this process's CPU, the
I/O thread's included).  A user meets this at every exit of a client that
opened many connections.  Compare rows of one run only.

usage: python benchmarks/close_dialers.py [--counts 1000,4000,8000]
                                          [--backends pynng_core,pynng]
"""
import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(backend: str, n: int) -> dict:
    """In this process: the close of a socket with n dialers."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    lib = __import__(backend)
    port = _free_port()
    server = lib.Rep0()
    server.listen("tcp://127.0.0.1:%d" % port)
    client = lib.Req0()
    for _ in range(n):
        client.dial("tcp://127.0.0.1:%d" % port, block=False)
    deadline = time.monotonic() + 60
    while len(server.pipes) < n:
        if time.monotonic() > deadline:
            raise RuntimeError("%d of %d pipes up after 60 s" % (len(server.pipes), n))
        time.sleep(0.02)
    wall, cpu = time.perf_counter(), time.process_time()
    client.close()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server.close()
    return {"wall_ms": wall * 1e3, "cpu_ms": cpu * 1e3}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", default="1000,4000,8000")
    ap.add_argument("--backends", default="pynng_core,pynng")
    ap.add_argument("--one", nargs=2, metavar=("BACKEND", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]))))
        return
    backends = args.backends.split(",")
    print("| dialers | " + " | ".join("%s close, ms (CPU ms)" % b for b in backends) + " |")
    print("|---:|" + "---:|" * len(backends))
    for n in (int(c) for c in args.counts.split(",")):
        cells = []
        for b in backends:
            out = subprocess.run([sys.executable, __file__, "--one", b, str(n)],
                                 capture_output=True, text=True, timeout=300)
            if out.returncode != 0:
                cells.append("failed: %s" % (out.stderr.strip().splitlines() or ["?"])[-1])
                continue
            r = json.loads(out.stdout)
            cells.append("%.0f (%.0f)" % (r["wall_ms"], r["cpu_ms"]))
        print("| %d | %s |" % (n, " | ".join(cells)))


if __name__ == "__main__":
    main()

"""Req/rep round-trip latency: pynng_core sync vs asyncio vs trio, and pynng.

One command measures, in the same run, the round trip of a small message
(64 bytes by default) from a Req0 client to a Rep0 echo server for:

    pynng_core sync      s.send(); s.recv()
    pynng_core asyncio   await s.asend(); await s.arecv()   (asyncio.run)
    pynng_core trio      the same under trio.run
    pynng sync           pynng.Req0 send/recv
    pynng asyncio        pynng's asend/arecv under asyncio
    pynng trio           pynng's asend/arecv under trio

The echo server runs in a separate process (this script re-run with
``--serve``), using the same library as the client, as a plain blocking
``recv(); send()`` loop.  Client and server are pinned to CPU 0 by default
(``os.sched_setaffinity``; ``--no-pin`` to let the scheduler place them),
which makes every round trip pay the wake-ups and context switches rather
than hide them on idle cores.  Each measurement: a warm-up, then N timed
round trips (per-trip ``perf_counter_ns``).  Rounds are interleaved (each
backend measured once per round, a fresh server each time) and the table
shows, per backend, the median over rounds of the p50 and of the mean.

The two goals stated in the issue are checked and printed:

* pynng_core asyncio round trip within 1.5x of pynng_core sync;
* pynng_core asyncio at least 4x faster than pynng asyncio.

(Both judged on p50; the mean-based ratio is shown beside it.)

Usage::

    python benchmarks/async_rtt.py                  # tcp, 5 rounds x 3000 trips, pinned
    python benchmarks/async_rtt.py --transport ipc
    python benchmarks/async_rtt.py --no-pin --rounds 5 -n 10000 --size 64
    python benchmarks/async_rtt.py --backends pnc-sync,pnc-asyncio

Exit status: 0 whatever the goals say (the verdict is printed), 1 if a
measurement failed.
"""

import argparse
import asyncio
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

BACKENDS = [
    "pnc-sync", "pnc-asyncio", "pnc-trio",
    "pynng-sync", "pynng-asyncio", "pynng-trio",
]
LABELS = {
    "pnc-sync": "pynng_core sync",
    "pnc-asyncio": "pynng_core asyncio",
    "pnc-trio": "pynng_core trio",
    "pynng-sync": "pynng sync",
    "pynng-asyncio": "pynng asyncio",
    "pynng-trio": "pynng trio",
}
SERVER_TIMEOUT_MS = 30000  # an orphaned server exits on its own


def pin(enabled):
    if enabled and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})


def library(backend):
    return backend.split("-", 1)[0]


def import_library(name):
    if name == "pnc":
        import pynng_core
        return pynng_core
    import pynng
    return pynng


# --------------------------------------------------------------------------
# server process


def serve(lib_name, url, do_pin):
    pin(do_pin)
    lib = import_library(lib_name)
    s = lib.Rep0(recv_timeout=SERVER_TIMEOUT_MS)
    s.listen(url)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    try:
        while True:
            s.send(s.recv())
    except Exception:
        pass
    finally:
        s.close()


def start_server(lib_name, url, do_pin):
    argv = [sys.executable, os.path.abspath(__file__), "--serve", lib_name, url]
    if not do_pin:
        argv.append("--no-pin")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    line = proc.stdout.readline()
    if line.strip() != b"ready":
        proc.kill()
        raise RuntimeError("server for %s did not start" % lib_name)
    return proc


# --------------------------------------------------------------------------
# clients: each returns a list of round-trip times in ns


def client_sync(lib, url, payload, warmup, n):
    s = lib.Req0(recv_timeout=10000, send_timeout=10000)
    try:
        s.dial(url, block=True)
        for _ in range(warmup):
            s.send(payload)
            s.recv()
        times = [0] * n
        clock = time.perf_counter_ns
        send, recv = s.send, s.recv
        for i in range(n):
            t0 = clock()
            send(payload)
            recv()
            times[i] = clock() - t0
        return times
    finally:
        s.close()


async def client_async(lib, url, payload, warmup, n):
    s = lib.Req0(recv_timeout=10000, send_timeout=10000)
    try:
        s.dial(url, block=True)
        for _ in range(warmup):
            await s.asend(payload)
            await s.arecv()
        times = [0] * n
        clock = time.perf_counter_ns
        asend, arecv = s.asend, s.arecv
        for i in range(n):
            t0 = clock()
            await asend(payload)
            await arecv()
            times[i] = clock() - t0
        return times
    finally:
        s.close()


def measure(backend, url, args):
    lib_name = library(backend)
    lib = import_library(lib_name)
    payload = b"x" * args.size
    server = start_server(lib_name, url, not args.no_pin)
    try:
        mode = backend.split("-", 1)[1]
        if mode == "sync":
            times = client_sync(lib, url, payload, args.warmup, args.n)
        elif mode == "asyncio":
            times = asyncio.run(client_async(lib, url, payload, args.warmup, args.n))
        else:
            import trio
            times = trio.run(client_async, lib, url, payload, args.warmup, args.n)
    finally:
        server.kill()
        server.wait()
    # check the echo really ran
    if len(times) != args.n:
        raise RuntimeError("%s: %d trips measured" % (backend, len(times)))
    return statistics.median(times) / 1000.0, statistics.fmean(times) / 1000.0


# --------------------------------------------------------------------------
# the run


class Urls:
    def __init__(self, transport):
        self.transport = transport
        self.dir = tempfile.mkdtemp(prefix="pnc-rtt-") if transport == "ipc" else None
        self.n = 0

    def next(self):
        self.n += 1
        if self.transport == "ipc":
            return "ipc://%s/s%d" % (self.dir, self.n)
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return "tcp://127.0.0.1:%d" % port

    def cleanup(self):
        if self.dir:
            import shutil
            shutil.rmtree(self.dir, ignore_errors=True)


def fmt(x):
    return "%.1f" % x


def ratio(a, b):
    return a / b if b else float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--transport", choices=["tcp", "ipc"], default="tcp")
    ap.add_argument("-n", type=int, default=3000, help="timed round trips per measurement")
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--size", type=int, default=64, help="message size in bytes")
    ap.add_argument("--no-pin", action="store_true", help="do not pin to CPU 0")
    ap.add_argument("--backends", default=",".join(BACKENDS),
                    help="comma-separated subset of: " + ",".join(BACKENDS))
    ap.add_argument("--serve", nargs=2, metavar=("LIB", "URL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.serve:
        serve(args.serve[0], args.serve[1], not args.no_pin)
        return 0

    backends = [b for b in args.backends.split(",") if b]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        ap.error("unknown backends: %s" % ", ".join(sorted(unknown)))
    available = []
    for b in backends:
        try:
            import_library(library(b))
            if b.endswith("trio"):
                importlib.import_module("trio")  # installed?
            available.append(b)
        except ImportError as exc:
            print("skipping %s: %s" % (b, exc), file=sys.stderr)
    backends = available

    pin(not args.no_pin)
    urls = Urls(args.transport)
    results = {b: [] for b in backends}
    t_start = time.monotonic()
    failed = False
    try:
        for r in range(args.rounds):
            for b in backends:
                try:
                    results[b].append(measure(b, urls.next(), args))
                except Exception as exc:
                    failed = True
                    print("round %d %s failed: %r" % (r + 1, b, exc), file=sys.stderr)
            print("round %d/%d done (%.1f s)" % (r + 1, args.rounds, time.monotonic() - t_start),
                  file=sys.stderr, flush=True)
    finally:
        urls.cleanup()

    med = {}
    for b in backends:
        if results[b]:
            med[b] = (statistics.median(p for p, _ in results[b]),
                      statistics.median(m for _, m in results[b]))

    import platform
    try:
        import pynng
        pynng_version = getattr(pynng, "__version__", "?")
    except ImportError:
        pynng_version = "absent"
    print()
    print("req/rep round trip, %d-byte message, %s, %s, %d rounds x %d trips "
          "(warm-up %d); Python %s, pynng %s"
          % (args.size, args.transport, "pinned to CPU 0" if not args.no_pin else "not pinned",
             args.rounds, args.n, args.warmup, platform.python_version(), pynng_version))
    print()
    print("| backend | p50 (us) | mean (us) | p50 vs pynng_core sync |")
    print("|---|---:|---:|---:|")
    base = med.get("pnc-sync")
    for b in backends:
        if b not in med:
            print("| %s | failed | failed | |" % LABELS[b])
            continue
        p50, mean = med[b]
        rel = "%.2fx" % ratio(p50, base[0]) if base else ""
        print("| %s | %s | %s | %s |" % (LABELS[b], fmt(p50), fmt(mean), rel))
    print()

    print("| ratio | p50 | mean |")
    print("|---|---:|---:|")
    rows = [
        ("pynng_core asyncio / pynng_core sync", "pnc-asyncio", "pnc-sync"),
        ("pynng_core trio / pynng_core sync", "pnc-trio", "pnc-sync"),
        ("pynng asyncio / pynng sync", "pynng-asyncio", "pynng-sync"),
        ("speedup: pynng asyncio / pynng_core asyncio", "pynng-asyncio", "pnc-asyncio"),
        ("speedup: pynng trio / pynng_core trio", "pynng-trio", "pnc-trio"),
        ("speedup: pynng sync / pynng_core sync", "pynng-sync", "pnc-sync"),
    ]
    for label, a, b in rows:
        if a in med and b in med:
            print("| %s | %.2fx | %.2fx |" % (label, ratio(med[a][0], med[b][0]),
                                             ratio(med[a][1], med[b][1])))
    print()

    def verdict(name, a, b, test, goal_text):
        if a not in med or b not in med:
            print("- %s: not measured" % name)
            return
        value = ratio(med[a][0], med[b][0])
        print("- %s (%s): p50 ratio %.2fx -> %s"
              % (name, goal_text, value, "MET" if test(value) else "NOT MET"))

    print("Goals (judged on p50):")
    verdict("pynng_core asyncio within 1.5x of pynng_core sync", "pnc-asyncio", "pnc-sync",
            lambda v: v <= 1.5, "asyncio/sync <= 1.5")
    verdict("pynng_core asyncio at least 4x faster than pynng asyncio", "pynng-asyncio",
            "pnc-asyncio", lambda v: v >= 4.0, "pynng asyncio / pynng_core asyncio >= 4")
    print()
    print("total time %.1f s" % (time.monotonic() - t_start), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

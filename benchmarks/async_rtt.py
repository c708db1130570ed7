"""Async cost: pynng_core sync vs asyncio vs trio, and pynng, in one run.

Two measurements, each for every backend:

    rtt    req/rep round trip of a small message (64 bytes by default):
           a Req0 client (``await s.asend(); await s.arecv()``, or the
           blocking calls for "sync") against a blocking Rep0 echo server;
    push   async push throughput: a Push0 client sends as fast as
           ``await s.asend()`` returns to a blocking Pull0 server;
    pull   async pull throughput: a Pull0 client takes what a blocking
           Push0 server floods, as fast as ``await s.arecv()`` returns.

Backends: pnc-sync, pnc-asyncio, pnc-trio (pynng_core), pynng-sync,
pynng-asyncio, pynng-trio, and with ``--baseline DIR`` base-sync,
base-asyncio, base-trio: pynng_core imported from DIR (a tree built in
place), so a change is measured beside what it changes, in the same run.

Server and client are processes of their own (this script re-run), pinned
to CPU 0 by default (``--no-pin`` to let the scheduler place them), which
makes every round trip pay the wake-ups and context switches rather than
hide them on idle cores.  Rounds are interleaved (each backend measured
once per round, a fresh server each time); the tables show, per backend,
the median over rounds.

The goals of the async work are checked and printed (on p50):

* pynng_core asyncio round trip within 1.5x of pynng_core sync;
* pynng_core asyncio at least 4x faster than pynng asyncio.

Usage::

    python benchmarks/async_rtt.py                  # tcp, rtt, 5 rounds, pinned
    python benchmarks/async_rtt.py --tests rtt,push,pull --baseline /tmp/base
    python benchmarks/async_rtt.py --transport ipc --backends pnc-sync,pnc-asyncio

Exit status: 0 whatever the goals say (the verdict is printed), 1 if a
measurement failed.
"""

import argparse
import asyncio
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from baseline import package_parent

MODES = ["sync", "asyncio", "trio"]
LIBRARIES = {"pnc": "pynng_core", "pynng": "pynng", "base": "pynng_core"}
TESTS = ["rtt", "push", "pull"]
SERVER_TIMEOUT_MS = 30000  # an orphaned server exits on its own


def label(backend, baseline=None):
    lib, mode = backend.split("-", 1)
    name = {"pnc": "pynng_core", "pynng": "pynng",
            "base": "pynng_core at %s" % baseline}[lib]
    return "%s %s" % (name, mode)


def pin(enabled):
    if enabled and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})


def import_library(lib):
    return importlib.import_module(LIBRARIES[lib])


# --------------------------------------------------------------------------
# server process: the blocking peer of each test


def serve(test, lib, url, size):
    m = import_library(lib)
    sock = {"rtt": m.Rep0, "push": m.Pull0, "pull": m.Push0}[test](
        recv_timeout=SERVER_TIMEOUT_MS, send_timeout=SERVER_TIMEOUT_MS)
    sock.listen(url)
    print("ready", flush=True)
    payload = b"x" * size
    try:
        while True:
            if test == "rtt":
                sock.send(sock.recv())
            elif test == "push":
                sock.recv()
            else:
                sock.send(payload)
    except Exception:
        pass  # the client went away, or the timeout passed
    finally:
        sock.close()


# --------------------------------------------------------------------------
# client process: times n operations after a warm-up


def timed_sync(sock, test, payload, warmup, n):
    clock = time.perf_counter_ns
    send, recv = sock.send, sock.recv
    if test == "rtt":
        def one():
            send(payload)
            recv()
    elif test == "push":
        def one():
            send(payload)
    else:
        one = recv
    for _ in range(warmup):
        one()
    if test != "rtt":
        t0 = clock()
        for _ in range(n):
            one()
        return [clock() - t0]
    times = [0] * n
    for i in range(n):
        t0 = clock()
        one()
        times[i] = clock() - t0
    return times


async def timed_async(sock, test, payload, warmup, n):
    clock = time.perf_counter_ns
    asend, arecv = sock.asend, sock.arecv
    for _ in range(warmup):
        if test != "pull":
            await asend(payload)
        if test != "push":
            await arecv()
    if test == "push":
        t0 = clock()
        for _ in range(n):
            await asend(payload)
        return [clock() - t0]
    if test == "pull":
        t0 = clock()
        for _ in range(n):
            await arecv()
        return [clock() - t0]
    times = [0] * n
    for i in range(n):
        t0 = clock()
        await asend(payload)
        await arecv()
        times[i] = clock() - t0
    return times


def client(test, backend, url, size, warmup, n):
    lib, mode = backend.split("-", 1)
    m = import_library(lib)
    sock = {"rtt": m.Req0, "push": m.Push0, "pull": m.Pull0}[test](
        recv_timeout=10000, send_timeout=10000)
    payload = b"x" * size
    try:
        sock.dial(url, block=True)
        if mode == "sync":
            return timed_sync(sock, test, payload, warmup, n)
        if mode == "asyncio":
            return asyncio.run(timed_async(sock, test, payload, warmup, n))
        import trio
        return trio.run(timed_async, sock, test, payload, warmup, n)
    finally:
        sock.close()


# --------------------------------------------------------------------------
# the run


def script(*args, baseline=None, do_pin=True):
    argv = [sys.executable, os.path.abspath(__file__)] + [str(a) for a in args]
    if not do_pin:
        argv.append("--no-pin")
    env = dict(os.environ)
    if baseline:
        env["PYTHONPATH"] = baseline
    return argv, env


def measure(test, backend, url, args):
    """(p50, mean) of a round trip in us, or (rate, rate) in messages/s."""
    lib = backend.split("-", 1)[0]
    baseline = args.baseline if lib == "base" else None
    argv, env = script("--serve", test, lib, url, args.size, baseline=baseline,
                       do_pin=not args.no_pin)
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
    try:
        if server.stdout.readline().strip() != b"ready":
            raise RuntimeError("the %s server did not start" % backend)
        n = args.n if test == "rtt" else args.stream_n
        argv, env = script("--client", test, backend, url, args.size, args.warmup, n,
                           baseline=baseline, do_pin=not args.no_pin)
        out = subprocess.run(argv, stdout=subprocess.PIPE, env=env, check=True, timeout=300)
        times = json.loads(out.stdout)
    finally:
        server.kill()
        server.wait()
    if test != "rtt":
        rate = n / (times[0] / 1e9)
        return rate, rate
    if len(times) != n:
        raise RuntimeError("%s: %d trips measured" % (backend, len(times)))
    return statistics.median(times) / 1000.0, statistics.fmean(times) / 1000.0


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


def ratio(a, b):
    return a / b if b else float("nan")


def available_backends(requested):
    available = []
    for b in requested:
        try:
            import_library(b.split("-", 1)[0])
            if b.endswith("trio"):
                importlib.import_module("trio")
            available.append(b)
        except ImportError as exc:
            print("skipping %s: %s" % (b, exc), file=sys.stderr)
    return available


def print_rtt(med, backends, args):
    print("| req/rep round trip | p50 (us) | mean (us) | p50 vs pynng_core sync |")
    print("|---|---:|---:|---:|")
    base = med.get("pnc-sync")
    for b in backends:
        if b not in med:
            print("| %s | failed | failed | |" % label(b, args.baseline))
            continue
        p50, mean = med[b]
        rel = "%.2fx" % ratio(p50, base[0]) if base else ""
        print("| %s | %.1f | %.1f | %s |" % (label(b, args.baseline), p50, mean, rel))
    print()
    rows = [("pynng_core asyncio / pynng_core sync", "pnc-asyncio", "pnc-sync"),
            ("pynng_core trio / pynng_core sync", "pnc-trio", "pnc-sync"),
            ("pynng asyncio / pynng sync", "pynng-asyncio", "pynng-sync"),
            ("speedup: pynng asyncio / pynng_core asyncio", "pynng-asyncio", "pnc-asyncio"),
            ("speedup: pynng trio / pynng_core trio", "pynng-trio", "pnc-trio"),
            ("speedup: pynng sync / pynng_core sync", "pynng-sync", "pnc-sync")]
    rows += [("pynng_core %s / baseline" % m, "pnc-" + m, "base-" + m) for m in MODES]
    print("| ratio | p50 | mean |")
    print("|---|---:|---:|")
    for text, a, b in rows:
        if a in med and b in med:
            print("| %s | %.2fx | %.2fx |" % (text, ratio(med[a][0], med[b][0]),
                                             ratio(med[a][1], med[b][1])))
    print()
    print("Goals (judged on p50):")
    for text, a, b, goal in (
            ("pynng_core asyncio within 1.5x of pynng_core sync", "pnc-asyncio", "pnc-sync",
             lambda v: v <= 1.5),
            ("pynng_core asyncio at least 4x faster than pynng asyncio", "pynng-asyncio",
             "pnc-asyncio", lambda v: v >= 4.0)):
        if a in med and b in med:
            value = ratio(med[a][0], med[b][0])
            print("- %s: %.2fx -> %s" % (text, value, "MET" if goal(value) else "NOT MET"))
    print()


def print_stream(test, med, backends, args):
    what = {"push": "async push (asend) throughput", "pull": "async pull (arecv) throughput"}
    print("| %s, msg/s | rate | vs pynng_core sync | vs baseline |" % what[test])
    print("|---|---:|---:|---:|")
    for b in backends:
        if b not in med:
            print("| %s | failed | | |" % label(b, args.baseline))
            continue
        rate = med[b][0]
        mode = b.split("-", 1)[1]
        sync = med.get("pnc-sync")
        base = med.get("base-" + mode)
        print("| %s | %.0f | %s | %s |" % (
            label(b, args.baseline), rate, "%.2fx" % ratio(rate, sync[0]) if sync else "",
            "%.2fx" % ratio(rate, base[0]) if base and b.startswith("pnc") else ""))
    print()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--transport", choices=["tcp", "ipc"], default="tcp")
    ap.add_argument("--tests", default="rtt", help="comma list of: " + ",".join(TESTS))
    ap.add_argument("-n", type=int, default=3000, help="timed round trips per measurement")
    ap.add_argument("--stream-n", type=int, default=100000,
                    help="messages timed per push or pull measurement")
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--size", type=int, default=64, help="message size in bytes")
    ap.add_argument("--no-pin", action="store_true", help="do not pin to CPU 0")
    ap.add_argument("--backends", help="comma list of LIB-MODE, LIB one of pnc, pynng, base "
                    "(base needs --baseline), MODE one of " + ", ".join(MODES))
    ap.add_argument("--baseline", metavar="DIR",
                    help="also measure pynng_core imported from DIR (built in place)")
    ap.add_argument("--serve", nargs=4, metavar=("TEST", "LIB", "URL", "SIZE"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--client", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    pin(not args.no_pin)
    if args.serve:
        test, lib, url, size = args.serve
        serve(test, lib, url, int(size))
        return 0
    if args.client:
        test, backend, url, size, warmup, n = args.client
        print(json.dumps(client(test, backend, url, int(size), int(warmup), int(n))))
        return 0

    if args.baseline:
        args.baseline = package_parent(args.baseline)
    libs = ["pnc", "pynng"] + (["base"] if args.baseline else [])
    requested = (args.backends.split(",") if args.backends else
                 ["%s-%s" % (lib, mode) for lib in libs for mode in MODES])
    unknown = [b for b in requested
               if b.split("-", 1)[0] not in libs or b.split("-", 1)[-1] not in MODES]
    if unknown:
        ap.error("unknown backends: %s" % ", ".join(unknown))
    tests = args.tests.split(",")
    if set(tests) - set(TESTS):
        ap.error("unknown tests: %s" % ", ".join(sorted(set(tests) - set(TESTS))))
    backends = available_backends(requested)

    urls = Urls(args.transport)
    results = {(t, b): [] for t in tests for b in backends}
    t_start = time.monotonic()
    failed = False
    try:
        for r in range(args.rounds):
            for t in tests:
                for b in backends:
                    try:
                        results[t, b].append(measure(t, b, urls.next(), args))
                    except Exception as exc:
                        failed = True
                        print("round %d %s %s failed: %r" % (r + 1, t, b, exc), file=sys.stderr)
            print("round %d/%d done (%.1f s)" % (r + 1, args.rounds, time.monotonic() - t_start),
                  file=sys.stderr, flush=True)
    finally:
        urls.cleanup()

    import platform
    try:
        pynng_version = getattr(import_library("pynng"), "__version__", "?")
    except ImportError:
        pynng_version = "absent"
    print()
    print("%d-byte messages, %s, %s, %d rounds (round trips: %d, streams: %d messages, "
          "warm-up %d); Python %s, pynng %s"
          % (args.size, args.transport, "not pinned" if args.no_pin else "pinned to CPU 0",
             args.rounds, args.n, args.stream_n, args.warmup, platform.python_version(),
             pynng_version))
    print()
    for t in tests:
        med = {b: (statistics.median(x for x, _ in results[t, b]),
                   statistics.median(y for _, y in results[t, b]))
               for b in backends if results[t, b]}
        if t == "rtt":
            print_rtt(med, backends, args)
        else:
            print_stream(t, med, backends, args)
    print("total time %.1f s" % (time.monotonic() - t_start), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

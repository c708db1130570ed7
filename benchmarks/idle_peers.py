"""What idle connections cost one that is busy: req/rep round trips while
N other connections sit open on the same I/O thread.

The core's I/O thread watches every connection's descriptor.  epoll's wait
costs nothing per idle descriptor; poll()'s and WSAPoll's (the Windows
poller) copy the whole set at each wait, so each round trip pays for every
idle connection.  This measures that cost where it runs: on Linux under both
pollers, under wine with the Windows build (WSAPoll), on Windows itself.

One process: an idle Rep0 listener with N connections dialed to it by an
idle Req0 socket (2N descriptors, no traffic), and a Req0/Rep0 pair doing
64-byte round trips over tcp, the reply sent by a second thread.  Figures
are p50 and p99 in microseconds; compare rows of one run only.

usage: python benchmarks/idle_peers.py [--idle 0,100,500,1000] [--count 3000]
                                       [--pollers epoll,poll]
"""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
import pynng_core  # noqa: E402
import pynng_core.poller  # noqa: E402


def raise_fd_limit():
    try:
        import resource
    except ImportError:  # Windows: sockets are not bounded so
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def open_idle(n):
    """A listener with n connections that never carry a message."""
    server = pynng_core.Rep0(listen="tcp://127.0.0.1:0")
    url = "tcp://127.0.0.1:%d" % server.listeners[0].port
    client = pynng_core.Req0()
    for _ in range(n):
        client.dial(url, block=True)
    deadline = time.monotonic() + 30
    while len(server.pipes) < n:
        if time.monotonic() > deadline:
            raise SystemExit("only %d of %d idle connections came up" % (len(server.pipes), n))
        time.sleep(0.01)
    return server, client


def round_trips(count):
    rep = pynng_core.Rep0(listen="tcp://127.0.0.1:0")
    req = pynng_core.Req0(dial="tcp://127.0.0.1:%d" % rep.listeners[0].port)

    def serve():
        for _ in range(count):
            rep.send(rep.recv())

    server = threading.Thread(target=serve)
    server.start()
    payload = b"x" * 64
    for _ in range(200):  # warm-up, not counted: the server answers `count` in all
        req.send(payload)
        req.recv()
    times = []
    for _ in range(count - 200):
        t = time.perf_counter()
        req.send(payload)
        req.recv()
        times.append(time.perf_counter() - t)
    server.join()
    req.close()
    rep.close()
    times.sort()
    return times[len(times) // 2] * 1e6, times[int(len(times) * 0.99)] * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--idle", default="0,100,500,1000", help="idle connection counts")
    ap.add_argument("--count", type=int, default=3000, help="round trips per row")
    default = "epoll,poll" if sys.platform.startswith("linux") else "poll"
    ap.add_argument("--pollers", default=default, help="the core's pollers to compare")
    args = ap.parse_args()
    raise_fd_limit()
    idle_counts = [int(n) for n in args.idle.split(",")]
    pollers = args.pollers.split(",")
    print("%s, %s; tcp req/rep 64 B round trip, microseconds" % (
        sys.platform, sys.version.split()[0]))
    print("%-8s %6s %8s %8s" % ("poller", "idle", "p50", "p99"))
    results = {}
    for n in idle_counts:
        idle = open_idle(n)
        for name in pollers:
            pynng_core.poller.use(name)
            p50, p99 = round_trips(args.count)
            results[name, n] = p50
            print("%-8s %6d %8.1f %8.1f" % (name, n, p50, p99), flush=True)
        for sock in idle:
            sock.close()
    for name in pollers:
        base = results[name, idle_counts[0]]
        print("%s: p50 at %d idle is %.2fx that at %d idle" % (
            name, idle_counts[-1], results[name, idle_counts[-1]] / base, idle_counts[0]))


if __name__ == "__main__":
    main()

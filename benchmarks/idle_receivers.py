"""What threads blocked in recv cost while nothing comes, beside pynng and
pyzmq.

One process per measurement: N Pull sockets over inproc, each with a thread
of its own blocked in a receive with no timeout.  Once all are blocked,
the process's CPU time and its threads' wake-ups (getrusage's voluntary
context switches, the libraries' own threads included) are counted for
DURATION seconds; then one message goes to each socket, and every thread
must get its own.  A worker pool or a service with many quiet peers meets
this all day.  pynng_core's calls on the main thread come back every 50 ms
to look for Ctrl-C; only that thread's.

usage: python benchmarks/idle_receivers.py [--threads 100,1000] [--seconds 2]
                                           [--backends pynng_core,pynng,pyzmq]
"""
import argparse
import json
import resource
import subprocess
import sys
import threading
import time


def _pair(backend: str, i: int):
    """A pull socket and the push socket that feeds it."""
    address = "inproc://idle-%d" % i
    if backend == "pyzmq":
        import zmq
        ctx = zmq.Context.instance()
        if i == 0:
            ctx.set(zmq.MAX_SOCKETS, 65536)  # 1023 by default
        pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
        pull.bind(address)
        push.connect(address)
        return pull, push
    lib = __import__(backend)
    pull, push = lib.Pull0(), lib.Push0()
    pull.listen(address)
    push.dial(address)
    return pull, push


def measure(backend: str, n: int, seconds: float) -> dict:
    """In this process: n threads blocked in recv for `seconds`."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # pyzmq: 2 per socket
    pairs = [_pair(backend, i) for i in range(n)]
    got = [None] * n
    blocked = threading.Semaphore(0)

    def receive(i: int) -> None:
        blocked.release()
        got[i] = pairs[i][0].recv()

    threads = [threading.Thread(target=receive, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for _ in threads:
        blocked.acquire()
    time.sleep(0.5)  # each is now inside its recv
    before, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
    time.sleep(seconds)
    after, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time() - cpu
    for i, (_, push) in enumerate(pairs):
        push.send(b"%d" % i)
    for t in threads:
        t.join(30)
    if got != [b"%d" % i for i in range(n)]:
        raise RuntimeError("%d of %d threads got their message" %
                           (sum(g == b"%d" % i for i, g in enumerate(got)), n))
    return {"cpu_ms_per_s": cpu * 1e3 / seconds,
            "wakeups_per_s": (after.ru_nvcsw - before.ru_nvcsw) / seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="100,1000")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--backends", default="pynng_core,pynng,pyzmq")
    ap.add_argument("--one", nargs=2, metavar=("BACKEND", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.seconds)))
        return
    backends = args.backends.split(",")
    print("| threads in recv | " +
          " | ".join("%s wake-ups/s (CPU ms/s)" % b for b in backends) + " |")
    print("|---:|" + "---:|" * len(backends))
    for n in (int(c) for c in args.threads.split(",")):
        cells = []
        for b in backends:
            out = subprocess.run([sys.executable, __file__, "--seconds", str(args.seconds),
                                  "--one", b, str(n)],
                                 capture_output=True, text=True, timeout=300)
            if out.returncode != 0:
                cells.append("failed: %s" % (out.stderr.strip().splitlines() or ["?"])[-1])
                continue
            r = json.loads(out.stdout)
            cells.append("%.0f (%.1f)" % (r["wakeups_per_s"], r["cpu_ms_per_s"]))
        print("| %d | %s |" % (n, " | ".join(cells)))


if __name__ == "__main__":
    main()

"""Pub/sub fan-out 1 -> 64 over tcp, 64 B messages: what reaches the
subscribers, and whether any of them is starved.

One publisher process (Pub0 / zmq.PUB, listening) and 8 subscriber
processes of 8 subscriber sockets each (Sub0 subscribed to everything /
zmq.SUB with SUBSCRIBE b""), each socket dialed to the publisher.  Default
queue sizes everywhere (pub/sub drops what a full queue cannot take: that
is the protocol, so the publisher outrunning its subscribers is expected).

Every subscriber socket is read by a thread of its own with blocking
``recv``, for every library: the cheaper of the two ways tried.  With 8
sockets of one process fed 40,000 msg/s in all, one thread per socket
cost 2.1 us of CPU per message with pynng_core and 1.3 us with pyzmq, one
loop over the 8 (a selector on ``recv_fd`` / a zmq.Poller, draining with
non-blocking receives) 5.2 us and 1.9 us.  pynng_core is measured a
second time with its batch receive (``recv_many``: what arrived, at once),
its goals judged on lines of their own.

Start: the publisher sends one message every 2 ms until told to start;
a subscriber process is READY once each of its 8 sockets has received one,
so all 64 are connected (and past pyzmq's slow-joiner subscription) before
anything is timed.  The parent then hands every process one
``time.monotonic()`` instant t0 (a file written in one rename, as the
processes are already running), WARMUP seconds ahead.  From then the
publisher sends as fast as it can until t1 + TAIL (t1 = t0 + duration),
then end markers for LINGER seconds; each subscriber socket counts the
messages arriving inside [t0, t1) and stops at the first one after t1 (or
an end marker).

Reported: delivered/s (the sum over the 64 sockets), the publisher's
msg/s, the share of what it published that was delivered, the median and
the slowest socket's msg/s and their ratio (1 = all served alike), and
CPU time inside the window (getrusage, every thread of the process): the
publisher's per message published, the subscribers' (all 8 processes) per
message delivered.  Goals: pynng_core's delivered/s >= 2x pyzmq's, and its
slowest subscriber >= half its median one.
"""
from __future__ import annotations

import contextlib
import os
import resource
import statistics
import tempfile
import threading
import time

from scale import Child, Goal, Opts, collect, goal_at_least, fnum, ratio, ready, url

TITLE = "pub/sub 1 -> 64 subscribers (8 processes of 8 sockets), tcp, 64 B"
BACKENDS = ("pynng_core", "pyzmq", "pynng")
ONCE = False
PROCESSES = 8
SOCKETS = 8  # per subscriber process
SIZE = 64
PROBE_EVERY = 0.002  # the publisher's pace until the start
WARMUP = 0.5  # full speed before t0
TAIL = 0.1  # full speed after t1, so every socket sees a message past t1
LINGER = 0.5  # end markers after that, for a socket whose queue ran dry
END = b"!"
TIMEOUT_MS = 5000  # any receive; a starved-out peer fails the measurement
START_TIMEOUT = 60.0
# The receive APIs measured: pynng_core's batch receive too, judged on
# lines of its own (a subscriber that keeps up takes what arrived at once).
APIS = {"pynng_core": ("recv", "recv_many"), "pyzmq": ("recv",), "pynng": ("recv",)}


def measure(backend: str, opts: Opts) -> dict[str, float]:
    """Each API of the backend (pynng_core's recv_many too), its keys
    prefixed by its name past the first."""
    out = {}
    for i, api in enumerate(APIS[backend]):
        prefix = "" if i == 0 else api + " "
        out.update((prefix + k, v) for k, v in _measure_api(backend, api, opts).items())
    return out


def _measure_api(backend: str, api: str, opts: Opts) -> dict[str, float]:
    module = __name__.split(".")[-1]
    address = url("tcp", opts, "fanout")
    start = os.path.join(opts.workdir or tempfile.gettempdir(),
                         "fanout-start-%d-%d" % (os.getpid(), time.monotonic_ns()))
    common = dict(backend=backend, url=address, start=start, duration=opts.duration)
    try:
        with contextlib.ExitStack() as stack:
            pub = stack.enter_context(Child(module, "publisher", opts.pinned, **common))
            pub.ready()
            subs = [stack.enter_context(Child(module, "subscribers", opts.pinned, api=api,
                                              **common))
                    for _ in range(PROCESSES)]
            for s in subs:
                s.ready(START_TIMEOUT)
            _announce(start, time.monotonic() + WARMUP)
            results = collect(subs + [pub], WARMUP + opts.duration + 30)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(start)
    published = results[-1]
    rates = sorted(n / opts.duration for r in results[:-1] for n in r["counts"])
    delivered = sum(rates)
    median = statistics.median(rates)
    sub_cpu = sum(r["cpu"] for r in results[:-1])
    return {"delivered": delivered, "published": published["sent"] / opts.duration,
            "share": ratio(delivered / len(rates), published["sent"] / opts.duration) or 0.0,
            "median": median, "slowest": rates[0], "spread": ratio(rates[0], median) or 0.0,
            "pub_cpu_us": 1e6 * published["cpu"] / max(published["sent"], 1),
            "sub_cpu_us": 1e6 * sub_cpu / max(delivered * opts.duration, 1)}


ROWS = (("delivered", "delivered msg/s (sum over 64)"),
        ("published", "published msg/s"),
        ("share", "share of the published delivered"),
        ("median", "median subscriber msg/s"),
        ("slowest", "slowest subscriber msg/s"),
        ("spread", "slowest / median"),
        ("pub_cpu_us", "publisher CPU us per message published"),
        ("sub_cpu_us", "subscribers' CPU us per message delivered"))


def report(medians: dict[str, dict[str, float]], opts: Opts) -> tuple[list, list[Goal]]:
    rows = [(label, {b: fnum(m.get(key)) for b, m in medians.items()}) for key, label in ROWS]
    rows += [("%s, recv_many" % label, {"pynng_core": fnum(medians["pynng_core"].get(
        "recv_many " + key))}) for key, label in ROWS if "pynng_core" in medians]
    ours = medians.get("pynng_core", {})
    goals = []
    for prefix, api in (("", ""), ("recv_many ", " (recv_many)")):
        goals += [goal_at_least("pub/sub 1 -> 64 tcp 64 B delivered/s vs pyzmq%s" % api,
                                ratio(ours.get(prefix + "delivered"),
                                      medians.get("pyzmq", {}).get("delivered")), 2.0),
                  goal_at_least("pub/sub 1 -> 64: slowest subscriber / median%s" % api,
                                ours.get(prefix + "spread"), 0.5)]
    return rows, goals


# -- the start signal ----------------------------------------------------------

def _announce(path: str, t0: float) -> None:
    """Hands t0 to every process: written whole, then renamed into place."""
    with open(path + ".tmp", "w") as f:
        f.write(repr(t0))
    os.replace(path + ".tmp", path)


def _started(path: str) -> float | None:
    """t0 once announced, else None."""
    try:
        with open(path) as f:
            return float(f.read())
    except FileNotFoundError:
        return None


class _CpuInside:
    """The process's CPU time (every thread's) between t0 and t1, read by a
    thread that sleeps but for its two readings."""

    def __init__(self, t0: float, t1: float) -> None:
        self._t0, self._t1 = t0, t1
        self._spent: float | None = None
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    @staticmethod
    def _now() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def _watch(self) -> None:
        time.sleep(max(0.0, self._t0 - time.monotonic()))
        before = self._now()
        time.sleep(max(0.0, self._t1 - time.monotonic()))
        self._spent = self._now() - before

    def seconds(self) -> float:
        self._thread.join(max(0.0, self._t1 - time.monotonic()) + 5)
        if self._spent is None:
            raise RuntimeError("the CPU-time reading did not finish")
        return self._spent


# -- the processes -------------------------------------------------------------

def role_publisher(backend: str, url: str, start: str, duration: float) -> dict:
    if backend == "pyzmq":
        import zmq
        s = zmq.Context.instance().socket(zmq.PUB)
        s.setsockopt(zmq.LINGER, 0)
        s.bind(url)
    else:
        s = __import__(backend).Pub0(send_timeout=TIMEOUT_MS)
        s.listen(url)
    ready()
    payload = b"x" * SIZE
    send = s.send
    clock = time.monotonic
    # Slowly, until the start: the subscribers' proof of connection, at a
    # pace that leaves the CPU to the processes still starting.
    deadline = clock() + START_TIMEOUT + 30
    while (t0 := _started(start)) is None:
        if clock() > deadline:
            raise TimeoutError("no start signal")
        send(payload)
        time.sleep(PROBE_EVERY)
    t1 = t0 + duration
    cpu = _CpuInside(t0, t1)
    sent = 0
    while True:
        for _ in range(16):
            send(payload)
        now = clock()
        if now >= t1 + TAIL:
            break
        if t0 <= now < t1:
            sent += 16
    end = clock() + LINGER
    while clock() < end:
        send(END)
        time.sleep(0.005)
    return {"sent": sent, "cpu": cpu.seconds()}


def role_subscribers(backend: str, url: str, start: str, duration: float,
                     api: str) -> dict:
    socks = [_subscriber(backend, url) for _ in range(SOCKETS)]
    for s in socks:
        s.recv()  # connected, and subscribed at the publisher (pyzmq)
    ready()
    deadline = time.monotonic() + START_TIMEOUT + 30
    while (t0 := _started(start)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError("no start signal")
        time.sleep(0.002)
    t1 = t0 + duration
    cpu = _CpuInside(t0, t1)
    counts = [0] * SOCKETS
    failures: list[BaseException] = []

    def count(i: int) -> None:
        clock, n = time.monotonic, 0
        take = socks[i].recv if api == "recv" else socks[i].recv_many
        many = api != "recv"
        try:
            while True:
                got = take()
                now = clock()
                if now >= t1 or (END in got if many else got == END):
                    break
                if now >= t0:
                    n += len(got) if many else 1
        except BaseException as exc:  # a timeout: told to the parent below
            failures.append(exc)
        counts[i] = n

    threads = [threading.Thread(target=count, args=(i,), daemon=True) for i in range(SOCKETS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, t1 - time.monotonic()) + TIMEOUT_MS / 1000 + 5)
    if failures or any(t.is_alive() for t in threads):
        raise RuntimeError("a subscriber socket failed: %r" % (failures[:1] or "hung",))
    return {"counts": counts, "cpu": cpu.seconds()}


def _subscriber(backend: str, url: str):
    if backend == "pyzmq":
        import zmq
        s = zmq.Context.instance().socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(url)
        return s
    s = __import__(backend).Sub0(recv_timeout=TIMEOUT_MS, recv_max_size=0)
    s.subscribe(b"")
    s.dial(url, block=True)
    return s

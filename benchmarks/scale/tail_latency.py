"""Req/rep tail latency beside a stream: 64 B round trips over tcp while a
push/pull stream of 64 B messages runs between two other sockets of the
same two processes.

Process B (the server) has a Rep0 / zmq.REP echoing what it receives, and a
Pull0 / zmq.PULL drained by a second thread; process A (the client) has a
Req0 / zmq.REQ making round trips to B's Rep0, and a second thread with a
Push0 / zmq.PUSH (pyzmq: a socket used by that thread alone) sending 64 B
messages to B's Pull0 as fast as it can.  Default queue sizes everywhere;
push/pull does not drop, so the stream runs as fast as B drains it.

A times its round trips with ``time.perf_counter_ns``: first WARMUP then
QUIET_SAMPLES with no stream (the reference), then it starts the stream,
lets it run for STREAM_SETTLE seconds and makes WARMUP more round trips,
then times SAMPLES (fewer in --quick) or as many as fit in BUDGET
seconds.  Reported: p50, p99 and p99.9 in microseconds, quiet and beside
the stream, and the stream's msg/s (what A's push thread sent while the
round trips were timed).  Goals: beside the stream, pynng_core's p99.9 <=
3x its own p50, and <= pyzmq's p99.9.

Pinned (the harness's default), both processes share CPU 0 with all their
threads: the round trip then waits for the scheduler to run B's replier
and A's requester among the stream's threads, and in each process for the
GIL its other thread may hold.
"""
from __future__ import annotations

import threading
import time

from scale import (Child, Goal, Opts, collect, dial, goal_at_most, fnum, listen, open_socket,
                   ratio, ready, url)

TITLE = "req/rep 64 B tcp round trip beside a push/pull stream of 64 B, microseconds"
BACKENDS = ("pynng_core", "pyzmq", "pynng")
ONCE = False
SIZE = 64
WARMUP = 1000  # round trips before each timed series
QUIET_SAMPLES = 5000
SAMPLES = 20000
QUICK_SAMPLES = 5000
BUDGET = 10.0  # seconds at most for the series beside the stream
STREAM_SETTLE = 0.3  # the stream runs this long before the warm-up
END = b"!"
LINGER = 0.2  # the server's wait after its last reply: it reaches the wire
TIMEOUT_MS = 20000  # any send or receive: a stalled peer fails the measurement
QUANTILES = (("p50", 0.50), ("p99", 0.99), ("p99.9", 0.999))


def measure(backend: str, opts: Opts) -> dict[str, float]:
    module = __name__.split(".")[-1]
    addresses = dict(rep_url=url("tcp", opts, "rep"), pull_url=url("tcp", opts, "pull"))
    samples = QUICK_SAMPLES if opts.quick else SAMPLES
    with Child(module, "server", opts.pinned, backend=backend, **addresses) as server:
        server.ready()
        with Child(module, "client", opts.pinned, backend=backend, samples=samples,
                   **addresses) as client:
            got = collect([client, server], BUDGET + 60)[0]
    return got


def report(medians: dict[str, dict[str, float]], opts: Opts) -> tuple[list, list[Goal]]:
    rows = []
    for phase, label in (("quiet", "no stream"), ("stream", "beside the stream")):
        for name, _ in QUANTILES:
            key = "%s %s" % (phase, name)
            rows.append(("%s, %s" % (name, label), {b: fnum(m.get(key)) for b, m in medians.items()}))
    rows.append(("samples beside the stream", {b: fnum(m.get("samples")) for b, m in medians.items()}))
    rows.append(("stream msg/s meanwhile", {b: fnum(m.get("stream rate")) for b, m in medians.items()}))
    ours = medians.get("pynng_core", {})
    goals = [goal_at_most("req/rep p99.9 / p50 beside a push/pull stream (tcp 64 B)",
                          ratio(ours.get("stream p99.9"), ours.get("stream p50")), 3.0),
             goal_at_most("req/rep p99.9 beside a push/pull stream vs pyzmq's",
                          ratio(ours.get("stream p99.9"),
                                medians.get("pyzmq", {}).get("stream p99.9")), 1.0)]
    return rows, goals


def _quantiles(phase: str, rtts_ns: list[int]) -> dict[str, float]:
    ordered = sorted(rtts_ns)
    return {"%s %s" % (phase, name): ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e3
            for name, q in QUANTILES}


# -- the processes -------------------------------------------------------------

def role_server(backend: str, rep_url: str, pull_url: str) -> dict:
    rep, pull = open_socket(backend, "rep", TIMEOUT_MS), open_socket(backend, "pull", TIMEOUT_MS)
    listen(backend, rep, rep_url)
    listen(backend, pull, pull_url)
    ready()
    pulled = [0]

    def drain() -> None:
        recv, n = pull.recv, 0
        while recv() != END:
            n += 1
        pulled[0] = n

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    recv, send = rep.recv, rep.send
    while (msg := recv()) != END:
        send(msg)
    # The client's last request: answered once the stream's end marker is
    # in, so neither process exits with messages still on their way.
    drainer.join(TIMEOUT_MS / 1000)
    if drainer.is_alive():
        raise RuntimeError("the stream's end marker did not arrive")
    send(END)
    time.sleep(LINGER)
    return {"pulled": pulled[0]}


class _Stream:
    """A's push thread: 64 B messages as fast as the socket takes them."""

    def __init__(self, backend: str, address: str) -> None:
        self._push = open_socket(backend, "push", TIMEOUT_MS)
        dial(backend, self._push, address)
        self.sent = 0
        self.failure: BaseException | None = None
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        send, payload = self._push.send, b"x" * SIZE
        try:
            while self._running:
                for _ in range(64):
                    send(payload)
                self.sent += 64
            send(END)
        except BaseException as exc:  # told to the parent by stop()
            self.failure = exc

    def stop(self) -> None:
        self._running = False
        self._thread.join(TIMEOUT_MS / 1000)
        if self.failure is not None or self._thread.is_alive():
            raise RuntimeError("the stream failed: %r" % (self.failure or "hung",))


def role_client(backend: str, rep_url: str, pull_url: str, samples: int) -> dict:
    req = open_socket(backend, "req", TIMEOUT_MS)
    dial(backend, req, rep_url)
    payload = b"r" * SIZE

    def round_trips(n: int, budget: float) -> list[int]:
        send, recv, clock = req.send, req.recv, time.perf_counter_ns
        deadline = clock() + int(budget * 1e9)
        rtts = []
        for _ in range(n):
            t = clock()
            send(payload)
            recv()
            done = clock()
            rtts.append(done - t)
            if done > deadline:
                break
        return rtts

    round_trips(WARMUP, BUDGET)
    out = _quantiles("quiet", round_trips(QUIET_SAMPLES, BUDGET))
    stream = _Stream(backend, pull_url)
    time.sleep(STREAM_SETTLE)
    round_trips(WARMUP, BUDGET)
    sent_before, t = stream.sent, time.perf_counter()
    rtts = round_trips(samples, BUDGET)
    out["stream rate"] = (stream.sent - sent_before) / (time.perf_counter() - t)
    stream.stop()
    req.send(END)  # answered once the stream's last message is in
    req.recv()
    out.update(_quantiles("stream", rtts))
    out["samples"] = len(rtts)
    return out

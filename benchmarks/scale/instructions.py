"""Instructions per 64 B message, end to end: tcp push/pull, the sender's
process plus the receiver's, counted by callgrind.

Two processes, each run under ``valgrind --tool=callgrind
--separate-threads=no`` (every thread counted: the library's I/O threads
too): the sender sends N messages of 64 B with ``send(bytes)``, the receiver
takes them with ``recv()`` (bytes), then tells the sender it has them all on
a second socket (so no message is still queued when the sender exits).
Interpreter start-up, imports, connecting and the end are the same whatever
N is, so they cancel in a difference: the figure is

    (I(sender) + I(receiver) at N=LARGE  -  the same at N=SMALL) / (LARGE - SMALL)

with I read from the ``totals:`` line of each callgrind out file.  Push/pull
does not drop: a sender ahead of its receiver blocks.  LARGE is 100,000 and
SMALL 10,000, but 30,000 and 3,000 for pynng, whose 100,000 take ~100 s
under callgrind (its table row says so).

An instruction count does not vary with load, so a backend is measured in
the first round only (``ONCE``).
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time

from scale import (Child, Goal, MeasureFailed, Opts, dial, goal_at_most, listen, open_socket,
                   ratio, ready, url)

TITLE = "instructions per 64 B message, tcp push/pull, sender + receiver (callgrind)"
BACKENDS = ("pynng_core", "pyzmq", "pynng")
ONCE = True  # counts do not vary, and take a minute a backend
SIZE = 64
COUNTS = {"pynng_core": (100_000, 10_000), "pyzmq": (100_000, 10_000),
          "pynng": (30_000, 3_000)}  # (LARGE, SMALL)
SIDES = ("pull", "push")
DONE = b"done"
LINGER = 1.0  # the receiver's wait at the end: its DONE reaches the wire
TIMEOUT_MS = 120_000  # a blocking call's limit under valgrind (~50x slower)
RUN_TIMEOUT = 240  # one N's two processes, start to end, under valgrind

def measure(backend: str, opts: Opts) -> dict[str, float]:
    large, small = COUNTS[backend]
    with tempfile.TemporaryDirectory(prefix="callgrind-") as folder:
        at_large = _instructions(backend, large, folder, opts)
        at_small = _instructions(backend, small, folder, opts)
    per = {side: (at_large[side] - at_small[side]) / (large - small) for side in SIDES}
    return dict(per, messages=large, total=sum(per.values()))


def report(medians: dict[str, dict[str, float]], opts: Opts) -> tuple[list, list[Goal]]:
    def row(label: str, key: str) -> tuple[str, dict[str, str]]:
        return label, {b: "{:,.0f}".format(m[key]) for b, m in medians.items() if key in m}

    rows = [row("instructions per message, sender + receiver", "total"),
            row("of which the sender (send)", "push"),
            row("of which the receiver (recv)", "pull"),
            row("messages in the large run", "messages")]
    total = {b: m.get("total") for b, m in medians.items()}
    goals = [goal_at_most("instructions per 64 B message, tcp push/pull, vs pyzmq's",
                          ratio(total.get("pynng_core"), total.get("pyzmq")), 0.5)]
    return rows, goals


def _instructions(backend: str, n: int, folder: str, opts: Opts) -> dict[str, int]:
    """Instructions of the receiver ("pull") and the sender ("push") moving
    n messages, each process from start to end."""
    data, done = url("tcp", opts), url("tcp", opts)
    outs = {side: os.path.join(folder, "%s-%d-%s.out" % (backend, n, side)) for side in SIDES}
    with _Callgrind(outs["pull"], "pull", opts.pinned, backend=backend, n=n,
                    data=data, done=done) as pull:
        pull.ready(RUN_TIMEOUT)
        with _Callgrind(outs["push"], "push", opts.pinned, backend=backend, n=n,
                        data=data, done=done) as push:
            _finish([pull, push], RUN_TIMEOUT)
    return {side: _totals(out) for side, out in outs.items()}


def _finish(children: list[Child], timeout: float) -> None:
    """Every child's RESULT, then its exit: callgrind writes its out file as
    the process ends, so it must not be killed (``collect`` would)."""
    deadline = time.monotonic() + timeout
    for c in children:
        c.result(max(1.0, deadline - time.monotonic()))
    for c in children:
        try:
            c.proc.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as exc:
            raise MeasureFailed("%s: callgrind did not end within %.0f s" % (
                c.what, timeout)) from exc


class _Callgrind(Child):
    """A Child whose python runs under callgrind, writing its counts to ``out``
    (and valgrind's messages beside it: the process's stderr is python's)."""

    def __init__(self, out: str, role: str, pinned: bool, **kwargs: object) -> None:
        super().__init__(__name__.split(".")[-1], role, pinned,
                         prefix=("valgrind", "--tool=callgrind", "--separate-threads=no",
                                 "--callgrind-out-file=" + out, "--log-file=" + out + ".log"),
                         **kwargs)


def _totals(out: str) -> int:
    try:
        with open(out) as f:
            for line in f:
                if line.startswith("totals:"):
                    return int(line.split()[1])
    except OSError as exc:
        raise MeasureFailed("no callgrind out file %s: %s" % (out, exc)) from exc
    raise MeasureFailed("no totals: line in %s" % out)


# -- the processes -----------------------------------------------------------

def role_pull(backend: str, n: int, data: str, done: str) -> dict:
    pull, tell = open_socket(backend, "pull", TIMEOUT_MS), open_socket(backend, "push", TIMEOUT_MS)
    listen(backend, pull, data)
    ready()
    recv = pull.recv
    for _ in range(n):
        msg = recv()
        if len(msg) != SIZE:
            raise ValueError("a message of %d bytes, not %d" % (len(msg), SIZE))
    dial(backend, tell, done)  # the sender listens there before it dials
    tell.send(DONE)
    time.sleep(LINGER)
    return {}


def role_push(backend: str, n: int, data: str, done: str) -> dict:
    push, told = open_socket(backend, "push", TIMEOUT_MS), open_socket(backend, "pull", TIMEOUT_MS)
    listen(backend, told, done)
    dial(backend, push, data)
    payload = b"x" * SIZE
    send = push.send
    for _ in range(n):
        send(payload)
    if told.recv() != DONE:
        raise ValueError("the receiver's end marker is wrong")
    return {}

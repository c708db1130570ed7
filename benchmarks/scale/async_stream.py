"""Async push/pull of 64 B messages: one ``await asend`` per message at the
sender and one ``await arecv`` at the receiver, two processes, tcp and ipc.

pynng_core under asyncio, under trio and with its blocking calls (the rate
the asyncio one is judged against); pyzmq under ``zmq.asyncio``; pynng
under asyncio.  The receiver counts what arrives inside the window; the
sender sends until the window is over, then an end marker (1 byte).
"""
from __future__ import annotations

import time

from scale import Child, Goal, Opts, collect, goal_at_least, fnum, ratio, ready, url

TITLE = "asyncio and trio push/pull, 64 B, one await per message, msg/s"
BACKENDS = ("pynng_core", "pyzmq", "pynng")
TRANSPORTS = ("tcp", "ipc")
MODES = {"pynng_core": ("asyncio", "trio", "sync"), "pyzmq": ("asyncio",),
         "pynng": ("asyncio",)}
ONCE = False
SIZE = 64
WARMUP = 0.3
MARK = b"!"
LINGER = 0.5  # the sender's wait at the end: its last messages reach the wire


def measure(backend: str, opts: Opts) -> dict[str, float]:
    out = {}
    for transport in TRANSPORTS:
        for mode in MODES[backend]:
            address = url(transport, opts, "stream")
            t0 = time.monotonic() + 1.0 + WARMUP  # both started and warm by then
            t1 = t0 + opts.duration
            with Child(__name__.split(".")[-1], "pull", opts.pinned, backend=backend,
                       mode=mode, url=address, t0=t0, t1=t1) as pull:
                pull.ready()
                with Child(__name__.split(".")[-1], "push", opts.pinned, backend=backend,
                           mode=mode, url=address, t_end=t1 + 0.05) as push:
                    got = collect([pull, push], opts.duration + 30)[0]
            out["%s %s" % (transport, mode)] = got["rate"]
    return out


def report(medians: dict[str, dict[str, float]], opts: Opts) -> tuple[list, list[Goal]]:
    rows = []
    for transport in TRANSPORTS:
        for mode in ("asyncio", "trio", "sync"):
            key = "%s %s" % (transport, mode)
            cells = {b: fnum(m.get(key)) for b, m in medians.items() if key in m}
            if cells:
                rows.append(("%s, %s" % (transport, mode), cells))
    ours = medians.get("pynng_core", {})
    goals = []
    for transport in TRANSPORTS:
        asyncio_rate = ours.get(transport + " asyncio")
        goals.append(goal_at_least(
            "asyncio push/pull 64 B %s vs pyzmq's zmq.asyncio" % transport,
            ratio(asyncio_rate, medians.get("pyzmq", {}).get(transport + " asyncio")), 3.0))
        goals.append(goal_at_least(
            "asyncio push/pull 64 B %s vs our own blocking calls" % transport,
            ratio(asyncio_rate, ours.get(transport + " sync")), 0.25))
        goals.append(goal_at_least(
            "trio push/pull 64 B %s vs our own asyncio" % transport,
            ratio(ours.get(transport + " trio"), asyncio_rate), 0.5))
    return rows, goals


# -- the processes -----------------------------------------------------------

def _socket(backend: str, kind: str, mode: str):
    if backend == "pyzmq":
        import zmq
        import zmq.asyncio
        ctx = zmq.asyncio.Context.instance() if mode == "asyncio" else zmq.Context.instance()
        s = ctx.socket(zmq.PUSH if kind == "push" else zmq.PULL)
        s.setsockopt(zmq.LINGER, 0)
        return s
    lib = __import__(backend)
    cls = lib.Push0 if kind == "push" else lib.Pull0
    return cls(recv_timeout=20000, send_timeout=20000, recv_max_size=0)


def role_pull(backend: str, mode: str, url: str, t0: float, t1: float) -> dict:
    s = _socket(backend, "pull", mode)
    if backend == "pyzmq":
        s.bind(url)
    else:
        s.listen(url)
    ready()
    clock = time.monotonic

    def counted(msg: bytes, n: int) -> int:
        now = clock()
        return n + 1 if t0 <= now < t1 else n

    if mode == "sync":
        n = 0
        while True:
            msg = s.recv()
            if msg == MARK:
                break
            n = counted(msg, n)
        return {"rate": n / (t1 - t0)}

    async def loop() -> int:
        n = 0
        recv = s.recv if backend == "pyzmq" else s.arecv
        while True:
            msg = await recv()
            if msg == MARK:
                return n
            n = counted(msg, n)

    return {"rate": _run(mode, loop) / (t1 - t0)}


def role_push(backend: str, mode: str, url: str, t_end: float) -> dict:
    s = _socket(backend, "push", mode)
    if backend == "pyzmq":
        s.connect(url)
    else:
        s.dial(url, block=True)
    payload = b"x" * SIZE
    clock = time.monotonic
    if mode == "sync":
        while clock() < t_end:
            for _ in range(256):
                s.send(payload)
        s.send(MARK)
        time.sleep(LINGER)
        return {}

    async def loop() -> int:
        send = s.send if backend == "pyzmq" else s.asend
        while clock() < t_end:
            for _ in range(256):
                await send(payload)
        await send(MARK)
        return 0

    _run(mode, loop)
    time.sleep(LINGER)
    return {}


def _run(mode: str, fn):
    if mode == "trio":
        import trio
        return trio.run(fn)
    import asyncio
    return asyncio.run(fn())

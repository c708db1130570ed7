"""A req/rep server under many clients: requests/s that one server process
answers, 64 B requests echoed back, tcp, two ways of serving.

"threads": one server socket, 8 threads.  pynng_core and pynng: one Rep0,
each thread looping ``ctx.recv()`` / ``ctx.send()`` on a context of its
own.  pyzmq: a zmq socket may not be used from several threads, so its one
server socket is the standard multithreaded server of the zguide (mtserver):
a ROUTER on tcp, ``zmq.proxy`` in a thread to a DEALER on inproc, and 8
threads each looping ``recv()`` / ``send()`` on a REP socket of its own.

"asyncio": one event loop, 256 tasks.  pynng_core and pynng: each task loops
``await ctx.arecv()`` / ``await ctx.asend()`` on a context of its own.
pyzmq has no contexts: its 256 tasks share one ``zmq.asyncio`` ROUTER, each
looping ``await recv_multipart()`` and answering with ``await
send_multipart()`` of the same frames (routing envelope, delimiter, body) --
the ROUTER hands each pending recv the next request, as a context's recv
does, so the server does the same work with the same concurrency.  (Its
server CPU per request was about 120 us so, and 60-70 us with 1 or 16 tasks
instead of 256: still several times pynng_core's with 256.)

Clients: 4 processes of 16 clients, each client its own REQ socket (Req0,
zmq.REQ) dialed to the server, closed loop: send 64 B, wait for the reply,
again.  A client process runs its 16 clients as 16 threads on blocking
sockets, for every library: it is the cheapest way for all three.  Tried
on one CPU, a client's CPU per request was, with threads / one asyncio
loop of 16 tasks: pynng_core 7-10 / 24-50 us, pyzmq 10-16 / 70-85 us (one
thread polling the 16 with zmq.Poller: 15 us), pynng 26-30 / 130 us.

Every process, the server's with the clients', is pinned to CPU 0
(``opts.pinned``), so the clients' CPU is part of what a request costs and
bounds requests/s whatever the server does: each process measures its CPU
time inside the window, and the table shows the server's and the clients'
CPU per request apart.

Requests/s: the replies all clients received inside a common window
``[t0, t0 + duration)``, summed, over the duration.  All processes start
at once; clients send as soon as they are up (the warm-up), and one whose
first reply comes after ``t0`` fails the measurement.  The server replies
with the request (64 B).

The raw limit ("raw", unless ``--no-raw``): the same 64 clients and a
server with no library, in C (raw_reqrep.c, compiled with the system's C
compiler for the run): one epoll thread echoing each 76-byte frame (what
the SP wire carries for a Req0's 64 B request), and blocking client
threads.  It is the most requests/s the kernel and the CPU allow in this
shape, whatever the library; the goals say how far it is from each rival.
"""
from __future__ import annotations

import functools
import os
import shlex
import subprocess
import sysconfig
import tempfile
import threading
import time
from contextlib import ExitStack

from scale import Child, Goal, MeasureFailed, Opts, collect, fnum, goal_at_least, ratio, ready, url

TITLE = "req/rep server, 64 clients in 4 processes, 64 B, closed loop, requests/s"
BACKENDS = ("pynng_core", "pyzmq", "pynng")
LIMITS = ("raw",)
ONCE = False
VARIANTS = ("threads", "asyncio")
SERVER_THREADS = 8
SERVER_TASKS = 256
CLIENT_PROCESSES = 4
CLIENTS_PER_PROCESS = 16
SIZE = 64
START = 1.5  # s for 5 processes to start on one CPU (0.7 s seen) and connect
WARMUP = 0.5  # s of requests before the window: every client has had replies
SETTLE = 0.3  # s past the window before results are read: the last replies land
# A client's request's timeout: generous, pynng answers slowly under 64
# clients.  The servers' waits have none: a server's process ends on its own
# at its deadline (and is killed if it does not), and a timer per wait would
# be a cost of its own, which pyzmq's asyncio pays in Python.
TIMEOUT_MS = 10_000
INPROC_WORKERS = "inproc://workers"
RAW_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "raw_reqrep.c")
RAW_VARIANT = "threads"  # the raw limit's row: blocking client threads, as there


def measure(backend: str, opts: Opts) -> dict[str, float]:
    out = {}
    for variant in ((RAW_VARIANT,) if backend == "raw" else VARIANTS):
        out.update(_measure_variant(backend, variant, opts))
    return out


def _measure_variant(backend: str, variant: str, opts: Opts) -> dict[str, float]:
    """All processes start at once (the clients dial in the background until
    the server listens), so one t0 serves them all."""
    module = __name__.split(".")[-1]
    address = url("tcp", opts, "reqrep")
    t0 = time.monotonic() + START + WARMUP
    t1 = t0 + opts.duration
    if backend == "raw":
        binary = _raw_binary()
        server_role = dict(role="raw", args=[binary, "server", address, t0, t1])
        client_role = dict(role="raw", args=[binary, "clients", address, t0, t1,
                                             CLIENTS_PER_PROCESS])
    else:
        window = dict(backend=backend, url=address, t0=t0, t1=t1)
        server_role = dict(role="server", variant=variant, **window)
        client_role = dict(role="clients", count=CLIENTS_PER_PROCESS, **window)
    with ExitStack() as stack:
        children = [stack.enter_context(Child(module, pinned=opts.pinned, **server_role))]
        children += [stack.enter_context(Child(module, pinned=opts.pinned, **client_role))
                     for _ in range(CLIENT_PROCESSES)]
        server, *clients = collect(children, START + WARMUP + opts.duration + 30)
    replies = sum(c["replies"] for c in clients)
    if not replies:
        raise MeasureFailed("%s server (%s): no reply inside the window" % (variant, backend))
    return {variant: replies / opts.duration,
            variant + " server us": server["cpu"] / replies * 1e6,
            variant + " clients us": sum(c["cpu"] for c in clients) / replies * 1e6}


def report(medians: dict[str, dict[str, float]], opts: Opts) -> tuple[list, list[Goal]]:
    rows = []
    for variant in VARIANTS:
        for key, label in ((variant, "%s, requests/s"),
                           (variant + " server us", "%s, server CPU per request, us"),
                           (variant + " clients us", "%s, clients' CPU per request, us")):
            cells = {b: fnum(m.get(key)) for b, m in medians.items() if key in m}
            if cells:
                rows.append((label % variant, cells))
    ours = medians.get("pynng_core", {})
    raw = medians.get("raw", {}).get(RAW_VARIANT)
    goals = []
    for variant in VARIANTS:
        for rival, target in (("pyzmq", 2.0), ("pynng", 20.0)):
            theirs = medians.get(rival, {}).get(variant)
            limit = ratio(raw, theirs)
            goals.append(goal_at_least(
                "req/rep server (%s), 64 clients, 64 B, vs %s%s" % (
                    variant, rival, "" if limit is None else
                    " (the raw limit, C with no library, is %.2fx %s)" % (limit, rival)),
                ratio(ours.get(variant), theirs), target))
    return rows, goals


# -- the processes -----------------------------------------------------------

class CpuWindow:
    """This process's CPU time (all its threads) inside [t0, t1), sampled by
    a thread of its own that sleeps between the two instants."""

    def __init__(self, t0: float, t1: float) -> None:
        self.samples: list[float] = []
        self.t0, self.t1 = t0, t1
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        for instant in (self.t0, self.t1):
            time.sleep(max(0.0, instant - time.monotonic()))
            self.samples.append(time.process_time())

    def seconds(self) -> float:
        if len(self.samples) != 2:
            raise RuntimeError("the CPU sampler missed the window's end")
        return self.samples[1] - self.samples[0]


class Failures:
    """The first error any thread or task of a process met."""

    def __init__(self) -> None:
        self.first: BaseException | None = None

    def note(self, exc: BaseException) -> None:
        if self.first is None:
            self.first = exc

    def check(self) -> None:
        if self.first is not None:
            raise self.first


def _sleep_until(instant: float) -> None:
    time.sleep(max(0.0, instant - time.monotonic()))


@functools.lru_cache(maxsize=None)
def _raw_binary() -> str:
    """raw_reqrep.c built once per run, with the C compiler Python was
    built with (or cc)."""
    out = os.path.join(tempfile.mkdtemp(prefix="raw-reqrep-"), "raw_reqrep")
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    try:
        subprocess.run([*cc, "-O2", "-pthread", "-o", out, RAW_SOURCE],
                       check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise MeasureFailed("raw limit: %s could not build %s: %s" % (
            " ".join(cc), RAW_SOURCE, detail.strip()[-300:])) from None
    return out


def role_raw(args: list) -> None:
    """The raw limit's process, pinned as role.py left it: it becomes the C
    program, which prints READY and RESULT itself."""
    binary, role, address, *rest = (str(a) for a in args)
    port = address.rsplit(":", 1)[1]
    os.execv(binary, [binary, role, port, *rest])


def role_server(backend: str, variant: str, url: str, t0: float, t1: float) -> dict:
    cpu = CpuWindow(t0, t1)
    failures = Failures()
    family = "pyzmq" if backend == "pyzmq" else "nng"
    _SERVERS[family, variant](backend, url, t1 + SETTLE, failures)
    failures.check()
    return {"cpu": cpu.seconds()}


def _serve_nng_threads(backend: str, url: str, t_end: float, failures: Failures) -> None:
    lib = __import__(backend)
    s = lib.Rep0(recv_max_size=0)
    s.listen(url)

    def answer(ctx) -> None:
        try:
            while True:
                ctx.send(ctx.recv())
        except Exception as exc:
            failures.note(exc)

    for _ in range(SERVER_THREADS):
        threading.Thread(target=answer, args=(s.new_context(),), daemon=True).start()
    ready()
    _sleep_until(t_end)


def _serve_nng_asyncio(backend: str, url: str, t_end: float, failures: Failures) -> None:
    import asyncio
    lib = __import__(backend)

    async def answer(ctx) -> None:
        try:
            while True:
                await ctx.asend(await ctx.arecv())
        except Exception as exc:
            failures.note(exc)

    async def serve() -> None:
        s = lib.Rep0(recv_max_size=0)
        s.listen(url)
        tasks = [asyncio.ensure_future(answer(s.new_context())) for _ in range(SERVER_TASKS)]
        ready()
        await asyncio.sleep(max(0.0, t_end - time.monotonic()))
        # Held until now (a loop holds its tasks weakly); left pending, as
        # the process ends without tearing anything down.
        del tasks

    _run_until_complete(serve())


def _serve_zmq_threads(backend: str, url: str, t_end: float, failures: Failures) -> None:
    import zmq
    ctx = zmq.Context.instance()
    frontend = _zmq_socket(ctx, zmq.ROUTER)
    frontend.bind(url)
    workers = _zmq_socket(ctx, zmq.DEALER)
    workers.bind(INPROC_WORKERS)

    def proxy() -> None:
        try:
            zmq.proxy(frontend, workers)
        except Exception as exc:
            failures.note(exc)

    def answer() -> None:
        rep = _zmq_socket(ctx, zmq.REP)
        rep.connect(INPROC_WORKERS)
        try:
            while True:
                rep.send(rep.recv())
        except Exception as exc:
            failures.note(exc)

    threading.Thread(target=proxy, daemon=True).start()
    for _ in range(SERVER_THREADS):
        threading.Thread(target=answer, daemon=True).start()
    ready()
    _sleep_until(t_end)


def _serve_zmq_asyncio(backend: str, url: str, t_end: float, failures: Failures) -> None:
    import asyncio
    import zmq
    import zmq.asyncio

    async def answer(router) -> None:
        try:
            while True:
                # The envelope (the client's id, the delimiter) routes it back.
                await router.send_multipart(await router.recv_multipart())
        except Exception as exc:
            failures.note(exc)

    async def serve() -> None:
        router = _zmq_socket(zmq.asyncio.Context.instance(), zmq.ROUTER)
        router.bind(url)
        tasks = [asyncio.ensure_future(answer(router)) for _ in range(SERVER_TASKS)]
        ready()
        await asyncio.sleep(max(0.0, t_end - time.monotonic()))
        del tasks  # as above

    _run_until_complete(serve())


_SERVERS = {("nng", "threads"): _serve_nng_threads, ("nng", "asyncio"): _serve_nng_asyncio,
            ("pyzmq", "threads"): _serve_zmq_threads, ("pyzmq", "asyncio"): _serve_zmq_asyncio}


def role_clients(backend: str, url: str, count: int, t0: float, t1: float) -> dict:
    """``count`` clients, a thread each, in a closed loop until t1: the
    replies they got inside [t0, t1)."""
    cpu = CpuWindow(t0, t1)
    failures = Failures()
    sockets = [_req_socket(backend, url) for _ in range(count)]
    ready()
    replies = [0] * count
    first_reply = [float("inf")] * count
    for i, s in enumerate(sockets):
        threading.Thread(target=_client, daemon=True,
                         args=(s, i, replies, first_reply, t0, t1, failures)).start()
    _sleep_until(t1 + SETTLE)  # a client still waiting for its last reply is left so
    failures.check()
    if max(first_reply) >= t0:
        raise RuntimeError("a client had no reply before the window opened (%s)" % (
            "none at all" if max(first_reply) == float("inf") else
            "its first %.2f s late" % (max(first_reply) - t0)))
    return {"replies": sum(replies), "cpu": cpu.seconds()}


def _client(s, i: int, replies: list[int], first_reply: list[float],
            t0: float, t1: float, failures: Failures) -> None:
    request = b"x" * SIZE
    clock = time.monotonic
    try:
        s.send(request)
        s.recv()
        first_reply[i] = now = clock()
        while now < t1:
            s.send(request)
            s.recv()
            now = clock()
            if t0 <= now < t1:
                # Counted as it comes: the request sent last may be answered
                # after the process has read the counts.
                replies[i] += 1
    except Exception as exc:
        if clock() < t1:  # past the window, the server may be gone: no matter
            failures.note(exc)


def _req_socket(backend: str, url: str):
    if backend == "pyzmq":
        import zmq
        s = _zmq_socket(zmq.Context.instance(), zmq.REQ, TIMEOUT_MS)
        s.connect(url)
        return s
    lib = __import__(backend)
    # The server may not listen yet: the dial goes on in the background, and
    # retries after 100 ms (zmq's interval) rather than nng's 1 s.
    s = lib.Req0(recv_timeout=TIMEOUT_MS, send_timeout=TIMEOUT_MS, recv_max_size=0,
                 reconnect_time_min=100)
    s.dial(url, block=False)
    return s


def _zmq_socket(ctx, kind: int, timeout_ms: int = -1):
    import zmq
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, timeout_ms)
    s.setsockopt(zmq.SNDTIMEO, timeout_ms)
    return s


def _run_until_complete(coroutine) -> None:
    """Runs a coroutine on a new loop and leaves the loop as it is: tasks
    still pending are not cancelled (the process ends right after)."""
    import asyncio
    asyncio.new_event_loop().run_until_complete(coroutine)

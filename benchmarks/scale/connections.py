"""Idle tcp connections on one listener: how many, the listener's memory per
connection, and how fast they come up.

One listener process (pynng_core and pynng: a Rep0; pyzmq: a REP socket)
listens on 0.0.0.0; several dialer processes open its connections, dialer
i to 127.0.0.(i+1), so that each has a source-port space of its own (one
destination has ~28k ephemeral ports).  The count is ``opts.connections``
(100,000), or what the machine's RLIMIT_NOFILE hard limit allows one
process, less a margin for the listener's other descriptors: every process
raises its soft limit to the hard one, and the per-process hard limit caps
the listener (the row "connections asked" says which count was asked).

A dialer opens its share as fast as it can, the way a user opens many
connections with each library: pynng_core and pynng one Req0 socket per
process with a non-blocking ``dial`` per connection; pyzmq one REQ socket
per connection (a zmq socket connects once to an endpoint), ``connect``ed.

The listener, polling every POLL s, counts the connections handshaken: for
pynng_core its socket's ``stats`` (pipes opened less closed), for pynng its
``pipes``, for pyzmq a socket monitor's EVENT_HANDSHAKE_SUCCEEDED.  It
reads its RSS (``/proc/self/statm``) before the first dial and once all are
up (or the BUDGET ran out): RSS per connection is the difference over the
count.  The dial rate is the count over the time from the first dial (all
dialers start at one instant) to the last connection counted; the rate to
90% of them is shown too (the last few wait on SYNs sent again).  The CPU
time of the listener and of the dialers (every thread's, in the process)
over the dials, per connection, says where a slow rate comes from: all of
them share CPU 0 when pinned.  Each library
listens with its own backlog: a burst of dials that overflows it has SYNs
dropped and sent again a second or more later, which the row "listen queue
overflows" (the kernel's TcpExtListenOverflows over the dials, machine-wide)
shows.

Then every connection is checked live: one request and its reply through
each (pynng_core and pynng: as many requests as pipes on each dialer's
Req0, which sends them round-robin, counting the distinct pipes the replies
came through; pyzmq: one on each REQ socket).
"""
from __future__ import annotations

import gc
import math
import os
import resource
import socket
import tempfile
import time
from contextlib import ExitStack

from scale import Child, Goal, MeasureFailed, Opts, collect, fnum, goal_at_least, goal_at_most, ready

TITLE = "idle tcp connections on one listener"
BACKENDS = ("pynng_core", "pyzmq", "pynng")
ONCE = True  # takes half a minute a backend, and opens ~40,000 descriptors
FD_MARGIN = 100  # the listener's descriptors besides its connections
PER_DIALER = 8000  # a pyzmq dialer holds two descriptors per connection
MIN_DIALERS = 4
START = 0.5  # s for the listener to start, and as much again for each dialer
# s to bring them all up: SYNs dropped are sent again 1, 3, 7, 15 s later
BUDGET = 20.0
SETTLE = 0.5  # s after the last connection, before the RSS is read
POLL = 0.01  # s between the listener's counts
MOST = 0.9  # the share of the connections a second dial rate is read at
REPLY_WAIT = 5.0  # s a live connection's reply may take
PING = b"ping"
LINGER = 1.0  # s the listener waits after its last reply: it reaches the wire


def measure(backend: str, opts: Opts) -> dict[str, float]:
    hard = _nofile_hard()
    count = min(opts.connections, hard - FD_MARGIN)
    n_dialers = max(MIN_DIALERS, math.ceil(count / PER_DIALER))
    shares = [count // n_dialers + (i < count % n_dialers) for i in range(n_dialers)]
    port = _free_port()
    module = __name__.split(".")[-1]
    started = time.monotonic()
    t0 = started + START * (1 + n_dialers)
    with tempfile.TemporaryDirectory(prefix="connections-") as folder, ExitStack() as stack:
        measured_flag = os.path.join(folder, "measured")
        listener = stack.enter_context(Child(
            module, "listener", opts.pinned, backend=backend, port=port, count=count,
            t0=t0, measured_flag=measured_flag))
        listener.ready()
        dialers = [stack.enter_context(Child(
            module, "dialer", opts.pinned, backend=backend, n=n, t0=t0,
            address="tcp://127.0.0.%d:%d" % (i + 1, port), measured_flag=measured_flag))
            for i, n in enumerate(shares)]
        for d in dialers:
            d.ready()
        if time.monotonic() > t0:
            raise MeasureFailed("the dialers took more than %.0f s to start" % (t0 - started))
        # the start, the budget, the pauses, and a check of each connection
        timeout = (t0 - time.monotonic() + BUDGET + SETTLE + 2 * REPLY_WAIT
                   + count / 1000 + 30)
        got, *dialed = collect([listener] + dialers, timeout)
    first_dial = min(d["first_dial"] for d in dialed)
    up = got["connections"]
    most = got["most_up"]
    return {
        "asked": count, "target": opts.connections, "nofile_hard": hard,
        "connections": up,
        "rss_per_conn": got["rss_delta"] / up if up else float("nan"),
        "dial_rate": up / (got["last_up"] - first_dial) if up else 0.0,
        "dial_rate_most": MOST * count / (most - first_dial) if most else 0.0,
        "listener_cpu": got["cpu"] / up * 1e6 if up else float("nan"),
        "dialer_cpu": sum(d["cpu"] for d in dialed) / up * 1e6 if up else float("nan"),
        "live": sum(d["live"] for d in dialed),
        "listen_overflows": got["listen_overflows"],
        "dialers": n_dialers,
    }


def report(medians: dict[str, dict[str, float]], opts: Opts) -> tuple[list, list[Goal]]:
    def row(label: str, key: str, show=fnum) -> tuple[str, dict[str, str]]:
        return label, {b: show(m[key]) for b, m in medians.items() if key in m}

    rows = [row("connections asked", "asked", _count),
            row("connections up at the listener", "connections", _count),
            row("connections checked live (a request and its reply)", "live", _count),
            row("listener RSS per connection, bytes", "rss_per_conn"),
            row("dial and handshake, connections/s", "dial_rate"),
            row("the same until %d%% were up" % (MOST * 100), "dial_rate_most"),
            row("listener CPU per connection, us", "listener_cpu"),
            row("dialers' CPU per connection, us", "dialer_cpu"),
            row("listen queue overflows during the dials", "listen_overflows", _count),
            row("dialer processes", "dialers", _count)]
    ours = medians.get("pynng_core", {})
    up, asked = ours.get("connections"), ours.get("asked")
    at = "%s connections" % _count(up) if up else "the count reached"
    goals = [
        goal_at_most("pynng_core listener RSS per idle tcp connection, at " + at,
                     ours.get("rss_per_conn"), 1024, "B"),
        goal_at_least("pynng_core dial and handshake rate, tcp, at " + at,
                      ours.get("dial_rate"), 20000, "/s"),
    ]
    target = ours.get("target", opts.connections)
    text = "%s idle tcp connections on one listener" % _count(target)
    if asked is not None and asked < target:
        goals.append(Goal(text, None, False, "RLIMIT_NOFILE's hard limit here is %s a "
                          "process, and raising it needs CAP_SYS_RESOURCE: measured at %s"
                          % (_count(ours.get("nofile_hard")), _count(asked))))
    else:
        live = ours.get("live")
        goals.append(goal_at_least(text + ", each checked live", live, target, "connections"))
    return rows, goals


def _count(x: float | None) -> str:
    return "fail" if x is None else "{:,.0f}".format(x)


def _nofile_hard() -> int:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return hard if hard != resource.RLIM_INFINITY else 1 << 20


def _free_port() -> int:
    """A port free on every address: the listener takes 0.0.0.0."""
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


# -- the processes -----------------------------------------------------------

def _raise_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_nofile_hard(),) * 2)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.monotonic()))


def role_listener(backend: str, port: int, count: int, t0: float, measured_flag: str) -> dict:
    _raise_nofile()
    address = "tcp://0.0.0.0:%d" % port
    if backend == "pyzmq":
        import zmq
        timeout_error = zmq.Again
        s = zmq.Context.instance().socket(zmq.REP)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, int(REPLY_WAIT * 1000))
        monitor = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        s.bind(address)
        handshakes = [0]

        def connections() -> int:
            while monitor.poll(0):
                monitor.recv_multipart()
                handshakes[0] += 1
            return handshakes[0]
    else:
        lib = __import__(backend)
        timeout_error = lib.Timeout
        s = lib.Rep0(recv_timeout=int(REPLY_WAIT * 1000), send_timeout=int(REPLY_WAIT * 1000))
        s.listen(address)
        if backend == "pynng":
            def connections() -> int:
                return len(s.pipes)
        else:
            def connections() -> int:
                stats = s.stats
                return stats["pipes_opened"] - stats["pipes_closed"]
    gc.collect()
    base, overflows = _rss(), _listen_overflows()
    ready()
    cpu = time.process_time()
    up, last_up, most_up = _wait_for(connections, count, t0 + BUDGET)
    cpu = time.process_time() - cpu
    overflows = _listen_overflows() - overflows
    time.sleep(SETTLE)  # the last handshakes' buffers, freed or kept
    gc.collect()
    rss_delta = _rss() - base
    up = connections()
    open(measured_flag, "w").close()
    served = _serve(s, up, timeout_error)
    time.sleep(LINGER)
    return {"connections": up, "last_up": last_up, "most_up": most_up, "rss_delta": rss_delta,
            "served": served, "listen_overflows": overflows, "cpu": cpu}


def _listen_overflows() -> int:
    """The kernel's count of SYNs and ACKs dropped for a full accept queue."""
    with open("/proc/net/netstat") as f:
        names, values = [line.split() for line in f if line.startswith("TcpExt:")][:2]
    return int(values[names.index("ListenOverflows")])


def _wait_for(connections, count: int, deadline: float) -> tuple[int, float, float | None]:
    """Polls until ``count`` connections are up, or the deadline: how many,
    when the last came, and when MOST of ``count`` were up (None: never)."""
    up, last_up, most_up = 0, time.monotonic(), None
    while up < count and time.monotonic() < deadline:
        time.sleep(POLL)
        n = connections()
        if n != up:
            up, last_up = n, time.monotonic()
            if most_up is None and up >= MOST * count:
                most_up = last_up
    return up, last_up, most_up


def _serve(s, expected: int, timeout_error: type[Exception]) -> int:
    """Answers requests until ``expected`` are served or none comes for
    REPLY_WAIT s (the dialers are done)."""
    served = 0
    while served < expected:
        try:
            s.send(s.recv())
        except timeout_error:
            break
        served += 1
    return served


def role_dialer(backend: str, n: int, t0: float, address: str, measured_flag: str) -> dict:
    _raise_nofile()
    if backend == "pyzmq":
        import zmq
        ctx = zmq.Context.instance()
        ctx.set(zmq.MAX_SOCKETS, n + 256)
        # pyzmq's defaults for the sockets it makes
        ctx.setsockopt(zmq.LINGER, 0)
        ctx.setsockopt(zmq.SNDTIMEO, int(REPLY_WAIT * 1000))
        ready()
        _sleep_until(t0)
        first_dial, cpu = time.monotonic(), time.process_time()
        sockets = []
        for _ in range(n):
            r = ctx.socket(zmq.REQ)
            r.connect(address)
            sockets.append(r)
        _wait_measured(measured_flag, t0)
        cpu = time.process_time() - cpu
        return {"first_dial": first_dial, "cpu": cpu, "live": _check_zmq(sockets)}
    lib = __import__(backend)
    s = lib.Req0(recv_timeout=int(REPLY_WAIT * 1000), send_timeout=int(REPLY_WAIT * 1000))
    ready()
    _sleep_until(t0)
    first_dial, cpu = time.monotonic(), time.process_time()
    for _ in range(n):
        s.dial(address, block=False)
    _wait_measured(measured_flag, t0)
    cpu = time.process_time() - cpu
    return {"first_dial": first_dial, "cpu": cpu, "live": _check_pipes(s, n, lib.Timeout)}


def _wait_measured(measured_flag: str, t0: float) -> None:
    """Until the listener has read its RSS: requests would add to it."""
    deadline = t0 + BUDGET + SETTLE + 10
    while not os.path.exists(measured_flag):
        if time.monotonic() > deadline:
            raise TimeoutError("the listener did not finish counting")
        time.sleep(0.05)


def _check_pipes(s, n: int, timeout_error: type[Exception]) -> int:
    """The distinct pipes n requests' replies came through (Req0 sends
    round-robin over its pipes)."""
    pipes = set()
    for _ in range(n):
        try:
            s.send(PING)
            msg = s.recv_msg()
        except timeout_error:
            break
        pipes.add(msg.pipe_id if hasattr(msg, "pipe_id") else msg.pipe.id)
    return len(pipes)


def _check_zmq(sockets: list) -> int:
    """The REQ sockets whose request is answered: all are sent at once."""
    import zmq
    for r in sockets:
        r.send(PING)
    live, pending = 0, sockets
    deadline = time.monotonic() + REPLY_WAIT + len(sockets) / 2000
    while pending and time.monotonic() < deadline:
        waiting = []
        for r in pending:
            try:
                r.recv(zmq.NOBLOCK)
                live += 1
            except zmq.Again:
                waiting.append(r)
        pending = waiting
        if pending:
            time.sleep(0.01)
    return live

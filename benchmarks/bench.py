"""pynng_core vs pynng vs pyzmq (and raw sockets): one run, one table.

One command measures, interleaved and in the same run, for the backends
``pynng_core``, ``pynng`` and ``pyzmq`` (each skipped cleanly when it cannot
be imported) plus a plain-Python-socket "raw limit" where it means something:

1. **req/rep round trip** of a 64-byte message, p50 and p99 in microseconds,
   over tcp, ipc, inproc, ws, tls (tls+tcp://) and wss (ws, tls and wss:
   pynng_core and pynng only, as pyzmq has none of them).  Raw limit: a
   blocking Python socket ping-pong (tcp, and AF_UNIX for ipc) with a
   4-byte length prefix.
2. **push/pull throughput** measured at the receiver over a fixed window:
   msg/s for 64 B and 1 KiB, MB/s (10^6 bytes/s) for 64 KiB and 1 MiB, over
   tcp, ipc, inproc and ws; tls and wss at 64 KiB and 1 MiB only (the TLS
   rows are about the engine's bulk cost; the small sizes measure the same
   per-message path as tcp and ws).  Raw limit: a ``sendall`` loop of length-prefixed
   frames read back (and copied out as ``bytes``) by a buffered reader.
   For 64 B and 1 KiB, a ``pynng_core-batch`` column measures pynng_core's
   batch API too: ``send_many`` of 64 messages, ``recv_many`` at the
   receiver.  For 64 KiB and 1 MiB, a ``pynng_core-recv_msg`` column
   measures its zero-copy receive: ``recv_msg`` at the receiver, which
   returns the core's buffer instead of copying it into ``bytes`` (as the
   raw loop's large frames are read straight into the ``bytearray`` it
   returns).  The goals are judged for each API, on separate lines.
3. **pub/sub 1 -> 4** delivered messages per second (sum over subscribers,
   64-byte messages, tcp), the 4 subscribers as 4 threads of one process and
   as 4 processes.
4. **memory**: listener-process RSS per idle connection (``--connections``
   connections, default 2000, from one client process to one listener in
   another), and whether every one is then served (one request/reply through
   each; for pynng/pynng_core the listener counts distinct pipes).  ``--big``
   adds the 10,000-connection test.  RLIMIT_NOFILE is raised to its hard
   limit; if that is too low the table says so.
5. **at scale** (``--big``; ``--scale`` picks some): the figures of the
   ``scale`` package, one module each, measured in the same rounds
   (instructions and connections in the first only): async push/pull,
   a req/rep server with 64 clients, pub/sub to 64 subscribers, req/rep
   tail latency beside a stream, instructions per message (callgrind),
   idle connections on one listener.  Their goals are judged with the rest.

How it is measured:

* Peers are separate processes started with multiprocessing's "spawn"
  method (pynng is not fork-safe), except inproc, which needs both ends in one
  process (two threads; pyzmq's sockets share one Context).  The worker
  processes are kept for the whole run, one set per backend, so each imports
  only its own library and process start-up stays out of the figures; the
  memory test uses fresh processes.  A worker that fails or does not answer
  in time is killed (and respawned for the next measurement): a hung peer
  cannot hang the harness.
* Every process is pinned to CPU 0 (``os.sched_setaffinity``, before the
  library is imported so its threads inherit it); ``--no-pin`` disables
  this, ``--unpin-bandwidth`` runs only the 64 KiB and 1 MiB push/pull tests
  unpinned (the table then says so).
* tls and wss use one self-signed certificate (ECDSA P-256, made once per
  run with ``cryptography``, as tests/tls_roundtrip.py makes it), handed to
  the workers in the environment; clients check it with server name
  ``localhost``, for pynng and pynng_core alike.  TLS 1.3 is what both
  negotiate.
* pyzmq is used through its copying ``bytes`` API (``send``/``recv`` with
  ``copy=True``), REQ/REP, PUSH/PULL, PUB/SUB, LINGER 0, default HWMs.
  pynng and pynng_core sockets get ``recv_max_size=0``.
* Warm-up before every timed section: round trips for req/rep, a time
  window for the streaming tests (the sender starts, the receiver counts only
  messages arriving inside [t0, t0 + duration), then drains up to the
  sender's end marker, a 1-byte message).
* Interleaving: each round (``--rounds``, default 5) runs every
  (test, transport, size) for every backend in turn (the backend order
  rotates between rounds); the table shows the median over rounds.  Five
  by default: loopback tcp throughput jumps between two levels from one
  measurement to the next (the kernel's, raw sockets' too), and a median
  of three still lands on either.

The goals of the issue are then checked on this run's medians and printed
as MET / NOT MET lines with the measured ratio.

Usage::

    python benchmarks/bench.py                       # everything, 5 rounds, ~4.5 min
    python benchmarks/bench.py --quick               # 1 round, shorter windows
    python benchmarks/bench.py --tests reqrep,pushpull --transports tcp,ipc
    python benchmarks/bench.py --backends pynng_core,pyzmq --md results.md
    python benchmarks/bench.py --tests memory --connections 5000 --big
    python benchmarks/bench.py --tests reqrep --transports tcp --big --scale fanout
    python benchmarks/bench.py --no-pin              # let the scheduler place peers
    python benchmarks/bench.py --unpin-bandwidth     # 64 KiB / 1 MiB unpinned
    python benchmarks/bench.py --baseline ../old     # and a pynng_core built in ../old
    python benchmarks/bench.py --quick --plot bench.png  # and a chart of the figures

``--plot FILE`` draws the run's medians into a PNG (matplotlib, Agg
backend): req/rep latency, small-message and large-message push/pull, and
pub/sub, one bar per backend, on a log scale so that pynng's figures and
pynng_core's fit on one axis.

``--baseline DIR`` adds a backend ``pynng_core-baseline``: pynng_core
imported from DIR (a checkout with its extension built in place, e.g. by
``python setup.py build_ext --inplace``, with setuptools 77 or later as
pyproject.toml's license field needs), measured in the same interleaved
run, and a last table of every figure as a ratio to it: how a change moved
the numbers, free of the noise between two runs.

Exit status: 0 whatever the goals say (the verdict is printed), 1 if a
measurement failed.
"""

import argparse
import gc
import multiprocessing as mp
import os
import platform
import shutil
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
import traceback

import scale
from baseline import package_parent
from scale import fnum

BACKENDS = ["pynng_core", "pynng", "pyzmq"]
RAW = "raw"
# pynng_core from another tree (--baseline), for before/after in one run.
BASELINE = "pynng_core-baseline"
BASELINE_ENV = "PNC_BENCH_BASELINE"
# Other APIs of pynng_core in the push/pull tests, each a column of its own
# beside the per-message figures, at the sizes it is for: the batch API
# (send_many / recv_many) for small messages, whose cost is the call, and
# the zero-copy receive (recv_msg) for large ones, whose cost is the copy.
BATCH = "pynng_core-batch"
BATCH_SIZE = 64
ZERO_COPY = "pynng_core-recv_msg"
VARIANTS = {
    BATCH: dict(sizes=(64, 1024), api="send_many/recv_many",
                about="send_many of %d messages, recv_many at the receiver" % BATCH_SIZE),
    ZERO_COPY: dict(sizes=(64 << 10, 1 << 20), api="recv_msg",
                    about="send, and recv_msg (the core's buffer, no copy) at the receiver"),
}
ALL_TESTS = ["reqrep", "pushpull", "pubsub", "memory"]
ALL_TRANSPORTS = ["tcp", "ipc", "inproc", "ws", "tls", "wss"]
# Transports only pynng_core and pynng speak: ws:// (RFC 6455, the SP
# mapping), tls+tcp:// and wss://; pyzmq has none of them and the raw loop
# neither WebSocket framing nor TLS.
SP_ONLY = {"ws", "tls", "wss"}
NOT_SP = {"pyzmq", "raw"}
SECURE = {"tls", "wss"}  # push/pull at BW_SIZES only (see the docstring)
# The run's certificate and key (PEM), for the workers (spawned: they
# inherit the environment).
TLS_CERT_ENV, TLS_KEY_ENV = "PNC_BENCH_TLS_CERT", "PNC_BENCH_TLS_KEY"


def speaks(backend, transport):
    return transport not in SP_ONLY or backend not in NOT_SP
PP_SIZES = [64, 1024, 65536, 1 << 20]
BW_SIZES = {65536, 1 << 20}  # reported in MB/s
SIZE_LABEL = {64: "64 B", 1024: "1 KiB", 65536: "64 KiB", 1 << 20: "1 MiB"}
SOCK_TIMEOUT_MS = 10000
HDR = struct.Struct("<I")
# End/stop marker: one byte (pynng cannot receive an empty message); every
# payload here is at least 64 bytes.
MARK = b"!"
KIB = 1024


# ==========================================================================
# worker side: helpers


def pin(enabled):
    if enabled and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})


def import_backend(name):
    if name == BASELINE:
        tree = os.environ[BASELINE_ENV]
        if tree not in sys.path:
            sys.path.insert(0, tree)
    if name in ("pynng_core", BASELINE) or name in VARIANTS:
        import pynng_core
        if name == BASELINE and not pynng_core.__file__.startswith(tree):
            raise ImportError("pynng_core came from %s, not the baseline %s"
                              % (pynng_core.__file__, tree))
        return pynng_core
    if name == "pynng":
        import pynng
        return pynng
    if name == "pyzmq":
        import zmq
        return zmq
    return None


def backend_version(name):
    if name == RAW:
        return "Python " + platform.python_version()
    lib = import_backend(name)
    if name == "pyzmq":
        return "pyzmq %s (libzmq %s)" % (lib.pyzmq_version(), lib.zmq_version())
    if name in VARIANTS:
        return "%s = %s" % (name, VARIANTS[name]["about"])
    if name == BASELINE:
        return "%s = pynng_core from %s" % (name, os.environ[BASELINE_ENV])
    return "%s %s" % (name, getattr(lib, "__version__", "?"))


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fd_count():
    return len(os.listdir("/proc/self/fd"))


def raise_nofile():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    for want in (target, 1 << 20, 65536, 32768):
        if want <= soft:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_sock(backend, kind, url=None, listen=False, timeout_ms=SOCK_TIMEOUT_MS):
    """A socket of `kind` (req, rep, push, pull, pub, sub) listening on or
    dialed to `url`, with send/recv/close usable as s.send(b), s.recv()."""
    if backend == "pyzmq":
        import zmq
        ctx = zmq.Context.instance()
        s = ctx.socket({"req": zmq.REQ, "rep": zmq.REP, "push": zmq.PUSH,
                        "pull": zmq.PULL, "pub": zmq.PUB, "sub": zmq.SUB}[kind])
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, timeout_ms)
        s.setsockopt(zmq.SNDTIMEO, timeout_ms)
        if kind == "sub":
            s.setsockopt(zmq.SUBSCRIBE, b"")
        if url:
            if listen:
                s.bind(url)
            else:
                s.connect(url)
        return s
    lib = import_backend(backend)
    cls = {"req": lib.Req0, "rep": lib.Rep0, "push": lib.Push0, "pull": lib.Pull0,
           "pub": lib.Pub0, "sub": lib.Sub0}[kind]
    kw = {}
    if url and url.startswith(("tls+tcp://", "wss://")):
        kw["tls_config"] = tls_config(lib, listen)
    s = cls(recv_timeout=timeout_ms, send_timeout=timeout_ms, recv_max_size=0, **kw)
    if kind == "sub":
        s.subscribe(b"")
    if url:
        if listen:
            s.listen(url)
        else:
            s.dial(url, block=True)
    return s


def tls_config(lib, server):
    """pynng's TLSConfig (or pynng_core's, the same API) for the run's certificate."""
    cert, key = os.environ[TLS_CERT_ENV], os.environ[TLS_KEY_ENV]
    if server:
        return lib.TLSConfig(lib.TLSConfig.MODE_SERVER, own_cert_string=cert,
                             own_key_string=key)
    return lib.TLSConfig(lib.TLSConfig.MODE_CLIENT, server_name="localhost", ca_string=cert)


def make_certificate():
    """The run's self-signed certificate, into the environment the workers inherit."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                    "tests"))
    from tls_roundtrip import self_signed
    os.environ[TLS_CERT_ENV], os.environ[TLS_KEY_ENV] = self_signed()


def close_sock(s):
    try:
        s.close()
    except Exception:
        pass


class Thread:
    """A thread whose result (or exception) join() hands back."""

    def __init__(self, fn, *args):
        self.result = self.exc = None
        self.t = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self.t.start()

    def _run(self, fn, args):
        try:
            self.result = fn(*args)
        except BaseException as exc:  # noqa: B902
            self.exc = exc

    def join(self, timeout=None):
        self.t.join(timeout)
        if self.t.is_alive():
            raise RuntimeError("thread did not finish")
        if self.exc is not None:
            raise self.exc
        return self.result


# -- raw sockets ------------------------------------------------------------


class FrameReader:
    """Length-prefixed frames from a stream socket, through one big buffer."""

    def __init__(self, sock, bufsize=1 << 18):
        self.sock = sock
        self.buf = bytearray(bufsize)
        self.mv = memoryview(self.buf)
        self.start = self.end = 0

    def _fill(self):
        if self.start == self.end:
            self.start = self.end = 0
        elif self.end == len(self.buf):
            n = self.end - self.start
            self.buf[:n] = self.mv[self.start:self.end]
            self.start, self.end = 0, n
        r = self.sock.recv_into(self.mv[self.end:])
        if not r:
            raise EOFError("peer closed")
        self.end += r

    def read(self):
        while self.end - self.start < 4:
            self._fill()
        n = HDR.unpack_from(self.buf, self.start)[0]
        self.start += 4
        avail = self.end - self.start
        if avail >= n:
            out = bytes(self.mv[self.start:self.start + n])
            self.start += n
            return out
        out = bytearray(n)
        out[:avail] = self.mv[self.start:self.end]
        self.start = self.end = 0
        view = memoryview(out)
        got = avail
        while got < n:
            r = self.sock.recv_into(view[got:])
            if not r:
                raise EOFError("peer closed")
            got += r
        return out


def raw_listen(transport, workdir):
    if transport == "ipc":
        path = os.path.join(workdir, "raw-%d-%d" % (os.getpid(), time.monotonic_ns()))
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
        addr = path
    else:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind(("127.0.0.1", 0))
        addr = ls.getsockname()
    ls.listen(8)
    ls.settimeout(SOCK_TIMEOUT_MS / 1000)
    return ls, addr


def raw_accept(ls):
    conn, _ = ls.accept()
    conn.settimeout(None)
    if conn.family == socket.AF_INET:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ls.close()
    return conn


def raw_connect(transport, addr):
    if transport == "ipc":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr)
    else:
        s = socket.create_connection(tuple(addr), timeout=SOCK_TIMEOUT_MS / 1000)
        s.settimeout(None)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


# ==========================================================================
# worker side: measurement loops (shared by the process and thread forms)


def summarize_rtt(times):
    times.sort()
    n = len(times)
    return {"p50": times[n // 2] / 1000.0, "p99": times[min(n - 1, int(n * 0.99))] / 1000.0,
            "mean": sum(times) / n / 1000.0}


def rr_client_loop(send, recv, size, warmup, n):
    payload = b"x" * size
    for _ in range(warmup):
        send(payload)
        recv()
    clock = time.perf_counter_ns
    times = [0] * n
    for i in range(n):
        t0 = clock()
        send(payload)
        recv()
        times[i] = clock() - t0
    send(MARK)  # stop marker, echoed
    recv()
    return summarize_rtt(times)


def rr_server_loop(send, recv):
    while True:
        m = recv()
        send(m)
        if len(m) == 1:
            return


def pp_send_loop(send, size, t_stop, marker=MARK):
    msg = b"x" * size
    clock = time.monotonic
    n = 0
    batch = range(16)
    while clock() < t_stop:
        for _ in batch:
            send(msg)
        n += 16
    send(marker)
    return n


def pp_send_many_loop(send_many, send, size, t_stop, marker=MARK):
    batch = [b"x" * size] * BATCH_SIZE
    clock = time.monotonic
    n = 0
    while clock() < t_stop:
        send_many(batch)
        n += BATCH_SIZE
    send(marker)
    return n


def pp_recv_many_loop(recv_many, t0, t1):
    """pp_recv_loop for batches (the end marker is always a batch's last)."""
    clock = time.monotonic
    while True:
        got = recv_many()
        if len(got[-1]) == 1:
            raise RuntimeError("end marker before the window opened")
        if clock() >= t0:
            break
    count, nbytes = len(got), sum(map(len, got))
    while True:
        got = recv_many()
        if clock() >= t1:
            break
        count += len(got)
        nbytes += sum(map(len, got))
    while len(got[-1]) != 1:
        got = recv_many()
    return count, nbytes


def pp_sender(s, backend, size, t_stop):
    if backend == BATCH:
        return pp_send_many_loop(s.send_many, s.send, size, t_stop)
    return pp_send_loop(s.send, size, t_stop)


def pp_receiver(s, backend, t0, t1):
    if backend == BATCH:
        return pp_recv_many_loop(s.recv_many, t0, t1)
    return pp_recv_loop(s.recv_msg if backend == ZERO_COPY else s.recv, t0, t1)


def pp_recv_loop(recv, t0, t1):
    clock = time.monotonic
    while True:  # warm-up: discard until t0
        m = recv()
        if len(m) == 1:
            raise RuntimeError("end marker before the window opened")
        if clock() >= t0:
            break
    count, nbytes = 1, len(m)
    while True:
        m = recv()
        if clock() >= t1:
            break
        count += 1
        nbytes += len(m)
    while len(m) != 1:  # drain to the end marker
        m = recv()
    return count, nbytes


def ps_sub_loop(recv, t0, t1):
    clock = time.monotonic
    count = 0
    try:
        while True:
            recv()
            now = clock()
            if now >= t1:
                break
            if now >= t0:
                count += 1
    except Exception:
        if clock() < t1:
            raise
    return count


# ==========================================================================
# worker side: jobs.  Each takes a Ctl (to talk to the orchestrator) and
# keyword arguments, and returns a picklable result.


class Ctl:
    def __init__(self, conn):
        self.conn = conn

    def notify(self, obj):
        self.conn.send(("msg", obj))

    def wait(self):
        return self.conn.recv()


def job_hello(ctl, backend):
    return backend_version(backend)


# -- req/rep

def job_rr_server(ctl, backend, url, transport, workdir):
    if backend == RAW:
        ls, addr = raw_listen(transport, workdir)
        ctl.notify(addr)
        conn = raw_accept(ls)
        reader = FrameReader(conn)
        try:
            while True:
                m = reader.read()
                conn.sendall(HDR.pack(len(m)) + m)
                if len(m) == 1:
                    return True
        finally:
            conn.close()
    s = open_sock(backend, "rep", url, listen=True)
    try:
        ctl.notify(url)
        rr_server_loop(s.send, s.recv)
        return True
    finally:
        close_sock(s)


def job_rr_client(ctl, backend, addr, transport, size, warmup, n):
    if backend == RAW:
        conn = raw_connect(transport, addr)
        try:
            reader = FrameReader(conn)
            frames = {}

            def send(payload):
                f = frames.get(payload)
                if f is None:
                    f = frames[payload] = HDR.pack(len(payload)) + payload
                conn.sendall(f)
            return rr_client_loop(send, reader.read, size, warmup, n)
        finally:
            conn.close()
    s = open_sock(backend, "req", addr)
    try:
        return rr_client_loop(s.send, s.recv, size, warmup, n)
    finally:
        close_sock(s)


def job_rr_inproc(ctl, backend, url, size, warmup, n):
    srv = open_sock(backend, "rep", url, listen=True)
    cli = open_sock(backend, "req", url)
    try:
        th = Thread(rr_server_loop, srv.send, srv.recv)
        res = rr_client_loop(cli.send, cli.recv, size, warmup, n)
        th.join(10)
        return res
    finally:
        close_sock(cli)
        close_sock(srv)


# -- push/pull

def job_pp_recv(ctl, backend, url, transport, workdir):
    if backend == RAW:
        ls, addr = raw_listen(transport, workdir)
        ctl.notify(addr)
        conn = raw_accept(ls)
        try:
            _, t0, t1 = ctl.wait()
            return pp_recv_loop(FrameReader(conn).read, t0, t1)
        finally:
            conn.close()
    s = open_sock(backend, "pull", url, listen=True)
    try:
        ctl.notify(url)
        _, t0, t1 = ctl.wait()
        return pp_receiver(s, backend, t0, t1)
    finally:
        close_sock(s)


def job_pp_send(ctl, backend, addr, transport, size, tail):
    if backend == RAW:
        conn = raw_connect(transport, addr)
        try:
            ctl.notify("ready")
            _, t0, t1 = ctl.wait()
            frame = HDR.pack(size) + b"x" * size
            msg_send = conn.sendall
            n = 0
            clock = time.monotonic
            t_stop = t1 + tail
            while clock() < t_stop:
                for _ in range(16):
                    msg_send(frame)
                n += 16
            msg_send(HDR.pack(1) + MARK)
            ctl.wait()  # "done": the receiver has everything
            return n
        finally:
            conn.close()
    s = open_sock(backend, "push", addr)
    try:
        ctl.notify("ready")
        _, t0, t1 = ctl.wait()
        n = pp_sender(s, backend, size, t1 + tail)
        ctl.wait()  # "done": closing earlier could drop queued messages
        return n
    finally:
        close_sock(s)


def job_pp_inproc(ctl, backend, url, size, warmup, duration, tail):
    rx = open_sock(backend, "pull", url, listen=True)
    tx = open_sock(backend, "push", url)
    try:
        t0 = time.monotonic() + warmup
        t1 = t0 + duration
        th = Thread(pp_sender, tx, backend, size, t1 + tail)
        res = pp_receiver(rx, backend, t0, t1)
        th.join(10)
        return res
    finally:
        close_sock(tx)
        close_sock(rx)


# -- pub/sub

def job_ps_pub(ctl, backend, url, size, tail):
    s = open_sock(backend, "pub", url, listen=True)
    try:
        ctl.notify(url)
        _, t0, t1 = ctl.wait()
        msg = b"x" * size
        send = s.send
        clock = time.monotonic
        t_stop = t1 + tail
        n = 0
        while clock() < t_stop:
            for _ in range(16):
                send(msg)
            n += 16
        ctl.wait()  # "done"
        return n
    finally:
        close_sock(s)


def job_ps_subs(ctl, backend, url, nthreads):
    socks = []
    try:
        for _ in range(nthreads):
            socks.append(open_sock(backend, "sub", url, timeout_ms=3000))
        ctl.notify("ready")
        _, t0, t1 = ctl.wait()
        if nthreads == 1:
            return ps_sub_loop(socks[0].recv, t0, t1)
        ths = [Thread(ps_sub_loop, s.recv, t0, t1) for s in socks]
        return sum(th.join(30) for th in ths)
    finally:
        for s in socks:
            close_sock(s)


# -- memory

def job_mem_listener(ctl, backend, url, n):
    nofile = raise_nofile()
    s = open_sock(backend, "rep", url, listen=True, timeout_ms=30000)
    try:
        gc.collect()
        time.sleep(0.2)
        base_rss, base_fd = rss_bytes(), fd_count()
        ctl.notify({"nofile": nofile})
        _, expected = ctl.wait()  # the client has dialed `expected`
        # wait for the accepts: until all are in, or no progress for 3 s
        deadline = time.monotonic() + 60
        last, last_change = fd_count(), time.monotonic()
        while last < base_fd + expected and time.monotonic() < deadline:
            time.sleep(0.05)
            now_fd = fd_count()
            if now_fd != last:
                last, last_change = now_fd, time.monotonic()
            elif time.monotonic() - last_change > 3:
                break
        time.sleep(0.5)  # let the last handshakes settle
        gc.collect()
        accepted = fd_count() - base_fd
        rss_delta = rss_bytes() - base_rss
        ctl.notify({"accepted": accepted, "rss_delta": rss_delta})
        pipes = set()
        served = 0
        if backend == "pyzmq":
            import zmq
            s.setsockopt(zmq.RCVTIMEO, 8000)
        else:
            s.recv_timeout = 8000
        try:
            while True:
                if backend == "pyzmq":
                    m = s.recv()
                else:
                    msg = s.recv_msg()
                    pid = getattr(msg, "pipe_id", None)
                    pipes.add(pid if pid is not None else msg.pipe.id)
                    m = msg.bytes
                s.send(m)
                if m == b"stop":
                    break
                served += 1
        except Exception:
            pass  # the client gave up (its error is reported)
        ctl.wait()  # "done"
        return {"served": served, "pipes": len(pipes) if backend != "pyzmq" else None}
    finally:
        close_sock(s)


def job_mem_client(ctl, backend, url, n):
    """pynng/pynng_core: one Req0 socket with n dialers (n pipes).  pyzmq
    connects a socket only once to an endpoint, so it gets n REQ sockets."""
    nofile = raise_nofile()
    if backend == "pyzmq":
        import zmq
        zmq.Context.instance().set(zmq.MAX_SOCKETS, n + 256)
        socks = []
    else:
        socks = [open_sock(backend, "req", None, timeout_ms=5000)]
    try:
        dialed, err = 0, None
        t = time.monotonic()
        for _ in range(n):
            try:
                if backend == "pyzmq":
                    socks.append(open_sock(backend, "req", url, timeout_ms=5000))
                else:
                    socks[0].dial(url, block=True)
                dialed += 1
            except Exception as exc:
                err = "%s: %s" % (type(exc).__name__, exc)
                break
        ctl.notify({"dialed": dialed, "error": err, "nofile": nofile,
                    "dial_s": time.monotonic() - t})
        ctl.wait()  # "serve"
        ok, err2 = 0, None
        for i in range(dialed):
            s = socks[i % len(socks)]
            try:
                s.send(b"ping")
                s.recv()
                ok += 1
            except Exception as exc:
                err2 = "%s: %s" % (type(exc).__name__, exc)
                break
        if err2 is None and socks:
            socks[0].send(b"stop")
            socks[0].recv()
        return {"ok": ok, "error": err2}
    finally:
        for s in socks:
            close_sock(s)


JOBS = {name[4:]: fn for name, fn in globals().items() if name.startswith("job_")}


def worker_main(conn, pinned):
    pin(pinned)
    ctl = Ctl(conn)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        name, kw = msg
        try:
            res = JOBS[name](ctl, **kw)
            conn.send(("result", res))
        except BaseException as exc:  # noqa: B902
            try:
                conn.send(("error", "%s: %s\n%s" % (type(exc).__name__, exc,
                                                    traceback.format_exc())))
            except Exception:
                return
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                return


# ==========================================================================
# orchestrator


class JobFailed(Exception):
    pass


class Worker:
    def __init__(self, backend, pinned):
        self.backend, self.pinned = backend, pinned
        self.proc = self.conn = None

    def ensure(self):
        if self.proc is not None and self.proc.is_alive():
            return
        self.kill()
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker_main, args=(child, self.pinned), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent
        self.start("hello", backend=self.backend)
        self.version = self.expect(60)

    def start(self, job, **kw):
        if job != "hello":
            self.ensure()
        self.conn.send((job, kw))

    def send(self, obj):
        self.conn.send(obj)

    def expect(self, timeout):
        if not self.conn.poll(timeout):
            raise JobFailed("%s worker: no answer within %.0f s" % (self.backend, timeout))
        try:
            kind, val = self.conn.recv()
        except EOFError:
            raise JobFailed("%s worker died" % self.backend)
        if kind == "error":
            raise JobFailed("%s worker: %s" % (self.backend, val))
        return val

    def kill(self):
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(5)
        if self.conn is not None:
            self.conn.close()
        self.proc = self.conn = None

    def stop(self):
        if self.proc is not None and self.proc.is_alive():
            try:
                self.conn.send(None)
            except Exception:
                pass
            self.proc.join(2)
        self.kill()


class Pools:
    def __init__(self):
        self.workers = {}

    def get(self, backend, i, pinned):
        ws = self.workers.setdefault((backend, pinned), [])
        while len(ws) <= i:
            ws.append(Worker(backend, pinned))
        ws[i].ensure()
        return ws[i]

    def shutdown(self):
        for ws in self.workers.values():
            for w in ws:
                w.stop()


class Involved:
    """Kill every worker of a measurement if the measurement fails."""

    def __init__(self, *workers):
        self.workers = list(workers)

    def add(self, w):
        self.workers.append(w)
        return w

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is not None:
            for w in self.workers:
                w.kill()
        return False


class Urls:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pncb-")
        self.n = 0

    def next(self, transport):
        self.n += 1
        if transport == "ipc":
            return "ipc://%s/s%d" % (self.dir, self.n)
        if transport == "inproc":
            return "inproc://pncb-%d-%d" % (os.getpid(), self.n)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if transport in ("ws", "wss"):
            return "%s://127.0.0.1:%d/b%d" % (transport, port, self.n)
        if transport == "tls":
            return "tls+tcp://127.0.0.1:%d" % port
        return "tcp://127.0.0.1:%d" % port

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# -- one measurement each; they return a dict or raise

def m_reqrep(pools, urls, backend, transport, args, pinned):
    kw = dict(size=64, warmup=args.rr_warmup, n=args.rr_n)
    if transport == "inproc":
        w = pools.get(backend, 0, pinned)
        with Involved(w):
            w.start("rr_inproc", backend=backend, url=urls.next(transport), **kw)
            return w.expect(60)
    srv, cli = pools.get(backend, 0, pinned), pools.get(backend, 1, pinned)
    with Involved(srv, cli):
        srv.start("rr_server", backend=backend, url=urls.next(transport),
                  transport=transport, workdir=urls.dir)
        addr = srv.expect(30)
        cli.start("rr_client", backend=backend, addr=addr, transport=transport, **kw)
        res = cli.expect(60)
        srv.expect(15)
        return res


def m_pushpull(pools, urls, backend, transport, size, args, pinned):
    dur = args.duration
    if transport == "inproc":
        w = pools.get(backend, 0, pinned)
        with Involved(w):
            w.start("pp_inproc", backend=backend, url=urls.next(transport), size=size,
                    warmup=args.warmup, duration=dur, tail=args.tail)
            count, nbytes = w.expect(args.warmup + dur + 30)
    else:
        rx, tx = pools.get(backend, 0, pinned), pools.get(backend, 1, pinned)
        with Involved(rx, tx):
            rx.start("pp_recv", backend=backend, url=urls.next(transport),
                     transport=transport, workdir=urls.dir)
            addr = rx.expect(30)
            tx.start("pp_send", backend=backend, addr=addr, transport=transport,
                     size=size, tail=args.tail)
            tx.expect(30)
            t0 = time.monotonic() + args.warmup
            t1 = t0 + dur
            rx.send(("go", t0, t1))
            tx.send(("go", t0, t1))
            count, nbytes = rx.expect(args.warmup + dur + 30)
            tx.send(("done",))
            tx.expect(15)
    return {"msgs": count / dur, "mbps": nbytes / dur / 1e6}


def m_pubsub(pools, urls, backend, mode, args, pinned):
    url = urls.next("tcp")
    pub = pools.get(backend, 0, pinned)
    if mode == "threads":
        subs = [pools.get(backend, 1, pinned)]
        nthreads = 4
    else:
        subs = [pools.get(backend, 1 + i, pinned) for i in range(4)]
        nthreads = 1
    with Involved(pub, *subs):
        pub.start("ps_pub", backend=backend, url=url, size=64, tail=args.tail + 0.15)
        pub.expect(30)
        for s in subs:
            s.start("ps_subs", backend=backend, url=url, nthreads=nthreads)
        for s in subs:
            s.expect(30)
        t0 = time.monotonic() + args.warmup + 0.1
        t1 = t0 + args.duration
        for w in [pub] + subs:
            w.send(("go", t0, t1))
        total = sum(s.expect(args.warmup + args.duration + 40) for s in subs)
        pub.send(("done",))
        sent = pub.expect(15)
    return {"delivered": total / args.duration, "sent": sent}


def m_memory(urls, backend, n, pinned):
    lis, cli = Worker(backend, pinned), Worker(backend, pinned)
    try:
        lis.ensure()
        cli.ensure()
        url = urls.next("tcp")
        lis.start("mem_listener", backend=backend, url=url, n=n)
        linfo = lis.expect(30)
        cli.start("mem_client", backend=backend, url=url, n=n)
        cinfo = cli.expect(120 + n / 100.0)
        lis.send(("dialed", cinfo["dialed"]))
        meas = lis.expect(90)
        cli.send(("serve",))
        served_c = cli.expect(60 + n / 200.0)
        lis.send(("done",))
        served_l = lis.expect(30)
    finally:
        lis.kill()
        cli.kill()
    accepted = meas["accepted"]
    res = {
        "n": n, "dialed": cinfo["dialed"], "accepted": accepted,
        "dial_error": cinfo["error"], "nofile": min(linfo["nofile"], cinfo["nofile"]),
        "rss_per_conn": meas["rss_delta"] / accepted if accepted > 0 else float("nan"),
        "rtt_ok": served_c["ok"], "rtt_error": served_c["error"],
        "pipes": served_l["pipes"],
    }
    res["served"] = (cinfo["dialed"] == n and accepted >= n and served_c["ok"] == n
                     and (served_l["pipes"] is None or served_l["pipes"] == n))
    return res


# ==========================================================================
# tables and goals


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def fratio(r):
    return "-" if r is None else "%.2fx" % r


def rotate(seq, k):
    if not seq:
        return seq
    k %= len(seq)
    return seq[k:] + seq[:k]


def chart_panels(rr, pp, ps, transports, cols, variants, get):
    """The run's medians as chart panels: (title, {group: {backend: value}})."""
    panels = []
    if rr:
        panels.append(("req/rep 64 B round trip p50, us (lower is better)",
                       {tr: {b: get(rr, tr, b, "p50") for b in cols} for tr in transports
                        if tr in rr}))
    for sizes, unit, field in (((64, 1024), "msg/s", "msgs"),
                               (sorted(BW_SIZES), "MB/s", "mbps")):
        groups = {"%s %s" % (SIZE_LABEL[size], tr): {b: get(pp, (tr, size), b, field)
                                                     for b in cols + variants}
                  for tr in transports for size in sizes if (tr, size) in pp}
        if groups:
            panels.append(("push/pull %s (higher is better)" % unit, groups))
    if ps:
        panels.append(("pub/sub 1 -> 4 subscribers, 64 B, tcp: delivered msg/s (higher is "
                       "better)", {"4 %s" % mode: {b: get(ps, mode, b, "delivered")
                                                  for b in cols} for mode in ps}))
    return panels


def compact(value):
    """3 significant digits with k / M / G: the label of a bar or a tick."""
    for unit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= unit:
            return "%.3g%s" % (value / unit, suffix)
    return "%.3g" % value


def draw_chart(path, title, panels):
    """Grouped bars, one panel per figure kind, one colour per backend.

    Each group holds the bars of the backends measured there, centred on
    its tick, each labelled with its value; the y axes are logarithmic.
    """
    import matplotlib
    matplotlib.use("Agg")  # no display: render straight to the file
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, NullFormatter

    backends = []
    for _, groups in panels:
        for values in groups.values():
            backends += [b for b, v in values.items() if v is not None and b not in backends]
    colors = dict(zip(backends, plt.get_cmap("tab10").colors))
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 3.3 * len(panels)), squeeze=False)
    for ax, (panel_title, groups) in zip(axes[:, 0], panels):
        for g, values in enumerate(groups.values()):
            present = [b for b in backends if values.get(b) is not None]
            width = 0.8 / max(len(present), 1)
            for i, backend in enumerate(present):
                x = g - 0.4 + width * (i + 0.5)
                ax.bar(x, values[backend], width, color=colors[backend])
                ax.text(x, values[backend], compact(values[backend]), ha="center",
                        va="bottom", fontsize=6)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(list(groups), fontsize=8)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: compact(v)))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.margins(y=0.15)
        ax.set_title(panel_title, fontsize=10)
        ax.grid(axis="y", which="major", alpha=0.3)
    fig.legend(handles=[Patch(color=colors[b], label=b) for b in backends],
               loc="upper center", ncol=len(backends), fontsize=8,
               bbox_to_anchor=(0.5, 0.975), frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.965))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5)")
    ap.add_argument("--baseline", metavar="DIR",
                    help="also measure pynng_core imported from DIR (built in place) "
                         "and show every figure as a ratio to it")
    ap.add_argument("--quick", action="store_true",
                    help="1 round, shorter windows, fewer round trips, 500 connections")
    ap.add_argument("--tests", default=",".join(ALL_TESTS),
                    help="comma list of: " + ",".join(ALL_TESTS))
    ap.add_argument("--transports", default=",".join(ALL_TRANSPORTS),
                    help="comma list of: tcp,ipc,inproc,ws,tls,wss (pub/sub and memory are "
                         "tcp only; ws, tls (tls+tcp://) and wss: pynng_core and pynng "
                         "only; tls and wss push/pull at 64 KiB and 1 MiB only)")
    ap.add_argument("--backends", default=",".join(BACKENDS),
                    help="comma list of: " + ",".join(BACKENDS) + " (raw limits always run)")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw-socket limits")
    ap.add_argument("--md", metavar="FILE", help="also write the table (markdown) to FILE")
    ap.add_argument("--plot", metavar="FILE",
                    help="also draw the figures (medians) as a PNG chart (needs matplotlib)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin to CPU 0")
    ap.add_argument("--unpin-bandwidth", action="store_true",
                    help="run the 64 KiB and 1 MiB push/pull tests unpinned")
    ap.add_argument("--duration", type=float, default=None,
                    help="streaming window in seconds (default 0.5; --quick 0.25)")
    ap.add_argument("--warmup", type=float, default=None,
                    help="streaming warm-up in seconds (default 0.2; --quick 0.1)")
    ap.add_argument("--rr-n", type=int, default=None,
                    help="timed round trips per req/rep measurement (default 5000)")
    ap.add_argument("--rr-warmup", type=int, default=500)
    ap.add_argument("--connections", type=int, default=None,
                    help="idle connections for the RSS test (default 2000; --quick 500)")
    ap.add_argument("--big", action="store_true",
                    help="also the figures at scale (benchmarks/scale/: async streams, a "
                         "server with 64 clients, fan-out to 64, tail latency under load, "
                         "instructions per message, 100,000 connections) and "
                         "--big-connections concurrent connections")
    ap.add_argument("--scale", metavar="FIGURES",
                    help="with --big, only these figures (comma list of: %s)"
                         % ",".join(scale.FIGURES))
    ap.add_argument("--big-connections", type=int, default=10000)
    args = ap.parse_args(argv)

    q = args.quick
    if args.rounds is None:
        args.rounds = 1 if q else 5
    if args.duration is None:
        args.duration = 0.25 if q else 0.5
    if args.warmup is None:
        args.warmup = 0.1 if q else 0.2
    if args.rr_n is None:
        args.rr_n = 2000 if q else 5000
    if args.connections is None:
        args.connections = 500 if q else 2000
    args.tail = 0.05

    tests = [t for t in args.tests.split(",") if t]
    transports = [t for t in args.transports.split(",") if t]
    backends = [b for b in args.backends.split(",") if b]
    if args.baseline:
        os.environ[BASELINE_ENV] = package_parent(args.baseline)
        backends.append(BASELINE)
    for name, got, allowed in (("tests", tests, ALL_TESTS),
                               ("transports", transports, ALL_TRANSPORTS),
                               ("backends", backends, BACKENDS + [BASELINE])):
        bad = set(got) - set(allowed)
        if bad:
            ap.error("unknown %s: %s" % (name, ", ".join(sorted(bad))))
    transports = [t for t in ALL_TRANSPORTS if t in transports]
    figures = [f for f in (args.scale or ",".join(scale.FIGURES)).split(",") if f] \
        if args.big else []
    if set(figures) - set(scale.FIGURES):
        ap.error("unknown --scale figures: %s" % ", ".join(sorted(set(figures) - set(scale.FIGURES))))
    if SECURE & set(transports) and ({"reqrep", "pushpull"} & set(tests)):
        make_certificate()

    t_start = time.monotonic()
    pinned = not args.no_pin
    bw_pinned = pinned and not args.unpin_bandwidth
    pools = Pools()
    urls = Urls()
    failures = []
    versions = {}
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731

    # which backends import (each in its own worker process)
    available = []
    extra = list(VARIANTS) if "pynng_core" in backends and "pushpull" in tests else []
    for b in backends + extra + ([] if args.no_raw else [RAW]):
        try:
            versions[b] = pools.get(b, 0, pinned).version
            if b != RAW and b not in VARIANTS:
                available.append(b)
        except JobFailed as exc:
            log("skipping %s: %s" % (b, str(exc).strip().splitlines()[-1]))
    backends = available
    with_raw = RAW in versions
    variants = [b for b in VARIANTS if b in versions]

    def variant_at(size):
        """The other pynng_core API measured at this message size, if any."""
        return next((b for b in variants if size in VARIANTS[b]["sizes"]), None)

    # results[key][backend] -> list over rounds
    rr, pp, ps, mem = {}, {}, {}, {}
    at_scale = scale.Results()
    scale_opts = scale.Opts(pinned=pinned, quick=q, duration=0.5 if q else 1.0,
                            workdir=urls.dir, raw=not args.no_raw)

    def record(store, key, backend, fn):
        try:
            v = fn()
        except (JobFailed, OSError, ValueError, TypeError, RuntimeError) as exc:
            msg = str(exc).strip().splitlines()
            failures.append("%s %s: %s" % (key, backend, msg[0] if msg else repr(exc)))
            log("FAILED %s %s: %s" % (key, backend, "\n".join(msg[-3:])))
            v = None
        store.setdefault(key, {}).setdefault(backend, []).append(v)

    try:
        for r in range(args.rounds):
            order = rotate(backends, r)
            if "reqrep" in tests:
                for tr in transports:
                    bl = order + ([RAW] if with_raw and tr != "inproc" else [])
                    for b in [b for b in bl if speaks(b, tr)]:
                        record(rr, tr, b, lambda: m_reqrep(pools, urls, b, tr, args, pinned))
            if "pushpull" in tests:
                for tr in transports:
                    for size in [z for z in PP_SIZES if tr not in SECURE or z in BW_SIZES]:
                        pin_here = bw_pinned if size in BW_SIZES else pinned
                        bl = order + [b for b in [variant_at(size)] if b]
                        bl += [RAW] if with_raw and tr != "inproc" else []
                        for b in [b for b in bl if speaks(b, tr)]:
                            record(pp, (tr, size), b,
                                   lambda: m_pushpull(pools, urls, b, tr, size, args, pin_here))
            if "pubsub" in tests:
                for mode in ("threads", "processes"):
                    for b in order:
                        record(ps, mode, b, lambda: m_pubsub(pools, urls, b, mode, args, pinned))
            if "memory" in tests:
                for b in order:
                    record(mem, args.connections, b,
                           lambda: m_memory(urls, b, args.connections, pinned))
            # Figures whose measurement does not vary (instruction counts)
            # or takes minutes (connections) run in the first round only.
            scale.run_round([f for f in figures if r == 0 or not scale.load(f).ONCE],
                            backends, scale_opts, at_scale, r, log)
            log("round %d/%d done (%.1f s)" % (r + 1, args.rounds, time.monotonic() - t_start))
        if "memory" in tests and args.big:
            for b in backends:
                record(mem, args.big_connections, b,
                       lambda: m_memory(urls, b, args.big_connections, pinned))
            log("big connection test done (%.1f s)" % (time.monotonic() - t_start))
    except KeyboardInterrupt:
        log("interrupted; reporting what was measured")
    finally:
        pools.shutdown()
        urls.cleanup()

    wall = time.monotonic() - t_start
    out = []
    p = out.append
    cols = backends + ([RAW] if with_raw else [])

    def get(store, key, b, field):
        runs = store.get(key, {}).get(b, [])
        return med([x[field] if x else None for x in runs])

    p("## pynng_core benchmark")
    p("")
    p("%s; %s; %d CPUs; %s; %d round(s), medians over rounds; streaming window %.2f s "
      "after %.2f s warm-up; req/rep %d timed trips after %d." % (
          ", ".join(versions[b] for b in cols + variants),
          platform.platform(terse=True), os.cpu_count() or 0,
          "all peers pinned to CPU 0" if pinned else "not pinned",
          args.rounds, args.duration, args.warmup, args.rr_n, args.rr_warmup))
    if pinned and not bw_pinned:
        p("64 KiB and 1 MiB push/pull ran unpinned (--unpin-bandwidth).")
    p("")

    if rr:
        p("### 1. req/rep round trip, 64 B (us; lower is better)")
        p("")
        hdr = "| transport |" + "".join(" %s p50 | %s p99 |" % (b, b) for b in cols)
        hdr += " core/pyzmq p50 | core/pyzmq p99 | core/pynng p50 | core/raw p50 |"
        p(hdr)
        p("|---|" + "---:|" * (2 * len(cols) + 4))
        for tr in transports:
            if tr not in rr:
                continue
            row = "| %s |" % tr
            for b in cols:
                if (b == RAW and tr == "inproc") or not speaks(b, tr):
                    row += " - | - |"
                    continue
                row += " %s | %s |" % (fnum(get(rr, tr, b, "p50")), fnum(get(rr, tr, b, "p99")))
            c50, c99 = get(rr, tr, "pynng_core", "p50"), get(rr, tr, "pynng_core", "p99")
            row += " %s | %s | %s | %s |" % (
                fratio(ratio(c50, get(rr, tr, "pyzmq", "p50"))),
                fratio(ratio(c99, get(rr, tr, "pyzmq", "p99"))),
                fratio(ratio(c50, get(rr, tr, "pynng", "p50"))),
                fratio(ratio(c50, get(rr, tr, RAW, "p50"))) if tr != "inproc" else "-")
            p(row)
        p("")
        p("raw = blocking Python socket ping-pong, 4-byte length prefix "
          "(tcp: TCP_NODELAY over loopback; ipc: AF_UNIX stream).")
        p("")

    if pp:
        p("### 2. push/pull throughput at the receiver (higher is better)")
        p("")
        pp_cols = backends + variants + ([RAW] if with_raw else [])
        p("| transport | size | unit |" + "".join(" %s |" % b for b in pp_cols)
          + " core/pyzmq | core/pynng | core/raw | other API/pyzmq | other API/raw |")
        p("|---|---|---|" + "---:|" * (len(pp_cols) + 5))
        for tr in transports:
            for size in PP_SIZES:
                key = (tr, size)
                if key not in pp:
                    continue
                field = "mbps" if size in BW_SIZES else "msgs"
                unit = "MB/s" if field == "mbps" else "msg/s"
                if size in BW_SIZES and pinned and not bw_pinned:
                    unit += " (unpinned)"
                row = "| %s | %s | %s |" % (tr, SIZE_LABEL[size], unit)
                for b in pp_cols:
                    skip = ((b == RAW and tr == "inproc") or not speaks(b, tr)
                            or (b in VARIANTS and b != variant_at(size)))
                    row += " %s |" % ("-" if skip else fnum(get(pp, key, b, field)))
                c, cb = get(pp, key, "pynng_core", field), get(pp, key, variant_at(size), field)
                raw = get(pp, key, RAW, field) if tr != "inproc" else None
                row += " %s | %s | %s | %s | %s |" % (
                    fratio(ratio(c, get(pp, key, "pyzmq", field))),
                    fratio(ratio(c, get(pp, key, "pynng", field))),
                    fratio(ratio(c, raw)),
                    fratio(ratio(cb, get(pp, key, "pyzmq", field))),
                    fratio(ratio(cb, raw)))
                p(row)
        p("")
        p("raw = sendall loop of length-prefixed frames, read back through a 256 KiB "
          "buffer and copied out as bytes. MB/s = 10^6 bytes/s.")
        p("")

    if ps:
        p("### 3. pub/sub 1 -> 4 subscribers, 64 B, tcp: delivered msg/s (sum; higher is better)")
        p("")
        p("| subscribers |" + "".join(" %s |" % b for b in backends)
          + " core/pyzmq | core/pynng |")
        p("|---|" + "---:|" * (len(backends) + 2))
        for mode in ("threads", "processes"):
            if mode not in ps:
                continue
            row = "| 4 %s |" % mode
            for b in backends:
                row += " %s |" % fnum(get(ps, mode, b, "delivered"))
            c = get(ps, mode, "pynng_core", "delivered")
            row += " %s | %s |" % (fratio(ratio(c, get(ps, mode, "pyzmq", "delivered"))),
                                   fratio(ratio(c, get(ps, mode, "pynng", "delivered"))))
            p(row)
        p("")

    if mem:
        p("### 4. memory: listener RSS per idle tcp connection, and connections served")
        p("")
        p("| backend | connections | RSS/conn (KiB) | accepted | round trips ok | served |")
        p("|---|---:|---:|---:|---:|---|")
        for n in sorted(mem):
            for b in backends:
                runs = [x for x in mem[n].get(b, []) if x]
                if not runs:
                    if b in mem[n]:
                        p("| %s | %d | fail | | | fail |" % (b, n))
                    continue
                per = med([x["rss_per_conn"] for x in runs])
                last = runs[-1]
                served = all(x["served"] for x in runs)
                note = "yes" if served else "NO"
                errs = [x["dial_error"] or x["rtt_error"] for x in runs
                        if x["dial_error"] or x["rtt_error"]]
                if not served:
                    if errs:
                        note += " (%s)" % errs[0][:80]
                    if last["nofile"] < n + 64:
                        note += "; RLIMIT_NOFILE %d may be too low" % last["nofile"]
                if last["pipes"] is not None:
                    note += "; %d distinct pipes" % last["pipes"]
                p("| %s | %d | %s | %d | %d | %s |" % (
                    b, n, fnum(per / KIB) if per == per else "n/a",
                    last["accepted"], last["rtt_ok"], note))
        p("")
        p("RSS/conn = (listener RSS with the connections open - before) / accepted, from "
          "/proc/self/statm; accepted = listener fds gained; runs of %d: median over rounds."
          % args.connections)
        p("")

    if BASELINE in backends:
        p("### 5. pynng_core against its baseline (%s)" % os.environ[BASELINE_ENV])
        p("")
        p("| figure | baseline | now | now/baseline |")
        p("|---|---:|---:|---:|")

        def moved(label, store, key, field, lower_better=False):
            was, now = get(store, key, BASELINE, field), get(store, key, "pynng_core", field)
            if was is not None and now is not None:
                p("| %s%s | %s | %s | %s |" % (label, " (lower is better)" if lower_better else "",
                                              fnum(was), fnum(now), fratio(ratio(now, was))))

        for tr in transports:
            for field in ("p50", "p99"):
                moved("req/rep 64 B %s, %s, us" % (field, tr), rr, tr, field, lower_better=True)
        for tr in transports:
            for size in PP_SIZES:
                field = "mbps" if size in BW_SIZES else "msgs"
                moved("push/pull %s, %s, %s" % (SIZE_LABEL[size], tr,
                                                "MB/s" if field == "mbps" else "msg/s"),
                      pp, (tr, size), field)
        for mode in ("threads", "processes"):
            moved("pub/sub 1 -> 4 %s, delivered/s" % mode, ps, mode, "delivered")
        for n in sorted(mem):
            was = med([x["rss_per_conn"] for x in mem[n].get(BASELINE, []) if x])
            now = med([x["rss_per_conn"] for x in mem[n].get("pynng_core", []) if x])
            if was is not None and now is not None:
                p("| RSS per idle connection, %d connections, KiB (lower is better) | %s | %s | %s |"
                  % (n, fnum(was / KIB), fnum(now / KIB), fratio(ratio(now, was))))
        p("")

    if figures:
        p("### 6. At scale (--big; pinned as above; medians over rounds, "
          "instructions and connections measured once)")
        p("")
        tables, scale_goals = scale.report(figures, backends, scale_opts, at_scale)
        out.extend(tables)
        failures.extend(at_scale.failures)

    # ---------------- goals
    goals = []

    def goal(text, value, ok_fn, target):
        if value is None:
            goals.append("- NOT MEASURED: %s (%s)" % (text, target))
        else:
            goals.append("- %s: %s -- measured %.2fx (%s)" % (
                "MET" if ok_fn(value) else "NOT MET", text, value, target))

    if rr:
        for tr in transports:
            if tr not in rr or not speaks("pyzmq", tr):
                continue
            lim = 1.0 if tr == "inproc" else 0.8
            goal("req/rep 64 B p50 %s vs pyzmq" % tr,
                 ratio(get(rr, tr, "pynng_core", "p50"), get(rr, tr, "pyzmq", "p50")),
                 lambda v, lim=lim: v <= lim, "target <= %.1fx" % lim)
        for tr in transports:
            if tr != "inproc" and tr in rr and speaks(RAW, tr):
                goal("req/rep 64 B p50 %s vs raw socket ping-pong" % tr,
                     ratio(get(rr, tr, "pynng_core", "p50"), get(rr, tr, RAW, "p50")),
                     lambda v: v <= 2.5, "target <= 2.5x")
    # push/pull goals, for the per-message API and then for each other API
    apis = [("", "pynng_core", PP_SIZES)]
    apis += [(" (%s)" % VARIANTS[b]["api"], b, VARIANTS[b]["sizes"]) for b in variants]
    for api, b, sizes in apis:
        for size in sizes:
            field, unit = ("mbps", "MB/s") if size in BW_SIZES else ("msgs", "msg/s")
            for tr in transports:
                if (tr, size) in pp and speaks("pyzmq", tr):
                    goal("push/pull %s %s %s vs pyzmq%s" % (SIZE_LABEL[size], unit, tr, api),
                         ratio(get(pp, (tr, size), b, field),
                               get(pp, (tr, size), "pyzmq", field)),
                         lambda v: v >= 1.2, "target >= 1.2x")
            if size not in BW_SIZES:
                continue
            for tr in transports:
                if tr != "inproc" and (tr, size) in pp and speaks(RAW, tr):
                    goal("push/pull %s MB/s %s vs raw loop%s" % (SIZE_LABEL[size], tr, api),
                         ratio(get(pp, (tr, size), b, "mbps"),
                               get(pp, (tr, size), RAW, "mbps")),
                         lambda v: v >= 0.85, "target >= 0.85x")
    # The transports pyzmq lacks: against pynng, and TLS's cost against tcp.
    for tr in transports:
        if tr not in SP_ONLY:
            continue
        if tr in rr:
            goal("req/rep 64 B p50 %s vs pynng" % tr,
                 ratio(get(rr, tr, "pynng_core", "p50"), get(rr, tr, "pynng", "p50")),
                 lambda v: v <= 1.0, "target <= 1.0x")
        for size in sorted(BW_SIZES):
            if (tr, size) in pp:
                goal("push/pull %s MB/s %s vs pynng" % (SIZE_LABEL[size], tr),
                     ratio(get(pp, (tr, size), "pynng_core", "mbps"),
                           get(pp, (tr, size), "pynng", "mbps")),
                     lambda v: v >= 1.0, "target >= 1.0x")
    if ("tls", 1 << 20) in pp and ("tcp", 1 << 20) in pp:
        goal("push/pull 1 MiB MB/s tls vs our own tcp",
             ratio(get(pp, ("tls", 1 << 20), "pynng_core", "mbps"),
                   get(pp, ("tcp", 1 << 20), "pynng_core", "mbps")),
             lambda v: v >= 0.7, "target >= 0.7x")
    if ps:
        for mode in ("threads", "processes"):
            if mode in ps:
                goal("pub/sub 1->4 (%s) delivered/s vs pyzmq" % mode,
                     ratio(get(ps, mode, "pynng_core", "delivered"),
                           get(ps, mode, "pyzmq", "delivered")),
                     lambda v: v >= 1.0, "target >= 1.0x")
    if mem:
        runs = [x for x in mem.get(args.connections, {}).get("pynng_core", []) if x]
        per = med([x["rss_per_conn"] for x in runs]) if runs else None
        if per is None:
            goals.append("- NOT MEASURED: memory <= 4 KiB RSS per idle connection")
        else:
            goals.append("- %s: memory <= 4 KiB RSS per idle connection -- measured %.2f KiB "
                         "(%d connections)" % ("MET" if per <= 4 * KIB else "NOT MET",
                                               per / KIB, args.connections))
        nbig = args.big_connections
        big = [x for x in mem.get(nbig, {}).get("pynng_core", []) if x]
        if args.connections >= 10000 and not big:
            big, nbig = runs, args.connections
        if nbig < 10000:
            big = None
        if not big:
            if nbig in mem:
                goals.append("- NOT MET: 10,000 connections served -- the test failed")
            else:
                goals.append("- NOT MEASURED: 10,000 connections served (run with --big)")
        else:
            x = big[-1]
            goals.append("- %s: 10,000 connections served -- %d accepted, %d round trips ok%s"
                         % ("MET" if x["served"] else "NOT MET", x["accepted"], x["rtt_ok"],
                            "" if x["served"] else " (RLIMIT_NOFILE %d%s)" % (
                                x["nofile"], "; " + (x["dial_error"] or x["rtt_error"] or "")
                                if (x["dial_error"] or x["rtt_error"]) else "")))
    if figures:
        goals.extend(g.line() for g in scale_goals)
    if goals:
        p("### Goals (pynng_core, judged on this run's medians)")
        p("")
        out.extend(goals)
        p("")
    if failures:
        p("### Failed measurements")
        p("")
        for f in failures:
            p("- " + f)
        p("")
    p("wall time %.1f s" % wall)

    text = "\n".join(out)
    print(text, flush=True)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text + "\n")
    if args.plot:
        panels = chart_panels(rr, pp, ps, transports, cols, variants, get)
        title = "pynng_core benchmark, %s, %d round(s), medians" % (
            time.strftime("%Y-%m-%d"), args.rounds)
        draw_chart(args.plot, title, panels)
        log("chart written to %s" % args.plot)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

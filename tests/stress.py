#!/usr/bin/env python3
"""A bounded multi-thread stress workload for pynng_core.

Many threads at once send, receive, open and close sockets of every
protocol (pair0, pair1, push/pull, req/rep with contexts, pub/sub with
contexts, surveyor/respondent with contexts, bus), their contexts,
dialers, listeners and pipes (``Pipe.close()``), over inproc, ipc, tcp, ws,
and tls+tcp and wss where the build has a TLS engine (and the
``cryptography`` package is there to make a certificate at run time),
with blocking, non-blocking, batch and asyncio calls, pipe callbacks that
refuse some peers, and Message objects.  Every payload carries its own
check (``payload`` / ``check_payload``), so a corrupted, truncated or
misdelivered message is a failure, not just a count.

``run(seconds)`` returns a Report: operations per workload, the expected
exceptions met (Timeout, Closed, ... when another thread closed what a call
was using), the unexpected ones with their tracebacks, integrity failures,
the threads that did not finish within the join deadline (with their
stacks), and the descriptor and thread counts before and after.

As a script (what a ThreadSanitizer or AddressSanitizer build runs)::

    python3 tests/stress.py --seconds 10 [--poller epoll|iocp|poll] [--json]

exits 0 when the report is clean, 1 when it is not.  The script imports the
pynng_core of the tree it lives in, not an installed one.
"""
import argparse
import asyncio
import collections
import faulthandler
import gc
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import traceback

if __name__ == "__main__":
    # This tree's package, when run as a script, unless PYTHONPATH names the
    # one to test (.ci/sanitize.py, test_faults.py, and .ci/windows.py, whose
    # package is the Windows build, not src/): src goes after PYTHONPATH's
    # folders and before site-packages, so an installed copy never wins.
    _from_env = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path.insert(1 + len(_from_env),
                    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                 "src"))

import pynng_core  # noqa: E402
from pynng_core import (  # noqa: E402
    Bus0, Message, Pair0, Pair1, Pub0, Pull0, Push0, Rep0, Req0, Respondent0, Sub0,
    Surveyor0,
)



def transports(tls=False):
    """inproc, ipc, tcp and ws, and tls+tcp and wss if `tls`; ipc only where
    this build has it (probed, as platform_probes.ipc_missing does)."""
    path = os.path.join(tempfile.mkdtemp(prefix="pnc-probe-"), "s")
    secure = ("tls+tcp", "wss") if tls else ()
    try:
        with Pair0(listen="ipc://" + path):
            return ("inproc", "ipc", "tcp", "ws") + secure
    except pynng_core.NotSupported:
        return ("inproc", "tcp", "ws") + secure
    finally:
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def tls_configs():
    """(server, client) TLSConfigs made once for the whole run: a
    certificate for 127.0.0.1 made now, which the client trusts and
    verifies; None without a TLS engine or the cryptography package."""
    if pynng_core.tls.engine() is None:
        return None
    try:
        import datetime
        import ipaddress
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        return None
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pnc stress")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    TLSConfig = pynng_core.TLSConfig
    return (TLSConfig(TLSConfig.MODE_SERVER, own_cert_string=cert_pem, own_key_string=key_pem),
            TLSConfig(TLSConfig.MODE_CLIENT, ca_string=cert_pem))

# What a call may raise in this workload without anything being wrong: the
# object was closed by another thread (Closed), a peer was momentarily
# missing (Timeout, TryAgain, ConnectionRefused), a request or survey was
# overtaken by a newer one or its survey time ran out (BadState, Canceled).
EXPECTED = (pynng_core.Timeout, pynng_core.Closed, pynng_core.TryAgain,
            pynng_core.ConnectionRefused, pynng_core.BadState, pynng_core.Canceled)

# Descriptors the core creates once per process, lazily, and keeps: the I/O
# thread's poller (an epoll descriptor) and its wake-up eventfd.  A run
# counts descriptors only after warm_up() has made them (and the pipe-events
# thread), so no slack is needed for them: any descriptor more after the
# run than before it is a leak.
LAZY_FDS = 0

JOIN_DEADLINE = 20.0  # seconds for every worker to finish once told to stop
OP_TIMEOUT_MS = 2000  # recv/send timeout of every socket here


def fd_count():
    """Open descriptors, or None where they cannot be listed (no /proc/self/fd:
    Windows, whose GetProcessHandleCount also counts events and threads,
    and answers 0 under wine): the leak check is then not made."""
    if not os.path.isdir("/proc/self/fd"):
        return None
    return len(_open_descriptors())


def _open_descriptors():
    """(descriptor, what it is) for each one open, but a sanitizer's own
    report files (.ci/sanitize.py): it opens one at its first report, which
    may come in the middle of the run (glibc's, at a thread's end)."""
    logs = os.environ.get("PNC_SANITIZER_LOGS")
    out = []
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            target = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue  # the listing's own, closed meanwhile
        if not (logs and target.startswith(os.path.join(logs, ""))):
            out.append((fd, target))
    return out


# --------------------------------------------------------------------------
# Self-checking payloads


def _pattern(seq, size):
    unit = b"%08x" % ((seq * 2654435761) & 0xFFFFFFFF)
    return (unit * (size // 8 + 1))[:size]


def payload(tag, seq, size=None):
    """b"<tag>:<seq>:<size>:" then a pattern that depends on seq."""
    if size is None:
        size = (seq * 37) % 700
    return b"%s:%d:%d:" % (tag, seq, size) + _pattern(seq, size)


def check_payload(data, tag_prefix=b""):
    """(tag, seq) of a payload, or raises ValueError if it is not whole."""
    data = bytes(data)
    try:
        tag, seq, size, rest = data.split(b":", 3)
        seq, size = int(seq), int(size)
    except ValueError:
        raise ValueError("malformed payload %r" % data[:60]) from None
    if not tag.startswith(tag_prefix):
        raise ValueError("payload for %r, expected %r: %r" % (tag, tag_prefix, data[:60]))
    if len(rest) != size or rest != _pattern(seq, size):
        raise ValueError("payload %r:%d damaged (%d of %d pattern bytes)"
                         % (tag, seq, len(rest), size))
    return tag, seq


# --------------------------------------------------------------------------


class Report:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = collections.Counter()        # workload -> completed operations
        self.expected = collections.Counter()   # "workload:Exception" -> count
        self.failures = []                      # (workload, text)
        self.hung = []                          # (thread name, stack)
        self.fds_before = self.fds_after = None
        self.threads_before = self.threads_after = None
        self.seconds = 0.0

    def op(self, name, n=1):
        with self.lock:
            self.ops[name] += n

    def fail(self, name, text):
        with self.lock:
            if len(self.failures) < 50:
                self.failures.append((name, text))

    @property
    def ok(self):
        return not self.failures and not self.hung

    def as_dict(self):
        return {"ops": dict(self.ops), "expected": dict(self.expected),
                "failures": self.failures, "hung": self.hung,
                "fds_before": self.fds_before, "fds_after": self.fds_after,
                "threads_before": self.threads_before, "threads_after": self.threads_after,
                "seconds": self.seconds}

    def summary(self):
        lines = ["stress: %.1f s, ops %s" % (self.seconds, dict(sorted(self.ops.items())))]
        lines.append("expected exceptions: %s" % dict(sorted(self.expected.items())))
        lines.append("descriptors %s -> %s, threads %s -> %s" % (
            self.fds_before, self.fds_after, self.threads_before, self.threads_after))
        for name, text in self.failures:
            lines.append("FAILURE in %s:\n%s" % (name, text))
        for name, stack in self.hung:
            lines.append("HUNG thread %s:\n%s" % (name, stack))
        return "\n".join(lines)


class Stress:
    def __init__(self, seconds, seed=None, only=None):
        self.seconds = seconds
        self.only = only  # names (or name prefixes) of the workloads to run
        self.rng_seed = seed if seed is not None else random.randrange(1 << 30)
        self.stop = threading.Event()
        self.report = Report()
        self.tls = tls_configs()  # (server, client), shared by every endpoint
        self.transports = transports(self.tls is not None)
        self.dir = tempfile.mkdtemp(prefix="pnc-stress-", dir="/tmp" if os.path.isdir("/tmp") else None)
        self._n = 0
        self._n_lock = threading.Lock()
        self._sockets = []
        self._sockets_lock = threading.Lock()
        self.threads = []
        self._last_seq = {}  # push/pull: the last seq seen per connection

    # -- helpers ------------------------------------------------------------

    def _next(self):
        with self._n_lock:
            self._n += 1
            return self._n

    def url(self, transport):
        if transport in ("tcp", "tls+tcp"):
            return transport + "://127.0.0.1:0"
        if transport == "wss":
            return "wss://127.0.0.1:0/stress-%d" % self._next()
        if transport == "ipc":
            return "ipc://%s/%d" % (self.dir, self._next())
        if transport == "ws":  # a path of its own, on a port of its own
            return "ws://127.0.0.1:0/stress-%d" % self._next()
        return "inproc://pnc-stress-%d-%d" % (os.getpid(), self._next())

    @staticmethod
    def dial_url(listener):
        url = listener.url
        scheme = url.split("://")[0]
        if scheme in ("tcp", "tls+tcp"):
            return "%s://127.0.0.1:%d" % (scheme, listener.port)
        if scheme in ("ws", "wss"):  # ws://127.0.0.1:0/path -> the bound port
            return "%s://127.0.0.1:%d/%s" % (scheme, listener.port, url.split("/", 3)[3])
        return url

    def listen(self, s, url):
        """s.listen(url), with the run's server TLSConfig for tls+tcp and wss."""
        if url.startswith(("tls+", "wss")):
            return s.listen(url, tls_config=self.tls[0])
        return s.listen(url)

    def dial(self, s, url, **kw):
        """s.dial(url), with the run's client TLSConfig for tls+tcp and wss."""
        if url.startswith(("tls+", "wss")):
            kw["tls_config"] = self.tls[1]
        return s.dial(url, **kw)

    def sock(self, cls, **kw):
        kw.setdefault("recv_timeout", OP_TIMEOUT_MS)
        kw.setdefault("send_timeout", OP_TIMEOUT_MS)
        kw.setdefault("reconnect_time_min", 10)
        kw.setdefault("reconnect_time_max", 100)
        s = cls(**kw)
        with self._sockets_lock:
            self._sockets.append(s)
        return s

    def release(self, s):
        s.close()
        with self._sockets_lock:
            try:
                self._sockets.remove(s)
            except ValueError:
                pass

    def serve_on_all(self, s):
        """Listens on one address of each transport; their dial URLs."""
        return {t: self.dial_url(self.listen(s, self.url(t))) for t in self.transports}

    def expect(self, name, exc):
        with self.report.lock:
            self.report.expected["%s:%s" % (name, type(exc).__name__)] += 1

    def worker(self, name, fn, *args):
        """A thread running fn(rng, *args) until stop; records what it raised."""
        rng = random.Random("%s-%s" % (self.rng_seed, name))

        def body():
            while not self.stop.is_set():
                try:
                    fn(name, rng, *args)
                except EXPECTED as exc:
                    self.expect(name, exc)
                except Exception:
                    self.report.fail(name, traceback.format_exc())
                    time.sleep(0.01)

        t = threading.Thread(target=body, name="stress-" + name)
        if not self.only or any(name.startswith(o) for o in self.only):
            self.threads.append(t)
        return t

    def running(self):
        return not self.stop.is_set()

    # -- workloads ------------------------------------------------------------

    def pair_cycle(self, name, rng, cls):
        """Open a pair over a random transport, exchange both ways, close in a
        random order (socket, dialer, listener or the pipe first)."""
        transport = rng.choice(self.transports)
        a = self.sock(cls)
        b = self.sock(cls)
        try:
            listener = self.listen(a, self.url(transport))
            dialer = self.dial(b, self.dial_url(listener), block=True)
            tag = name.encode()
            for i in range(rng.randrange(1, 30)):
                m = payload(tag, i)
                if i % 3 == 0:
                    b.send_msg(Message(m))
                else:
                    b.send(m)
                if check_payload(a.recv(), tag) != (tag, i):
                    raise ValueError("pair: out of order")
                a.send(m)
                got = b.recv_msg()
                if check_payload(got.bytes, tag)[1] != i:
                    raise ValueError("pair: out of order")
                self.report.op(name)
            how = rng.randrange(4)
            if how == 0 and a.pipes:
                a.pipes[0].close()
            elif how == 1:
                dialer.close()
            elif how == 2:
                listener.close()
        finally:
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            self.release(first)
            self.release(second)

    def pipeline_sink(self, name, rng, sink):
        """The one receiver of the push/pull workload: checks every message,
        and that each connection's messages keep their order."""
        last = self._last_seq
        try:
            batch = sink.recv_many(64) if rng.random() < 0.3 else [sink.recv()]
        except pynng_core.Timeout:
            return
        for data in batch:
            tag, seq = check_payload(data, b"push")
            if seq <= last.get(tag, -1):
                raise ValueError("push/pull: %r %d after %d" % (tag, seq, last[tag]))
            last[tag] = seq
            self.report.op(name)

    def pipeline_source(self, name, rng, urls):
        """A pusher that dials the sink, sends a burst, and closes."""
        s = self.sock(Push0)
        try:
            self.dial(s, urls[rng.choice(self.transports)], block=rng.random() < 0.5)
            tag = b"push-%s-%d" % (name.encode(), self._next())  # one order per connection
            msgs = [payload(tag, i) for i in range(rng.randrange(1, 80))]
            if rng.random() < 0.3:
                s.send_many(msgs)
            else:
                for m in msgs:
                    s.send(m)
            self.report.op(name, len(msgs))
        finally:
            self.release(s)

    def rep_server(self, name, rng, ctx):
        try:
            req = ctx.recv()
        except pynng_core.Timeout:
            return
        check_payload(req, b"req")
        ctx.send(b"R" + req)
        self.report.op(name)

    def req_client(self, name, rng, sock):
        """Requests on a context of its own, a fresh one now and then."""
        ctx = sock.new_context()
        try:
            tag = b"req-%s" % name.encode()
            for i in range(rng.randrange(1, 40)):
                if not self.running():
                    return
                m = payload(tag, self._next())
                ctx.send(m)
                reply = ctx.recv()
                if reply != b"R" + m:
                    raise ValueError("req: reply %r for %r" % (reply[:40], m[:40]))
                self.report.op(name)
        finally:
            ctx.close()

    def pub_source(self, name, rng, pub):
        for i in range(20):
            topic = b"t%d" % rng.randrange(3)
            pub.send(topic + b"|" + payload(b"pub", self._next()))
        self.report.op(name, 20)
        time.sleep(0.002)  # pub drops for slow subscribers: keep them up

    def sub_cycle(self, name, rng, urls):
        s = self.sock(Sub0, recv_timeout=200)
        try:
            topic = b"t%d" % rng.randrange(3)
            ctx = None
            if rng.random() < 0.5:
                ctx = s.new_context()
                ctx.subscribe(topic)
                ctx.recv_timeout = 200
            else:
                s.subscribe(topic)
            self.dial(s, urls[rng.choice(sorted(urls))], block=False)
            target = ctx or s
            for _ in range(rng.randrange(1, 50)):
                if not self.running():
                    return
                try:
                    data = target.recv()
                except pynng_core.Timeout:
                    continue
                got_topic, _, body = data.partition(b"|")
                if got_topic != topic:
                    raise ValueError("sub %r got topic %r" % (topic, got_topic))
                check_payload(body, b"pub")
                self.report.op(name)
        finally:
            self.release(s)

    def surveyor(self, name, rng, ctx):
        survey = payload(b"survey", self._next())
        ctx.send(survey)
        while True:
            try:
                answer = ctx.recv()
            except (pynng_core.Timeout, pynng_core.BadState):
                return  # the survey time is over
            if answer != b"A" + survey:
                raise ValueError("survey answer %r for %r" % (answer[:40], survey[:40]))
            self.report.op(name)

    def respondent_cycle(self, name, rng, urls):
        s = self.sock(Respondent0, recv_timeout=100)
        try:
            self.dial(s, urls[rng.choice(self.transports)], block=False)
            ctxs = [s] if rng.random() < 0.5 else [s.new_context() for _ in range(2)]
            for _ in range(rng.randrange(5, 60)):
                if not self.running():
                    return
                for c in ctxs:
                    try:
                        survey = c.recv()
                    except pynng_core.Timeout:
                        continue
                    check_payload(survey, b"survey")
                    c.send(b"A" + survey)
                    self.report.op(name)
        finally:
            self.release(s)

    def bus_node(self, name, rng, node):
        tag = b"bus-%s" % name.encode()
        node.send(payload(tag, self._next()))
        try:
            while True:
                data = node.recv(block=False)
                got, _ = check_payload(data, b"bus-")
                if got == tag:
                    raise ValueError("bus echoed a node's own message back to it")
                self.report.op(name)
        except pynng_core.TryAgain:
            time.sleep(0.001)

    def churn(self, name, rng, servers, urls_by_proto):
        """Closes random pipes of the long-lived sockets, opens and closes
        listeners on them, and dials them from short-lived sockets whose
        dialers and pipes it closes too."""
        what = rng.randrange(5)
        if what == 0:
            s = rng.choice(servers)
            pipes = s.pipes
            if pipes:
                rng.choice(pipes).close()
                self.report.op(name)
        elif what == 1:
            s = rng.choice(servers)
            listener = self.listen(s, self.url(rng.choice(self.transports)))
            time.sleep(rng.random() * 0.01)
            listener.close()
            self.report.op(name)
        elif what == 2:
            proto = rng.choice(sorted(urls_by_proto))
            cls, urls = urls_by_proto[proto]
            c = self.sock(cls)
            try:
                dialers = [self.dial(c, urls[t], block=False) for t in self.transports]
                time.sleep(rng.random() * 0.02)
                rng.choice(dialers).close()
                for p in c.pipes:
                    if rng.random() < 0.5:
                        p.close()
                self.report.op(name)
            finally:
                self.release(c)
        elif what == 3:
            # A socket that comes and goes with a listener and nobody else.
            c = self.sock(rng.choice([Pair0, Pair1, Pull0, Rep0, Sub0, Bus0]))
            self.listen(c, self.url(rng.choice(self.transports)))
            self.release(c)
            self.report.op(name)
        else:
            time.sleep(0.002)

    def async_loop(self, name, rng, rep_urls):
        """An asyncio loop with concurrent asend/arecv/arecv_msg tasks, some
        of them cancelled by timeouts, on push/pull and req contexts."""
        async def pushpull():
            url = self.url(rng.choice(self.transports))
            a = self.sock(Pull0)
            b = self.sock(Push0)
            try:
                self.dial(b, self.dial_url(self.listen(a, url)), block=False)
                tag = b"apush-%d" % self._next()
                for i in range(rng.randrange(1, 30)):
                    await b.asend(payload(tag, i))
                    got = await (a.arecv_msg() if i % 2 else a.arecv())
                    got = got.bytes if isinstance(got, Message) else got
                    if check_payload(got, tag)[1] != i:
                        raise ValueError("async push/pull out of order")
                    self.report.op(name)
                try:  # a receive cancelled by a timeout loses nothing
                    await asyncio.wait_for(a.arecv(), 0.005)
                except asyncio.TimeoutError:
                    pass
                await b.asend(b"last")
                if await a.arecv() != b"last":
                    raise ValueError("a cancelled arecv lost or reordered a message")
            finally:
                self.release(a)
                self.release(b)

        async def requests():
            r = self.sock(Req0, resend_time=200)
            try:
                self.dial(r, rep_urls[rng.choice(self.transports)], block=False)

                async def one(ctx):
                    for _ in range(rng.randrange(1, 10)):
                        m = payload(b"req-async", self._next())
                        await ctx.asend(m)
                        reply = await ctx.arecv()
                        if reply != b"R" + m:
                            raise ValueError("async req: wrong reply")
                        self.report.op(name)
                    ctx.close()

                await asyncio.gather(*[one(r.new_context()) for _ in range(4)])
            finally:
                self.release(r)

        async def main():
            results = await asyncio.gather(pushpull(), requests(), return_exceptions=True)
            for res in results:
                if isinstance(res, BaseException):
                    raise res

        asyncio.run(main())

    # -- the run ---------------------------------------------------------------

    def warm_up(self):
        """Makes what the core creates once per process exist before the
        descriptor count (I/O thread, pipe-events thread, a completion queue)."""
        a = Pair0(listen=self.url("inproc"), recv_timeout=OP_TIMEOUT_MS)
        a.add_post_pipe_connect_cb(lambda pipe: None)
        b = Pair0(dial=a.listeners[0].url, send_timeout=OP_TIMEOUT_MS)
        b.send(b"x")
        a.recv()

        async def one():
            await b.asend(b"y")
            return await a.arecv()

        asyncio.run(one())
        b.close()
        a.close()
        gc.collect()

    def start_workloads(self):
        """Opens the long-lived servers and makes the worker threads.  Only
        the threads and self._sockets refer to the sockets afterwards, so
        that once the run is over and they are closed, nothing keeps them."""
        sink = self.sock(Pull0, recv_timeout=200)
        seen = collections.Counter()

        def pre(pipe):  # refuses every fifth connection to the sink
            seen["pre"] += 1
            if seen["pre"] % 5 == 0:
                pipe.close()

        sink.add_pre_pipe_connect_cb(pre)
        sink.add_post_pipe_remove_cb(lambda pipe: seen.update(["removed"]))
        sink_urls = self.serve_on_all(sink)
        rep_server = self.sock(Rep0, recv_timeout=200)
        rep_urls = self.serve_on_all(rep_server)
        req_socks = [self.sock(Req0, resend_time=150) for _ in range(2)]
        for i, r in enumerate(req_socks):
            for t in self.transports[i:] + self.transports[:i]:
                self.dial(r, rep_urls[t], block=False)
        pub = self.sock(Pub0)
        pub_urls = self.serve_on_all(pub)
        # Its pipes all frame alike (tcp's 8-byte prefix, tls+tcp's too): its bursts go
        # through the socket's shared batches (pnc_sock_broadcast).
        batching_pub = self.sock(Pub0)
        batching_urls = {t: self.dial_url(self.listen(batching_pub, self.url(t)))
                         for t in self.transports if t in ("tcp", "tls+tcp")}
        surv = self.sock(Surveyor0, survey_time=100)
        surv_urls = self.serve_on_all(surv)
        buses = [self.sock(Bus0, recv_timeout=200) for _ in range(3)]
        bus_urls = self.serve_on_all(buses[0])
        for i, node in enumerate(buses[1:]):
            self.dial(node, bus_urls[self.transports[i]], block=False)
        buses[1].listen(self.url("inproc"))
        buses[2].dial(buses[1].listeners[0].url, block=False)

        self.worker("pair0", self.pair_cycle, Pair0)
        self.worker("pair1", self.pair_cycle, Pair1)
        self.worker("pull", self.pipeline_sink, sink)
        for i in range(3):
            self.worker("push%d" % i, self.pipeline_source, sink_urls)
        for i in range(3):
            self.worker("rep%d" % i, self.rep_server, rep_server.new_context())
        for i in range(4):
            self.worker("req%d" % i, self.req_client, req_socks[i % 2])
        self.worker("pub", self.pub_source, pub)
        for i in range(2):
            self.worker("sub%d" % i, self.sub_cycle, pub_urls)
        if batching_urls:
            self.worker("pub_batched", self.pub_source, batching_pub)
            for i in range(2):
                self.worker("sub_batched%d" % i, self.sub_cycle, batching_urls)
        for i in range(2):
            self.worker("surveyor%d" % i, self.surveyor, surv.new_context())
        for i in range(2):
            self.worker("respondent%d" % i, self.respondent_cycle, surv_urls)
        for i, node in enumerate(buses):
            self.worker("bus%d" % i, self.bus_node, node)
        servers = [sink, rep_server, pub, surv, buses[0]]
        by_proto = {"push": (Push0, sink_urls), "req": (Req0, rep_urls),
                    "sub": (Sub0, pub_urls), "respondent": (Respondent0, surv_urls),
                    "bus": (Bus0, bus_urls)}
        for i in range(2):
            self.worker("churn%d" % i, self.churn, servers, by_proto)
        self.worker("async", self.async_loop, rep_urls)

    def run(self):
        rep = self.report
        self.warm_up()
        rep.fds_before = fd_count()
        rep.threads_before = threading.active_count()
        started = time.monotonic()
        self.start_workloads()

        try:
            for t in self.threads:
                t.start()
            self.stop.wait(self.seconds)
        finally:
            self.stop.set()
            deadline = time.monotonic() + JOIN_DEADLINE
            for t in self.threads:
                t.join(max(0.0, deadline - time.monotonic()))
            frames = sys._current_frames()
            for t in self.threads:
                if t.is_alive():
                    stack = "".join(traceback.format_stack(frames.get(t.ident))) \
                        if t.ident in frames else "(no frame)"
                    rep.hung.append((t.name, stack))
            with self._sockets_lock:
                left = list(self._sockets)
                self._sockets.clear()
            for s in left:
                s.close()
            left = s = frames = None  # drop the last references: close() then collection
            rep.seconds = time.monotonic() - started

        if not rep.hung:
            rep.threads_after = threading.active_count()
            # Closed sockets give their descriptors back on the I/O thread:
            # wait for it to settle rather than count at once.
            limit = rep.fds_before + LAZY_FDS if rep.fds_before is not None else None
            settle = time.monotonic() + 10  # a lingering pipe may still be draining
            gc.collect()
            while limit is not None and fd_count() > limit and time.monotonic() < settle:
                time.sleep(0.02)
                gc.collect()
            rep.fds_after = fd_count()
            if limit is not None and rep.fds_after > limit:
                rep.fail("descriptors", "%d descriptors open after the run, %d before "
                         "(+%d allowed): %s" % (rep.fds_after, rep.fds_before, LAZY_FDS,
                                                _fd_listing()))
            if rep.threads_after > rep.threads_before:
                rep.fail("threads", "%d threads after the run, %d before: %s" % (
                    rep.threads_after, rep.threads_before,
                    [t.name for t in threading.enumerate()]))
        shutil.rmtree(self.dir, ignore_errors=True)
        return rep


def _fd_listing():
    return ", ".join("%s->%s" % pair for pair in _open_descriptors())


def run(seconds, seed=None, only=None):
    return Stress(seconds, seed, only).run()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("PNC_STRESS_SECONDS", "10")))
    ap.add_argument("--poller", choices=["epoll", "iocp", "poll"], default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--only", default=None,
                    help="comma-separated workload names or prefixes (pair0,req,async...)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    faulthandler.enable()
    # A hang the join deadline cannot catch (in a close at the end) dumps
    # every thread's stack and exits.
    faulthandler.dump_traceback_later(args.seconds + JOIN_DEADLINE + 30, exit=True)
    if args.poller:
        import pynng_core.poller
        pynng_core.poller.use(args.poller)
    rep = run(args.seconds, args.seed, args.only.split(",") if args.only else None)
    faulthandler.cancel_dump_traceback_later()
    if args.json:
        print(json.dumps(rep.as_dict()))
    else:
        print(rep.summary())
    return 0 if rep.ok else 1


if __name__ == "__main__":
    sys.exit(main())

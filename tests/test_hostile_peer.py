"""Hostile peers of every protocol, while a legitimate peer keeps working.

For each protocol, a pynng_core socket listens on tcp and ipc and serves a
legitimate peer (pynng, i.e. libnng, or pynng_core) that exchanges checked
messages with it without a pause, while raw connections speaking as that
protocol's peer (or as nobody's) send valid frames, mutated frames (random
bytes flipped), truncated frames, frames whose length prefix is too big
(recv_max_size + 1, 2^32 + 16, 2^63, 2^64 - 1), frames too short for the
protocol header, bad ipc type bytes, floods, byte-by-byte dribbles and
wrong handshakes, and then close, reset (SO_LINGER 0) or half-close.

Asserted: every legitimate round trip completes, intact and in time; the
legitimate connection is the same pipe from start to end on both sides
(a hostile connection only ever closes its own pipe); whatever a hostile
peer gets delivered comes on its own pipe, never in place of the
legitimate peer's message; the socket serves a last round after the attack
and its stats count the rejected and dropped input.  Then two bounds the
design promises against hostile peers: a huge length prefix under the
default options, and replies to a peer that never reads.

PNC_HOSTILE_SECONDS (default 0.3) is the attack time per protocol and poller.
"""
import os
import random
import socket
import struct
import threading
import time

import pytest

import pynng
import pynng_core
from platform_probes import unix_sockets_missing
from peers import raw_connect, recv_exactly, sp_header, wait_until
from protocol_peers import SP_ID, send_until_received

pytestmark = pytest.mark.core_only

HOSTILE_SECONDS = float(os.environ.get("PNC_HOSTILE_SECONDS", "0.3"))
HOSTILE_THREADS = 3
RECV_MAX = 64 * 1024
ROUND_LIMIT = 5.0   # seconds a legitimate round trip may take under attack
OP_MS = 5000


def word(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def rand_id(rng):
    return word(0x80000000 | rng.getrandbits(31))


# What a well-formed message *to* the target looks like on the wire (the
# header its peer would put before the body), per target protocol.
HEADERS = {
    "pair0": lambda rng: b"",
    "pair1": lambda rng: word(1),                   # one hop
    "req0": lambda rng: rand_id(rng),               # a reply, to an unknown request
    "rep0": lambda rng: rand_id(rng),               # a request
    "pub0": lambda rng: b"",                        # a sub never sends: pub drops or closes
    "sub0": lambda rng: b"",
    "push0": lambda rng: b"",                       # a pull never sends: discarded
    "pull0": lambda rng: b"",
    "surveyor0": lambda rng: rand_id(rng),          # an answer to an unknown survey
    "respondent0": lambda rng: rand_id(rng),        # a survey
    "bus0": lambda rng: b"",
}
PEER = {"pair0": "pair0", "pair1": "pair1", "req0": "rep0", "rep0": "req0", "pub0": "sub0",
        "sub0": "pub0", "push0": "pull0", "pull0": "push0", "surveyor0": "respondent0",
        "respondent0": "surveyor0", "bus0": "bus0"}
CORE = {"pair0": pynng_core.Pair0, "pair1": pynng_core.Pair1, "req0": pynng_core.Req0,
        "rep0": pynng_core.Rep0, "pub0": pynng_core.Pub0, "sub0": pynng_core.Sub0,
        "push0": pynng_core.Push0, "pull0": pynng_core.Pull0,
        "surveyor0": pynng_core.Surveyor0, "respondent0": pynng_core.Respondent0,
        "bus0": pynng_core.Bus0}
PYNNG = {"pair0": pynng.Pair0, "pair1": pynng.Pair1, "req0": pynng.Req0, "rep0": pynng.Rep0,
         "pub0": pynng.Pub0, "sub0": pynng.Sub0, "push0": pynng.Push0, "pull0": pynng.Pull0,
         "surveyor0": pynng.Surveyor0, "respondent0": pynng.Respondent0, "bus0": pynng.Bus0}


# --------------------------------------------------------------------------
# The attacks: each takes (sock, transport, target protocol, rng).


def framed(transport, payload, length=None, kind=0x01):
    length = len(payload) if length is None else length
    prefix = struct.pack(">Q", length)
    return (bytes([kind]) + prefix if transport == "ipc" else prefix) + payload


def handshake(sock, proto):
    sock.sendall(sp_header(SP_ID[PEER[proto]]))


def valid_frames(proto, rng, n):
    return [HEADERS[proto](rng) + b"hostile-" + rng.randbytes(rng.randrange(0, 300))
            for _ in range(n)]


def a_valid(sock, t, proto, rng):
    handshake(sock, proto)
    sock.sendall(b"".join(framed(t, f) for f in valid_frames(proto, rng, rng.randrange(1, 8))))


def a_mutated(sock, t, proto, rng):
    handshake(sock, proto)
    data = bytearray(b"".join(framed(t, f) for f in valid_frames(proto, rng, 4)))
    for _ in range(rng.randrange(1, 6)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    sock.sendall(bytes(data))


def a_mutated_handshake(sock, t, proto, rng):
    hs = bytearray(sp_header(SP_ID[PEER[proto]]))
    hs[rng.randrange(8)] ^= 1 << rng.randrange(8)
    sock.sendall(bytes(hs) + framed(t, valid_frames(proto, rng, 1)[0]))


def a_truncated(sock, t, proto, rng):
    handshake(sock, proto)
    whole = framed(t, valid_frames(proto, rng, 1)[0] + rng.randbytes(2000))
    sock.sendall(whole[:rng.randrange(1, len(whole))])


def a_over_recv_max(sock, t, proto, rng):
    handshake(sock, proto)
    sock.sendall(framed(t, rng.randbytes(4096), length=RECV_MAX + 1))


def a_over_2_32(sock, t, proto, rng):
    handshake(sock, proto)
    sock.sendall(framed(t, rng.randbytes(4096), length=(1 << 32) + 16))


def a_over_2_63(sock, t, proto, rng):
    handshake(sock, proto)
    sock.sendall(framed(t, rng.randbytes(64), length=1 << 63))


def a_over_2_64(sock, t, proto, rng):
    handshake(sock, proto)
    sock.sendall(framed(t, rng.randbytes(64), length=(1 << 64) - 1))


def a_short_header(sock, t, proto, rng):
    # Fewer bytes than the protocol header needs (where it has one).
    handshake(sock, proto)
    sock.sendall(framed(t, rng.randbytes(rng.randrange(0, 4))))


def a_bad_ipc_type(sock, t, proto, rng):
    handshake(sock, proto)
    body = HEADERS[proto](rng) + b"never delivered"
    sock.sendall(framed(t, body, kind=rng.choice([0, 2, 0x7F, 0xFF])) if t == "ipc"
                 else framed(t, body))


def a_flood(sock, t, proto, rng):
    handshake(sock, proto)
    sock.sendall(b"".join(framed(t, f) for f in valid_frames(proto, rng, 200)))


def a_dribble(sock, t, proto, rng):
    handshake(sock, proto)
    for byte in framed(t, valid_frames(proto, rng, 1)[0])[:40]:
        sock.sendall(bytes([byte]))


def a_wrong_protocol(sock, t, proto, rng):
    others = [p for p in SP_ID if p != PEER[proto]]
    sock.sendall(sp_header(SP_ID[rng.choice(others)]) + framed(t, b"hostile-wrong-proto"))


def a_garbage(sock, t, proto, rng):
    sock.sendall(rng.choice([b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", rng.randbytes(64),
                             b"\x00SP\x00", b"\x00SP\x01" + rng.randbytes(4)]))


def a_reserved_bits(sock, t, proto, rng):
    sock.sendall(b"\x00SP\x00" + struct.pack(">H", SP_ID[PEER[proto]]) + b"\x01\x00")


def a_nothing(sock, t, proto, rng):
    pass


ATTACKS = [a_valid, a_mutated, a_mutated_handshake, a_truncated, a_over_recv_max,
           a_over_2_32, a_over_2_63, a_over_2_64, a_short_header, a_bad_ipc_type, a_flood,
           a_dribble, a_wrong_protocol, a_garbage, a_reserved_bits, a_nothing]


def end_connection(sock, rng):
    how = rng.randrange(3)
    try:
        if how == 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif how == 1:
            # Half-close, then read what comes until the target closes (bounded).
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(0.05)
            deadline = time.monotonic() + 0.2
            while time.monotonic() < deadline and sock.recv(65536):
                pass
    except OSError:
        pass
    finally:
        sock.close()


class Hostiles:
    """Threads opening hostile connections to the target's addresses until
    stopped; the attacks go round in a shuffled order, so each is made."""

    def __init__(self, proto, urls, seed):
        self.proto, self.urls = proto, urls
        self.stop = threading.Event()
        self.connections = 0
        self.made = set()
        self.errors = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(seed + i,), daemon=True)
                        for i in range(HOSTILE_THREADS)]

    def _run(self, seed):
        rng = random.Random(seed)
        order = list(ATTACKS)
        rng.shuffle(order)
        i = 0
        while not self.stop.is_set():
            attack = order[i % len(order)]
            i += 1
            url = rng.choice(self.urls)
            transport = url.split("://")[0]
            try:
                sock = raw_connect(url, timeout=5)
            except OSError as exc:
                with self.lock:
                    self.errors.append("cannot connect to %s: %r" % (url, exc))
                return
            try:
                attack(sock, transport, self.proto, rng)
                if rng.random() < 0.5:  # read what comes back, for a moment
                    sock.settimeout(0.002)
                    try:
                        sock.recv(65536)
                    except (socket.timeout, OSError):
                        pass
            except OSError:
                pass  # the target closed it already: that is its right
            finally:
                end_connection(sock, rng)
            with self.lock:
                self.connections += 1
                self.made.add(attack.__name__)

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)
        assert not any(t.is_alive() for t in self.threads), "a hostile thread hung"


# --------------------------------------------------------------------------
# Legitimate traffic, per target protocol.  setup() connects the legitimate
# peer and returns a Session whose round(i) makes one checked exchange.


class Session:
    def __init__(self, target, legit, legit_is_core):
        self.target, self.legit, self.legit_is_core = target, legit, legit_is_core
        self.target_pipe = None   # the legitimate connection, on the target's side
        self.legit_pipe = None    # and on the legitimate peer's side
        self.server = None
        self.server_on_legit = False
        self.stop = threading.Event()
        self.server_error = []

    def serve(self, sock, answer):
        """A thread answering every request/survey on ``sock`` (the target's
        or the legitimate peer's) with answer(request)."""
        def loop():
            while not self.stop.is_set():
                try:
                    req = sock.recv()
                except (pynng_core.Timeout, pynng.Timeout):
                    continue
                except (pynng_core.Closed, pynng.Closed):
                    return
                try:
                    sock.send(answer(req))
                except (pynng_core.Closed, pynng.Closed):
                    return
                except Exception as exc:  # noqa: BLE001 - reported by the test
                    self.server_error.append(repr(exc))
                    return
        self.server = threading.Thread(target=loop, daemon=True)
        self.server_on_legit = sock is self.legit
        self.server.start()

    def legit_recv_on_target(self):
        """The next message the target got from the legitimate peer; what
        hostile peers got delivered meanwhile must come on their own pipes."""
        while True:
            msg = self.target.recv_msg()
            if msg.pipe is not None and msg.pipe.id == self.target_pipe:
                return msg.bytes
            assert b"legit-" not in msg.bytes, "legitimate data on a hostile pipe"
            assert not isinstance(self.target, pynng_core.Sub0), \
                "a message outside the subscribed topic: %r" % msg.bytes[:40]

    def hostile_gone(self):
        if self.server is None or self.server_on_legit:
            try:
                while True:
                    got = self.target.recv_msg(block=False)
                    assert got.pipe is None or got.pipe.id != self.target_pipe, \
                        "an unexpected message from the legitimate peer: %r" % got.bytes[:40]
            except (pynng_core.TryAgain, pynng_core.NotSupported, pynng_core.BadState):
                pass
        return [p.id for p in self.target.pipes] == [self.target_pipe]

    def close(self):
        self.stop.set()
        self.legit.close()
        self.target.close()  # wakes the server thread with Closed
        if self.server is not None:
            self.server.join(10)


def msg(i, size=None):
    size = (i * 53) % 900 if size is None else size
    return b"legit-%d-" % i + bytes((i + k) & 0xFF for k in range(size))


def _target(proto, **kw):
    kw.setdefault("recv_timeout", OP_MS)
    kw.setdefault("send_timeout", OP_MS)
    return CORE[proto](recv_max_size=RECV_MAX, **kw)


def _legit(proto, core, **kw):
    cls = CORE[PEER[proto]] if core else PYNNG[PEER[proto]]
    kw.setdefault("recv_timeout", OP_MS)
    kw.setdefault("send_timeout", OP_MS)
    return cls(**kw)


def make_session(proto, legit_url):
    """The target, its legitimate peer connected, and the round function."""
    kw = {}
    if proto == "req0":
        kw["resend_time"] = 100  # a request sent to a hostile pipe goes again
    if proto == "surveyor0":
        kw["survey_time"] = 1000
    if proto == "sub0":
        # A full SUB queue drops (pub/sub's rule, not a fault): hostile
        # publishers flooding an all-topics subscriber could push the
        # legitimate message out.  Subscribed to the legitimate prefix only,
        # the target filters hostile data before it is queued.
        kw["topics"] = b"legit-"
    target = _target(proto, **kw)
    legit_core = proto in ("req0", "push0", "surveyor0")
    lkw = {}
    if PEER[proto] == "sub0":
        lkw["topics"] = b""
    if PEER[proto] == "surveyor0":
        lkw["survey_time"] = 2000
    legit = _legit(proto, legit_core, **lkw)
    return Session(target, legit, legit_core)


def connect(session, proto, urls, legit_url):
    s = session
    for url in urls:
        s.target.listen(url)
    s.legit.dial(legit_url, block=True)
    wait_until(lambda: len(s.target.pipes) == 1 and len(s.legit.pipes) == 1)
    s.target_pipe = s.target.pipes[0].id
    s.legit_pipe = s.legit.pipes[0].id
    if proto == "req0":
        s.serve(s.legit, lambda r: b"R" + r)
    elif proto in ("rep0", "respondent0"):
        s.serve(s.target, lambda r: b"R" + r)
    elif proto == "surveyor0":
        s.serve(s.legit, lambda r: b"R" + r)
    elif proto == "pub0":
        send_until_received(s.target, s.legit)
        drain(s.legit)
    elif proto == "sub0":
        s.legit.send(b"legit-sync")  # pub sends nothing until the pipe is up on its side
        wait_until(lambda: _try_sync(s))
        drain(s.target)


def _try_sync(s):
    try:
        s.target.recv_timeout = 100
        return s.target.recv() == b"legit-sync"
    except pynng_core.Timeout:
        s.legit.send(b"legit-sync")
        return False
    finally:
        s.target.recv_timeout = OP_MS


def drain(sock):
    saved = sock.recv_timeout
    sock.recv_timeout = 100
    try:
        while True:
            sock.recv()
    except (pynng_core.Timeout, pynng.Timeout):
        pass
    finally:
        sock.recv_timeout = saved


def one_round(s, proto, i):
    """One checked exchange between the target and the legitimate peer."""
    m = msg(i)
    t, lg = s.target, s.legit
    if proto in ("pair0", "pair1"):
        lg.send(m)
        assert t.recv() == m
        t.send(m + b"<")
        assert lg.recv() == m + b"<"
    elif proto == "req0":
        t.send(m)
        assert t.recv() == b"R" + m
    elif proto in ("rep0", "respondent0"):
        lg.send(m)
        while True:
            got = lg.recv()
            if proto == "rep0" or got == b"R" + m:
                break  # a respondent's late answers to earlier surveys are skipped
        assert got == b"R" + m
    elif proto == "surveyor0":
        t.send(m)
        while True:
            answer = t.recv_msg()
            if answer.pipe is not None and answer.pipe.id == s.target_pipe:
                assert answer.bytes == b"R" + m
                break
    elif proto == "pub0":
        t.send(m)
        assert lg.recv() == m
    elif proto in ("sub0", "pull0"):
        lg.send(m)
        assert s.legit_recv_on_target() == m
    elif proto == "push0":
        t.send_msg(pynng_core.Message(m, pipe=t._pipe(s.target_pipe)))
        assert lg.recv() == m
    elif proto == "bus0":
        lg.send(m)
        assert s.legit_recv_on_target() == m
        t.send(m + b"<")
        assert lg.recv() == m + b"<"
    else:
        raise AssertionError(proto)


PROTOCOLS = sorted(HEADERS)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_hostile_peers_never_disturb_legitimate_traffic(proto, make_url):
    # The attackers are raw sockets: ipc needs AF_UNIX (a Windows pipe is none).
    urls = ["tcp://127.0.0.1:%d" % _free_port(),
            "tcp://127.0.0.1:%d" % _free_port() if unix_sockets_missing() else make_url("ipc")]
    legit_url = urls[PROTOCOLS.index(proto) % 2]
    s = make_session(proto, legit_url)
    try:
        connect(s, proto, urls, legit_url)
        one_round(s, proto, 0)
        hostiles = Hostiles(proto, urls, seed=random.randrange(1 << 30))
        rounds, slowest = 1, 0.0
        hostiles.start()
        try:
            deadline = time.monotonic() + HOSTILE_SECONDS
            while time.monotonic() < deadline or len(hostiles.made) < len(ATTACKS):
                t0 = time.monotonic()
                one_round(s, proto, rounds)
                slowest = max(slowest, time.monotonic() - t0)
                rounds += 1
                assert time.monotonic() < deadline + 20, "the attack never got going"
        finally:
            hostiles.finish()
        assert not hostiles.errors, hostiles.errors[:3]
        missing = {a.__name__ for a in ATTACKS} - hostiles.made
        assert not missing, "attacks never made: %s" % missing
        assert slowest < ROUND_LIMIT, "a round trip took %.1f s under attack" % slowest
        assert not s.server_error, s.server_error
        # The legitimate connection was never touched: same pipe, both sides.
        assert s.target_pipe in {p.id for p in s.target.pipes}
        assert [p.id for p in s.legit.pipes] == [s.legit_pipe]
        # Once the hostile peers are gone and what they had delivered is
        # read (a pipe whose messages wait in a full queue is paused, and
        # sees its peer's close only when they are taken), only the
        # legitimate connection is left ...
        wait_until(lambda: s.hostile_gone(),
                   message="hostile pipes left open: %r" % (s.target.pipes,))
        # ... and it is served as before.
        for k in range(5):
            one_round(s, proto, rounds + k)
        stats = s.target.stats
        assert stats["pipes_rejected"] > 0, stats          # bad handshakes
        if proto in ("pair0", "pair1"):
            # It has its one peer: every other connection is refused once
            # its handshake is read, before any frame.
            assert stats["pipes_closed"] == 0, stats
        else:
            assert stats["dropped_too_large"] > 0, stats   # oversized prefixes
            assert stats["pipes_closed"] > 0, stats        # hostile pipes it took, then closed
        assert rounds >= 5, "only %d legitimate round trips during the attack" % rounds
    finally:
        s.close()


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------
# Bounds the design promises against a hostile peer (what they cost in
# memory is measured by benchmarks/hostile_memory.py, side by side with
# pynng; here, what the peers see)


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_huge_prefix_with_default_options_closes_only_its_pipe(transport, make_url):
    """DESIGN: a frame's memory grows as its bytes arrive, and a length past
    recv_max_size (1 GiB by default) is refused: peers announcing 2^32 + 16
    bytes each lose their own pipe, and the legitimate peer goes on."""
    url = "tcp://127.0.0.1:%d" % _free_port() if transport == "tcp" else make_url("ipc")
    target = pynng_core.Pull0(listen=url, recv_timeout=OP_MS)
    good = pynng_core.Push0(dial=url, send_timeout=OP_MS)
    conns = []
    try:
        wait_until(lambda: len(target.pipes) == 1)
        for _ in range(4):
            c = raw_connect(url)
            c.sendall(sp_header(SP_ID["push0"]))
            recv_exactly(c, 8)
            conns.append(c)
            try:
                c.sendall(framed(transport, b"x" * 40000, length=(1 << 32) + 16))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the refusal can come before all 40000 bytes are written
        wait_until(lambda: target.stats["dropped_too_large"] == 4)
        wait_until(lambda: len(target.pipes) == 1)
        good.send(b"still here")
        assert target.recv() == b"still here"
    finally:
        for c in conns:
            c.close()
        good.close()
        target.close()


@pytest.mark.one_poller
@pytest.mark.timeout(120)
def test_replies_to_a_peer_that_never_reads_wait_for_room(make_url):
    """DESIGN: every per-pipe queue has a limit that a peer which never
    reads cannot push past (audit B7).  A req peer sends 20,000 requests and
    reads none of the 8 KiB replies: the server's replies to it wait for
    room and time out once its pipe is full, while a legitimate client of
    the same server, served by the same contexts, gets every answer: a pipe
    adds at most a batch of requests to the queue past its limit, so the
    client's request waits behind a batch of the flood, not all of it."""
    url = "tcp://127.0.0.1:%d" % _free_port()
    rep = pynng_core.Rep0(listen=url, recv_timeout=200, send_timeout=50)
    timeouts = [0]
    stop = threading.Event()

    def serve(ctx):
        body = b"r" * 8192
        while not stop.is_set():
            try:
                ctx.send(body + ctx.recv()[:16])
            except pynng_core.Timeout:
                timeouts[0] += 1
            except pynng_core.Closed:
                return

    servers = [threading.Thread(target=serve, args=(rep.new_context(),)) for _ in range(8)]
    for t in servers:
        t.start()
    hostile = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])))
    hostile.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client = pynng_core.Req0(dial=url, recv_timeout=10000, send_timeout=10000)
    try:
        hostile.sendall(sp_header(SP_ID["req0"]))
        recv_exactly(hostile, 8)
        reqs = b"".join(struct.pack(">Q", 8) + word(0x80000000 | i) + b"ping"
                        for i in range(1000))
        wait_until(lambda: len(rep.pipes) == 2)
        (hostile_pipe,) = [p for p in rep.pipes if p.remote_address.port_number ==
                           hostile.getsockname()[1]]
        hostile.setblocking(False)
        for i in range(10):
            try:
                hostile.send(reqs * 20)
            except BlockingIOError:
                pass
            client.send(b"legit %d" % i)
            assert client.recv().endswith(b"legit %d" % i)
        assert timeouts[0] > 0, "no reply to the peer that never reads ever waited"
        # What the hostile pipe took: its kernel buffer and our bounded
        # queue's worth, not one reply per request it sent.
        assert hostile_pipe.stats["msgs_out"] < hostile_pipe.stats["msgs_in"]
    finally:
        stop.set()
        hostile.close()
        client.close()
        rep.close()
        for t in servers:
            t.join(10)

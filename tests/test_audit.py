"""Regression tests for the bugs of the core audit (shared/audit/README.md).

Each test is the audit's reproducer cut to a few seconds and turned into
assertions about what a user sees: replies received, errors raised, a peer
still served.  On the code the audit read (9f31dac) B1 crashed the process
outright; B2-B5 read or wrote freed memory, which the suite's run under
AddressSanitizer with the block pools off (.ci/sanitize.py address) reports
and fails; B7 and B8 show in behaviour here.  B6, a 32-bit overflow, is run
by the fuzz targets' -m32 replay (csrc/fuzz/fuzz.py ci).
"""

import socket
import struct
import threading
import time

import pytest

from pynng_core import (Closed, Pair0, Pair1, Pull0, Push0, Rep0, Req0, Timeout,
                        TryAgain)
from peers import DEFAULT_TIMEOUT, closed_by_peer, frame, raw_connect, sp_header, wait_until
from protocol_peers import SP_ID, RawPeer, dial_url, listen_url, sock, word

pytestmark = pytest.mark.core_only

SECONDS = 2.0  # how long each race runs


def run_threads(targets, seconds=SECONDS):
    """Runs each target(stop) on a thread for `seconds`; re-raises the first error."""
    stop = threading.Event()
    errors = []

    def guard(fn):
        try:
            fn(stop)
        except BaseException as exc:  # reported below
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=guard, args=(fn,)) for fn in targets]
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join(DEFAULT_TIMEOUT)
        assert not t.is_alive(), "a thread is stuck"
    if errors:
        raise errors[0]


def test_b1_req_contexts_survive_pipe_closes(make_url):
    """B1: a pipe closing while many contexts have requests on it resent
    them while walking the in-flight list with the lock dropped (SIGSEGV).
    Every context keeps getting its own replies."""
    rep = sock(Rep0, listen="tcp://127.0.0.1:0")
    url = dial_url(rep.listeners[0])
    req = sock(Req0, resend_time=10, recv_timeout=300, send_timeout=300,
               reconnect_time_min=5, reconnect_time_max=20)
    for _ in range(4):
        req.dial(url, block=False)
    replies = [0]

    def serve(ctx):
        def run(stop):
            while not stop.is_set():
                try:
                    ctx.send(ctx.recv())
                except Timeout:
                    pass
                except Closed:
                    return
        return run

    def ask(ctx, n):
        def run(stop):
            i = 0
            while not stop.is_set():
                body = b"%d-%d" % (n, i)
                try:
                    ctx.send(body)
                    assert ctx.recv() == body  # its own reply, never another's
                    replies[0] += 1
                except Timeout:
                    pass
                i += 1
        return run

    def closer(stop):
        while not stop.is_set():
            for p in list(req.pipes)[:1]:
                try:
                    p.close()
                except Closed:
                    pass
            time.sleep(0.003)

    server = None
    try:
        run_threads([serve(rep.new_context()) for _ in range(3)] +
                    [ask(req.new_context(), n) for n in range(8)] + [closer])
        assert replies[0] > 0
        wait_until(lambda: req.pipes)
        ctx = req.new_context()
        server = threading.Thread(target=serve(rep.new_context()), args=(threading.Event(),))
        ctx.send(b"after")
        server.start()  # answers what the race left queued too, then ours
        assert ctx.recv() == b"after"
    finally:
        req.close()
        rep.close()
        if server is not None:
            server.join(DEFAULT_TIMEOUT)


@pytest.mark.parametrize("cls", [Pair0, Pair1])
def test_b3_second_inproc_dialer_is_refused_cleanly(cls, make_url):
    """B3: the refused listener-side pipe of a second inproc dialer was
    freed by its transport while pnc_pipe_close still read it."""
    url = make_url("inproc")
    a = sock(cls, listen=url)
    b = sock(cls, dial=url)
    c = sock(cls)
    try:
        wait_until(lambda: a.pipes and b.pipes)
        for _ in range(20):
            c.dial(url, block=False)
        wait_until(lambda: a.stats["pipes_rejected"] >= 3)
        b.send(b"still paired")
        assert a.recv() == b"still paired"
        assert len(a.pipes) == 1
        c.recv_timeout = 50
        with pytest.raises(Timeout):
            c.recv()
    finally:
        for s in (c, b, a):
            s.close()


def test_b4_threads_sending_on_one_req_context():
    """B4: two senders on one Req0 context released the first one's
    message twice (a block the pools then handed out twice).  Each send
    times out cleanly; afterwards requests and replies are intact."""
    req = sock(Req0, send_timeout=100, recv_timeout=1000)

    def sender(stop):
        while not stop.is_set():
            with pytest.raises(Timeout):
                req.send(b"x" * 10)

    try:
        run_threads([sender] * 4, seconds=1.0)
        rep = sock(Rep0)
        try:
            url = "inproc://b4-%d" % id(rep)
            rep.listen(url)
            req.dial(url)
            for i in range(200):
                body = bytes([i % 256]) * (i + 1)
                req.send(body)
                assert rep.recv() == body
                rep.send(body[::-1])
                assert req.recv() == body[::-1]
        finally:
            rep.close()
    finally:
        req.close()


def test_b2_push_sender_while_peers_connect_and_reset(make_url):
    """B2: a pipe that reset while a send to it ran lost its last reference
    under the sender, which then read it.  The sender goes on and a real
    puller gets every message it was given, whole and in order."""
    push = sock(Push0, send_timeout=20)
    listener = push.listen("tcp://127.0.0.1:0")
    url = dial_url(listener)
    pull = sock(Pull0, dial=url, recv_timeout=1000)
    got = []

    def sender(stop):
        n = 0
        while not stop.is_set():
            try:
                push.send(b"%08d" % n)
                n += 1
            except Timeout:
                pass

    def puller(stop):
        while not stop.is_set():
            try:
                got.append(int(pull.recv()))
            except Timeout:
                pass

    def resetter(stop):
        while not stop.is_set():
            c = socket.create_connection(("127.0.0.1", listener.port))
            c.sendall(sp_header(SP_ID["pull0"]))
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            time.sleep(0.001)
            c.close()  # RST

    try:
        run_threads([sender, puller, resetter])
        assert got, "the real puller got nothing"
        assert got == sorted(got), "out of order"
    finally:
        pull.close()
        push.close()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_b5_lingering_pipe_reset_while_closing(transport, make_url):
    """B5: a closing pipe still flushing its queue was freed by the write
    that found the reset, then read by the same poll callback."""
    for _ in range(3):
        push = sock(Push0, send_timeout=50)
        listener = push.listen(listen_url(transport, make_url))
        peer = raw_connect(dial_url(listener))
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        peer.sendall(sp_header(SP_ID["pull0"]))
        wait_until(lambda: push.pipes)
        with pytest.raises(Timeout):
            for _ in range(10000):
                push.send(b"x" * 65536)
        closer = threading.Thread(target=push.close)
        closer.start()
        time.sleep(0.02)  # the pipe lingers, writing its queue
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()  # RST
        closer.join(DEFAULT_TIMEOUT)
        assert not closer.is_alive(), "close hung"


def test_b6_length_past_32_bits_is_no_small_message(make_url):
    """B6: a length of 2^32+16 was cast to 16 bytes on a 32-bit build.
    On any build such a frame is nothing but a claim: with no limit set it
    waits for bytes that never come, and the peer's close delivers nothing."""
    pull = sock(Pull0, recv_max_size=0, recv_timeout=100)
    listener = pull.listen("tcp://127.0.0.1:0")
    try:
        peer = RawPeer(dial_url(listener), "push0")
        peer.sock.sendall(frame("tcp", b"A" * 300000, length=(1 << 32) + 16))
        peer.close()
        wait_until(lambda: not pull.pipes)
        with pytest.raises(Timeout):
            pull.recv()
        with RawPeer(dial_url(listener), "push0") as good:
            good.send(b"whole")
            pull.recv_timeout = 5000
            assert pull.recv() == b"whole"
    finally:
        pull.close()


def test_b7_reply_to_a_peer_that_never_reads_waits(make_url):
    """B7: rep queued every reply to a peer that never read (843 MiB).  A
    reply now waits for room in the pipe's bounded queue, so the server's
    send times out once that queue is full; the replies sent are all there
    when the peer reads."""
    rep = sock(Rep0, send_timeout=200)
    listener = rep.listen("tcp://127.0.0.1:0")
    peer = RawPeer(dial_url(listener), "req0")
    try:
        reply = b"r" * 4096
        requests = 0
        served = 0
        with pytest.raises(Timeout):
            while served < 20000:
                requests += 1
                peer.send(word(0x80000000 | requests) + b"ping")
                rep.recv()
                rep.send(reply)
                served += 1
        assert served < 20000
        for i in range(1, served + 1):
            got = peer.recv()
            assert got == word(0x80000000 | i) + reply
    finally:
        peer.close()
        rep.close()


def test_b8_recv_max_size_has_a_finite_default(make_url):
    """B8: recv_max_size defaulted to 0 (any size), and a prefix was
    malloc'd whole: 4 peers claiming 8 GiB cost 32 GiB at once.  The default
    is now 1 GiB (NNG 2.0's); a claim past it drops that pipe only."""
    pull = sock(Pull0)
    assert pull.recv_max_size == 1 << 30
    listener = pull.listen("tcp://127.0.0.1:0")
    try:
        liars = [RawPeer(dial_url(listener), "push0") for _ in range(4)]
        for liar in liars:
            liar.sock.sendall(frame("tcp", b"x" * 40000, length=8 << 30))
        for liar in liars:
            assert closed_by_peer(liar.sock)
        assert pull.stats["dropped_too_large"] == 4
        with RawPeer(dial_url(listener), "push0") as good:
            good.send(b"fine")
            assert pull.recv() == b"fine"
    finally:
        pull.close()


@pytest.mark.parametrize("size", [(1 << 20) + 1, 5 << 20])
def test_b8_large_frame_arriving_slowly_is_whole(size, make_url):
    """A frame past the first allocation (1 MiB) grows as its bytes come
    (B8's fix): sent in pieces with pauses, it arrives whole."""
    pull = sock(Pull0)
    listener = pull.listen("tcp://127.0.0.1:0")
    body = bytes(range(256)) * (size // 256) + b"t" * (size % 256)
    try:
        with RawPeer(dial_url(listener), "push0") as peer:
            data = frame("tcp", body)
            for at in range(0, len(data), 700000):
                peer.sock.sendall(data[at:at + 700000])
                time.sleep(0.01)
            peer.send(b"next")
            assert pull.recv() == body
            assert pull.recv() == b"next"
    finally:
        pull.close()


def test_rep_reply_that_timed_out_can_be_sent_again(make_url):
    """The request stays to be answered until its reply went: a send that
    found the pipe full (B7's wait) raises, and the same reply goes later."""
    rep = sock(Rep0, send_timeout=100)
    listener = rep.listen("tcp://127.0.0.1:0")
    peer = RawPeer(dial_url(listener), "req0")
    try:
        for n in range(1, 2000):
            peer.send(word(0x80000000 | n) + b"q")
            rep.recv()
            try:
                rep.send(b"a" * 65536)
            except Timeout:
                break
        else:
            pytest.fail("2000 replies of 64 KiB to a peer that does not read all went")
        with pytest.raises(TryAgain):
            rep.send(b"last", block=False)
        for i in range(1, n):
            assert peer.recv() == word(0x80000000 | i) + b"a" * 65536
        rep.send(b"last")
        assert peer.recv() == word(0x80000000 | n) + b"last"
    finally:
        peer.close()
        rep.close()

"""Statistics: ``socket.stats`` and ``pipe.stats`` counters for messages
and bytes, pipes opened / closed / rejected, and messages dropped as too
large, with a bad header, or for a full queue."""

import struct

import pytest

from pynng_core import Pair0, Pair1, Pub0, Pull0, Push0, Sub0
from peers import closed_by_peer, wait_until
from protocol_peers import FAST_RECONNECT, RawPeer, connect_one, dial_url, listen_url, recv_all

TRANSPORTS = ["tcp", "ipc", "inproc"]
STREAMS = ["tcp", "ipc"]

SOCKET_FIELDS = {"msgs_in", "bytes_in", "msgs_out", "bytes_out", "pipes_opened",
                 "pipes_closed", "pipes_rejected", "dropped_too_large",
                 "dropped_bad_header", "dropped_queue_full", "rejected_peer_auth",
                 "rejected_tls", "rejected_protocol", "rejected_timeout"}
PIPE_FIELDS = {"msgs_in", "bytes_in", "msgs_out", "bytes_out"}


def subset(stats, **expected):
    """True when every expected counter has that value (for wait_until)."""
    return all(stats[k] == v for k, v in expected.items())


def wait_stats(obj, **expected):
    """Waits until ``obj.stats`` shows the expected counters; a mismatch
    fails with both dicts."""
    try:
        wait_until(lambda: subset(obj.stats, **expected), timeout=5)
    except AssertionError:
        got = {k: obj.stats[k] for k in expected}
        assert got == expected, "%r stats" % (obj,)


ZERO_DROPS = dict(pipes_rejected=0, dropped_too_large=0, dropped_bad_header=0,
                  dropped_queue_full=0)


# --------------------------------------------------------------------------
# shape


def test_stats_shape(socks):
    s = socks(Pair0)
    st = s.stats
    assert isinstance(st, dict)
    assert set(st) == SOCKET_FIELDS
    assert all(type(v) is int and v == 0 for v in st.values()), st
    listener = s.listen("tcp://127.0.0.1:0")
    c = socks(Pair0)
    sp, cp = connect_one(s, c, dial_url(listener))
    assert set(sp.stats) == PIPE_FIELDS
    assert all(v == 0 for v in sp.stats.values())
    assert s.stats is not s.stats  # a snapshot each time
    snapshot = s.stats
    c.send(b"abc")
    assert s.recv() == b"abc"
    assert snapshot["msgs_in"] == 0  # the old snapshot did not change


# --------------------------------------------------------------------------
# exact message and byte counts


A_TO_B = [b"", b"x", b"0123456789", b"m" * 1000, b"L" * 70000]
B_TO_A = [b"abc", b"r" * 300, b"R" * 30000]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_exact_counts_pair0(transport, socks, make_url):
    a = socks(Pair0)
    url = dial_url(a.listen(listen_url(transport, make_url)))
    b = socks(Pair0)
    pa, pb = connect_one(a, b, url)
    for m in A_TO_B:
        a.send(m)
        assert b.recv() == m
    for m in B_TO_A:
        b.send(m)
        assert a.recv() == m
    out_a = dict(msgs_out=len(A_TO_B), bytes_out=sum(map(len, A_TO_B)))
    out_b = dict(msgs_out=len(B_TO_A), bytes_out=sum(map(len, B_TO_A)))
    in_a = dict(msgs_in=out_b["msgs_out"], bytes_in=out_b["bytes_out"])
    in_b = dict(msgs_in=out_a["msgs_out"], bytes_in=out_a["bytes_out"])
    wait_stats(a, **out_a, **in_a, pipes_opened=1, pipes_closed=0, **ZERO_DROPS)
    wait_stats(b, **out_b, **in_b, pipes_opened=1, pipes_closed=0, **ZERO_DROPS)
    assert pa.stats == dict(out_a, **in_a)
    assert pb.stats == dict(out_b, **in_b)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_exact_counts_per_pipe(transport, socks, make_url):
    """Two pushers into one puller: the puller's socket counts the sum, each
    of its pipes what came from that pusher."""
    pull = socks(Pull0, recv_buffer_size=64)
    url = dial_url(pull.listen(listen_url(transport, make_url)))
    pushers, pull_pipes = [], []
    for _ in range(2):
        push = socks(Push0)
        sp, _ = connect_one(pull, push, url)
        pushers.append(push)
        pull_pipes.append(sp)
    sent = {0: [b"a" * n for n in (1, 2, 3, 4)], 1: [b"b" * 500] * 7}
    for i, push in enumerate(pushers):
        for m in sent[i]:
            push.send(m)
    got = [pull.recv_msg() for _ in range(len(sent[0]) + len(sent[1]))]
    for msg in got:
        assert msg.pipe is pull_pipes[0 if msg.bytes.startswith(b"a") else 1]
    total_msgs = sum(len(v) for v in sent.values())
    total_bytes = sum(len(m) for v in sent.values() for m in v)
    wait_stats(pull, msgs_in=total_msgs, bytes_in=total_bytes, msgs_out=0,
               bytes_out=0, pipes_opened=2, **ZERO_DROPS)
    for i in range(2):
        n, nbytes = len(sent[i]), sum(map(len, sent[i]))
        assert pull_pipes[i].stats == dict(msgs_in=n, bytes_in=nbytes,
                                           msgs_out=0, bytes_out=0)
        wait_stats(pushers[i], msgs_out=n, bytes_out=nbytes, msgs_in=0, bytes_in=0)
        assert pushers[i].pipes[0].stats == dict(msgs_in=0, bytes_in=0,
                                                 msgs_out=n, bytes_out=nbytes)


# --------------------------------------------------------------------------
# pipes opened / closed


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pipes_opened_and_closed(transport, socks, make_url):
    server = socks(Pull0)
    url = dial_url(server.listen(listen_url(transport, make_url)))
    clients, spipes = [], []
    for _ in range(3):
        c = socks(Push0, **FAST_RECONNECT)
        sp, _ = connect_one(server, c, url)
        clients.append(c)
        spipes.append(sp)
    wait_stats(server, pipes_opened=3, pipes_closed=0, pipes_rejected=0)
    for c in clients:
        wait_stats(c, pipes_opened=1, pipes_closed=0)
    # The peer goes away.
    clients[2].close()
    wait_until(lambda: spipes[2].closed)
    wait_stats(server, pipes_opened=3, pipes_closed=1)
    # This side closes a pipe: the client redials.
    old = clients[1].pipes[0].id
    spipes[1].close()
    wait_until(lambda: len(server.pipes) == 2 and clients[1].pipes
               and clients[1].pipes[0].id != old)
    wait_stats(server, pipes_opened=4, pipes_closed=2, pipes_rejected=0)
    wait_stats(clients[1], pipes_opened=2, pipes_closed=1)
    wait_stats(clients[0], pipes_opened=1, pipes_closed=0)


# --------------------------------------------------------------------------
# drops


@pytest.mark.parametrize("transport", STREAMS)
def test_dropped_too_large_raw_frame(transport, socks, make_url):
    url = make_url(transport)
    server = socks(Pull0, recv_max_size=100, listen=url)
    peer = RawPeer(url, "push0")
    with peer:
        peer.send(b"k" * 100)  # exactly the limit: accepted
        assert server.recv() == b"k" * 100
        peer.send(b"o" * 101)
        assert closed_by_peer(peer.sock), "oversize frame did not close the connection"
    wait_stats(server, dropped_too_large=1, msgs_in=1, bytes_in=100,
               dropped_bad_header=0, pipes_closed=1)
    # A length prefix far over the limit (no body follows): refused on the
    # prefix alone, before any allocation.
    with RawPeer(url, "push0") as liar:
        liar.sock.sendall(b"\x01" * (transport == "ipc") + struct.pack(">Q", 1 << 40))
        assert closed_by_peer(liar.sock)
    wait_stats(server, dropped_too_large=2, pipes_closed=2)
    # The socket still serves well-behaved peers.
    with RawPeer(url, "push0") as good:
        good.send(b"fine")
        assert server.recv() == b"fine"
    assert server.stats["msgs_in"] == 2


@pytest.mark.parametrize("transport", STREAMS)
def test_dropped_too_large_between_sockets(transport, socks, make_url):
    url = make_url(transport)
    server = socks(Pair1, polyamorous=True, recv_max_size=1000, listen=url)
    client = socks(Pair1, **FAST_RECONNECT)
    connect_one(server, client, url)
    client.send(b"z" * 5000)
    wait_stats(server, dropped_too_large=1)
    assert client.stats["dropped_too_large"] == 0


@pytest.mark.parametrize("transport", STREAMS)
def test_dropped_bad_header_short_pair1_frame(transport, socks, make_url):
    url = make_url(transport)
    server = socks(Pair1, listen=url)
    with RawPeer(url, "pair1", expect_peer="pair1") as peer:
        peer.send(struct.pack(">I", 1) + b"hi")  # hop count 1: valid
        assert server.recv() == b"hi"
        peer.send(b"\x00\x01")  # shorter than the 4-byte header
        assert closed_by_peer(peer.sock)
    wait_stats(server, dropped_bad_header=1, dropped_too_large=0, pipes_closed=1)
    with RawPeer(url, "pair1") as peer:
        peer.send(struct.pack(">I", 1) + b"again")
        assert server.recv() == b"again"
    assert server.stats["dropped_bad_header"] == 1


def test_dropped_bad_header_ipc_type_byte(socks, make_url):
    url = make_url("ipc")
    server = socks(Pull0, listen=url)
    with RawPeer(url, "push0") as peer:
        peer.sock.sendall(b"\x02" + struct.pack(">Q", 3) + b"abc")
        assert closed_by_peer(peer.sock)
    wait_stats(server, dropped_bad_header=1, msgs_in=0, pipes_closed=1)
    with RawPeer(url, "push0") as peer:
        peer.send(b"ok")
        assert server.recv() == b"ok"


@pytest.mark.parametrize("size", [10000, 64])
def test_dropped_queue_full_pub_to_stalled_subscriber(size, socks):
    """A subscriber that never reads its connection: the pub side's queue
    for it fills and what does not fit is dropped (pub never blocks).  64 B
    messages go to the pipe in the socket's batches, counted per message."""
    pub = socks(Pub0)
    url = dial_url(pub.listen("tcp://127.0.0.1:0"))
    with RawPeer(url, "sub0", expect_peer="pub0"):
        wait_until(lambda: pub.pipes)
        payload = b"p" * size
        sent = 0

        def publish_more():
            nonlocal sent
            for _ in range(100):
                pub.send(payload)
                sent += 1
            return pub.stats["dropped_queue_full"] > 0

        wait_until(publish_more, timeout=10, interval=0,
                   message="nothing dropped after publishing to a stalled subscriber")
        # What was not dropped was counted as sent, on the socket and the
        # pipe, once the last batch has gone (the I/O thread sends it).
        wait_until(lambda: pub.stats["msgs_out"] + pub.stats["dropped_queue_full"] == sent,
                   message="sent and dropped do not add up to what was published: %r" % (
                       pub.stats,))
        st = pub.stats
        assert 0 < st["dropped_queue_full"] <= sent
        assert pub.pipes[0].stats["msgs_out"] == st["msgs_out"]
        assert st["bytes_out"] == st["msgs_out"] * size


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dropped_queue_full_sub_overflow(transport, socks, make_url):
    """A Sub0 that does not recv keeps recv_buffer_size messages; the ones
    it had to throw away are counted."""
    pub = socks(Pub0)
    url = dial_url(pub.listen(listen_url(transport, make_url)))
    sub = socks(Sub0, topics=b"", recv_buffer_size=2)
    connect_one(pub, sub, url)
    n = 50
    for i in range(n):
        pub.send(b"%03d" % i)
    wait_stats(sub, msgs_in=n)
    got = recv_all(sub)
    assert 0 < len(got) < n
    assert sub.stats["dropped_queue_full"] == n - len(got), (
        "sub received %d of %d published messages; stats: %r" % (len(got), n, sub.stats))

"""send_many and recv_many: many messages per call, each one still sent and
received exactly as send() and recv() would, in order, none lost."""

import threading
import time

import pytest

import pynng
import pynng_core
from pynng_core import (
    Closed, Pair0, Pub0, Pull0, Push0, Rep0, Req0, Sub0, Timeout, TryAgain,
)
from peers import SOCKET_TIMEOUT_MS
from protocol_peers import sock

TRANSPORTS = ["tcp", "ipc", "inproc"]


def numbered(n, tag=b"", empty=True):
    """n distinct messages of varied sizes, a few of them empty unless not
    wanted (pynng cannot receive an empty message)."""
    return [b"" if empty and i % 97 == 5 else tag + b"%06d" % i + b"x" * (i % 300)
            for i in range(n)]


def receive_all(recv_many, n, **kwargs):
    """recv_many until n messages came; the list sizes it returned too."""
    got, sizes = [], []
    while len(got) < n:
        batch = recv_many(**kwargs)
        assert batch and all(type(m) is bytes for m in batch)
        got += batch
        sizes.append(len(batch))
    return got, sizes


def connected(socks, url, listener_cls, dialer_cls, **kwargs):
    a, b = socks(listener_cls, **kwargs), socks(dialer_cls, **kwargs)
    a.listen(url)
    b.dial(url, block=True)
    return a, b


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_send_many_recv_many_keep_order(transport, socks, make_url):
    pull, push = connected(socks, make_url(transport), Pull0, Push0)
    msgs = numbered(5000)
    # From another thread: 5000 messages need not fit in the queues.
    sender = threading.Thread(target=lambda: sent.append(push.send_many(msgs)))
    sent = []
    sender.start()
    got, sizes = receive_all(pull.recv_many, len(msgs))
    sender.join(10)
    assert sent == [len(msgs)]
    assert got == msgs
    assert max(sizes) > 1, "every recv_many returned a single message"


def test_send_many_takes_buffers_and_iterables(socks, make_url):
    pull, push = connected(socks, make_url("inproc"), Pull0, Push0)
    parts = [b"bytes", bytearray(b"bytearray"), memoryview(b"0123456789")[2:5],
             memoryview(bytearray(range(12))).cast("B", (3, 4)), b""]
    assert push.send_many(parts) == 5
    assert push.send_many(b"gen%d" % i for i in range(3)) == 3
    assert push.send_many([]) == 0
    got, _ = receive_all(pull.recv_many, 8)
    assert got == [memoryview(p).tobytes() for p in parts] + [b"gen0", b"gen1", b"gen2"]


def test_send_many_rejects_what_is_not_a_buffer(socks, make_url):
    pull, push = connected(socks, make_url("inproc"), Pull0, Push0)
    with pytest.raises(TypeError, match="send_many needs bytes or buffers, not str"):
        push.send_many([b"fine", "a str"])
    with pytest.raises(TypeError, match="not int"):
        push.send_many([b"fine", 7])
    # Nothing of a rejected batch went out; the socket works on.
    push.send(b"after")
    assert pull.recv_many() == [b"after"]


def test_recv_many_max_messages(socks, make_url):
    pull, push = connected(socks, make_url("inproc"), Pull0, Push0)
    push.send_many(numbered(10))
    assert pull.recv_many(3) == numbered(10)[:3]
    assert pull.recv_many(max_messages=5) == numbered(10)[3:8]
    assert pull.recv_many() == numbered(10)[8:]
    for bad in (0, -1, 2.5, "4", None):
        with pytest.raises(ValueError, match="max_messages must be a positive int, not %r"
                           % (bad,)):
            pull.recv_many(bad)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_batch_of_only_empty_messages(transport, socks, make_url):
    # A batch whose bodies hold no byte at all, first on a fresh socket.
    pull, push = connected(socks, make_url(transport), Pull0, Push0)
    push.send(b"")
    assert pull.recv_many() == [b""]
    push.send_many([b"", b""])
    got, _ = receive_all(pull.recv_many, 2)
    assert got == [b"", b""]


def test_recv_many_stops_once_it_holds_the_batch_bytes(socks, make_url):
    """A batch takes messages while their bodies come to less than
    PNC_BATCH_BYTES (64 KiB): with twelve of a third of that and a byte
    queued, each batch stops at the third."""
    cap = pynng_core._core.lib.PNC_BATCH_BYTES
    pull, push = connected(socks, make_url("inproc"), Pull0, Push0)
    big = [bytes([i]) * (cap // 3 + 1) for i in range(12)]
    assert push.send_many(big) == 12
    deadline = time.monotonic() + 10
    while pull.stats["msgs_in"] < 12:  # all in its queue
        assert time.monotonic() < deadline
        time.sleep(0.01)
    got, sizes = receive_all(pull.recv_many, 12)
    assert got == big
    assert sizes == [3, 3, 3, 3]


def test_recv_many_nonblocking_and_timeout(socks, make_url):
    pull, push = connected(socks, make_url("inproc"), Pull0, Push0, recv_timeout=50)
    with pytest.raises(TryAgain, match="recv_many"):
        pull.recv_many(block=False)
    with pytest.raises(Timeout, match="recv_many"):
        pull.recv_many()
    push.send(b"one")
    push.send(b"two")
    assert pull.recv_many(block=False) == [b"one", b"two"]


def test_send_many_nonblocking_stops_where_the_socket_is_full(socks, make_url):
    pull, push = connected(socks, make_url("inproc"), Pull0, Push0)
    msgs = numbered(20000)
    sent = push.send_many(msgs, block=False)
    assert 0 < sent < len(msgs)
    # Exactly those went out, in order; the rest did not.
    got, _ = receive_all(lambda: pull.recv_many(block=False), sent)
    assert got == msgs[:sent]
    with pytest.raises(TryAgain):
        pull.recv(block=False)


def test_send_many_without_peer(socks):
    push = socks(Push0, send_timeout=50)
    assert push.send_many([b"a", b"b"], block=False) == 0
    with pytest.raises(Timeout, match="send_many") as info:
        push.send_many([b"a", b"b"])
    assert info.value.sent == 0


def test_send_many_error_part_way_says_how_many_went(socks, make_url):
    pull, push = connected(socks, make_url("inproc"), Pull0, Push0, send_timeout=100)
    msgs = numbered(20000)
    with pytest.raises(Timeout) as info:
        push.send_many(msgs)
    sent = info.value.sent
    assert 0 < sent < len(msgs)
    got, _ = receive_all(lambda: pull.recv_many(block=False), sent)
    assert got == msgs[:sent]


def test_batches_on_a_closed_socket(socks, make_url):
    pull, push = connected(socks, make_url("inproc"), Pull0, Push0)
    push.close()
    pull.close()
    with pytest.raises(Closed) as info:
        push.send_many([b"late"])
    assert info.value.sent == 0
    with pytest.raises(Closed):
        pull.recv_many()


def test_recv_many_wakes_when_closed_from_another_thread(socks):
    pull = socks(Pull0)
    errors = []

    def wait():
        try:
            pull.recv_many()
        except Closed as e:
            errors.append(e)

    t = threading.Thread(target=wait)
    t.start()
    t.join(0.2)
    pull.close()
    t.join(5)
    assert not t.is_alive() and len(errors) == 1


def test_interrupted_recv_many_puts_messages_back(socks, make_url, monkeypatch):
    """An exception after the core handed over a batch (Ctrl-C lands after a
    C call) puts the whole batch back in front of the queue, in order."""
    pull, push = connected(socks, make_url("inproc"), Pull0, Push0)
    msgs = numbered(50)
    push.send_many(msgs)
    from pynng_core import sendrecv
    handed_over = sendrecv.wait

    def interrupted(*args):
        assert len(handed_over(*args)) == 20  # the core handed the batch over...
        raise KeyboardInterrupt  # ...and Ctrl-C lands before recv_many returns

    monkeypatch.setattr(sendrecv, "wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pull.recv_many(20)
    monkeypatch.undo()
    got, _ = receive_all(pull.recv_many, 50)
    assert got == msgs


def test_rep_recv_many_takes_one_request_at_a_time(socks, make_url):
    url = make_url("tcp")
    rep = socks(Rep0)
    rep.listen(url)
    clients = [socks(Req0) for _ in range(3)]
    for i, req in enumerate(clients):
        req.dial(url, block=True)
        req.send(b"request %d" % i)
    answered = set()
    for _ in clients:
        batch = rep.recv_many()
        assert len(batch) == 1  # a rep answers the request it took last
        rep.send(batch[0] + b" answered")
        answered.add(batch[0])
    assert answered == {b"request %d" % i for i in range(3)}
    for i, req in enumerate(clients):
        assert req.recv() == b"request %d answered" % i


def test_sub_recv_many_gets_only_its_topics(socks, make_url):
    pub, sub = connected(socks, make_url("ipc"), Pub0, Sub0)
    sub.subscribe(b"yes")
    ctx = sub.new_context()
    ctx.subscribe(b"")
    # Fewer than a context's queue holds: sub drops what finds it full.
    msgs = [(b"yes" if i % 2 else b"no") + b"%d" % i for i in range(60)]
    pub.send_many(msgs)
    got, _ = receive_all(sub.recv_many, 30)
    assert got == [m for m in msgs if m.startswith(b"yes")]
    everything, _ = receive_all(ctx.recv_many, 60)
    assert everything == msgs


def test_pair_batches_both_ways(socks, make_url):
    a, b = connected(socks, make_url("tcp"), Pair0, Pair0)
    a.send_many([b"a1", b"a2"])
    b.send_many([b"b1", b"b2", b"b3"])
    assert receive_all(b.recv_many, 2)[0] == [b"a1", b"a2"]
    assert receive_all(a.recv_many, 3)[0] == [b"b1", b"b2", b"b3"]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_batches_with_pynng_peers(transport, make_url):
    """libnng (through pynng) takes our batches and sends us its stream."""
    url = make_url(transport)
    msgs = numbered(3000, b"ours", empty=False)
    kw = dict(recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS)
    with sock(pynng_core.Push0) as push, pynng.Pull0(**kw) as theirs_pull:
        theirs_pull.listen(url)
        push.dial(url, block=True)
        sender = threading.Thread(target=push.send_many, args=(msgs,))
        sender.start()
        got = [theirs_pull.recv() for _ in msgs]
        sender.join(10)
    assert got == msgs
    url = make_url(transport)
    theirs = numbered(3000, b"theirs")
    with sock(pynng_core.Pull0) as pull, pynng.Push0(**kw) as theirs_push:
        pull.listen(url)
        theirs_push.dial(url, block=True)
        sender = threading.Thread(target=lambda: [theirs_push.send(m) for m in theirs])
        sender.start()
        got, _ = receive_all(pull.recv_many, len(theirs))
        sender.join(10)
    assert got == theirs


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_burst_serves_every_blocked_receiver(transport, socks, make_url):
    """Four threads blocked in recv on one socket each get one message of a
    burst that arrives together: none lost, none twice."""
    pull, push = connected(socks, make_url(transport), Pull0, Push0, recv_timeout=5000)
    got, lock = [], threading.Lock()

    def receive():
        m = pull.recv()
        with lock:
            got.append(m)

    threads = [threading.Thread(target=receive) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # all four blocked in recv before the burst comes
    push.send_many([b"m%d" % i for i in range(4)])
    for t in threads:
        t.join(10)
    assert sorted(got) == [b"m0", b"m1", b"m2", b"m3"]

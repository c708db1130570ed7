"""A receiver that reads its pipe itself reads each large body straight into
the bytes object that recv returns (see _hotpath.c).  Such a body outlives
every later receive untouched, serves every other way of receiving and
forwarding a message, and goes back to Python when the message is
dropped."""

import os
import threading
import tracemalloc

import pytest

import pynng_core
from pynng_core import Message, Pub0, Pull0, Push0, Rep0, Req0, Sub0, TryAgain
from peers import wait_until
from protocol_peers import connect_one, dial_url, listen_url
from test_caller_reads import STREAMS, lent_pair

# Around the size from which bodies are read into bytes, up to several
# reads' worth.
SIZES = [16384, 16385, 40000, 300000, 1 << 20]


def connected(socks, transport, make_url, listener_cls, dialer_cls):
    # Generous: 1 MiB each way under wine on a busy machine
    listening = socks(listener_cls, recv_timeout=20000, send_timeout=20000)
    dialing = socks(dialer_cls, recv_timeout=20000, send_timeout=20000)
    listener = listening.listen(listen_url(transport, make_url))
    connect_one(listening, dialing, dial_url(listener))
    return listening, dialing


@pytest.mark.parametrize("transport", STREAMS)
def test_received_bodies_stay_whole_through_later_receives(transport, socks, make_url):
    pull, push, _ = lent_pair(socks, transport, make_url)
    payloads = [os.urandom(size) for size in SIZES * 3]
    sender = threading.Thread(target=lambda: [push.send(p) for p in payloads])
    sender.start()
    got = [pull.recv() for _ in payloads]  # all kept while more arrive
    sender.join(10)
    assert [len(g) for g in got] == [len(p) for p in payloads]
    assert got == payloads


def _first_ready(sock):
    got = []

    def poll():
        try:
            got.append(sock.recv(block=False))
        except TryAgain:
            pass
        return got

    wait_until(poll, message="nothing arrived")
    return got[0]


@pytest.mark.parametrize("transport", STREAMS)
def test_bodies_read_ahead_serve_recv_msg_recv_many_and_forwarding(
        transport, socks, make_url):
    pull, push, _ = lent_pair(socks, transport, make_url)
    payloads = [os.urandom(100000) for _ in range(3)]
    for p in payloads:
        push.send(p)
    # A receive that reads the kernel's whole store queues what follows
    # the message it returns.
    assert _first_ready(pull) == payloads[0]
    msg = pull.recv_msg()
    assert len(msg) == len(payloads[1]) and msg.bytes == payloads[1]
    assert bytes(msg.buffer) == payloads[1]
    assert pull.recv_many() == [payloads[2]]

    far, near = connected(socks, "tcp", make_url, Pull0, Push0)
    local, nearby = connected(socks, "inproc", make_url, Pull0, Push0)
    nearby.send_msg(Message(msg.bytes))
    near.send_msg(msg)
    assert far.recv() == payloads[1]
    assert local.recv() == payloads[1]


@pytest.mark.parametrize("transport", STREAMS)
def test_large_requests_and_replies_keep_their_headers_apart(transport, socks, make_url):
    """Each reply, 4 bytes longer than its request, answers it.  One server
    thread answers every request it gets, as servers do: under wine 8.0 a
    named pipe's write that a thread began ends short if the thread exits
    first (win_pipe.c), the pipe is shut, and Req0 sends its request again
    on the next one, which a thread per request would not answer."""
    rep, req = connected(socks, transport, make_url, Rep0, Req0)

    def serve():
        try:
            while True:
                request = rep.recv()
                rep.send(request[::-1] + request[:4])
        except pynng_core.Closed:
            pass

    server = threading.Thread(target=serve)
    server.start()
    try:
        for size in SIZES:
            request = os.urandom(size)
            req.send(request)
            assert req.recv() == request[::-1] + request[:4]
    finally:
        rep.close()
        server.join(10)


@pytest.mark.parametrize("transport", STREAMS)
def test_large_messages_a_subscriber_drops_give_their_memory_back(transport, socks, make_url):
    sub, pub = connected(socks, transport, make_url, Sub0, Pub0)
    sub.subscribe(b"keep")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sender = threading.Thread(target=_publish_drops_then_one, args=(pub, sub, 40))
        sender.start()
        assert sub.recv() == b"keep last"
        sender.join(10)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 8 << 20, "40 MiB dropped, %d bytes still held" % grown


def _publish_drops_then_one(pub, sub, drops):
    # One at a time: a pub socket drops what its peer's pipe cannot take
    # yet, and each of these must reach the subscriber to be dropped there.
    for i in range(drops):
        pub.send(b"drop" + bytes(1 << 20))
        wait_until(lambda: sub.stats["msgs_in"] > i)
    pub.send(b"keep last")

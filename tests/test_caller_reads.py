"""A lone receiver reads its socket's one tcp or ipc pipe itself, and keeps
that pipe's reads between receives while it comes back for more.  When it
stops, the I/O thread takes the reads back: messages still come off the
wire, a peer's close is still seen, other receivers are still served."""

import os
import threading

import pytest

from pynng_core import Pull0, Push0, TryAgain
from peers import wait_until
from protocol_peers import connect_one, dial_url, listen_url

STREAMS = ["tcp", "ipc"]


def lent_pair(socks, transport, make_url):
    """A pull socket whose one pipe a waiting receive has read: the reads
    are lent."""
    pull = socks(Pull0, recv_timeout=5000)
    push = socks(Push0, send_timeout=5000)
    listener = pull.listen(listen_url(transport, make_url))
    connect_one(pull, push, dial_url(listener))
    late = threading.Timer(0.05, push.send, [b"first"])
    late.start()
    assert pull.recv() == b"first"  # waited: read the pipe itself
    late.join()
    return pull, push, listener


@pytest.mark.parametrize("transport", STREAMS)
def test_messages_come_off_the_wire_after_the_receiver_stops(transport, socks, make_url):
    pull, push, _ = lent_pair(socks, transport, make_url)
    # Room for all five: with one, a read that happens to bring the first
    # alone fills the queue, and the pipe is paused, as it should be.
    pull.recv_buffer_size = 8
    for i in range(5):
        push.send(b"later %d" % i)
    # Nobody receives: the socket takes them in all the same.
    wait_until(lambda: pull.stats["msgs_in"] == 6,
               message="messages left in the kernel: %r" % (pull.stats,))
    assert [pull.recv(block=False) for _ in range(5)] == [b"later %d" % i for i in range(5)]


@pytest.mark.parametrize("transport", STREAMS)
def test_a_peer_close_is_seen_after_the_receiver_stops(transport, socks, make_url):
    pull, push, _ = lent_pair(socks, transport, make_url)
    gone = threading.Event()
    pull.add_post_pipe_remove_cb(lambda pipe: gone.set())
    push.close()
    assert gone.wait(5), "the closed pipe was never noticed"
    wait_until(lambda: not pull.pipes)


@pytest.mark.parametrize("size", [100, 40000, 300000])
@pytest.mark.parametrize("transport", STREAMS)
def test_a_stream_that_fills_every_read_ends_whole_when_the_peer_closes(
        transport, size, socks, make_url):
    # A read that took all it asked for makes the receiver read again before
    # it polls; when the peer closes, one of those reads meets the end, and
    # every message before it has arrived.
    pull, push, _ = lent_pair(socks, transport, make_url)
    payloads = [os.urandom(size) for _ in range(30)]
    got = []
    receiver = threading.Thread(
        target=lambda: got.extend(pull.recv() for _ in payloads), daemon=True)
    receiver.start()
    for payload in payloads:
        push.send(payload)
    push.close()
    receiver.join(10)
    assert got == payloads
    wait_until(lambda: not pull.pipes)
    with pytest.raises(TryAgain):
        pull.recv(block=False)


@pytest.mark.parametrize("transport", STREAMS)
def test_a_non_blocking_receive_finds_what_the_kernel_holds(transport, socks, make_url):
    pull, push, _ = lent_pair(socks, transport, make_url)
    for i in range(3):
        push.send(b"polled %d" % i)
    got = []
    wait_until(lambda: got.extend(_poll_once(pull)) or len(got) == 3)
    assert got == [b"polled 0", b"polled 1", b"polled 2"]


def _poll_once(sock):
    try:
        return [sock.recv(block=False)]
    except TryAgain:
        return []


@pytest.mark.parametrize("transport", STREAMS)
def test_two_receiving_threads_share_one_pipe(transport, socks, make_url):
    pull, push, _ = lent_pair(socks, transport, make_url)
    count = 400
    got = [[], []]

    def receive(mine):
        while True:
            m = pull.recv()
            if m == b"end":
                return
            mine.append(m)

    threads = [threading.Thread(target=receive, args=(g,)) for g in got]
    for t in threads:
        t.start()
    for i in range(count):
        push.send(b"%d" % i)
    push.send(b"end")
    push.send(b"end")
    for t in threads:
        t.join(10)
        assert not t.is_alive(), "a receiver hung"
    # Each thread saw its share in order; together, every message once.
    for mine in got:
        assert [int(m) for m in mine] == sorted(int(m) for m in mine)
    assert sorted(int(m) for m in got[0] + got[1]) == list(range(count))


@pytest.mark.parametrize("transport", STREAMS)
def test_a_second_pipe_joins_while_the_first_is_lent(transport, socks, make_url):
    pull, push, listener = lent_pair(socks, transport, make_url)
    other = socks(Push0, send_timeout=5000)
    connect_one(pull, other, dial_url(listener))
    for i in range(20):
        push.send(b"a%d" % i)
        other.send(b"b%d" % i)
    got = [pull.recv() for _ in range(40)]
    assert [m for m in got if m[:1] == b"a"] == [b"a%d" % i for i in range(20)]
    assert [m for m in got if m[:1] == b"b"] == [b"b%d" % i for i in range(20)]

"""send of bytes and recv go through _hotpath.c, which keeps the GIL while
the core cannot wait and releases it wherever it may: a receive that waits
across many slices keeps its deadline, other threads run while one waits,
bodies on either side of the size that moves without the GIL arrive whole,
and whatever is not bytes still goes the cffi way."""

import array
import threading
import time

import pytest

from pynng_core import Pull0, Push0, Timeout
from protocol_peers import connect_one, dial_url, listen_url

TRANSPORTS = ["tcp", "ipc", "inproc"]
SLICE_S = 0.05  # the core's wait slice, PNC_SLICE_MS


def pair(socks, transport, make_url, **pull_options):
    pull = socks(Pull0, **pull_options)
    push = socks(Push0, send_timeout=5000)
    listener = pull.listen(listen_url(transport, make_url))
    connect_one(pull, push, dial_url(listener))
    return pull, push


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_wait_of_many_slices_gets_the_message_then_times_out(transport, socks, make_url):
    pull, push = pair(socks, transport, make_url, recv_timeout=int(10 * SLICE_S * 1000))
    late = threading.Timer(4 * SLICE_S, push.send, [b"after four slices"])
    late.start()
    assert pull.recv() == b"after four slices"
    late.join()
    started = time.monotonic()
    with pytest.raises(Timeout):
        pull.recv()
    # The deadline held across the slices: no slice started it again.
    assert 9 * SLICE_S <= time.monotonic() - started < 60 * SLICE_S


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_other_threads_run_while_one_waits_in_recv(transport, socks, make_url):
    pull, push = pair(socks, transport, make_url, recv_timeout=5000)
    got = []
    waiter = threading.Thread(target=lambda: got.append(pull.recv()))
    waiter.start()
    time.sleep(SLICE_S)  # let it wait
    # Twenty short sleeps: each must get the GIL back at once, not when the
    # waiter's slice ends (20 slices, a whole second, if it held the GIL).
    started = time.monotonic()
    for _ in range(20):
        time.sleep(0.001)
    assert time.monotonic() - started < 10 * SLICE_S
    assert not got
    push.send(b"now")
    waiter.join(5)
    assert got == [b"now"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("size", [0, 16383, 16384, 16385, 1 << 20])
def test_bodies_around_the_gil_size_arrive_whole(transport, size, socks, make_url):
    pull, push = pair(socks, transport, make_url, recv_timeout=5000, recv_max_size=0)
    body = bytes(range(256)) * (size // 256) + b"t" * (size % 256)
    for _ in range(3):
        push.send(body)
        assert pull.recv() == body


class Marked(bytes):
    """A bytes subclass: not bytes itself, so it takes the buffer path."""


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_buffers_that_are_not_bytes_still_send(transport, socks, make_url):
    pull, push = pair(socks, transport, make_url, recv_timeout=5000)
    sent = [bytearray(b"array"), memoryview(b"view"), Marked(b"marked"),
            array.array("B", b"typed")]
    for data in sent:
        push.send(data)
    assert [pull.recv() for _ in sent] == [bytes(d) for d in sent]
    with pytest.raises(TypeError):
        push.send("text")


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_a_woken_thread_gets_the_gil_from_a_busy_one(transport, socks, make_url):
    """A publisher's sends keep the GIL (a send that cannot wait); a thread
    woken by a request must still get the GIL at once, not at the
    interpreter's forced switch, set to 2 s here: without the hand-over,
    twenty round trips beside a busy publisher take forty seconds."""
    import sys
    from pynng_core import Pub0, Rep0, Req0
    pub = socks(Pub0)
    rep = socks(Rep0, recv_timeout=10000)
    req = socks(Req0, recv_timeout=10000)
    connect_one(rep, req, dial_url(rep.listen(listen_url(transport, make_url))))
    done = threading.Event()

    def publish():
        while not done.is_set():
            pub.send(b"p" * 64)

    def echo():
        for _ in range(20):
            rep.send(rep.recv())

    old = sys.getswitchinterval()
    threads = [threading.Thread(target=f, daemon=True) for f in (echo, publish)]
    try:
        for t in threads:
            t.start()
        sys.setswitchinterval(2.0)  # once started: a start waits for the GIL as ever
        started = time.monotonic()
        for i in range(20):
            req.send(b"%d" % i)
            assert req.recv() == b"%d" % i
        took = time.monotonic() - started
    finally:
        sys.setswitchinterval(old)  # first: the joins wait for the GIL as ever
        done.set()
        for t in threads:
            t.join(10)
    assert took < 10, "20 round trips beside a busy publisher took %.1f s" % took


# A send's body of PNC_LEND_MIN_BYTES or more is lent: a stream pipe keeps
# a bytes object's body where it is, holding a reference, while the kernel
# has not taken it.
LENT = 64 << 10


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_lent_bodies_outlive_their_senders_references(transport, socks, make_url):
    """Bodies queued behind a full kernel buffer, whose bytes the sender
    dropped at once (and whose memory new bytes of the same size may then
    take), arrive whole: the pipe held them."""
    pull, push = pair(socks, transport, make_url, recv_timeout=5000)
    count = 200  # 12.5 MiB: far more than the kernel takes while nobody reads
    sent = []

    def sender():
        for i in range(count):
            body = bytes([i % 256]) * (LENT - 1) + b"%c" % (i % 7)
            push.send(body)
            sent.append(hash(body))
            del body
            bytes(LENT)  # a block of that size, freed again: memory reused

    thread = threading.Thread(target=sender)
    thread.start()
    time.sleep(0.2)  # the sender fills the kernel's buffer and the pipe's queue
    got = [pull.recv() for _ in range(count)]
    thread.join(10)
    assert [hash(b) for b in got] == sent
    assert all(b[:-1] == bytes([i % 256]) * (LENT - 1) and b[-1] == i % 7
               for i, b in enumerate(got))


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_a_lent_body_is_let_go_once_it_is_sent(transport, socks, make_url):
    """The references a pipe takes to the bytes it keeps are all given back
    once they were written: the same object sent 300 times, behind a full
    kernel buffer, ends with the references it had before.  (That the pipe
    keeps them is what the test above needs, under AddressSanitizer: a
    body whose bytes went is a use after free.)"""
    import sys
    pull, push = pair(socks, transport, make_url, recv_timeout=5000)
    body = b"\x5a" * LENT
    before = sys.getrefcount(body)
    thread = threading.Thread(target=lambda: [push.send(body) for _ in range(300)])
    thread.start()
    time.sleep(0.2)
    assert all(pull.recv() == body for _ in range(300))
    thread.join(10)
    # The last references are dropped by the next call of the process.
    push.send(b"drain")
    assert pull.recv() == b"drain"
    assert sys.getrefcount(body) == before

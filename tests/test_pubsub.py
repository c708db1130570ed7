"""pub/sub semantics (wire.md section 3): topic prefix filtering inside SUB,
empty topic, no topic, unsubscribe, NotSupported directions, PUB never
blocks, and a SUB peer that breaks the protocol by sending."""

import itertools
import os
import socket
import time

import pytest

from pynng_core import NoEntry, NotSupported, Pub0, Sub0
from peers import closed_by_peer, split_frames, wait_until
from protocol_peers import (
    RawPeer, recv_all, recv_skipping, send_until_received, sock,
)

TRANSPORTS = ["tcp", "ipc", "inproc"]
MESSAGES = [b"", b"a", b"ab", b"abc", b"b", b"ba", b"\x00a", b"xyz"]


def pubsub(url, **sub_kwargs):
    pub = sock(Pub0, listen=url)
    sub = sock(Sub0, **sub_kwargs)
    sub.dial(url, block=True)
    return pub, sub


def published(pub, sub, messages):
    """Sync over the b"sync" topic, publish ``messages``, return what sub
    received (sync leftovers removed) until it is quiet."""
    sub.subscribe(b"sync")
    send_until_received(pub, sub, b"sync")
    sub.unsubscribe(b"sync")
    for m in messages:
        pub.send(m)
    pub.send(b"sync-end")  # not subscribed any more: never seen
    return [m for m in recv_all(sub) if not m.startswith(b"sync")]


@pytest.mark.parametrize("topics,expected", [
    ([b"a"], [b"a", b"ab", b"abc"]),
    ([b"ab"], [b"ab", b"abc"]),
    (["a", "x"], [b"a", b"ab", b"abc", b"xyz"]),
    (b"b", [b"b", b"ba"]),
    ("ba", [b"ba"]),
    ([b"\x00"], [b"\x00a"]),
    ([b"abcd"], []),
    ([b""], MESSAGES),
    ([b"", b"a"], MESSAGES),  # overlapping topics: still one copy each
])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_topic_prefix_matching(transport, topics, expected, make_url):
    pub, sub = pubsub(make_url(transport), topics=topics)
    with pub, sub:
        assert published(pub, sub, MESSAGES) == expected


def test_subscribe_method_and_no_subscription(make_url):
    pub, sub = pubsub(make_url("tcp"))
    with pub, sub:
        assert published(pub, sub, MESSAGES) == []  # no topic: nothing
        sub.subscribe("ab")
        sub.subscribe(b"x")
        assert published(pub, sub, MESSAGES) == [b"ab", b"abc", b"xyz"]


def test_unsubscribe(make_url):
    pub, sub = pubsub(make_url("tcp"), topics=[b"a", b"b"])
    with pub, sub:
        assert published(pub, sub, [b"a1", b"b1", b"c1"]) == [b"a1", b"b1"]
        sub.unsubscribe(b"a")
        assert published(pub, sub, [b"a2", b"b2", b"c2"]) == [b"b2"]
        sub.unsubscribe("b")
        assert published(pub, sub, [b"a3", b"b3"]) == []
        with pytest.raises(NoEntry):
            sub.unsubscribe(b"b")
        with pytest.raises(NoEntry):
            sub.unsubscribe(b"never subscribed")


def test_unsubscribe_unknown_on_context(make_url):
    with sock(Sub0) as sub:
        ctx = sub.new_context()
        ctx.subscribe(b"t")
        ctx.unsubscribe(b"t")
        with pytest.raises(NoEntry):
            ctx.unsubscribe(b"t")


def test_sub_send_and_pub_recv_not_supported():
    with sock(Sub0) as sub, sock(Pub0) as pub:
        with pytest.raises(NotSupported):
            sub.send(b"x")
        with pytest.raises(NotSupported):
            pub.recv()


@pytest.mark.parametrize("transports", [["tcp"], ["ipc"], ["tcp", "ipc"], ["tcp", "inproc"]])
def test_a_burst_of_small_messages_arrives_whole_with_nothing_after_it(transports, make_url):
    """Small messages published back to back wait in the socket's batch
    (one copy for every pipe, where the pipes frame alike: tcp's 8-byte
    prefix or ipc's 9).  The burst's last ones arrive though nothing is
    published after them, at each subscriber, in order, with tcp and ipc
    subscribers on one publisher too."""
    pub = sock(Pub0)
    subs = []
    with pub:
        for transport in transports:
            url = make_url(transport)
            pub.listen(url)
            for _ in range(2):
                sub = sock(Sub0, topics=b"", recv_buffer_size=1000)
                sub.dial(url, block=True)
                subs.append(sub)
        for sub in subs:
            send_until_received(pub, sub, b"ready")
        burst = [b"%04d" % i * 16 for i in range(500)]
        for msg in burst:
            pub.send(msg)
        for sub in subs:
            with sub:
                assert [recv_skipping(sub, b"ready") for _ in burst] == burst


def frames_until_quiet(peer, quiet=0.5):
    """Every message a RawPeer receives until nothing comes for ``quiet``
    seconds.  Read in large pieces, then split: a recv per frame takes
    0.45 ms under wine, half a minute for the 63,000 frames here."""
    data = bytearray()
    peer.sock.settimeout(quiet)
    try:
        while chunk := peer.sock.recv(1 << 16):
            data += chunk
    except socket.timeout:
        pass
    return split_frames(data, peer.transport)


@pytest.mark.core_only
@pytest.mark.timeout(60)
def test_bursts_behind_a_batch_go_once_and_whole_to_each_stalled_subscriber(make_url):
    """Two subscribers that do not read: the socket's batches of small
    messages wait in both pipes' write queues, one batch shared by both.
    Behind them come bursts of every size, down to one message sent alone
    after a pause (copied into the pipe's own chunk, never into the batch
    the other pipe holds too) and batches of a few messages that the I/O
    thread sends when the burst ends (queued as the frames they are, not
    framed again).  When the subscribers read, each finds every message
    whole, once and in order, until the first that its full queue dropped."""
    url = make_url("tcp")
    with sock(Pub0, listen=url) as pub, \
            RawPeer(url, "sub0", expect_peer="pub0") as a, \
            RawPeer(url, "sub0", expect_peer="pub0") as b:
        wait_until(lambda: len(pub.pipes) == 2)
        n, bursts = 0, itertools.cycle([2000, 1, 2, 5, 3, 40])
        while pub.stats["dropped_queue_full"] == 0:
            assert n < 2_000_000, "the subscribers' queues never filled"
            for _ in range(next(bursts)):
                pub.send(b"%08d" % n + b"x" * 56)
                n += 1
            time.sleep(0.0005)  # the next message comes alone (past 0.2 ms)
        for peer in (a, b):
            got = frames_until_quiet(peer)
            bad = [m for m in got if len(m) != 64 or not m[:8].isdigit() or m[8:] != b"x" * 56]
            assert not bad, "not a message that was published: %r" % bad[:1]
            numbers = [int(m[:8]) for m in got]
            assert len(numbers) > 2001 and numbers[:2001] == list(range(2001))
            assert numbers == sorted(set(numbers)), "a message came twice, or out of order"


@pytest.mark.timeout(120)
def test_pub_never_blocks_on_a_subscriber_that_does_not_read(make_url):
    """100k messages to a subscriber that never reads: every send returns
    (PUB drops for a slow subscriber); afterwards the subscriber still gets
    the newest messages, in order."""
    pub, sub = pubsub(make_url("tcp"), topics=b"")
    with pub, sub:
        send_until_received(pub, sub, b"sync")
        pub.send_timeout = 2000  # a blocked send would raise Timeout
        payload = b"x" * 100
        for i in range(100_000):
            pub.send(b"%06d" % i + payload)
        pub.send(b"final")
        seen = []
        while True:
            m = recv_skipping(sub, b"sync")
            if m == b"final":
                break
            seen.append(int(m[:6]))
        assert seen == sorted(seen), "messages reordered"
        # Fresh messages still flow.
        pub.send(b"after")
        assert sub.recv() == b"after"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_sub_peer_that_sends_is_disconnected(transport, make_url):
    url = make_url(transport)
    pub, good = pubsub(url, topics=b"")
    with pub, good:
        with RawPeer(url, "sub0", expect_peer="pub0") as bad:
            # The raw SUB is connected: it receives what PUB sends.
            bad.sock.settimeout(0.05)
            for _ in range(200):
                pub.send(b"hello raw")
                try:
                    got = bad.recv(timeout=0.05)
                except OSError:
                    continue
                assert got == b"hello raw"
                break
            else:
                pytest.fail("raw SUB peer never received a message")
            bad.send(b"a SUB must never send")
            assert closed_by_peer(bad.sock), "PUB kept a SUB peer that sent data"
        # The well-behaved subscriber is unaffected.
        pub.send(b"still here")
        assert recv_skipping(good, b"hello raw") == b"still here"


PUBLISH_FOREVER = """
import os, sys, time
os.sched_setaffinity(0, {0})
import pynng_core
pub = pynng_core.Pub0()
pub.listen(sys.argv[1])
print("listening", flush=True)
end = time.monotonic() + 60
while time.monotonic() < end:
    for _ in range(16):
        pub.send(b"x" * 64)
"""

DIAL_MANY = """
import os, sys, time
os.sched_setaffinity(0, {0})
import pynng_core
subs = []
for i in range(int(sys.argv[2])):
    s = pynng_core.Sub0(topics=b"", recv_timeout=5000)
    s.dial(sys.argv[1], block=True)  # the handshake fails after 10 s
    s.recv()
    subs.append(s)
print("dialed", len(subs), flush=True)
"""


@pytest.mark.one_poller
@pytest.mark.core_only
@pytest.mark.timeout(120)
def test_a_publisher_sending_flat_out_still_takes_subscribers(make_url):
    """The I/O thread runs the tasks posted before its turn, not until none
    is left: a publisher posting a flush per burst kept it from accepting
    and handshaking, and a dial past the first few dozen timed out.  Both
    processes share one CPU, as where it was found."""
    import os
    import subprocess
    import sys
    from peers import tree_env
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("needs sched_setaffinity to share one CPU")
    url = make_url("tcp")
    publisher = subprocess.Popen([sys.executable, "-c", PUBLISH_FOREVER, url],
                                 stdout=subprocess.PIPE, text=True, env=tree_env())
    try:
        assert publisher.stdout.readline().strip() == "listening"
        dialer = subprocess.run([sys.executable, "-c", DIAL_MANY, url, "64"],
                                capture_output=True, text=True, env=tree_env(), timeout=100)
        assert dialer.returncode == 0, dialer.stderr[-2000:]
        assert dialer.stdout.strip() == "dialed 64"
    finally:
        publisher.kill()
        publisher.wait()


BURSTS_TO_SUBSCRIBERS = """
import os, sys, time
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # before the I/O thread
from pynng_core import Pub0, Sub0
from peers import BURST_SIZES
url, rounds, per_round = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Each round's burst stays far below a pipe's queue (256 KiB), and below
# each subscriber's (which drops the oldest when full): none is dropped.
sizes = [s for s in BURST_SIZES if s <= 4000]
with Pub0(listen=url) as pub:
    subs = [Sub0(topics=b"", recv_timeout=5000, recv_buffer_size=4 * per_round)
            for _ in range(3)]
    for sub in subs:
        sub.dial(url, block=True)
    deadline = time.monotonic() + 10
    while len(pub.pipes) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    for r in range(rounds):
        burst = [(b"%03d%06d" % (r, i) * (s // 9 + 1))[:s]
                 for i, s in ((i, sizes[i % len(sizes)]) for i in range(per_round))]
        for msg in burst:
            pub.send(msg)
        for n, sub in enumerate(subs):
            got = [sub.recv() for _ in burst]
            assert got == burst, (r, n, [i for i, (a, b) in enumerate(zip(got, burst)) if a != b][:5])
    for sub in subs:
        sub.close()
print("delivered", rounds * per_round * 3)
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_bursts_reach_every_subscriber_whole_and_in_order(transport, poller, make_url):
    """A publisher's burst of small and larger messages reaches three
    subscribers byte for byte and in order.  With every thread on one CPU
    the burst waits in each pipe's write queue, where small frames are
    copied into shared chunks and whole ones queued by reference (one
    message, three pipes)."""
    import subprocess
    import sys
    from peers import tree_env
    url = make_url(transport)
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    env = tree_env(PYNNG_CORE_POLLER=poller)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [tests_dir, env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", BURSTS_TO_SUBSCRIBERS, url, "20", "150"],
                          capture_output=True, text=True, env=env, timeout=100)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["delivered", str(20 * 150 * 3)]

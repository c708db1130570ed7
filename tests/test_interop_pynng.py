"""Interop with pynng (libnng) as the peer, every protocol, over tcp, ipc,
ws, tls+tcp and wss, each side listening in turn and pynng_core in each
role.  Payloads are checked byte for byte and push/pull order is checked
over a run of numbered messages of varied sizes.  Over TLS the listener
serves the session's server certificate and the dialer verifies it, both
with TLSConfig (pynng's, and ours, which has its API)."""

import pytest

import pynng
import pynng_core
from peers import SOCKET_TIMEOUT_MS, transfer
from pynng_child import RemotePynng
from tls_certs import pynng_tls, side_config

# (transport, who listens).  pynng over ws or wss runs in a child process
# (pynng_child.py says why).
CONNECTIONS = [(transport, who) for transport in ["tcp", "ipc", "ws", "tls", "wss"]
               for who in ["we_listen", "pynng_listens"]]


def payloads(n, tag):
    """n distinct numbered payloads of varied sizes (0 .. ~64 KiB), the
    last one 2 MiB, so framing of small and large messages is covered."""
    out = []
    for i in range(n):
        size = (i * 7919) % 65536 if i % 10 else i % 3  # a few tiny/empty ones
        body = bytes((i + j) & 0xFF for j in range(min(size, 256))) * (size // 256 + 1)
        out.append(tag + b"%06d:" % i + body[:size])
    out.append(tag + b"big:" + bytes(range(256)) * 8192)
    return out


def assert_same_messages(received, messages):
    assert len(received) == len(messages)
    for i, (got, sent) in enumerate(zip(received, messages)):
        assert got == sent, "message %d differs (got %d bytes starting %r)" % (i, len(got), got[:16])


@pytest.fixture
def connect(make_url, tls_for):
    """connect(ours_cls, theirs_cls, transport, who_listens) -> our socket
    and the pynng one, connected over a fresh URL of that transport; both
    closed at the end of the test."""
    opened = []

    def connect(ours_cls, theirs_cls, transport, who_listens):
        url = make_url(transport)
        certs = tls_for(transport)
        we_listen = who_listens == "we_listen"
        ours = ours_cls(recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS,
                        tls_config=side_config(pynng_core, certs, we_listen))
        opened.append(ours)
        if transport in ("ws", "wss"):
            theirs = RemotePynng(theirs_cls.__name__, pynng_tls(certs, not we_listen),
                                 recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS)
        else:
            theirs = theirs_cls(recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS,
                                tls_config=side_config(pynng, certs, not we_listen))
        opened.append(theirs)
        if we_listen:
            ours.listen(url)
            theirs.dial(url, block=True)
        else:
            theirs.listen(url)
            ours.dial(url, block=True)
        return ours, theirs

    yield connect
    for sock in opened:
        sock.close()


@pytest.mark.parametrize("transport,who_listens", CONNECTIONS)
@pytest.mark.parametrize("proto", ["Pair0", "Pair1"])
def test_pair_both_directions(proto, transport, who_listens, connect):
    ours, theirs = connect(getattr(pynng_core, proto), getattr(pynng, proto),
                           transport, who_listens)
    # Alternate directions, so each side sends and receives on one pipe.
    for i, msg in enumerate(payloads(20, b"pair")):
        if i % 2:
            ours.send(msg)
            assert theirs.recv() == msg
        else:
            theirs.send(msg)
            assert ours.recv() == msg
    # A burst each way.
    burst = payloads(50, b"burst")
    assert_same_messages(transfer(ours, theirs, burst), burst)
    assert_same_messages(transfer(theirs, ours, burst), burst)


@pytest.mark.parametrize("transport,who_listens", CONNECTIONS)
@pytest.mark.parametrize("direction", ["we_push", "pynng_pushes"])
def test_push_pull_order(direction, transport, who_listens, connect):
    if direction == "we_push":
        ours, theirs = connect(pynng_core.Push0, pynng.Pull0, transport, who_listens)
        sender, receiver = ours, theirs
    else:
        ours, theirs = connect(pynng_core.Pull0, pynng.Push0, transport, who_listens)
        sender, receiver = theirs, ours
    messages = payloads(200, b"push")
    assert_same_messages(transfer(sender, receiver, messages), messages)


def send_until_received(sender, receiver, payload, attempts=100):
    """pub, surveyor and bus drop what they send before the pipe is up: send
    again until the other side gets one."""
    for _ in range(attempts):
        sender.send(payload)
        try:
            return _recv_briefly(receiver)
        except (pynng_core.Timeout, pynng.Timeout):
            continue
    raise AssertionError("nothing arrived after %d sends" % attempts)


def _recv_briefly(sock):
    old = sock.recv_timeout
    sock.recv_timeout = 100
    try:
        return sock.recv()
    finally:
        sock.recv_timeout = old


# (first role, second role): the first speaks first.
REQUESTERS = [("Req0", "Rep0"), ("Surveyor0", "Respondent0")]


@pytest.mark.parametrize("transport,who_listens", CONNECTIONS)
@pytest.mark.parametrize("we_ask", [True, False], ids=["we_ask", "pynng_asks"])
@pytest.mark.parametrize("asker,answerer", REQUESTERS)
def test_requests_and_answers(asker, answerer, we_ask, transport, who_listens, connect):
    ours_cls = getattr(pynng_core, asker if we_ask else answerer)
    theirs_cls = getattr(pynng, answerer if we_ask else asker)
    ours, theirs = connect(ours_cls, theirs_cls, transport, who_listens)
    ask, answer = (ours, theirs) if we_ask else (theirs, ours)
    first = send_until_received(ask, answer, b"question 0")
    assert first == b"question 0"
    answer.send(b"answer 0")
    assert ask.recv() == b"answer 0"
    for i, msg in enumerate(payloads(10, b"q"), 1):
        ask.send(msg)
        assert answer.recv() == msg
        answer.send(b"answer %d:" % i + msg[::-1])
        assert ask.recv() == b"answer %d:" % i + msg[::-1]


@pytest.mark.parametrize("transport,who_listens", CONNECTIONS)
@pytest.mark.parametrize("we_publish", [True, False], ids=["we_publish", "pynng_publishes"])
def test_pub_sub_topics(we_publish, transport, who_listens, connect):
    ours_cls = pynng_core.Pub0 if we_publish else pynng_core.Sub0
    theirs_cls = pynng.Sub0 if we_publish else pynng.Pub0
    ours, theirs = connect(ours_cls, theirs_cls, transport, who_listens)
    pub, sub = (ours, theirs) if we_publish else (theirs, ours)
    sub.subscribe(b"news.")
    assert send_until_received(pub, sub, b"news.0") == b"news.0"
    pub.send(b"sports.1")  # not subscribed: filtered at the subscriber
    pub.send(b"news.2")
    assert sub.recv() == b"news.2"


@pytest.mark.parametrize("transport,who_listens", CONNECTIONS)
def test_bus_both_directions(transport, who_listens, connect):
    ours, theirs = connect(pynng_core.Bus0, pynng.Bus0, transport, who_listens)
    assert send_until_received(ours, theirs, b"from core") == b"from core"
    theirs.send(b"from pynng")
    assert ours.recv() == b"from pynng"

"""The ws:// transport (RFC 6455, the SP WebSocket mapping).

* Our sockets both ways for every protocol, and messages whose sizes hit
  each frame length encoding (7-bit, 16-bit, 64-bit) and several MiB.
* The `websockets` library as a raw client of our listener: masked frames,
  a fragmented message, ping -> pong, close -> close, text refused; and
  hand-made bad input (wrong subprotocol, bad key, garbage, an oversized
  frame, an upgrade never finished), after each of which the socket still
  serves another peer.
* Listeners sharing one port by path; unknown paths get 404.
pynng, nngcat and nanocat interop over ws:// runs in test_interop_pynng.py
and test_interop_cli.py, a browser's in test_browser.py.
"""
import os
import socket
import struct
import time

import pytest

import pynng_core
from pynng_core import options
from peers import DEFAULT_TIMEOUT, free_tcp_port, wait_until
from protocol_peers import recv_skipping, send_until_received

websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect as ws_connect  # noqa: E402

pytestmark = pytest.mark.core_only

PAIR1 = "pair1.sp.nanomsg.org"
HEADER = struct.pack(">I", 1)  # a pair1 hop count, as a cooked pair1 wants


def ws_url(path="/x", port=None):
    return "ws://127.0.0.1:%d%s" % (port or free_tcp_port(), path)


def connected(a, b, url, a_listens=True):
    """a and b joined over url, a listening (or b)."""
    listener, dialer = (a, b) if a_listens else (b, a)
    listener.listen(url)
    dialer.dial(url)
    wait_until(lambda: a.pipes and b.pipes)


PAIRS = [
    ("pair0", pynng_core.Pair0, pynng_core.Pair0),
    ("pair1", pynng_core.Pair1, pynng_core.Pair1),
    ("reqrep", pynng_core.Req0, pynng_core.Rep0),
    ("pipeline", pynng_core.Push0, pynng_core.Pull0),
    ("pubsub", pynng_core.Pub0, pynng_core.Sub0),
    ("survey", pynng_core.Surveyor0, pynng_core.Respondent0),
    ("bus", pynng_core.Bus0, pynng_core.Bus0),
]


@pytest.mark.parametrize("a_listens", [True, False], ids=["a_listens", "b_listens"])
@pytest.mark.parametrize("name,cls_a,cls_b", PAIRS, ids=[p[0] for p in PAIRS])
def test_protocols_both_ways(socks, name, cls_a, cls_b, a_listens):
    a, b = socks(cls_a), socks(cls_b)
    if name == "pubsub":
        b.subscribe(b"")
    connected(a, b, ws_url("/%s" % name), a_listens)
    if name in ("pubsub", "bus", "survey"):
        send_until_received(a, b)  # fan-out drops while the pipe joins
        if name == "survey":
            b.send(b"answer")
            assert a.recv() == b"answer"
        a.send(b"one")
        assert recv_skipping(b) == b"one"
        if name == "survey":
            b.send(b"two")
            assert a.recv() == b"two"
        if name == "bus":
            b.send(b"back")
            assert a.recv() == b"back"
        return
    a.send(b"one")
    assert b.recv() == b"one"
    if name != "pipeline":
        b.send(b"two")
        assert a.recv() == b"two"


# 125/126 and 65535/65536 sit on the edges of the length encodings; 64 KiB
# is also the frame size we fragment at.
SIZES = [0, 1, 125, 126, 127, 65535, 65536, 65537, 3 * 2**20 + 7]


@pytest.mark.parametrize("a_listens", [True, False], ids=["a_listens", "b_listens"])
def test_message_sizes(socks, a_listens):
    a, b = socks(pynng_core.Pair0), socks(pynng_core.Pair0)
    connected(a, b, ws_url(), a_listens)
    for size in SIZES:
        body = os.urandom(size)
        a.send(body)
        assert b.recv() == body
        b.send(body)
        assert a.recv() == body


def test_reqrep_contexts_many_messages(socks):
    rep, req = socks(pynng_core.Rep0), socks(pynng_core.Req0)
    connected(rep, req, ws_url())
    for i in range(200):
        req.send(b"q%d" % i)
        assert rep.recv() == b"q%d" % i
        rep.send(b"a%d" % i)
        assert req.recv() == b"a%d" % i


def test_ws4_ws6_schemes(socks):
    a, b = socks(pynng_core.Pair1), socks(pynng_core.Pair1)
    port = free_tcp_port()
    a.listen("ws4://127.0.0.1:%d/four" % port)
    b.dial("ws4://127.0.0.1:%d/four" % port)
    b.send(b"v4")
    assert a.recv() == b"v4"
    with pytest.raises(pynng_core.NNGException):
        socks(pynng_core.Pair1).listen("ws6://127.0.0.1:%d/six" % port)


# --------------------------------------------------------------------------
# Listeners sharing a port


def test_two_listeners_one_port(socks):
    port = free_tcp_port()
    a, b = socks(pynng_core.Pair1), socks(pynng_core.Pull0)
    a.listen(ws_url("/a", port))
    b.listen(ws_url("/b", port))
    da, db = socks(pynng_core.Pair1), socks(pynng_core.Push0)
    da.dial(ws_url("/a", port))
    db.dial(ws_url("/b", port))
    da.send(b"to a")
    db.send(b"to b")
    assert a.recv() == b"to a"
    assert b.recv() == b"to b"
    # The same path twice is taken; an unknown one is 404.
    with pytest.raises(pynng_core.AddressInUse):
        socks(pynng_core.Pair1).listen(ws_url("/a", port))
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        ws_connect(ws_url("/nowhere", port), subprotocols=[PAIR1], proxy=None)
    assert info.value.response.status_code == 404
    # One listener leaving leaves the other serving; the port goes with the last.
    b.listeners[0].close()
    da.send(b"still")
    assert a.recv() == b"still"
    a.listeners[0].close()
    wait_until(lambda: _refused(port))


def _refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_dial_unknown_path_fails(socks):
    port = free_tcp_port()
    socks(pynng_core.Pair1).listen(ws_url("/here", port))
    with pytest.raises(pynng_core.ConnectionRefused):
        socks(pynng_core.Pair1).dial(ws_url("/there", port), block=True)


# --------------------------------------------------------------------------
# A raw WebSocket client (the websockets library)


@pytest.fixture
def served(socks):
    """Our pair1 listener and a check that it still serves a good peer."""
    s = socks(pynng_core.Pair1, recv_timeout=DEFAULT_TIMEOUT * 1000)
    url = ws_url()
    s.listen(url)

    def still_serving():
        with ws_connect(url, subprotocols=[PAIR1], proxy=None) as peer:
            peer.send(HEADER + b"alive")
            assert s.recv() == b"alive"
            s.send(b"yes")
            assert peer.recv(timeout=DEFAULT_TIMEOUT) == HEADER + b"yes"
        wait_until(lambda: not s.pipes)

    return s, url, still_serving


def test_websockets_client(served):
    s, url, still_serving = served
    with ws_connect(url, subprotocols=[PAIR1], proxy=None) as peer:
        assert peer.subprotocol == PAIR1
        peer.send(HEADER + b"masked")  # a client's frames are masked
        assert s.recv() == b"masked"
        peer.send([HEADER, b"frag", b"mented", b""])  # continuation frames
        assert s.recv() == b"fragmented"
        big = os.urandom(200000)
        peer.send([HEADER + big[:70000], big[70000:]])
        assert s.recv() == big
        assert peer.ping(b"are you there").wait(DEFAULT_TIMEOUT)  # its pong came
        s.send(b"reply")
        assert peer.recv(timeout=DEFAULT_TIMEOUT) == HEADER + b"reply"
        s.send(b"r" * 300000)  # fragmented by us at 64 KiB
        assert peer.recv(timeout=DEFAULT_TIMEOUT) == HEADER + b"r" * 300000
        peer.close(1000, "bye")
        assert peer.protocol.close_rcvd is not None
        assert peer.protocol.close_rcvd.code == 1000  # answered with its code
    wait_until(lambda: not s.pipes)
    still_serving()


def test_our_close_sends_a_close_frame(served):
    s, url, _ = served
    with ws_connect(url, subprotocols=[PAIR1], proxy=None) as peer:
        peer.send(HEADER + b"hi")
        assert s.recv() == b"hi"
        s.pipes[0].close()
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            peer.recv(timeout=DEFAULT_TIMEOUT)
        assert peer.protocol.close_rcvd is not None
        assert peer.protocol.close_rcvd.code == 1000


def test_text_frame_refused(served):
    s, url, still_serving = served
    with ws_connect(url, subprotocols=[PAIR1], proxy=None) as peer:
        peer.send("text is not SP")
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            peer.recv(timeout=DEFAULT_TIMEOUT)
        assert peer.protocol.close_rcvd.code == 1003
    still_serving()


@pytest.mark.parametrize("protocols", [["pair.sp.nanomsg.org"], ["chat"], None])
def test_wrong_subprotocol_refused(served, protocols):
    s, url, still_serving = served
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        ws_connect(url, subprotocols=protocols, proxy=None)
    assert info.value.response.status_code == 400
    still_serving()


def test_listener_picks_its_subprotocol_from_a_list(served):
    s, url, still_serving = served
    with ws_connect(url, subprotocols=["chat", PAIR1], proxy=None) as peer:
        assert peer.subprotocol == PAIR1
        peer.send(HEADER + b"listed")
        assert s.recv() == b"listed"


# --------------------------------------------------------------------------
# Hand-made bad input


def raw(url):
    host, _, rest = url[len("ws://"):].partition("/")
    h, _, p = host.rpartition(":")
    c = socket.create_connection((h, int(p)), timeout=DEFAULT_TIMEOUT)
    return c, "/" + rest


def upgrade_request(path, key="dGhlIHNhbXBsZSBub25jZQ==", protocol=PAIR1, version="13"):
    lines = ["GET %s HTTP/1.1" % path, "Host: x", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Version: %s" % version]
    if key is not None:
        lines.append("Sec-WebSocket-Key: %s" % key)
    if protocol is not None:
        lines.append("Sec-WebSocket-Protocol: %s" % protocol)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_head(c):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_all(c):
    data = b""
    while True:
        try:
            chunk = c.recv(65536)
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk


@pytest.mark.parametrize("request_bytes,status", [
    (upgrade_request("/x", key=None), b"400"),
    (upgrade_request("/x", key="short=="), b"400"),
    (upgrade_request("/x", key="!!!!!!!!!!!!!!!!!!!!!!=="), b"400"),
    (upgrade_request("/x", protocol="rep.sp.nanomsg.org"), b"400"),
    (upgrade_request("/x", version="8"), b"426"),
    (b"garbage garbage\r\n\r\n", b"400"),
    (b"POST /x HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
    (b"GET /x HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 9000 + b"\r\n\r\n", b"431"),
], ids=["no-key", "short-key", "bad-key", "wrong-protocol", "version", "garbage",
        "post", "huge-head"])
def test_bad_upgrade(served, request_bytes, status):
    s, url, still_serving = served
    c, path = raw(url)
    with c:
        c.sendall(request_bytes.replace(b"/x", path.encode(), 1))
        reply = read_all(c)  # the reply, then the close
    assert reply.split(b" ")[1] == status, reply
    assert not s.pipes
    still_serving()


def masked_frame(opcode, payload, fin=True, length=None, mask=b"\x01\x02\x03\x04"):
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


def upgraded(url):
    c, path = raw(url)
    c.sendall(upgrade_request(path))
    head = read_head(c)
    assert head.startswith(b"HTTP/1.1 101"), head
    return c


def slow_reader(url):
    """An upgraded raw client whose 4 KiB receive buffer fills at once, so
    what we send it stays queued on our side until it reads."""
    host, port = url[len("ws://"):].split("/")[0].rsplit(":", 1)
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.settimeout(DEFAULT_TIMEOUT)
    c.connect((host, int(port)))
    c.sendall(upgrade_request("/x"))
    assert read_head(c).startswith(b"HTTP/1.1 101")
    return c


def test_ping_flood_unread_gets_latest_pong(served):
    """A peer that pings and does not read cannot grow our queue by a pong a
    ping: a pong queued and not yet begun answers the latest ping instead
    (RFC 6455 5.5.3).  Every pong that comes is a whole frame, and the last
    answers the last ping."""
    s, url, still_serving = served
    with slow_reader(url) as c:
        pings = 60000  # their pongs, 7.6 MB, are far more than the kernel holds
        c.sendall(masked_frame(0x9, b"p" * 125) * (pings - 1) + masked_frame(0x9, b"L" * 125))
        c.settimeout(1.0)
        data = read_all(c)
    pongs = []
    while data:
        assert data[0] == 0x8A and data[1] == 125, data[:2]
        pongs.append(data[2:127])
        data = data[127:]
    assert pongs and pongs[-1] == b"L" * 125
    assert len(pongs) < pings
    still_serving()


def parse_frame(data):
    """(opcode, fin, payload, rest) of the first whole frame from a server
    (unmasked) in data, or None while it is not all there."""
    if len(data) < 2:
        return None
    n, at = data[1] & 0x7F, 2
    if n >= 126:
        at = 4 if n == 126 else 10
        if len(data) < at:
            return None
        n = int.from_bytes(data[2:at], "big")
    if len(data) < at + n:
        return None
    return data[0] & 0x0F, bool(data[0] & 0x80), data[at:at + n], data[at + n:]


def read_message_frames(c):
    """The frames from a server up to a message's last one: (opcode, fin,
    payload) each."""
    frames, data = [], b""
    while not frames or not (frames[-1][1] and frames[-1][0] in (0x0, 0x2)):
        frame = parse_frame(data)
        if frame is None:
            chunk = c.recv(1 << 20)
            assert chunk, "closed after %d frames" % len(frames)
            data += chunk
            continue
        frames.append(frame[:3])
        data = frame[3]
    return frames


def test_pong_does_not_wait_behind_a_large_message(served):
    """A pong goes ahead of the frames of a message not yet begun (RFC 6455
    lets control frames come between fragments): a peer's ping is not
    answered only after the whole of a large message."""
    s, url, still_serving = served
    with slow_reader(url) as c:
        wait_until(lambda: s.pipes)
        big = os.urandom(16 << 20)  # 256 frames: far more than the kernel holds
        s.send(big)
        c.sendall(masked_frame(0x9, b"ping!"))
        time.sleep(0.3)  # for our side to read the ping while the message waits
        frames = read_message_frames(c)
    kinds = [op for op, _, _ in frames]
    assert kinds.count(0xA) == 1, kinds[:8]
    pong = kinds.index(0xA)
    assert frames[pong][2] == b"ping!"
    data = [f for f in frames if f[0] in (0x0, 0x2)]
    assert b"".join(p for _, _, p in data) == HEADER + big
    assert data[-1][1] and not any(fin for _, fin, _ in data[:-1])
    # The pong came before the message's last frame, not after it.
    assert pong < len(frames) - 1, "pong at %d of %d frames" % (pong, len(frames))
    still_serving()


def close_code(data):
    """The code of the close frame (unmasked, from a server) in data."""
    assert data[:1] == b"\x88", data[:16]
    return struct.unpack(">H", data[2:4])[0]


@pytest.mark.parametrize("frame,code", [
    (masked_frame(2, b"", length=2**20 + 1), 1009),       # over ws:rxframe-max
    (masked_frame(2, HEADER + b"x")[:1] + bytes([1]) + HEADER + b"x", 1002),  # unmasked
    (masked_frame(0, b"orphan"), 1002),                    # a continuation of nothing
    (bytes([0x82 | 0x40]) + masked_frame(2, b"rsv")[1:], 1002),  # a reserved bit
    (masked_frame(9, b"p", fin=False), 1002),              # a fragmented ping
    (masked_frame(3, b"op"), 1002),                         # an unknown opcode
], ids=["oversized", "unmasked", "orphan-cont", "rsv", "frag-ping", "opcode"])
def test_bad_frames(served, frame, code):
    s, url, still_serving = served
    with upgraded(url) as c:
        wait_until(lambda: s.pipes)
        c.sendall(frame)
        assert close_code(read_all(c)) == code
    wait_until(lambda: not s.pipes)
    still_serving()


def test_oversized_message_by_recv_max(socks):
    s = socks(pynng_core.Pair1, recv_max_size=1000)
    url = ws_url()
    s.listen(url)
    with upgraded(url) as c:
        # Two fragments, each under the frame limit, over recv-size-max together.
        c.sendall(masked_frame(2, HEADER + b"a" * 600, fin=False) + masked_frame(0, b"b" * 600))
        assert close_code(read_all(c)) == 1009


def test_ping_between_fragments(served):
    s, url, _ = served
    with upgraded(url) as c:
        c.sendall(masked_frame(2, HEADER + b"one ", fin=False) + masked_frame(9, b"hey")
                  + masked_frame(0, b"two"))
        assert s.recv() == b"one two"
        data = c.recv(64)
        assert data == b"\x8a\x03hey"  # the pong, unmasked, its payload echoed


def test_stalled_upgrade_does_not_block_others(served):
    s, url, still_serving = served
    c, _ = raw(url)
    with c:
        c.sendall(b"GET /x HTTP/1.1\r\nHost:")  # and never more
        still_serving()


@pytest.mark.one_poller
@pytest.mark.timeout(40)
# 10 s of waiting: the deadline's timer is the transport's, and
# test_tls's handshake timeout runs it under both pollers.
@pytest.mark.one_poller
def test_stalled_upgrade_times_out(served):
    s, url, _ = served
    c, _ = raw(url)
    with c:
        c.settimeout(15)
        start = time.monotonic()
        assert read_all(c) == b""  # closed, nothing said
        assert 8 < time.monotonic() - start < 14  # the 10 s handshake limit


def fake_server():
    """A plain listening socket on a free port, standing in for a ws server."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    return srv, srv.getsockname()[1]


def test_dialer_rejects_bad_reply(socks):
    """A server that answers 101 with the wrong accept key: the dial fails."""
    srv, port = fake_server()
    s = socks(pynng_core.Pair1)
    with srv:
        s.dial("ws://127.0.0.1:%d/" % port, block=False)
        c, _ = srv.accept()
        with c:
            req = read_head(c)
            assert b"Sec-WebSocket-Protocol: pair1.sp.nanomsg.org\r\n" in req
            assert req.startswith(b"GET / HTTP/1.1\r\n")
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"
                      b"Sec-WebSocket-Protocol: pair1.sp.nanomsg.org\r\n\r\n")
            assert read_all(c) == b""
    assert not s.pipes


def test_dialer_request_and_mask(socks):
    """What our dialer sends: the upgrade naming the listener's protocol
    (req dials rep.sp.nanomsg.org), then masked frames."""
    srv, port = fake_server()
    s = socks(pynng_core.Req0)
    with srv:
        s.dial("ws://127.0.0.1:%d/svc?q=1" % port, block=False)
        c, _ = srv.accept()
        with c:
            req = read_head(c).decode()
            assert req.startswith("GET /svc?q=1 HTTP/1.1\r\n")
            assert "Sec-WebSocket-Protocol: rep.sp.nanomsg.org\r\n" in req
            key = [l.split(": ")[1] for l in req.split("\r\n") if l.startswith("Sec-WebSocket-Key")][0]
            import base64
            import hashlib
            accept = base64.b64encode(hashlib.sha1(
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            c.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                       "Sec-WebSocket-Protocol: rep.sp.nanomsg.org\r\n\r\n" % accept).encode())
            wait_until(lambda: s.pipes)
            s.send(b"question")
            data = b""
            while len(data) < 2 + 4 + 12:
                data += c.recv(64)
            assert data[0] == 0x82 and data[1] == 0x80 | 12  # fin, binary, masked, 12 bytes
            mask = data[2:6]
            body = bytes(b ^ mask[i % 4] for i, b in enumerate(data[6:18]))
            assert body[4:] == b"question" and body[0] & 0x80  # request id, then body


# --------------------------------------------------------------------------
# Options (nng's names): frame sizes, text, extra headers, the request URI


def test_frame_and_text_options(socks):
    s = socks(pynng_core.Pair1, recv_timeout=DEFAULT_TIMEOUT * 1000)
    url = ws_url()
    lst = s.listen(url)
    assert options._getopt_int(lst, "ws:rxframe-max") == 2**20  # nng's defaults
    assert options._getopt_int(lst, "ws:txframe-max") == 2**16
    assert options._getopt_bool(lst, "ws:recv-text") is False
    options._setopt_int(lst, "ws:rxframe-max", 100)
    options._setopt_int(lst, "ws:txframe-max", 0)  # one frame per message
    options._setopt_bool(lst, "ws:recv-text", True)
    options._setopt_bool(lst, "ws:send-text", True)
    with pytest.raises(pynng_core.NNGException):
        options._setopt_int(lst, "ws:rxframe-max", -1)
    with ws_connect(url, subprotocols=[PAIR1], proxy=None, max_size=None) as peer:
        peer.send((HEADER + b"as text").decode())  # text taken now
        assert s.recv() == b"as text"
        s.send(b"t" * 100000)
        got = peer.recv(timeout=DEFAULT_TIMEOUT)
        assert isinstance(got, str) and got == (HEADER + b"t" * 100000).decode()
        peer.send(HEADER + b"x" * 200)  # over the 100-byte frame limit
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            peer.recv(timeout=DEFAULT_TIMEOUT)
        assert peer.protocol.close_rcvd.code == 1009


def test_response_headers_and_request_uri(socks):
    s = socks(pynng_core.Pair1)
    url = ws_url("/hdr")
    lst = s.listen(url)
    options._setopt_string(lst, "ws:response-headers", "X-One: 1\r\nX-Two: two")
    assert options._getopt_string(lst, "ws:response-headers") == "X-One: 1\r\nX-Two: two"
    with pytest.raises(pynng_core.NNGException):
        options._setopt_string(lst, "ws:response-headers", "no colon here\r\n")
    with ws_connect(url, subprotocols=[PAIR1], proxy=None) as peer:
        assert peer.response.headers["X-One"] == "1"
        assert peer.response.headers["X-Two"] == "two"
    d = socks(pynng_core.Pair1).dial(url + "?a=b", block=False)
    assert options._getopt_string(d, "ws:request-uri") == "/hdr?a=b"


def test_request_headers_on_first_upgrade(socks):
    """Set between new_dialer and start (nng's create, set, start), a
    dialer's ws:request-headers go with its very first upgrade request."""
    srv, port = fake_server()
    s = socks(pynng_core.Pair1)
    with srv:
        d = s.new_dialer("ws://127.0.0.1:%d/first?q=1" % port)
        options._setopt_string(d, "ws:request-headers",
                               "Authorization: Bearer t0k3n\r\nX-Two: 2\r\n")
        d.start(block=False)
        c, _ = srv.accept()
        with c:
            req = read_head(c)
    assert req.startswith(b"GET /first?q=1 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer t0k3n\r\nX-Two: 2\r\n" in req
    assert req.endswith(b"\r\n\r\n") and not req.endswith(b"\r\n\r\n\r\n")


def test_request_headers_on_redial(socks):
    """A started dialer's ws:request-headers go with its next upgrade (dial()
    starts at once, so the first may go before the option is set)."""
    srv, port = fake_server()
    s = socks(pynng_core.Pair1, reconnect_time_min=10, reconnect_time_max=20)
    with srv:
        d = s.dial("ws://127.0.0.1:%d/" % port, block=False)
        options._setopt_string(d, "ws:request-headers", "Authorization: Bearer t0k3n\r\n")
        for _ in range(2):
            c, _ = srv.accept()
            with c:
                req = read_head(c)
        assert b"\r\nAuthorization: Bearer t0k3n\r\n" in req
        assert req.endswith(b"\r\n\r\n") and not req.endswith(b"\r\n\r\n\r\n")


def test_addresses(socks):
    a, b = socks(pynng_core.Pair1), socks(pynng_core.Pair1)
    port = free_tcp_port()
    lst = a.listen(ws_url("/addr", port))
    assert lst.port == port
    assert lst.local_address.port_number == port
    d = b.dial("ws://127.0.0.1:%d/addr" % port, block=True)
    wait_until(lambda: a.pipes and b.pipes)
    assert d.remote_address.port_number == port
    assert b.pipes[0].remote_address.port_number == port
    assert a.pipes[0].remote_address.port_number == b.pipes[0].local_address.port_number
    assert socks(pynng_core.Pair1).dial("ws://127.0.0.1/none", block=False) \
        .remote_address.port_number == 80


CLOSE_RACE = r'''
import socket, sys, threading
import pynng_core

REQ = ("GET /c HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
       "Sec-WebSocket-Protocol: push.sp.nanomsg.org\r\n\r\n").encode()
CLOSE = bytes([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE8 ^ 2])  # masked, code 1000

s = pynng_core.Push0(send_timeout=100)
port = s.listen("ws://127.0.0.1:0/c").port
stop = threading.Event()

def pump():
    while not stop.is_set():
        try:
            s.send(b"x" * 64)
        except pynng_core.Timeout:
            pass

threads = [threading.Thread(target=pump, daemon=True) for _ in range(2)]
for t in threads:
    t.start()
for _ in range(int(sys.argv[1])):
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(REQ)
    head = b""
    while b"\r\n\r\n" not in head:
        head += c.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    c.recv(4096)
    c.sendall(CLOSE)
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.close()
stop.set()
for t in threads:
    t.join(10)
    assert not t.is_alive(), "a sender is stuck"
s.close()
print("ok")
'''


def test_peer_close_while_sending():
    """The peer's close frame answered (close_sent) while senders hammer the
    pipe: it must stop counting as writable at once.  It did not, and a
    sender under the socket lock retried it forever while the I/O thread's
    close of that pipe waited for the lock (found by tests/stress.py over
    ws).  In a process of its own, since the failure is a hang."""
    import subprocess
    import sys
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(pynng_core.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [pkg] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    try:
        out = subprocess.run([sys.executable, "-c", CLOSE_RACE, "100"], env=env,
                             capture_output=True, text=True, timeout=40)
    except subprocess.TimeoutExpired:
        raise AssertionError("hung: a sender spun on a closing ws pipe") from None
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]

"""Hostile and hand-written peers speaking raw bytes to a pynng_core socket.

A bad handshake or frame must close that one connection (we check the
hostile socket sees EOF/reset where closing is the right reaction) and never
the socket: a good peer keeps exchanging messages afterwards, and nothing the
hostile peer sent is ever delivered.  A correct hand-written peer proves the
handshake and framing byte for byte (wire.md section 2).
"""

import socket
import struct

import pytest

import pynng
import pynng_core
from pynng_core import TryAgain
from platform_probes import skip_unless, unix_sockets_missing
from peers import (
    PROTO_ID, SOCKET_TIMEOUT_MS, closed_by_peer, frame, ipc_path, raw_connect,
    read_frame, recv_exactly, sp_header,
)

TRANSPORTS = ["tcp", "ipc"]
RECV_MAX = 1024
HOP1 = b"\x00\x00\x00\x01"  # pair1 header: hop count 1 on the wire

OURS = {"pair0": pynng_core.Pair0, "pair1": pynng_core.Pair1,
        "push0": pynng_core.Push0, "pull0": pynng_core.Pull0}
PEER_OF = {"pair0": "pair0", "pair1": "pair1", "pull0": "push0", "push0": "pull0"}


# --------------------------------------------------------------------------
# The attacks.  Each takes (raw socket, transport, protocol the target expects
# from its peer) and returns True if we must close the connection.

def garbage_http(sock, transport, peer_proto):
    sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    return True


def garbage_binary(sock, transport, peer_proto):
    sock.sendall(b"\xff" * 64)
    return True


def wrong_protocol(sock, transport, peer_proto):
    # A pub handshake: valid header, protocol id that is nobody's peer here.
    sock.sendall(sp_header(PROTO_ID["pub0"]))
    return True


def oversize_1mib(sock, transport, peer_proto):
    sock.sendall(sp_header(PROTO_ID[peer_proto]))
    sock.sendall(frame(transport, b"A" * 512, length=1 << 20))
    return True


def oversize_2_62(sock, transport, peer_proto):
    sock.sendall(sp_header(PROTO_ID[peer_proto]))
    sock.sendall(frame(transport, b"A" * 64, length=1 << 62))
    return True


def half_frame_then_close(sock, transport, peer_proto):
    sock.sendall(sp_header(PROTO_ID[peer_proto]))
    whole = frame(transport, b"B" * 100)
    sock.sendall(whole[: len(whole) // 2])
    sock.close()
    return False  # we closed it ourselves


def half_handshake_then_close(sock, transport, peer_proto):
    sock.sendall(sp_header(PROTO_ID[peer_proto])[:4])
    sock.close()
    return False


def ipc_bad_type_byte(sock, transport, peer_proto):
    sock.sendall(sp_header(PROTO_ID[peer_proto]))
    body = b"must never be delivered"
    sock.sendall(b"\x02" + struct.pack(">Q", len(body)) + body)
    return True


ATTACKS = [garbage_http, garbage_binary, wrong_protocol, oversize_1mib, oversize_2_62,
           half_frame_then_close, half_handshake_then_close, ipc_bad_type_byte]


def attack_params():
    for attack in ATTACKS:
        for transport in TRANSPORTS:
            if attack is ipc_bad_type_byte and transport != "ipc":
                continue
            yield pytest.param(attack, transport, id="%s-%s" % (attack.__name__, transport))


def run_attack(attack, url, transport, peer_proto):
    sock = raw_connect(url)
    try:
        try:
            must_close = attack(sock, transport, peer_proto)
        except (BrokenPipeError, ConnectionResetError):
            return  # already closed by us (e.g. pair0 refusing a 2nd peer)
        if must_close:
            assert closed_by_peer(sock), (
                "%s: the hostile connection was not closed by pynng_core" % attack.__name__)
    finally:
        sock.close()


# --------------------------------------------------------------------------
# Good peers


def make_target(proto, url):
    sock = OURS[proto](recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS,
                       recv_max_size=RECV_MAX)
    try:
        sock.listen(url)
    except BaseException:
        sock.close()
        raise
    return sock


def make_good_peer(proto, url):
    """A pynng (libnng) peer dialing url, redialing quickly if rejected."""
    cls = getattr(pynng, PEER_OF[proto].capitalize())
    peer = cls(recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS,
               reconnect_time_min=20, reconnect_time_max=100)
    peer.dial(url, block=False)
    return peer


def assert_exchange(target, peer, proto, tag):
    """Messages flow peer -> target (and target -> peer for pair), in order,
    and nothing else (e.g. from a hostile peer) is delivered."""
    msgs = [b"%s-%d" % (tag, i) for i in range(5)]
    for m in msgs:
        peer.send(m)
    assert [target.recv() for _ in msgs] == msgs
    if proto == "pair0":
        for m in msgs:
            target.send(m)
        assert [peer.recv() for _ in msgs] == msgs
    with pytest.raises(TryAgain):
        target.recv(block=False)


def wait_connected(target, peer, proto):
    """Ping until the first message gets through (the peer may have been
    refused while a hostile connection still held the pair slot)."""
    target.recv_timeout = 100
    try:
        for _ in range(100):
            peer.send(b"ping")
            try:
                assert target.recv() == b"ping"
                break
            except pynng_core.Timeout:
                continue
        else:
            raise AssertionError("the good peer never got through")
    finally:
        target.recv_timeout = SOCKET_TIMEOUT_MS
    # Pings sent meanwhile may still be on their way: mark the end, drain.
    peer.send(b"sync")
    while True:
        msg = target.recv()
        if msg == b"sync":
            break
        assert msg == b"ping"


@pytest.mark.parametrize("proto", ["pull0", "pair0"])
@pytest.mark.parametrize("attack,transport", list(attack_params()))
def test_attack_while_good_peer_connected(attack, transport, proto, make_url):
    url = make_url(transport)
    with make_target(proto, url) as target, make_good_peer(proto, url) as peer:
        assert_exchange(target, peer, proto, b"before")
        run_attack(attack, url, transport, PEER_OF[proto])
        assert_exchange(target, peer, proto, b"after")
        # A second attack on the same socket, then messages still flow.
        run_attack(attack, url, transport, PEER_OF[proto])
        assert_exchange(target, peer, proto, b"again")


@pytest.mark.parametrize("attack,transport", list(attack_params()))
def test_attack_then_pair_peer_connects(attack, transport, make_url):
    """The hostile connection comes first: it must not keep pair0's single
    peer slot, so a good peer connecting afterwards is served."""
    url = make_url(transport)
    with make_target("pair0", url) as target:
        run_attack(attack, url, transport, "pair0")
        with make_good_peer("pair0", url) as peer:
            wait_connected(target, peer, "pair0")
            assert_exchange(target, peer, "pair0", b"after")


# --------------------------------------------------------------------------
# A correct hand-written peer


class RawListener:
    """A plain listening socket, for our socket to dial."""

    def __init__(self, transport, make_url):
        if transport == "tcp":
            self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.server.bind(("127.0.0.1", 0))
            self.url = "tcp://127.0.0.1:%d" % self.server.getsockname()[1]
        else:
            skip_unless(unix_sockets_missing())  # a raw ipc peer: AF_UNIX
            self.url = make_url("ipc")
            self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.server.bind(ipc_path(self.url))
        self.server.listen(1)
        self.server.settimeout(SOCKET_TIMEOUT_MS / 1000)

    def accept(self):
        conn, _ = self.server.accept()
        conn.settimeout(SOCKET_TIMEOUT_MS / 1000)
        return conn

    def close(self):
        self.server.close()


def raw_session(our_proto, transport, our_role, make_url):
    """Our socket and a raw connection that completed the SP handshake; the
    raw side checks our 8 handshake bytes exactly."""
    ours = OURS[our_proto](recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS)
    try:
        if our_role == "listen":
            url = make_url(transport)
            ours.listen(url)
            conn = raw_connect(url)
        else:
            server = RawListener(transport, make_url)
            try:
                ours.dial(server.url, block=False)
                conn = server.accept()
            finally:
                server.close()
        conn.sendall(sp_header(PROTO_ID[PEER_OF[our_proto]]))
        assert recv_exactly(conn, 8) == sp_header(PROTO_ID[our_proto])
    except BaseException:
        ours.close()
        raise
    return ours, conn


BODIES = [b"", b"x", b"hello \x00\xff world", bytes(range(256)) * 4]


def wire_body(proto, body):
    return HOP1 + body if proto == "pair1" else body


@pytest.mark.parametrize("our_role", ["listen", "dial"])
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("our_proto", ["pull0", "pair0", "pair1"])
def test_raw_peer_sends_to_us(our_proto, transport, our_role, make_url):
    ours, conn = raw_session(our_proto, transport, our_role, make_url)
    with ours, conn:
        # One frame per write.
        for body in BODIES:
            conn.sendall(frame(transport, wire_body(our_proto, body)))
        assert [ours.recv() for _ in BODIES] == BODIES
        # All frames in one write (parsed out of one read).
        conn.sendall(b"".join(frame(transport, wire_body(our_proto, b)) for b in BODIES))
        assert [ours.recv() for _ in BODIES] == BODIES
        # One frame dribbled a byte at a time.
        for byte in frame(transport, wire_body(our_proto, b"slow writer")):
            conn.sendall(bytes([byte]))
        assert ours.recv() == b"slow writer"


@pytest.mark.parametrize("our_role", ["listen", "dial"])
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("our_proto", ["push0", "pair0", "pair1"])
def test_raw_peer_receives_from_us(our_proto, transport, our_role, make_url):
    ours, conn = raw_session(our_proto, transport, our_role, make_url)
    with ours, conn:
        for body in BODIES:
            ours.send(body)
        for body in BODIES:
            assert read_frame(conn, transport) == wire_body(our_proto, body)

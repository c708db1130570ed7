"""wss://, wss4://, wss6:// (the SP WebSocket mapping inside TLS, as nng's):
our sockets both ways, server verification, client certificates, server
names, listeners sharing a port by path (and its TLS config), the
`websockets` library as a wss client, and the bad cases, each of which
closes its own connection only: the listener serves on.  pynng and nngcat
as peers: test_tls_interop.py."""
import os
import socket
import ssl
import struct
import threading
import time

import pytest

import pynng_core
from pynng_core import TLSConfig
from pynng_core._core import lib as clib
from peers import free_tcp_port, wait_until
from platform_probes import skip_unless
from test_tls import pair
from tls_certs import client_config, engine_missing, server_config

pytestmark = pytest.mark.core_only

PAIR1 = "pair1.sp.nanomsg.org"
HEADER = struct.pack(">I", 1)  # a pair1 hop count


@pytest.fixture(autouse=True)
def _engine():
    skip_unless(engine_missing())


def wss_url(path="/x", host="127.0.0.1", scheme="wss", port=None):
    shown = "[%s]" % host if ":" in host else host
    return "%s://%s:%d%s" % (scheme, shown, port or free_tcp_port(host), path)


def port_of(url):
    return int(url.split("://")[1].split("/")[0].rsplit(":", 1)[1])


def _serves_on(b, url, certs):
    with pair(type(b), tls_config=client_config(certs)) as good:
        good.dial(url, block=True)
        good.send(b"still serving")
        assert b.recv() == b"still serving"
    wait_until(lambda: len(b.pipes) == 0)


# -- our sockets both ways ---------------------------------------------------

@pytest.mark.parametrize("protos", [("Pair1", "Pair1"), ("Req0", "Rep0"), ("Push0", "Pull0"),
                                    ("Pub0", "Sub0"), ("Bus0", "Bus0")])
def test_ours_both_ways(certs, protos):
    url = wss_url()
    a_cls, b_cls = (getattr(pynng_core, n) for n in protos)
    kw = {"topics": b""} if b_cls is pynng_core.Sub0 else {}
    with pair(b_cls, tls_config=server_config(certs), **kw) as b, \
            pair(a_cls, tls_config=client_config(certs)) as a:
        b.listen(url)
        a.dial(url, block=True)
        wait_until(lambda: len(b.pipes) == 1)
        for msg in (b"hello", os.urandom(300000), b"x" * 70000):
            if a_cls is pynng_core.Pub0:
                time.sleep(0.05)
            a.send(msg)
            assert b.recv() == msg
            if b_cls in (pynng_core.Rep0, pynng_core.Pair1, pynng_core.Bus0):
                b.send(msg[::-1])
                assert a.recv() == msg[::-1]
                if a_cls is pynng_core.Req0:
                    continue
        assert a.pipes[0].tls_verified and a.pipes[0].tls_peer_cn == "pnc server"
        assert "localhost" in a.pipes[0].tls_peer_alt_names
        assert not b.pipes[0].tls_verified  # no client certificate asked


def test_many_and_large_both_ways(certs):
    """Frames that straddle records and reads, messages far past a record,
    and bursts that leave decrypted bytes in the engine."""
    url = wss_url()
    with pair(pynng_core.Pair1, tls_config=server_config(certs)) as b, \
            pair(pynng_core.Pair1, tls_config=client_config(certs)) as a:
        b.listen(url)
        a.dial(url, block=True)
        big = os.urandom(4 << 20)
        a.send(big)
        assert b.recv() == big
        b.send(big[::-1])
        assert a.recv() == big[::-1]
        sizes = [1, 100, 16384, 16385, 70000, 5, 0, 131072] * 40

        def sender(s, k):
            for i, n in enumerate(sizes):
                s.send(bytes([(i + k) % 256]) * n)

        threads = [threading.Thread(target=sender, args=(a, 0)),
                   threading.Thread(target=sender, args=(b, 1))]
        for t in threads:
            t.start()
        for i, n in enumerate(sizes):
            assert b.recv() == bytes([i % 256]) * n
            assert a.recv() == bytes([(i + 1) % 256]) * n
        for t in threads:
            t.join()


def test_slow_receiver_pauses_and_resumes(certs):
    """A receiver whose queue fills pauses the pipe with bytes left in the
    engine; its resume must read them without a new poll event."""
    url = wss_url()
    with pair(pynng_core.Pull0, tls_config=server_config(certs),
              recv_buffer_size=2) as b, \
            pair(pynng_core.Push0, tls_config=client_config(certs)) as a:
        b.listen(url)
        a.dial(url, block=True)
        msgs = [bytes([i % 256]) * (1 + (i * 7919) % 30000) for i in range(600)]

        def sender():
            for m in msgs:
                a.send(m)

        t = threading.Thread(target=sender)
        t.start()
        got = []
        for i, m in enumerate(msgs):
            if i % 100 == 0:
                time.sleep(0.2)  # let the pipe pause with the engine full
            got.append(b.recv())
        t.join()
        assert got == msgs


@pytest.mark.parametrize("scheme,host", [("wss", "localhost"), ("wss4", "127.0.0.1"),
                                         ("wss6", "::1")])
def test_schemes(certs, scheme, host):
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        url = wss_url(host=host, scheme=scheme)
    except OSError:
        pytest.skip("no %s here" % host)
    with pair(tls_config=server_config(certs)) as b, \
            pair(tls_config=client_config(certs)) as a:
        b.listen(url)
        a.dial(url, block=True)
        a.send(scheme.encode())
        assert b.recv() == scheme.encode()
        assert a.pipes[0].tls_verified


def test_default_port_is_443():
    from pynng_core.sockaddr import from_url
    assert repr(from_url("wss://127.0.0.1/x")) == "<InAddr 127.0.0.1:443>"
    assert repr(from_url("ws://127.0.0.1/x")) == "<InAddr 127.0.0.1:80>"


def test_client_certificates(certs):
    url = wss_url()
    with pair(tls_config=server_config(certs, auth_mode=TLSConfig.AUTH_MODE_REQUIRED)) as b:
        b.listen(url)
        with pair(tls_config=client_config(certs)) as a:  # none: refused
            try:
                a.dial(url, block=True)  # TLS 1.3: the client may finish first
                with pytest.raises(pynng_core.NNGException):
                    a.recv(block=True)
            except pynng_core.NNGException:
                pass
        assert not b.pipes
        with pair(tls_config=client_config(certs, own="client")) as a:
            a.dial(url, block=True)
            a.send(b"certified")
            assert b.recv() == b"certified"
            p = b.pipes[0]
            assert p.tls_verified and p.tls_peer_cn == "pnc client"
            assert p.tls_peer_alt_names == ["client.example"]


def test_config_rules(certs):
    with pair() as s:
        with pytest.raises(pynng_core.NNGException) as e:
            s.listen(wss_url())  # no certificate to serve
        assert e.value.errno == clib.PNC_EINVAL
        with pytest.raises(pynng_core.NNGException) as e:
            s.listen(wss_url(), tls_config=client_config(certs))
        assert e.value.errno == clib.PNC_EINVAL
        with pytest.raises(pynng_core.NNGException) as e:
            s.dial(wss_url(), tls_config=server_config(certs), block=False)
        assert e.value.errno == clib.PNC_EINVAL


def test_shared_port(certs):
    """Listeners on one port share its HTTP listener by path, and its TLS:
    the config the first bound with; another config there, or plain ws, is
    refused (AddressInUse)."""
    port = free_tcp_port()
    cfg = server_config(certs)
    with pair(tls_config=cfg) as one, pair(tls_config=cfg) as two, \
            pair(tls_config=server_config(certs)) as other:
        first = one.listen(wss_url("/one", port=port))
        two.listen(wss_url("/two", port=port))  # the same config (the object)
        with pytest.raises(pynng_core.NNGException) as e:
            first.tls_config = server_config(certs)  # bound: its port's is fixed
        assert e.value.errno == clib.PNC_EBUSY
        with pair(tls_config=client_config(certs)) as c:
            d = c.dial(wss_url("/one", port=port), block=True)
            d.tls_config = client_config(certs)  # a dialer's next connection takes it
        with pytest.raises(pynng_core.AddressInUse):
            other.listen(wss_url("/other", port=port))  # another one
        with pytest.raises(pynng_core.AddressInUse):
            other.listen("ws://127.0.0.1:%d/plain" % port)
        with pytest.raises(pynng_core.AddressInUse):
            other.listen(wss_url("/one", port=port, host="127.0.0.1"),
                         tls_config=cfg)  # the path is taken
        for s, path in ((one, "/one"), (two, "/two")):
            with pair(tls_config=client_config(certs)) as c:
                c.dial(wss_url(path, port=port), block=True)
                c.send(path.encode())
                assert s.recv() == path.encode()
        with pair(tls_config=client_config(certs)) as c:
            with pytest.raises(pynng_core.ConnectionRefused):
                c.dial(wss_url("/none", port=port), block=True)  # 404
    # A plain ws port takes no wss listener either.
    port = free_tcp_port()
    with pair() as plain, pair(tls_config=cfg) as secure:
        plain.listen("ws://127.0.0.1:%d/a" % port)
        with pytest.raises(pynng_core.AddressInUse):
            secure.listen(wss_url("/b", port=port))


def test_server_name(certs):
    url = wss_url(host="127.0.0.1")
    with pair(tls_config=server_config(certs)) as b:
        b.listen(url)
        # The URL's host (127.0.0.1, an IP SAN) is checked unless named.
        with pair(tls_config=client_config(certs, server_name="localhost")) as a:
            a.dial(url, block=True)
        with pair(tls_config=client_config(certs, server_name="wrong.example")) as a:
            with pytest.raises(pynng_core.NNGException) as e:
                a.dial(url, block=True)
            assert e.value.errno == clib.PNC_EPEERAUTH
        _serves_on(b, url, certs)


# -- bad peers: each closes its own connection; the listener serves on ------

@pytest.mark.parametrize("bad", ["wrong_ca", "selfsigned", "expired"])
def test_bad_server_certificates(certs, bad):
    url = wss_url()
    which = {"expired": "expired", "selfsigned": "selfsigned", "wrong_ca": "server"}[bad]
    with pair(tls_config=server_config(certs, which)) as b:
        b.listen(url)
        ca = "other_ca" if bad == "wrong_ca" else "ca"
        with pair(tls_config=client_config(certs, ca=ca)) as a:
            with pytest.raises(pynng_core.NNGException) as e:
                a.dial(url, block=True)
            assert e.value.errno == clib.PNC_EPEERAUTH, e.value
        with pair(tls_config=client_config(certs, ca=None,
                                           auth_mode=TLSConfig.AUTH_MODE_NONE)) as a:
            a.dial(url, block=True)
            a.send(b"unverified")
            assert b.recv() == b"unverified"


def test_plain_client_secure_listener_and_reverse(certs):
    url = wss_url()
    with pair(tls_config=server_config(certs)) as b:
        b.listen(url)
        with pair() as a:
            start = time.monotonic()
            with pytest.raises(pynng_core.NNGException):
                a.dial(url.replace("wss://", "ws://"), block=True)
            assert time.monotonic() - start < 5
        _serves_on(b, url, certs)
    plain = "ws://127.0.0.1:%d/x" % free_tcp_port()
    with pair() as b:
        b.listen(plain)
        with pair(tls_config=client_config(certs)) as a:
            start = time.monotonic()  # refused at once (400), not at the deadline
            with pytest.raises(pynng_core.NNGException):
                a.dial(plain.replace("ws://", "wss://"), block=True)
            assert time.monotonic() - start < 5
        with pair() as ok:
            ok.dial(plain, block=True)
            ok.send(b"plain")
            assert b.recv() == b"plain"


def test_garbage_silence_and_half_handshakes(certs):
    url = wss_url()
    port = port_of(url)
    with pair(tls_config=server_config(certs)) as b:
        b.listen(url)
        garbage = socket.create_connection(("127.0.0.1", port))
        garbage.sendall(b"\x00SP\x00\x00\x10\x00\x00" + os.urandom(3000))
        http = socket.create_connection(("127.0.0.1", port))
        http.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
        silent = socket.create_connection(("127.0.0.1", port))  # never says a word
        half = socket.create_connection(("127.0.0.1", port))
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
        with pytest.raises(ssl.SSLWantReadError):
            obj.do_handshake()
        half.sendall(out.read())  # a ClientHello, then nothing
        # TLS done, then no upgrade request: the handshake deadline's.
        ca_ctx = ssl.create_default_context(cadata=certs["ca"])
        mute = ca_ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                                  server_hostname="localhost")
        for s in (garbage, http):
            s.settimeout(5)
            try:
                while s.recv(100000):
                    pass  # an alert, then the close
            except OSError:
                pass
        _serves_on(b, url, certs)
        for s in (garbage, http, silent, half, mute):
            s.close()


# 10 s of waiting: the deadline's timer is the transport's, and
# test_tls's handshake timeout runs it under both pollers.
@pytest.mark.one_poller
def test_handshake_deadline(certs):
    """A peer that never finishes (TLS, or the upgrade after it) is dropped at
    ws's deadline (10 s, nng's); others are served meanwhile."""
    url = wss_url()
    port = port_of(url)
    with pair(tls_config=server_config(certs)) as b:
        lst = b.listen(url)
        silent = socket.create_connection(("127.0.0.1", port))
        silent.settimeout(15)
        ctx = ssl.create_default_context(cadata=certs["ca"])
        mute = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                               server_hostname="localhost")
        mute.settimeout(15)
        half = socket.create_connection(("127.0.0.1", port))
        half.settimeout(15)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
        with pytest.raises(ssl.SSLWantReadError):
            obj.do_handshake()
        half.sendall(out.read())  # a ClientHello, and no more
        _serves_on(b, url, certs)
        start = time.monotonic()
        assert silent.recv(100) == b""  # closed by the listener
        assert 5 < time.monotonic() - start + 0.5 < 13
        try:
            assert mute.recv(100) == b""
        except (ssl.SSLError, OSError):
            pass
        try:  # its ServerHello and the rest, then the close
            while half.recv(100000):
                pass
        except OSError:
            pass
        assert time.monotonic() - start < 13
        for s in (silent, mute, half):
            s.close()
        # each counted on the listener (its port's), which says the last
        wait_until(lambda: b.stats["rejected_timeout"] == 3)
        assert b.stats["pipes_rejected"] == 3
        assert isinstance(lst.last_error, pynng_core.Timeout)
        assert "not finished in time" in str(lst.last_error)


# -- the websockets library as a wss client ----------------------------------

def test_websockets_wss_client(certs):
    pytest.importorskip("websockets")
    from websockets.sync.client import connect as ws_connect
    url = wss_url()
    ctx = ssl.create_default_context(cadata=certs["ca"])
    with pair(pynng_core.Pair1, tls_config=server_config(certs)) as s:
        s.listen(url)
        with ws_connect(url, ssl=ctx, server_hostname="localhost",
                        subprotocols=[PAIR1], proxy=None) as peer:
            assert peer.subprotocol == PAIR1
            peer.send(HEADER + b"masked")
            assert s.recv() == b"masked"
            peer.send([HEADER, b"frag", b"mented", b""])
            assert s.recv() == b"fragmented"
            big = os.urandom(300000)
            peer.send([HEADER + big[:70000], big[70000:]])
            assert s.recv() == big
            assert peer.ping(b"there?").wait(5)
            s.send(b"r" * 300000)  # fragmented by us at 64 KiB
            assert peer.recv(timeout=5) == HEADER + b"r" * 300000
            peer.close(1000, "bye")
            assert peer.protocol.close_rcvd.code == 1000
        wait_until(lambda: not s.pipes)
        _serves_on(s, url, certs)

"""tls+tcp:// (TLS 1.2 and 1.3 over OpenSSL in the core) and pynng's TLSConfig:
our sockets both ways, Python's ssl module as a peer, server verification,
client certificates, server names, the bad cases (each closes its own
connection only: the socket serves on) and the build without OpenSSL.
pynng and nngcat as peers: test_tls_interop.py."""
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

import pynng_core
from pynng_core import TLSConfig
from pynng_core.exceptions import NotSupported
from pynng_core import tls as _tls
from pynng_core._core import lib as clib
from peers import free_tcp_port, wait_until
from platform_probes import skip_unless
from tls_certs import client_config, engine_missing, server_config


@pytest.fixture(autouse=True)
def _engine(request):
    if "no_engine" not in request.node.name:
        skip_unless(engine_missing())


TIMEOUT_MS = 5000


def tls_url(host="127.0.0.1", scheme="tls+tcp"):
    shown = "[%s]" % host if ":" in host else host
    return "%s://%s:%d" % (scheme, shown, free_tcp_port(host))


def pair(cls=pynng_core.Pair0, **kw):
    return cls(recv_timeout=TIMEOUT_MS, send_timeout=TIMEOUT_MS, **kw)


# -- our sockets both ways ---------------------------------------------------

@pytest.mark.parametrize("protos", [("Pair1", "Pair1"), ("Req0", "Rep0"), ("Push0", "Pull0"),
                                    ("Pub0", "Sub0")])
def test_ours_both_ways(certs, protos):
    url = tls_url()
    a_cls, b_cls = (getattr(pynng_core, p) for p in protos)
    with b_cls(recv_timeout=TIMEOUT_MS, send_timeout=TIMEOUT_MS,
               tls_config=server_config(certs)) as b, \
            a_cls(recv_timeout=TIMEOUT_MS, send_timeout=TIMEOUT_MS,
                  tls_config=client_config(certs)) as a:
        if protos[1] == "Sub0":
            b.subscribe(b"")
        b.listen(url)
        a.dial(url, block=True)
        big = os.urandom(3 << 20) + b"end"
        if protos[1] == "Sub0":
            wait_until(lambda: len(b.pipes) == 1)
            time.sleep(0.05)
        for msg in (b"hello", b"", big, b"x" * 70000):
            a.send(msg)
            assert b.recv() == msg
            if protos[0] in ("Pair1", "Req0"):
                b.send(msg[::-1])
                assert a.recv() == msg[::-1]
        (pipe,) = a.pipes
        assert pipe.tls_verified
        assert pipe.tls_peer_cn == "pnc server"
        assert "localhost" in pipe.tls_peer_alt_names
        assert "127.0.0.1" in pipe.tls_peer_alt_names


def test_many_messages_and_streams(certs):
    """A burst of small messages and a few big ones, both ways at once."""
    url = tls_url()
    with pair(tls_config=server_config(certs)) as b, pair(tls_config=client_config(certs)) as a:
        b.listen(url)
        a.dial(url, block=True)
        msgs = [b"%d:" % i + os.urandom(i % 3000) for i in range(3000)]
        msgs[100] = os.urandom(5 << 20)
        got = []

        def reader():
            for _ in msgs:
                got.append(b.recv())

        t = threading.Thread(target=reader)
        t.start()
        for m in msgs:
            a.send(m)
        t.join(30)
        assert got == msgs


@pytest.mark.parametrize("scheme,host", [("tls+tcp4", "127.0.0.1"), ("tls+tcp6", "::1"),
                                         ("tls+tcp", "localhost")])
def test_schemes(certs, scheme, host):
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    port = free_tcp_port("::1" if host == "::1" else "127.0.0.1")
    shown = "[::1]" if host == "::1" else host
    url = "%s://%s:%d" % (scheme, shown, port)
    with pair(tls_config=server_config(certs)) as b, pair(tls_config=client_config(certs)) as a:
        b.listen(url)
        a.dial(url, block=True)
        a.send(b"hi")
        assert b.recv() == b"hi"


def test_endpoint_configs_and_listener_port(certs):
    """tls_config= on dial and listen alone; tcp-bound-port for port 0."""
    with pair() as b, pair() as a:
        listener = b.listen("tls+tcp://127.0.0.1:0", tls_config=server_config(certs))
        port = listener.port
        assert port > 0
        assert listener.tls_config is not None
        a.dial("tls+tcp://127.0.0.1:%d" % port, block=True, tls_config=client_config(certs))
        a.send(b"x")
        assert b.recv() == b"x"
        assert a.tls_config is None


def test_client_certificates(certs):
    url = tls_url()
    with pair(tls_config=server_config(certs, auth_mode=TLSConfig.AUTH_MODE_REQUIRED)) as b:
        b.listen(url)
        with pair(tls_config=client_config(certs, own="client")) as a:
            a.dial(url, block=True)
            a.send(b"with cert")
            assert b.recv() == b"with cert"
            (pipe,) = b.pipes
            assert pipe.tls_verified
            assert pipe.tls_peer_cn == "pnc client"
            assert pipe.tls_peer_alt_names == ["client.example"]
        # Without one: refused, and the listener serves on.
        with pair(tls_config=client_config(certs)) as a:
            with pytest.raises(pynng_core.NNGException):
                a.dial(url, block=True)
        with pair(tls_config=client_config(certs, own="client")) as a:
            a.dial(url, block=True)
            a.send(b"again")
            assert b.recv() == b"again"


def test_client_certificate_optional(certs):
    url = tls_url()
    with pair(tls_config=server_config(certs, auth_mode=TLSConfig.AUTH_MODE_OPTIONAL)) as b:
        b.listen(url)
        with pair(tls_config=client_config(certs)) as a:
            a.dial(url, block=True)
            a.send(b"none")
            assert b.recv() == b"none"
            (pipe,) = b.pipes
            assert not pipe.tls_verified
        wait_until(lambda: not b.pipes)
        with pair(tls_config=client_config(certs, own="selfsigned")) as a:
            a.dial(url, block=True)  # presented but unverifiable: optional lets it in
            a.send(b"self")
            assert b.recv() == b"self"
            (pipe,) = b.pipes
            assert not pipe.tls_verified
            assert pipe.tls_peer_cn == "pnc self-signed"


def test_auth_none_client_takes_any_server(certs):
    url = tls_url()
    with pair(tls_config=server_config(certs, "selfsigned")) as b, \
            pair(tls_config=client_config(certs, ca=None,
                                          auth_mode=TLSConfig.AUTH_MODE_NONE)) as a:
        b.listen(url)
        a.dial(url, block=True)
        a.send(b"anyone")
        assert b.recv() == b"anyone"
        assert not a.pipes[0].tls_verified


def test_server_name(certs):
    url = tls_url()
    with pair(tls_config=server_config(certs)) as b:
        b.listen(url)
        with pair(tls_config=client_config(certs, server_name="localhost")) as a:
            a.dial(url, block=True)
        with pair(tls_config=client_config(certs, server_name="")) as a:  # pynng: not set
            a.dial(url, block=True)
        with pair(tls_config=client_config(certs, server_name="wrong.example")) as a:
            with pytest.raises(pynng_core.NNGException) as e:
                a.dial(url, block=True)
            assert e.value.errno == clib.PNC_EPEERAUTH
        with pair(tls_config=client_config(certs)) as a:
            a.dial(url, block=True)


def test_encrypted_key_and_files(certs, tmp_path):
    cert, key = certs["server_pw"]
    both = tmp_path / "server.pem"
    both.write_text(cert + key)
    ca = tmp_path / "ca.pem"
    ca.write_text(certs["ca"])
    with pytest.raises(pynng_core.NNGException):
        TLSConfig(TLSConfig.MODE_SERVER, own_cert_string=cert, own_key_string=key,
                  passwd="wrong")
    srv = TLSConfig(TLSConfig.MODE_SERVER, cert_key_file=str(both), passwd="s3cret")
    cli = TLSConfig(TLSConfig.MODE_CLIENT, ca_files=str(ca))
    url = tls_url()
    with pair(tls_config=srv) as b, pair(tls_config=cli) as a:
        b.listen(url)
        a.dial(url, block=True)
        a.send(b"files")
        assert b.recv() == b"files"


def test_config_rules(certs):
    with pytest.raises(ValueError):
        TLSConfig(TLSConfig.MODE_CLIENT, ca_string=certs["ca"], ca_files=["x"])
    with pytest.raises(ValueError):
        TLSConfig(TLSConfig.MODE_SERVER, own_cert_string=certs["server"][0])
    with pytest.raises(ValueError):
        TLSConfig(TLSConfig.MODE_SERVER, own_cert_string="a", own_key_string="b",
                  cert_key_file="c")
    with pytest.raises(pynng_core.NNGException):
        TLSConfig(TLSConfig.MODE_CLIENT, ca_string="not a certificate")
    with pytest.raises(TypeError):
        pynng_core.Pair0(tls_config="nope")
    # A client's config on a listener, a server's on a dialer: refused at once.
    with pair(tls_config=client_config(certs)) as s:
        with pytest.raises(pynng_core.NNGException) as e:
            s.listen(tls_url())
        assert "MODE_SERVER" in str(e.value)
    with pair() as s:
        with pytest.raises(pynng_core.NNGException):
            s.listen(tls_url())  # no certificate to serve
        with pytest.raises(pynng_core.NNGException):
            s.dial(tls_url(), block=True, tls_config=server_config(certs))
    # Frozen once used.
    cfg = client_config(certs)
    url = tls_url()
    with pair(tls_config=server_config(certs)) as b, pair(tls_config=cfg) as a:
        b.listen(url)
        a.dial(url, block=True)
        with pytest.raises(pynng_core.NNGException):
            cfg.set_server_name("later")


# -- bad peers: each closes its own connection; the socket serves on --------

def _serves_on(b, url, certs):
    with pair(tls_config=client_config(certs)) as good:
        good.dial(url, block=True)
        good.send(b"still serving")
        assert b.recv() == b"still serving"


@pytest.mark.parametrize("bad", ["expired", "selfsigned", "wrong_ca"])
def test_bad_server_certificates(certs, bad):
    url = tls_url()
    which = {"expired": "expired", "selfsigned": "selfsigned", "wrong_ca": "server"}[bad]
    with pair(tls_config=server_config(certs, which)) as b:
        b.listen(url)
        ca = "other_ca" if bad == "wrong_ca" else "ca"
        with pair(tls_config=client_config(certs, ca=ca)) as a:
            with pytest.raises(pynng_core.NNGException) as e:
                a.dial(url, block=True)
            assert e.value.errno == clib.PNC_EPEERAUTH, e.value
        wait_until(lambda: b.stats["pipes_rejected"] >= 1)
        # It serves on, to a client that does not verify.
        with pair(tls_config=client_config(certs, ca=None,
                                           auth_mode=TLSConfig.AUTH_MODE_NONE)) as a:
            a.dial(url, block=True)
            a.send(b"unverified")
            assert b.recv() == b"unverified"


def test_bad_client_certificate_expired(certs):
    url = tls_url()
    with pair(tls_config=server_config(certs, auth_mode=TLSConfig.AUTH_MODE_REQUIRED)) as b:
        b.listen(url)
        with pair(tls_config=client_config(certs, own="expired")) as a:
            with pytest.raises(pynng_core.NNGException):
                a.dial(url, block=True)
        with pair(tls_config=client_config(certs, own="client")) as good:
            good.dial(url, block=True)
            good.send(b"ok")
            assert b.recv() == b"ok"


def test_tls_client_plain_listener_and_reverse(certs):
    plain = "tcp://127.0.0.1:%d" % free_tcp_port()
    with pair() as b:
        b.listen(plain)
        with pair(tls_config=client_config(certs)) as a:
            with pytest.raises(pynng_core.NNGException):
                a.dial(plain.replace("tcp://", "tls+tcp://"), block=True)
        with pair() as ok:
            ok.dial(plain, block=True)
            ok.send(b"plain")
            assert b.recv() == b"plain"
    url = tls_url()
    with pair(tls_config=server_config(certs)) as b:
        b.listen(url)
        with pair() as a:
            with pytest.raises(pynng_core.NNGException):
                a.dial(url.replace("tls+tcp://", "tcp://"), block=True)
        _serves_on(b, url, certs)


def test_garbage_and_silence(certs):
    url = tls_url()
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
    with pair(tls_config=server_config(certs)) as b:
        b.listen(url)
        garbage = socket.create_connection((host, port))
        garbage.sendall(b"\x00SP\x00\x00\x10\x00\x00" + b"GET / HTTP/1.0\r\n\r\n" * 10)
        silent = socket.create_connection((host, port))  # never says a word
        half = socket.create_connection((host, port))
        # A ClientHello, then nothing: a handshake that never finishes.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
        with pytest.raises(ssl.SSLWantReadError):
            obj.do_handshake()
        half.sendall(out.read())
        garbage.settimeout(5)
        try:
            assert garbage.recv(100000) is not None  # an alert, then the close
        except OSError:
            pass
        _serves_on(b, url, certs)
        for s in (garbage, silent, half):
            s.close()


def test_handshake_timeout(certs, monkeypatch):
    """A peer that never finishes its handshake is dropped at tcp's deadline
    (10 s, nng's): its connection closes, others are served meanwhile."""
    url = tls_url()
    port = int(url.rsplit(":", 1)[1])
    with pair(tls_config=server_config(certs)) as b:
        lst = b.listen(url)
        silent = socket.create_connection(("127.0.0.1", port))
        silent.settimeout(15)
        _serves_on(b, url, certs)
        start = time.monotonic()
        assert silent.recv(100) == b""  # closed by the listener
        assert 5 < time.monotonic() - start + 0.5 < 13
        silent.close()
        # counted, and said: the listener's last error
        wait_until(lambda: b.stats["rejected_timeout"] == 1)
        assert b.stats["pipes_rejected"] == 1
        assert isinstance(lst.last_error, pynng_core.Timeout)
        assert str(lst.last_error).endswith("TLS handshake: not finished in time")


def test_python_ssl_client_speaks_sp(certs, tmp_path):
    """Python's own ssl module (OpenSSL as the peer), TLS 1.2 and 1.3: the SP
    header and framing inside TLS are tcp's."""
    ca = tmp_path / "ca.pem"
    ca.write_text(certs["ca"])
    url = tls_url()
    port = int(url.rsplit(":", 1)[1])
    with pair(tls_config=server_config(certs)) as b:
        b.listen(url)
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            ctx = ssl.create_default_context(cafile=str(ca))
            ctx.minimum_version = ctx.maximum_version = version
            with socket.create_connection(("127.0.0.1", port)) as raw, \
                    ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"\x00SP\x00\x00\x10\x00\x00")
                head = b""
                while len(head) < 8:
                    head += s.recv(8 - len(head))
                assert head == b"\x00SP\x00\x00\x10\x00\x00"
                s.sendall(b"\x00" * 7 + b"\x05hello")
                assert b.recv() == b"hello"
                b.send(b"back")
                frame = b""
                while len(frame) < 12:
                    frame += s.recv(12 - len(frame))
                assert frame == b"\x00" * 7 + b"\x04back"
                assert s.version() in ("TLSv1.2", "TLSv1.3")


# -- the build without OpenSSL -----------------------------------------------

def test_no_engine_message(monkeypatch):
    """What a build without OpenSSL says (the core's stub answers ENOTSUP and a
    NULL engine; the messages are made from those)."""
    from pynng_core import sockaddr
    monkeypatch.setattr(sockaddr, "lib", _FakeLib(sockaddr.lib))
    text = sockaddr.url_trouble(b"tls+tcp://127.0.0.1:1", clib.PNC_ENOTSUP)
    assert text.startswith("tls+tcp://: this build has no TLS engine (OpenSSL was not found")
    monkeypatch.setattr(_tls, "lib", _FakeLib(_tls.lib))
    with pytest.raises(NotSupported) as e:
        TLSConfig(TLSConfig.MODE_CLIENT)
    assert "no TLS engine" in str(e.value)


class _FakeLib:
    def __init__(self, real):
        self._real = real

    def pnc_tls_engine(self):
        return pynng_core._ffi.NULL

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.mark.skipif(os.environ.get("PNC_TEST_BUILDS") == "0" or sys.platform == "win32",
                    reason="builds the tree again (PNC_TEST_BUILDS=0 says not to)")
def test_no_engine_build(tmp_path, request):
    """The tree built with PYNNG_CORE_NO_TLS=1 (as where OpenSSL is missing):
    tcp works, tls+tcp://, wss:// and TLSConfig raise NotSupported saying why."""
    if "[poll]" in request.node.name:
        pytest.skip("one build is enough: the poller makes no difference to it")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(root, "setup.py")):
        pytest.skip("not a source tree")
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=root, capture_output=True, text=True)
    if listed.returncode != 0:  # a copy of the tree (.ci/sanitize.py's work directory)
        pytest.skip("not a git checkout: its files cannot be listed")
    files = listed.stdout.split()
    for f in files:
        if os.path.isfile(os.path.join(root, f)):
            os.makedirs(os.path.dirname(os.path.join(tmp_path, f)), exist_ok=True)
            with open(os.path.join(root, f), "rb") as a, open(os.path.join(tmp_path, f), "wb") as b:
                b.write(a.read())
    # Built as pip builds (.ci/inplace.py): a venv's own setuptools may be
    # too old for pyproject.toml's license field.
    env = dict(os.environ, PYNNG_CORE_NO_TLS="1")
    build = "import sys; sys.path.insert(0, '.ci'); import inplace; inplace.build_inplace('.')"
    done = subprocess.run([sys.executable, "-c", build], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    script = """
import pynng_core
from pynng_core import TLSConfig, NotSupported
assert pynng_core.tls.engine() is None
try:
    TLSConfig(TLSConfig.MODE_CLIENT)
except NotSupported as e:
    print("config:", e)
with pynng_core.Pair0(recv_timeout=2000) as s:
    try:
        s.dial("tls+tcp://127.0.0.1:9", block=True)
    except NotSupported as e:
        print("dial:", e)
    try:
        s.dial("wss://127.0.0.1:9/x", block=True)
    except NotSupported as e:
        print("wss dial:", e)
    l = s.listen("tcp://127.0.0.1:0")
    with pynng_core.Pair0(dial="tcp://127.0.0.1:%d" % l.port) as c:
        c.send(b"plain")
        assert s.recv() == b"plain"
print("ok")
"""
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=str(tmp_path / "src")))
    assert run.returncode == 0, run.stderr
    assert "dial: Not supported: tls+tcp://: this build has no TLS engine (OpenSSL was not " \
        "found" in run.stdout, run.stdout
    assert "wss dial: Not supported: wss://: this build has no TLS engine" in run.stdout, \
        run.stdout
    assert "config: Not supported: tls+tcp:// and wss://: this build has no TLS engine" \
        in run.stdout
    assert run.stdout.rstrip().endswith("ok")

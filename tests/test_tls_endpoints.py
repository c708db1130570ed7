"""Endpoints made and started apart (Socket.new_dialer / new_listener, then
start()), pynng's endpoint TLS options (tls_ca_file, tls_cert_key_file,
tls_auth_mode, tls_server_name) for tls+tcp:// and wss://, and why a TLS
connection failed: in a dial's exception, in a listener's last_error and in
the socket's rejected_* counters.  Each bad peer closes its own connection
only: the listener serves on."""
import socket

import pytest

import pynng_core
from pynng_core import TLSConfig
from pynng_core._core import lib as clib
from pynng_core.exceptions import (AuthenticationError, BadType, Busy, ConnectionRefused,
                                   CryptoError, InvalidOperation, NoEntry, NotSupported,
                                   WriteOnly)
from peers import free_tcp_port, wait_until
from platform_probes import skip_unless
from test_tls import TIMEOUT_MS, pair, tls_url
from test_wss import wss_url
from tls_certs import client_config, engine_missing, server_config

SCHEMES = ["tls+tcp", "wss"]


@pytest.fixture(autouse=True)
def _engine():
    skip_unless(engine_missing())


@pytest.fixture
def files(certs, tmp_path):
    """The CA and each certificate with its key, as PEM files."""
    paths = {"ca": tmp_path / "ca.pem"}
    paths["ca"].write_text(certs["ca"])
    for which in ("server", "client", "selfsigned"):
        paths[which] = tmp_path / (which + ".pem")
        paths[which].write_text("".join(certs[which]))
    paths["cert_only"] = tmp_path / "cert_only.pem"
    paths["cert_only"].write_text(certs["server"][0])
    paths["not_pem"] = tmp_path / "not_pem.txt"
    paths["not_pem"].write_text("not a certificate\n")
    return {k: str(v) for k, v in paths.items()}


def url_for(scheme):
    return tls_url() if scheme == "tls+tcp" else wss_url()


def optioned_listener(sock, url, files, auth=TLSConfig.AUTH_MODE_REQUIRED):
    """A started listener configured through its TLS options alone."""
    lst = sock.new_listener(url)
    lst.tls_cert_key_file = files["server"]
    lst.tls_ca_file = files["ca"]
    lst.tls_auth_mode = auth
    lst.start()
    return lst


def optioned_dialer(sock, url, files, own="client", server_name="localhost", block=True):
    """A started dialer configured through its TLS options alone."""
    d = sock.new_dialer(url)
    d.tls_ca_file = files["ca"]
    d.tls_server_name = server_name
    if own:
        d.tls_cert_key_file = files[own]
    d.start(block=block)
    return d


def exchange(a, b):
    for msg in (b"hello", b"x" * 100000):
        a.send(msg)
        assert b.recv() == msg
        b.send(msg[::-1])
        assert a.recv() == msg[::-1]


def wait_rejected(sock, field, before):
    """Waits until the socket counted one more refusal for this reason (and
    in pipes_rejected); returns the new stats."""
    wait_until(lambda: sock.stats[field] > before[field] and
               sock.stats["pipes_rejected"] > before["pipes_rejected"])
    return sock.stats


# -- made, then started ------------------------------------------------------

def test_create_then_start():
    url = "tcp://127.0.0.1:%d" % free_tcp_port()
    with pair() as a, pair() as b:
        d = a.new_dialer(url)
        assert d in a.dialers and not a.pipes
        with pytest.raises(ConnectionRefused) as e:
            d.start()  # nothing listens: raises, and the dialer stays, unstarted
        assert url in str(e.value)
        assert isinstance(d.last_error, ConnectionRefused)
        lst = b.new_listener(url)
        with pytest.raises(ConnectionRefused):
            d.start()  # made, not bound yet
        lst.start()
        d.start()
        assert d.last_error is None  # a start clears it
        with pytest.raises(pynng_core.NNGException) as e:
            d.start()
        assert e.value.errno == clib.PNC_ESTATE
        exchange(a, b)


# -- the options configure a whole exchange ----------------------------------

@pytest.mark.parametrize("scheme", SCHEMES)
def test_options_alone_configure_both_ends(files, scheme):
    url = url_for(scheme)
    with pair(pynng_core.Pair1) as b, pair(pynng_core.Pair1) as a:
        lst = optioned_listener(b, url, files)
        d = optioned_dialer(a, url, files)
        exchange(a, b)
        ours, theirs = a.pipes[0], b.pipes[0]
        assert ours.tls_verified and ours.tls_peer_cn == "pnc server"
        assert theirs.tls_verified and theirs.tls_peer_cn == "pnc client"
        assert lst.last_error is None and d.last_error is None


@pytest.mark.parametrize("scheme", SCHEMES)
def test_dial_error_names_the_tls_reason(files, scheme):
    url = url_for(scheme)
    with pair() as b, pair() as a:
        optioned_listener(b, url, files, auth=TLSConfig.AUTH_MODE_NONE)
        with pytest.raises(AuthenticationError) as e:
            optioned_dialer(a, url, files, server_name="wrong.example")
        assert "certificate verify failed: hostname mismatch" in str(e.value)
        assert url in str(e.value)
        d = a.new_dialer(url)  # no CA: the defaults verify against none
        with pytest.raises(AuthenticationError) as e:
            d.start()
        why = str(e.value).split("TLS: ", 1)[1]
        assert why.startswith("certificate verify failed: ")  # and OpenSSL's detail
        assert str(d.last_error).endswith("TLS: " + why)
        # a blocking dial() says the same, and its dialer is gone
        dialers = a.dialers
        with pytest.raises(AuthenticationError) as e:
            a.dial(url, block=True)
        assert str(e.value).endswith("TLS: " + why)
        assert a.dialers == dialers
        optioned_dialer(a, url, files, own=None)
        a.send(b"verified")
        assert b.recv() == b"verified"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_required_client_certificate_by_option(files, scheme):
    url = url_for(scheme)
    with pair() as b:
        lst = optioned_listener(b, url, files)
        before = b.stats
        with pair() as a:
            with pytest.raises(pynng_core.NNGException):
                optioned_dialer(a, url, files, own=None)
        wait_rejected(b, "rejected_peer_auth", before)
        assert isinstance(lst.last_error, AuthenticationError)
        assert "peer did not return a certificate" in str(lst.last_error)
        assert not b.pipes
        with pair() as good:
            optioned_dialer(good, url, files)
            exchange(good, b)


def test_given_config_takes_the_options(certs, files):
    """An endpoint given a TLSConfig: its options change that one (as nng's)."""
    url = tls_url()
    with pair(tls_config=server_config(certs)) as b, pair() as a:
        b.listen(url)
        d = a.new_dialer(url, tls_config=client_config(certs))
        d.tls_server_name = "wrong.example"
        with pytest.raises(AuthenticationError) as e:
            d.start()
        assert "hostname mismatch" in str(e.value)


# -- bad values, each error naming what was wrong ------------------------------

@pytest.mark.parametrize("scheme", SCHEMES)
def test_bad_values(files, scheme):
    url = url_for(scheme)
    with pair() as s:
        for ep in (s.new_dialer(url), s.new_listener(url)):
            with pytest.raises(NoEntry) as e:
                ep.tls_ca_file = "/no/such/ca.pem"
            assert "/no/such/ca.pem" in str(e.value) and url in str(e.value)
            with pytest.raises(NoEntry) as e:
                ep.tls_cert_key_file = "/no/such/key.pem"
            assert "/no/such/key.pem" in str(e.value)
            with pytest.raises(InvalidOperation) as e:
                ep.tls_ca_file = files["not_pem"]
            assert files["not_pem"] in str(e.value) and "no PEM certificate" in str(e.value)
            with pytest.raises(InvalidOperation) as e:
                ep.tls_cert_key_file = files["cert_only"]
            assert files["cert_only"] in str(e.value) and "private key" in str(e.value)
            for mode in (3, -1, 1 << 40):
                with pytest.raises(InvalidOperation) as e:
                    ep.tls_auth_mode = mode
                assert "tls_auth_mode=%d" % mode in str(e.value)
            with pytest.raises(BadType):
                ep.tls_ca_file = 5
            for name in ("tls_ca_file", "tls_cert_key_file", "tls_auth_mode",
                         "tls_server_name"):
                with pytest.raises(WriteOnly) as e:
                    getattr(ep, name)
                assert name in str(e.value) and url in str(e.value)
            ep.close()


def test_not_a_tls_endpoint():
    for url in ("tcp://127.0.0.1:%d" % free_tcp_port(), "ws://127.0.0.1:%d/x" % free_tcp_port(),
                "inproc://tls-options"):
        with pair() as s:
            for ep in (s.new_listener(url), s.new_dialer(url)):
                for name, value in (("tls_ca_file", "ca.pem"), ("tls_auth_mode", 2),
                                    ("tls_server_name", "x"), ("tls_cert_key_file", "k")):
                    with pytest.raises(NotSupported) as e:
                        setattr(ep, name, value)
                    assert name in str(e.value) and url in str(e.value)
                    with pytest.raises(NotSupported):
                        getattr(ep, name)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_after_start_is_busy(files, scheme):
    url = url_for(scheme)
    with pair() as b, pair() as a:
        lst = optioned_listener(b, url, files, auth=TLSConfig.AUTH_MODE_NONE)
        d = optioned_dialer(a, url, files)
        for ep in (lst, d):
            with pytest.raises(Busy) as e:
                ep.tls_ca_file = files["ca"]
            assert "before it starts" in str(e.value)
            with pytest.raises(Busy):
                ep.tls_auth_mode = 0
        exchange(a, b)  # and it serves on as configured


def test_pynng_program_meets_the_same_errors():
    """What a pynng program meets with these options (dial and listen start
    at once there), it meets here, by changing its import."""
    import pynng
    for mod in (pynng, pynng_core):
        with mod.Pair0() as s:
            d = s.dial("tls+tcp://127.0.0.1:%d" % free_tcp_port(), block=False)
            for name in ("tls_ca_file", "tls_cert_key_file", "tls_auth_mode",
                         "tls_server_name"):
                with pytest.raises(mod.exceptions.WriteOnly):
                    getattr(d, name)
            with pytest.raises(mod.exceptions.InvalidOperation):
                d.tls_auth_mode = 7
            with pytest.raises(mod.exceptions.Busy):
                d.tls_auth_mode = 0
            t = s.dial("tcp://127.0.0.1:%d" % free_tcp_port(), block=False)
            with pytest.raises(mod.exceptions.NotSupported):
                t.tls_server_name = "x"


# -- pynng at the other end ------------------------------------------------

def test_pynng_dials_our_optioned_listener(certs, files):
    import pynng
    url = tls_url()
    cert, key = certs["client"]
    cfg = pynng.TLSConfig(pynng.TLSConfig.MODE_CLIENT, server_name="localhost",
                          ca_string=certs["ca"], own_cert_string=cert, own_key_string=key)
    with pair(pynng_core.Pair1) as ours, \
            pynng.Pair1(recv_timeout=TIMEOUT_MS, send_timeout=TIMEOUT_MS,
                        tls_config=cfg) as theirs:
        optioned_listener(ours, url, files)
        theirs.dial(url, block=True)
        exchange(theirs, ours)
        assert ours.pipes[0].tls_verified and ours.pipes[0].tls_peer_cn == "pnc client"


def test_we_dial_pynng_optioned_dialer(certs, files):
    import pynng
    url = tls_url()
    cert, key = certs["server"]
    cfg = pynng.TLSConfig(pynng.TLSConfig.MODE_SERVER, own_cert_string=cert, own_key_string=key,
                          ca_string=certs["ca"], auth_mode=pynng.TLSConfig.AUTH_MODE_REQUIRED)
    with pair(pynng_core.Pair1) as ours, \
            pynng.Pair1(recv_timeout=TIMEOUT_MS, send_timeout=TIMEOUT_MS,
                        tls_config=cfg) as theirs:
        theirs.listen(url)
        optioned_dialer(ours, url, files)
        exchange(ours, theirs)
        assert ours.pipes[0].tls_verified and ours.pipes[0].tls_peer_cn == "pnc server"
        # and one without a certificate is refused by pynng, saying why
        with pair() as other:
            with pytest.raises(pynng_core.NNGException):
                optioned_dialer(other, url, files, own=None)
                other.send(b"x")  # TLS 1.3: the refusal may come after the dial
                other.recv()


# -- a listener's refusals, by reason ------------------------------------------

def _garbage(port, data):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(data)
        s.settimeout(5)
        try:
            while s.recv(65536):
                pass  # an alert, then the close
        except OSError:
            pass


@pytest.mark.parametrize("scheme", SCHEMES)
def test_listener_rejections_by_reason(certs, files, scheme):
    url = url_for(scheme)
    port = int(url.split("://")[1].split("/")[0].rsplit(":", 1)[1])
    plain = url.replace("tls+tcp://", "tcp://").replace("wss://", "ws://")
    with pair() as b:
        lst = optioned_listener(b, url, files)
        stats = b.stats
        # no client certificate, a required one
        with pair(tls_config=client_config(certs)) as a:
            with pytest.raises(pynng_core.NNGException):
                a.dial(url, block=True)
        stats = wait_rejected(b, "rejected_peer_auth", stats)
        assert "peer did not return a certificate" in str(lst.last_error)
        # a certificate of no CA it knows
        with pair(tls_config=client_config(certs, own="selfsigned")) as a:
            with pytest.raises(pynng_core.NNGException):
                a.dial(url, block=True)
        stats = wait_rejected(b, "rejected_peer_auth", stats)
        assert isinstance(lst.last_error, AuthenticationError)
        assert "certificate verify failed" in str(lst.last_error)
        # garbage instead of a ClientHello
        _garbage(port, b"\x16\x03\x01\x00\x05" + b"\xff" * 200)
        stats = wait_rejected(b, "rejected_tls", stats)
        assert isinstance(lst.last_error, CryptoError)
        assert str(lst.last_error).split("TLS: ", 1)[1]  # OpenSSL's reason, whatever it is
        # a plain client of the same transport: not TLS at all
        with pair() as a:
            with pytest.raises(pynng_core.NNGException):
                a.dial(plain, block=True)
        stats = wait_rejected(b, "rejected_tls", stats)
        assert isinstance(lst.last_error, CryptoError)
        assert scheme + "://" in str(lst.last_error)
        assert stats["rejected_protocol"] == stats["rejected_timeout"] == 0
        # each closed its own connection only: it serves on
        with pair() as good:
            optioned_dialer(good, url, files)
            exchange(good, b)

"""tls+tcp:// and wss:// with the real peers, both ways: pynng (libnng 1.11
with mbedTLS) with and without client certificates, refusing and refused,
and Debian's nngcat (libnng 1.5 with mbedTLS 2.28) with a required client
certificate.  test_interop_pynng.py and test_interop_matrix.py take every
protocol over both; these check what TLS adds: who verified whom."""
import os
import socket

import pytest

import pynng_core
from pynng_core import TLSConfig
from peers import CliPeer, require_tool, wait_until
from platform_probes import skip_unless
from pynng_child import RemotePynng
from test_tls import TIMEOUT_MS, pair, tls_url
from test_wss import port_of, wss_url
from tls_certs import client_config, engine_missing, pynng_tls, server_config

pytestmark = pytest.mark.core_only

SCHEMES = ["tls+tcp", "wss"]
# The largest message each way: nng's ws:rxframe-max (1 MiB) bounds a wss
# message pynng takes, as one frame.
BIG = {"tls+tcp": 4 << 20, "wss": 900000}


@pytest.fixture(autouse=True)
def _engine():
    skip_unless(engine_missing())


def secure_url(scheme):
    return tls_url() if scheme == "tls+tcp" else wss_url()


# -- pynng (in a child process: pynng_child.py says why) --------------------

@pytest.mark.parametrize("client_cert", [False, True])
@pytest.mark.parametrize("who_listens", ["we_listen", "pynng_listens"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_pynng_interop(certs, scheme, who_listens, client_cert):
    pytest.importorskip("pynng")
    url = secure_url(scheme)
    auth = TLSConfig.AUTH_MODE_REQUIRED if client_cert else None
    own = "client" if client_cert else None
    theirs = RemotePynng("Pair1", pynng_tls(certs, who_listens == "pynng_listens", own, auth),
                         recv_timeout=TIMEOUT_MS, send_timeout=TIMEOUT_MS)
    if who_listens == "we_listen":
        ours = pair(pynng_core.Pair1, tls_config=server_config(certs, auth_mode=auth))
        ours.listen(url)
        theirs.dial(url, block=True)
    else:
        ours = pair(pynng_core.Pair1, tls_config=client_config(
            certs, server_name="localhost", own=own))
        theirs.listen(url)
        ours.dial(url, block=True)
    with ours, theirs:
        big = os.urandom(BIG[scheme])
        for msg in (b"hello", b"z", big, b"y" * 100000):  # pynng's recv fails on b""
            ours.send(msg)
            assert theirs.recv() == msg
            theirs.send(msg[::-1])
            assert ours.recv() == msg[::-1]
        for i in range(500):
            theirs.send(b"%d" % i)
        assert [ours.recv() for _ in range(500)] == [b"%d" % i for i in range(500)]
        pipe = ours.pipes[0]
        if who_listens == "pynng_listens":
            assert pipe.tls_verified and pipe.tls_peer_cn == "pnc server"
        elif client_cert:
            assert pipe.tls_verified and pipe.tls_peer_cn == "pnc client"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_pynng_refuses_and_is_refused(certs, scheme):
    """pynng verifies our self-signed server and refuses it; we refuse a pynng
    client without a certificate; our listener serves on after both."""
    pynng = pytest.importorskip("pynng")
    url = secure_url(scheme)
    with pair(tls_config=server_config(certs, "selfsigned")) as b:
        b.listen(url)
        with RemotePynng("Pair0", pynng_tls(certs, False)) as theirs:
            with pytest.raises(pynng.NNGException):
                theirs.dial(url, block=True)
    url = secure_url(scheme)
    with pair(tls_config=server_config(certs, auth_mode=TLSConfig.AUTH_MODE_REQUIRED)) as b:
        b.listen(url)
        with RemotePynng("Pair0", pynng_tls(certs, False), recv_timeout=2000) as theirs:
            try:
                theirs.dial(url, block=True)  # TLS 1.3: its handshake may end first
                with pytest.raises(pynng.NNGException):
                    theirs.recv()
            except pynng.NNGException:
                pass
        assert not b.pipes
        with pair(tls_config=client_config(certs, own="client")) as good:
            good.dial(url, block=True)
            good.send(b"served")
            assert b.recv() == b"served"


# -- nngcat (Debian's, mbedTLS 2.28) -----------------------------------------

@pytest.mark.parametrize("who_listens", ["we_listen", "nngcat_listens"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_nngcat_interop(certs, scheme, who_listens, tmp_path):
    exe = require_tool("nngcat")
    ca = tmp_path / "ca.pem"
    ca.write_text(certs["ca"])
    url = secure_url(scheme)
    if who_listens == "we_listen":
        cert, key = certs["client"]
        (tmp_path / "c.pem").write_text(cert)
        (tmp_path / "k.pem").write_text(key)
        with pair(pynng_core.Push0, tls_config=server_config(
                certs, auth_mode=TLSConfig.AUTH_MODE_REQUIRED)) as ours:
            ours.listen(url)
            # Its mbedTLS (2.28) matches no IP address SAN: it dials by name.
            argv = [exe, "--pull0", "--dial", url.replace("127.0.0.1", "localhost"), "--hex",
                    "--cacert", str(ca),
                    "--cert", str(tmp_path / "c.pem"), "--key", str(tmp_path / "k.pem")]
            with CliPeer(argv) as peer:
                wait_until(lambda: len(ours.pipes) == 1, message="nngcat: see its stderr")
                assert ours.pipes[0].tls_peer_cn == "pnc client"
                msgs = [b"one", b"two", os.urandom(200000)]
                for m in msgs:
                    ours.send(m)
                assert peer.wait_messages(3) == msgs
    else:
        cert, key = certs["server"]
        (tmp_path / "s.pem").write_text(cert)
        (tmp_path / "k.pem").write_text(key)
        payload = tmp_path / "payload"
        payload.write_bytes(b"from nngcat " + os.urandom(100000))
        argv = [exe, "--push0", "--listen", url, "--cert", str(tmp_path / "s.pem"),
                "--key", str(tmp_path / "k.pem"), "--file", str(payload),
                "--count", "3", "--interval", "0", "--delay", "1"]
        with CliPeer(argv) as peer:
            with pair(pynng_core.Pull0, tls_config=client_config(
                    certs, server_name="localhost")) as ours:
                wait_until(lambda: peer.proc.poll() is not None or _port_open(url),
                           message="nngcat: see its stderr")
                ours.dial(url, block=False)
                for _ in range(3):
                    assert ours.recv() == payload.read_bytes()
                assert ours.pipes[0].tls_verified


def _port_open(url):
    try:
        socket.create_connection(("127.0.0.1", port_of(url)), 0.2).close()
        return True
    except OSError:
        return False

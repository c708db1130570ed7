"""ipc:// as NNG has it on Windows, named pipes (\\\\.\\pipe\\<name>), and on
every platform the same behaviour: the protocols, large messages both ways,
a listener going away under a connected dialer and coming back, a name in
use, a name nobody serves, and interop with pynng (real NNG) both ways.

On Linux the ipc suite covers unix sockets: only the tests that look at
Windows' pipes themselves skip there.  Under wine .ci/windows.py runs them all.
"""
import os
import sys
import threading
import time

import pytest

import pynng
import pynng_core
from pynng_core import (AddressInUse, AddressInvalid, ConnectionRefused, NotSupported,
                        Pair0, Pull0, Push0, Rep0, Req0)
from peers import SOCKET_TIMEOUT_MS, wait_until

windows_only = pytest.mark.skipif(sys.platform != "win32",
                                  reason="Windows' named pipes: the Linux ipc suite covers unix sockets")

FAST = dict(reconnect_time_min=10, reconnect_time_max=50)
BIG = 5 * 1024 * 1024 + 7


def payload(n, seed):
    return (bytes(range(seed & 0xFF, 256)) + bytes(range(seed & 0xFF))) * (n // 256) + \
        bytes(n % 256)


def sock(cls, **kw):
    kw.setdefault("recv_timeout", SOCKET_TIMEOUT_MS)
    kw.setdefault("send_timeout", SOCKET_TIMEOUT_MS)
    return cls(**kw)


@pytest.fixture
def url(make_url):
    return make_url("ipc")


def test_pair0_both_ways(url):
    with sock(Pair0, listen=url) as a, sock(Pair0, dial=url) as b:
        for i in range(20):
            b.send(b"to a %d" % i)
            assert a.recv() == b"to a %d" % i
            a.send(b"to b %d" % i)
            assert b.recv() == b"to b %d" % i


def test_req_rep(url):
    with sock(Rep0, listen=url) as rep, sock(Req0, dial=url) as req:
        for i in range(50):
            req.send(b"q%d" % i)
            assert rep.recv() == b"q%d" % i
            rep.send(b"a%d" % i)
            assert req.recv() == b"a%d" % i


def test_push_pull_in_order(url):
    msgs = [b"%05d" % i + bytes(i * 37 % 5000) for i in range(300)]
    with sock(Pull0, listen=url) as pull, sock(Push0, dial=url) as push:
        t = threading.Thread(target=lambda: [push.send(m) for m in msgs])
        t.start()
        got = [pull.recv() for _ in msgs]
        t.join()
    assert got == msgs


def test_large_messages_both_directions_at_once(url):
    """Several MiB each way, both sending before either receives: the pipe
    objects' reads and writes run at once, each in many pieces."""
    to_b, to_a = payload(BIG, 1), payload(BIG + 1000, 2)
    with sock(Pair0, listen=url) as a, sock(Pair0, dial=url) as b:
        got = {}
        ta = threading.Thread(target=lambda: (a.send(to_b), got.__setitem__("a", a.recv())))
        tb = threading.Thread(target=lambda: (b.send(to_a), got.__setitem__("b", b.recv())))
        ta.start()
        tb.start()
        ta.join(60)
        tb.join(60)
        assert got.get("a") == to_a
        assert got.get("b") == to_b
        # and once more each way, one after the other
        for n in (BIG, 3 * 1024 * 1024, 1):
            a.send(payload(n, n))
            assert b.recv() == payload(n, n)
            b.send(payload(n, n + 1))
            assert a.recv() == payload(n, n + 1)


def test_listener_goes_and_comes_back(url):
    with sock(Pair0, **FAST) as d:
        with sock(Pair0, listen=url) as first:
            d.dial(url, block=True)
            d.send(b"one")
            assert first.recv() == b"one"
            wait_until(lambda: len(d.pipes) == 1)
        # The listener closed: the dialer sees its pipe go...
        wait_until(lambda: len(d.pipes) == 0, message="the dialer kept a dead pipe")
        d.recv_timeout = 100
        with pytest.raises(pynng_core.Timeout):
            d.recv()
        d.recv_timeout = SOCKET_TIMEOUT_MS
        # ...and redials when a listener comes back at the name.
        with sock(Pair0, listen=url) as second:
            wait_until(lambda: len(d.pipes) == 1, message="the dialer did not redial")
            d.send(b"two")
            assert second.recv() == b"two"
            second.send(b"back")
            assert d.recv() == b"back"


def test_address_in_use(url):
    with sock(Pair0, listen=url) as first, sock(Pair0) as second:
        with pytest.raises(AddressInUse) as info:
            second.listen(url)
        assert url in str(info.value)
        with sock(Pair0, dial=url) as peer:  # the first one still serves
            peer.send(b"still here")
            assert first.recv() == b"still here"
    # Gone with its listener: the name is free again at once.
    with sock(Pair0, listen=url):
        pass


def test_nobody_listens(url):
    with sock(Pair0, **FAST) as s:
        with pytest.raises(ConnectionRefused) as info:
            s.dial(url, block=True)
        assert url in str(info.value)
        # Non-blocking: the dialer retries in the background until one comes.
        s.dial(url, block=False)
        time.sleep(0.2)
        with sock(Pair0, listen=url) as l:
            wait_until(lambda: len(l.pipes) == 1, message="the background dialer never came")
            s.send(b"late")
            assert l.recv() == b"late"


def test_addresses_are_the_path(url):
    path = url[len("ipc://"):]
    with sock(Pair0) as a, sock(Pair0) as b:
        listener = a.listen(url)
        b.dial(url, block=True)
        wait_until(lambda: len(a.pipes) == 1 and len(b.pipes) == 1)
        for addr in (listener.local_address, a.pipes[0].local_address,
                     a.pipes[0].remote_address, b.pipes[0].remote_address):
            assert addr.family_as_str == "ipc"
            assert addr.path == path


@pytest.mark.parametrize("who_listens", ["pynng_listens", "we_listen"])
@pytest.mark.parametrize("kind", ["pair", "reqrep"])
def test_interop_with_nng(url, who_listens, kind):
    """pynng's own NNG at the other end: on Windows its named pipes."""
    small = [b"x",  # (pynng cannot receive an empty message: NULL unpack)
             b"hello from %s" % kind.encode(), payload(70000, 3)]
    big = payload(3 * 1024 * 1024 + 5, 9)
    ours_cls, theirs_cls = (Pair0, pynng.Pair0) if kind == "pair" else (Req0, pynng.Rep0)
    ours = sock(ours_cls)
    theirs = theirs_cls(recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS)
    with ours, theirs:
        if who_listens == "pynng_listens":
            theirs.listen(url)
            ours.dial(url, block=True)
        else:
            ours.listen(url)
            theirs.dial(url, block=True)
        for m in small + [big]:
            ours.send(m)
            got = theirs.recv()
            assert got == m, "NNG got %d bytes for %d" % (len(got), len(m))
            theirs.send(m[::-1])
            got = ours.recv()
            assert got == m[::-1], "we got %d bytes for %d" % (len(got), len(m))


@windows_only
def test_the_pipe_is_nngs_name(url):
    """ipc://<name> is \\\\.\\pipe\\<name>: a plain Windows client opens it
    and speaks SP with our listener."""
    name = url[len("ipc://"):]
    with sock(Pair0, listen=url) as s:
        with open(r"\\.\pipe" + "\\" + name, "r+b", buffering=0) as f:
            f.write(b"\x00SP\x00\x00\x10\x00\x00")  # Pair0's header
            assert f.read(8) == b"\x00SP\x00\x00\x10\x00\x00"
            f.write(b"\x01" + (5).to_bytes(8, "big") + b"hello")
            assert s.recv() == b"hello"
            s.send(b"back")
            assert f.read(13) == b"\x01" + (4).to_bytes(8, "big") + b"back"


@windows_only
def test_long_name_says_so(url):
    too_long = url + "x" * 300
    for call in (sock(Pair0).listen, sock(Pair0).dial):
        with pytest.raises(AddressInvalid) as info:
            call(too_long)
        assert too_long in str(info.value)
        assert "pipe name" in str(info.value)


@windows_only
def test_abstract_not_supported():
    with sock(Pair0) as s, pytest.raises(NotSupported):
        s.listen("abstract://pnc-%d" % os.getpid())

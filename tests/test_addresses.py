"""Addresses: abstract:// (Linux abstract sockets), tcp4:// and tcp6://,
pynng's sockaddr helpers, and the errors that say what is wrong with an
address (an ipc path or abstract name too long, a listener not bound yet).

Real traffic throughout: payloads cross both ways, with our own sockets,
with pynng (libnng) and with nngcat (nng 1.5.2), each side listening in
turn, and raw kernel sockets check the exact abstract address length.
"""
import socket as pysocket
import sys
import urllib.parse

import pytest

import pynng
import pynng_core
from pynng_core import (AddressInUse, AddressInvalid, BadState, Closed, Pair0,
                        Pull0, Push0)
from pynng_core._core import lib
from pynng_core.sockaddr import (AbstractAddr, In6Addr, InAddr, IPCAddr, SockAddr,
                                 ZTAddr, _nng_sockaddr, from_core)
from peers import (SOCKET_TIMEOUT_MS, abstract_name, free_tcp_port, start_cli,
                   wait_for_listener, wait_until)
from protocol_peers import connect_one

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="abstract sockets are Linux's")
NAME_MAX = lib.pnc_ipc_name_max()


def pair(socks):
    return socks(Pair0), socks(Pair0)


def exchange(a, b, tag=b""):
    """One message each way between two connected sockets."""
    a.send(tag + b"a->b \x00\xff")
    assert b.recv() == tag + b"a->b \x00\xff"
    b.send(tag + b"b->a")
    assert a.recv() == tag + b"b->a"


def ipv6_loopback():
    try:
        with pysocket.socket(pysocket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError as exc:
        pytest.skip("no IPv6 loopback here (%s)" % exc)


# --------------------------------------------------------------------------
# abstract:// between our own sockets


@linux_only
def test_abstract_name_with_encoded_bytes(socks, make_url):
    url = make_url("abstract") + "%00x%2Fy%FF"  # a NUL, a '/', a non-UTF-8 byte
    name = abstract_name(url)
    assert name.endswith(b"\x00x/y\xff")
    server, client = pair(socks)
    listener = server.listen(url)
    la = listener.local_address
    assert isinstance(la, AbstractAddr)
    assert la.name_bytes == name
    assert la.name == name.decode(errors="replace")
    assert la.family == pynng.lib.NNG_AF_ABSTRACT == 6
    assert la.family_as_str == "abstract"
    assert str(la) == "abstract://" + urllib.parse.quote(name)
    assert la.sock_addr.s_family == 6
    assert la.sock_addr.s_abstract.sa_len == len(name)
    assert la.sock_addr.s_abstract.sa_name == name
    spipe, cpipe = connect_one(server, client, str(la))  # str() is a URL that reaches it
    # Both ends of a unix socket go by the listener's name, as nng has it.
    for a in (spipe.local_address, spipe.remote_address,
              cpipe.local_address, cpipe.remote_address):
        assert isinstance(a, AbstractAddr) and a.name_bytes == name
    exchange(client, server)


@linux_only
def test_abstract_empty_name_auto_binds(socks):
    server, client = pair(socks)
    listener = server.listen("abstract://")
    name = listener.local_address.name_bytes
    assert name, "the kernel picks a name and the listener reports it"
    url = str(listener.local_address)
    assert abstract_name(url) == name
    spipe, cpipe = connect_one(server, client, url)
    assert cpipe.remote_address.name_bytes == name
    assert spipe.local_address.name_bytes == name
    exchange(server, client)
    # A second auto-bound listener gets a name of its own.
    other = socks(Pair0).listen("abstract://")
    assert other.local_address.name_bytes not in (b"", name)


@linux_only
def test_abstract_address_length_has_no_trailing_nul(socks, make_url):
    """The kernel matches abstract names by length: the sockaddr is family +
    NUL + name, nothing after it, as nng writes it and Python's socket does."""
    url = make_url("abstract")
    name = abstract_name(url)
    server = socks(Pair0)
    server.listen(url)
    with pysocket.socket(pysocket.AF_UNIX) as raw:
        raw.connect(b"\0" + name)  # exactly the name: reaches our listener
    with pysocket.socket(pysocket.AF_UNIX) as raw, pytest.raises(ConnectionRefusedError):
        raw.connect(b"\0" + name + b"\0")  # a padded name is another name
    # And our dialer reaches a kernel socket bound the plain way.
    with pysocket.socket(pysocket.AF_UNIX) as srv:
        srv.bind(b"\0" + name + b"-raw")
        srv.listen(1)
        srv.settimeout(SOCKET_TIMEOUT_MS / 1000)
        client = socks(Pair0)
        client.dial(url + "-raw", block=False)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(SOCKET_TIMEOUT_MS / 1000)
            assert conn.recv(8) == b"\x00SP\x00\x00\x10\x00\x00"  # pair0's handshake


@linux_only
def test_abstract_errors(socks, make_url):
    url = make_url("abstract")
    first = socks(Pair0)
    first.listen(url)
    with pytest.raises(AddressInUse, match="listen"):
        socks(Pair0).listen(url)
    with pytest.raises(AddressInvalid, match=r"dial\('abstract://'\)"):
        socks(Pair0).dial("abstract://", block=True)  # a dialer needs a name
    with pytest.raises(AddressInvalid, match="'%' that is not a %XX escape"):
        socks(Pair0).listen("abstract://bad%zz")
    # The longest name that fits works; one byte more says why it fails.
    longest = url + "x" * (NAME_MAX - len(abstract_name(url)))
    server, client = pair(socks)
    server.listen(longest)
    client.dial(longest, block=True)
    exchange(client, server)
    too_long = longest + "%41"
    for call in (socks(Pair0).listen, socks(Pair0).dial):
        with pytest.raises(AddressInvalid) as info:
            call(too_long)
        assert ("abstract name of %d bytes is longer than the %d bytes a unix "
                "socket address holds" % (NAME_MAX + 1, NAME_MAX)) in str(info.value)
        assert too_long in str(info.value)


# --------------------------------------------------------------------------
# abstract:// with pynng (libnng) and nngcat


@linux_only
@pytest.mark.parametrize("name", ["auto", "encoded"])
@pytest.mark.parametrize("who_listens", ["we_listen", "pynng_listens"])
def test_abstract_with_pynng(who_listens, name, make_url):
    url = "abstract://" if name == "auto" else make_url("abstract") + "%00nul%2F%FF"
    ours = Pair0(recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS)
    theirs = pynng.Pair0(recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS)
    with ours, theirs:
        listener = (ours if who_listens == "we_listen" else theirs).listen(url)
        bound = listener.local_address.name_bytes
        assert bound if name == "auto" else bound == abstract_name(url)
        dial_url = "abstract://" + urllib.parse.quote(bound)
        (theirs if who_listens == "we_listen" else ours).dial(dial_url, block=True)
        for i in range(20):
            ours.send(b"ours %d " % i + bytes(range(256)) * i)
            assert theirs.recv() == b"ours %d " % i + bytes(range(256)) * i
            theirs.send(b"theirs %d" % i)
            assert ours.recv() == b"theirs %d" % i
        wait_until(lambda: len(ours.pipes) == 1 and len(theirs.pipes) == 1)
        for ours_addr, theirs_addr in [
                (ours.pipes[0].local_address, theirs.pipes[0].remote_address),
                (ours.pipes[0].remote_address, theirs.pipes[0].local_address)]:
            assert isinstance(ours_addr, AbstractAddr)
            assert ours_addr.name_bytes == theirs_addr.name_bytes == bound
            assert ours_addr.family == theirs_addr.family
            assert ours_addr.family_as_str == theirs_addr.family_as_str
            assert ours_addr.sock_addr.s_abstract.sa_len == theirs_addr.sock_addr.s_abstract.sa_len


@linux_only
@pytest.mark.parametrize("cli_mode", ["listen", "dial"])
def test_abstract_with_nngcat(cli_mode, make_url):
    url = make_url("abstract") + "%00cat"
    payload = bytes(range(256)) + b"\n end"
    messages = [b"to nngcat %d " % i + payload for i in range(5)]
    # We push to nngcat, then nngcat pushes its file to us, on the same name.
    if cli_mode == "listen":
        with start_cli("nngcat", "pull0", "listen", url, make_url) as cli:
            wait_for_listener(url)
            with Push0(send_timeout=SOCKET_TIMEOUT_MS, dial=url) as push:
                for m in messages:
                    push.send(m)
                assert cli.wait_messages(len(messages)) == messages
        with start_cli("nngcat", "push0", "listen", url, make_url, payload=payload, count=3) as cli:
            wait_for_listener(url)
            with Pull0(recv_timeout=SOCKET_TIMEOUT_MS, dial=url) as pull:
                assert [pull.recv() for _ in range(3)] == [payload] * 3, cli.describe()
    else:
        with Push0(send_timeout=SOCKET_TIMEOUT_MS, listen=url) as push:
            with start_cli("nngcat", "pull0", "dial", url, make_url) as cli:
                for m in messages:
                    push.send(m)
                assert cli.wait_messages(len(messages)) == messages
        with Pull0(recv_timeout=SOCKET_TIMEOUT_MS, listen=url) as pull:
            with start_cli("nngcat", "push0", "dial", url, make_url, payload=payload, count=3) as cli:
                assert [pull.recv() for _ in range(3)] == [payload] * 3, cli.describe()


# --------------------------------------------------------------------------
# tcp4:// and tcp6://


def test_tcp4_resolves_ipv4_only(socks):
    server, client = pair(socks)
    listener = server.listen("tcp4://localhost:0")
    assert isinstance(listener.local_address, InAddr)
    assert listener.local_address.host == "127.0.0.1"
    port = listener.port
    spipe, cpipe = connect_one(server, client, "tcp4://localhost:%d" % port)
    assert isinstance(cpipe.remote_address, InAddr)
    assert cpipe.remote_address.port_number == port
    exchange(client, server)
    for call in (socks(Pair0).listen, socks(Pair0).dial):
        with pytest.raises(AddressInvalid, match=r"tcp4://\[::1\]:%d" % port):
            call("tcp4://[::1]:%d" % port)
    # Without a host it binds every IPv4 address, as tcp:// does.
    assert isinstance(socks(Pair0).listen("tcp4://:0").local_address, InAddr)


def test_tcp6_resolves_ipv6_only(socks):
    ipv6_loopback()
    server, client = pair(socks)
    listener = server.listen("tcp6://[::1]:0")
    port = listener.port
    assert isinstance(listener.local_address, In6Addr)
    assert listener.local_address.host == "::1"
    spipe, cpipe = connect_one(server, client, "tcp6://[::1]:%d" % port)
    assert str(cpipe.remote_address) == "[::1]:%d" % port
    assert isinstance(spipe.remote_address, In6Addr)
    exchange(server, client)
    for call in (socks(Pair0).listen, socks(Pair0).dial):
        with pytest.raises(AddressInvalid, match=r"tcp6://127\.0\.0\.1:%d" % port):
            call("tcp6://127.0.0.1:%d" % port)
    # Without a host it binds every IPv6 address.
    wild = socks(Pair0).listen("tcp6://:0").local_address
    assert isinstance(wild, In6Addr) and wild.host == "::"
    # A name resolves to its IPv6 addresses only: localhost may have none.
    try:
        pysocket.getaddrinfo("localhost", port, pysocket.AF_INET6)
    except pysocket.gaierror:
        with pytest.raises(AddressInvalid):
            socks(Pair0).dial("tcp6://localhost:%d" % port, block=True)
    else:
        other = socks(Pair0)
        other.dial("tcp6://localhost:%d" % port, block=True)
        assert isinstance(other.pipes[0].remote_address, In6Addr)


@pytest.mark.parametrize("family", ["tcp4", "tcp6"])
@pytest.mark.parametrize("who_listens", ["we_listen", "pynng_listens"])
def test_tcp4_tcp6_with_pynng(who_listens, family):
    host = "127.0.0.1" if family == "tcp4" else "::1"
    if family == "tcp6":
        ipv6_loopback()
    port = free_tcp_port(host)
    url = "%s://%s:%d" % (family, host if family == "tcp4" else "[::1]", port)
    ours = Pair0(recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS)
    theirs = pynng.Pair0(recv_timeout=SOCKET_TIMEOUT_MS, send_timeout=SOCKET_TIMEOUT_MS)
    with ours, theirs:
        (ours if who_listens == "we_listen" else theirs).listen(url)
        (theirs if who_listens == "we_listen" else ours).dial(url, block=True)
        exchange(ours, theirs, family.encode())
        wait_until(lambda: len(ours.pipes) == 1 and len(theirs.pipes) == 1)
        # pynng's sockaddr fields and ours agree on the same connection.
        member = "s_in" if family == "tcp4" else "s_in6"
        for ours_addr, theirs_addr in [
                (ours.pipes[0].local_address, theirs.pipes[0].remote_address),
                (ours.pipes[0].remote_address, theirs.pipes[0].local_address)]:
            assert type(ours_addr) is (InAddr if family == "tcp4" else In6Addr)
            assert str(ours_addr) == str(theirs_addr)
            assert ours_addr.family == theirs_addr.family
            assert ours_addr.family_as_str == theirs_addr.family_as_str
            assert ours_addr.port == theirs_addr.port
            mine = getattr(ours_addr.sock_addr, member)
            pyn = getattr(theirs_addr.sock_addr, member)
            assert ours_addr.sock_addr.s_family == theirs_addr.sock_addr.s_family
            assert mine.sa_port == pyn.sa_port
            assert (mine.sa_addr == pyn.sa_addr if family == "tcp4"
                    else mine.sa_addr == bytes(pyn.sa_addr))


# --------------------------------------------------------------------------
# pynng's sockaddr helpers


def test_sockaddr_names_and_families_as_pynng():
    assert SockAddr.type_to_str == pynng.sockaddr.SockAddr.type_to_str
    for ours, theirs in [("SockAddr", "NNG_AF_UNSPEC"), ("InAddr", "NNG_AF_INET"),
                         ("In6Addr", "NNG_AF_INET6"), ("IPCAddr", "NNG_AF_IPC"),
                         ("InprocAddr", "NNG_AF_INPROC"), ("AbstractAddr", "NNG_AF_ABSTRACT"),
                         ("ZTAddr", "NNG_AF_ZT")]:
        cls = getattr(pynng_core.sockaddr, ours)
        assert cls.family == getattr(pynng.lib, theirs), ours
        assert hasattr(pynng.sockaddr, ours)
    assert issubclass(ZTAddr, SockAddr)
    assert _nng_sockaddr is from_core
    assert pynng_core.AbstractAddr is AbstractAddr


def test_ipc_sockaddr_as_pynng(make_url):
    url = make_url("ipc")
    with Pair0(recv_timeout=SOCKET_TIMEOUT_MS, listen=url) as ours, \
            pynng.Pair0(recv_timeout=SOCKET_TIMEOUT_MS, dial=url) as theirs:
        exchange(ours, theirs)
        wait_until(lambda: len(ours.pipes) == 1)
        mine, pyn = ours.pipes[0].local_address, theirs.pipes[0].remote_address
        assert isinstance(mine, IPCAddr)
        assert (mine.path, mine.path_bytes, str(mine), mine.family_as_str) == \
            (pyn.path, pyn.path_bytes, str(pyn), pyn.family_as_str)
        assert mine.sock_addr.s_ipc.sa_path == pynng.ffi.string(pyn.sock_addr.s_ipc.sa_path)


# --------------------------------------------------------------------------
# Errors that say what is wrong


def test_ipc_path_too_long_says_so(socks, make_url):
    base = make_url("ipc")
    longest = base + "x" * (NAME_MAX - len(base[len("ipc://"):]))
    server, client = pair(socks)
    server.listen(longest)
    client.dial(longest, block=True)
    exchange(client, server)
    too_long = longest + "y"
    for call in (socks(Pair0).listen, socks(Pair0).dial):
        with pytest.raises(AddressInvalid) as info:
            call(too_long)
        text = str(info.value)
        if sys.platform == "win32":  # ipc is a named pipe there
            assert ("ipc path of %d bytes is longer than the %d characters a Windows pipe "
                    "name holds after \\\\.\\pipe\\" % (NAME_MAX + 1, NAME_MAX)) in text
        else:
            assert ("ipc path of %d bytes is longer than the %d bytes a unix socket "
                    "address holds" % (NAME_MAX + 1, NAME_MAX)) in text
        assert too_long in text
    if sys.platform.startswith("linux"):
        assert NAME_MAX == 107  # sun_path is 108 bytes there
    elif sys.platform == "darwin":
        assert NAME_MAX == 103  # and 104 bytes on macOS
    elif sys.platform == "win32":
        assert NAME_MAX == 247  # 256 characters, \\.\pipe\ included


@linux_only
def test_longest_abstract_name_all_escapes(socks):
    """A name as long as the address holds, every byte written %XX (the
    URL is then over 300 bytes), is taken; one byte more says why not."""
    name = bytes(range(1, NAME_MAX + 1))
    url = "abstract://" + "".join("%%%02X" % b for b in name)
    server, client = pair(socks)
    listener = server.listen(url)
    assert listener.local_address.name_bytes == name
    client.dial(url, block=True)
    exchange(client, server)
    with pytest.raises(AddressInvalid, match="abstract name of %d bytes is longer than the "
                       "%d bytes" % (NAME_MAX + 1, NAME_MAX)):
        socks(Pair0).listen(url + "%41")


def test_url_too_long_says_so(socks):
    url = "inproc://" + "u" * lib.PNC_URL_MAX
    for call in (socks(Pair0).listen, socks(Pair0).dial):
        with pytest.raises(AddressInvalid) as info:
            call(url)
        assert ("a URL of %d bytes is longer than the %d bytes it may have"
                % (len(url), lib.PNC_URL_MAX - 1)) in str(info.value)
    longest = "inproc://" + "u" * (lib.PNC_URL_MAX - 1 - len("inproc://"))
    server, client = pair(socks)
    assert server.listen(longest).local_address.name == longest
    client.dial(longest, block=True)
    exchange(client, server)


def test_port_of_listener_not_bound_yet(socks):
    holder = socks(Pair0)
    taken = holder.listen("tcp://127.0.0.1:0")
    port = taken.port
    url = "tcp://127.0.0.1:%d" % port
    waiting = socks(Pair0, reconnect_time_min=20, reconnect_time_max=50)
    listener = waiting.listen(url, block=False)  # the address is in use: it retries
    with pytest.raises(BadState, match="not bound yet") as info:
        listener.port
    assert url in str(info.value)
    with pytest.raises(BadState, match="not bound yet"):
        listener.local_address
    holder.close()

    def bound():
        try:
            return listener.port == port
        except BadState:
            return False
    wait_until(bound, message="the retrying listener never bound %s" % url)
    client = socks(Pair0)
    client.dial(url, block=True)
    exchange(client, waiting)
    listener.close()
    with pytest.raises(Closed):
        listener.port

"""pynng's surface, every keyword honored (issue 16, point 3).

opener= with pynng's openers (``lib.nng_pair0_open_raw``), async_backend=,
explicit keyword signatures, option setters on dialers and listeners, the
``options`` helpers by NNG name, recv_fd/send_fd with select and
selectors, the Pipe and endpoint facts, check_err; and a comparison of our
public names with pynng's.
"""
import asyncio
import inspect
import select
import selectors
import socket
import threading
import time

import pynng
import pynng.options
import pynng.sockaddr
import pytest
import trio

import pynng_core
from pynng_core import (Bus0, Closed, InvalidOperation, Message, NotSupported, Pair0,
                        Pair1, Pub0, Pull0, Push0, ReadOnly, Rep0, Req0, Respondent0,
                        Socket, Sub0, Surveyor0, Timeout, lib, options)
from peers import DEFAULT_TIMEOUT, wait_until
from platform_probes import skip_unless, trio_missing
from protocol_peers import sock

PROTOCOL_CLASSES = [Pair0, Pair1, Pub0, Sub0, Req0, Rep0, Push0, Pull0, Surveyor0,
                    Respondent0, Bus0]
PROTOCOL_OF = {cls: cls._protocol for cls in PROTOCOL_CLASSES}


# --------------------------------------------------------------------------
# Public names: pynng's are ours too


# What pynng has that we leave out on purpose, and why.
NOT_OURS = {
    "ffi": "pynng's cffi FFI of libnng: a program that calls libnng itself is "
           "not portable to another engine",
    "nng": "pynng's implementation module; its classes are at the top level",
    "socket": "Socket.socket is libnng's nng_socket handle (cffi); ours has no such handle",
    "dialer": "Dialer.dialer is libnng's nng_dialer handle",
    "listener": "Listener.listener is libnng's nng_listener handle",
    "context": "Context.context is libnng's nng_ctx handle",
    "pipe": "Pipe.pipe is libnng's nng_pipe handle",
    "pynng": "pynng imports its package into modules (options.pynng); not API",
    "struct": "an import of pynng.sockaddr, not API",
    # libnng changes an endpoint's TLS config through these; ours are set in
    # the TLSConfig given to the endpoint (tls_config=) before it is used.
    "tls_ca_file": "not yet: give a TLSConfig (ca_files=) to the endpoint",
    "tls_cert_key_file": "not yet: give a TLSConfig (cert_key_file=) to the endpoint",
    "tls_auth_mode": "not yet: give a TLSConfig (auth_mode=) to the endpoint",
    "tls_server_name": "not yet: give a TLSConfig (server_name=) to the endpoint",
}


def _public(names):
    return {n for n in names if not n.startswith("_")}


def _missing(theirs, ours):
    return sorted(n for n in theirs - set(dir(ours)) if n not in NOT_OURS)


def test_top_level_and_modules_have_pynngs_names():
    assert _missing(_public(dir(pynng)), pynng_core) == []
    assert _missing(_public(dir(pynng.exceptions)), pynng_core.exceptions) == []
    assert _missing(_public(dir(pynng.sockaddr)), pynng_core.sockaddr) == []
    # pynng.options has only private helpers, which programs call all the same.
    helpers = {n for n in dir(pynng.options) if n.startswith(("_getopt_", "_setopt_"))}
    helpers -= {"_setopt_ptr", "_setopt_string_nonnull"}  # TLS, and subscribe's own
    assert sorted(helpers - set(dir(options))) == []


def test_class_attributes_have_pynngs_names(make_url):
    """On live objects, since ours set some attributes per instance."""
    url = make_url("tcp")
    with Pair0(listen=url) as server, Pair0(dial=url) as client:
        wait_until(lambda: client.pipes and server.pipes)
        ctx_socket = Req0()
        ours = {
            "Socket": client, "Pair0": client, "Pair1": Pair1, "Sub0": Sub0, "Req0": Req0,
            "Surveyor0": Surveyor0, "Dialer": client.dialers[0],
            "Listener": server.listeners[0], "Pipe": client.pipes[0],
            "Context": ctx_socket.new_context(), "Message": Message(b"x"),
        }
        try:
            for name, obj in ours.items():
                assert _missing(_public(dir(getattr(pynng, name))), obj) == [], name
        finally:
            ctx_socket.close()


# --------------------------------------------------------------------------
# opener=


@pytest.mark.parametrize("cls", PROTOCOL_CLASSES)
@pytest.mark.parametrize("raw", [False, True])
def test_every_opener_opens_its_protocol(cls, raw):
    protocol = PROTOCOL_OF[cls]
    opener = getattr(lib, "nng_%s_open%s" % (protocol, "_raw" if raw else ""))
    with Socket(opener=opener) as generic, cls(opener=opener) as specific:
        for s in (generic, specific):
            assert s.raw is raw
            assert s.protocol == cls().protocol


def test_raw_socket_from_opener_receives_and_replies(make_url):
    """A raw rep0 opened by opener sees the request's header (pipe id and
    request id) and answers by sending it back."""
    url = make_url("tcp")
    with sock(Socket, opener=lib.nng_rep0_open_raw, listen=url) as rep, \
            sock(Req0, dial=url) as req:
        assert rep.raw and type(rep) is Socket
        req.send(b"question")
        request = rep.recv_msg()
        assert request.bytes == b"question"
        header = request.header
        assert len(header) == 8 and header[4] & 0x80, header  # pipe id, request id
        rep.send_msg(Message(b"answer", header=header))
        assert req.recv() == b"answer"


def test_pair1_poly_opener_is_polyamorous():
    with Pair1(opener=lib.nng_pair1_open_poly) as poly, Pair1() as mono:
        assert poly.polyamorous and not mono.polyamorous


def test_unknown_opener_raises_naming_it():
    def nng_pair0_open(sock_p):
        return 0
    with pytest.raises(TypeError, match="nng_pair0_open"):
        Socket(opener=nng_pair0_open)
    with pytest.raises(TypeError, match="nng_bus0_open"):
        Pair0(opener=lib.nng_bus0_open)
    with pytest.raises(TypeError, match="opener="):
        Socket()


# --------------------------------------------------------------------------
# async_backend=


def test_bad_async_backend_raises_naming_it():
    with pytest.raises(ValueError, match="curio"):
        Pair0(async_backend="curio")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_async_backend_is_used(make_url, backend):
    if backend == "trio":
        skip_unless(trio_missing())
    url = make_url("inproc")

    async def round_trip():
        with sock(Pair0, listen=url, async_backend=backend) as a, \
                sock(Pair0, dial=url, async_backend=backend) as b:
            if backend == "trio":
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(b.asend, b"late")  # after arecv waits
                    assert await a.arecv() == b"late"
            else:
                later = asyncio.get_running_loop().call_later(0.05, b.send, b"late")
                assert await a.arecv() == b"late"
                later.cancel()

    if backend == "trio":
        trio.run(round_trip)
    else:
        asyncio.run(round_trip())


def test_async_backend_other_than_the_running_one_is_not_guessed(make_url):
    """Forced to trio under asyncio, a call that must wait cannot use asyncio."""
    async def wrong():
        with sock(Pair0, async_backend="trio", recv_timeout=100) as s:
            await s.arecv()

    with pytest.raises(RuntimeError):
        asyncio.run(wrong())


# --------------------------------------------------------------------------
# Explicit keyword signatures


SOCKET_KEYWORDS = ["dial", "listen", "recv_timeout", "send_timeout", "recv_buffer_size",
                   "send_buffer_size", "recv_max_size", "reconnect_time_min",
                   "reconnect_time_max", "opener", "block_on_dial", "name", "tls_config",
                   "async_backend"]
OWN_KEYWORDS = {Pair1: ["polyamorous"], Req0: ["resend_time"], Sub0: ["topics"],
                Surveyor0: ["survey_time"]}


@pytest.mark.parametrize("cls", PROTOCOL_CLASSES)
def test_signature_lists_every_keyword(cls):
    params = inspect.signature(cls).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values()), params
    names = list(params)
    assert set(SOCKET_KEYWORDS + OWN_KEYWORDS.get(cls, [])) <= set(names), names
    with pytest.raises(TypeError, match="recv_timout"):
        cls(recv_timout=10)


def test_own_keywords_act_before_connecting(make_url):
    url = make_url("tcp")
    with sock(Pub0, listen=url) as pub, \
            sock(Sub0, topics=["keep"], dial=url, recv_timeout=200) as sub, \
            sock(Req0, resend_time=1234) as req, sock(Surveyor0, survey_time=321) as sur:
        assert req.resend_time == 1234 and sur.survey_time == 321
        wait_until(lambda: pub.pipes)
        time.sleep(0.05)  # the subscription is the sub's own: nothing to wait for
        pub.send(b"drop")
        pub.send(b"keep this")
        assert sub.recv() == b"keep this"


# --------------------------------------------------------------------------
# Option setters on dialers and listeners


def _count_accepts(listener, seconds):
    """Connections the dialer makes to a listener that drops each at once."""
    count = 0
    listener.settimeout(0.05)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        conn.close()
        count += 1
    return count


def test_dialer_reconnect_times_change_its_redials():
    """Its own redial bounds: a dialer told 20 ms redials many times a
    second; one left with the socket's 1 s bound only a few."""
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    try:
        with sock(Pair0) as fast_sock, sock(Pair0) as slow_sock:
            fast = fast_sock.dial("tcp://127.0.0.1:%d" % listeners[0].getsockname()[1],
                                  block=False)
            slow = slow_sock.dial("tcp://127.0.0.1:%d" % listeners[1].getsockname()[1],
                                  block=False)
            fast.reconnect_time_min = fast.reconnect_time_max = 20
            assert (fast.reconnect_time_min, fast.reconnect_time_max) == (20, 20)
            assert fast_sock.reconnect_time_min == slow.reconnect_time_min == 1000
            counts = []
            for listener in listeners:
                threading.Thread(target=lambda l=listener: counts.append(
                    (l, _count_accepts(l, 2.0))), daemon=True).start()
            wait_until(lambda: len(counts) == 2, timeout=DEFAULT_TIMEOUT)
            by_listener = dict(counts)
            fast_n, slow_n = by_listener[listeners[0]], by_listener[listeners[1]]
            # A redial waits a random part of its bound (nng's jitter): in
            # 2 s the slow one makes about 4, and 13 has odds of about 1e-6.
            assert fast_n >= 20 and slow_n <= 12, (fast_n, slow_n)
    finally:
        for listener in listeners:
            listener.close()


def test_dialer_recv_max_size_is_its_own(make_url):
    url = make_url("tcp")
    with sock(Pair0, listen=url) as server, sock(Pair0, recv_timeout=300) as client:
        dialer = client.dial(url)
        wait_until(lambda: server.pipes)
        assert dialer.recv_max_size == client.recv_max_size
        server.send(b"x" * 1000)
        assert client.recv() == b"x" * 1000
        dialer.recv_max_size = 100
        assert dialer.recv_max_size == 100 and client.recv_max_size != 100
        server.send(b"x" * 1000)  # too large now: its connection closes (nng's rule)
        with pytest.raises(Timeout):
            client.recv()


def test_socket_options_reach_its_endpoints_and_ranges_are_checked(make_url):
    url = make_url("tcp")
    with sock(Pair0, listen=url) as server, sock(Pair0, dial=url) as client:
        listener, dialer = server.listeners[0], client.dialers[0]
        client.reconnect_time_max = 777
        assert dialer.reconnect_time_max == 777
        listener.tcp_nodelay = False
        assert listener.tcp_nodelay is False and server.tcp_nodelay is True
        dialer.tcp_keepalive = True
        assert dialer.tcp_keepalive is True
        with pytest.raises(InvalidOperation, match="reconnect_time_min.*-5"):
            dialer.reconnect_time_min = -5
        with pytest.raises(TypeError, match="reconnect_time_max"):
            dialer.reconnect_time_max = "soon"
        with pytest.raises(AttributeError, match="peer"):
            dialer.peer = 3


# --------------------------------------------------------------------------
# The options helpers


def test_options_helpers_by_nng_name(make_url):
    url = make_url("tcp")
    with sock(Rep0, listen=url) as rep, sock(Req0, dial=url) as req:
        wait_until(lambda: req.pipes)
        dialer, listener, pipe = req.dialers[0], rep.listeners[0], req.pipes[0]
        ctx = req.new_context()

        options._setopt_ms(req, "recv-timeout", 1500.0)  # exactly an int: pynng takes it
        assert options._getopt_ms(req, b"recv-timeout") == 1500 == req.recv_timeout
        options._setopt_int(req, "req:resend-time", 250)
        assert req.resend_time == 250
        options._setopt_size(req, "recv-size-max", 4096)
        assert options._getopt_size(req, "recv-size-max") == 4096
        options._setopt_string(req, "socket-name", "asker")
        assert options._getopt_string(req, "socket-name") == "asker"
        options._setopt_int(ctx, "recv-timeout", 77)
        assert options._getopt_int(ctx, "recv-timeout") == 77 == ctx.recv_timeout
        options._setopt_ms(dialer, "reconnect-time-max", 900)
        assert options._getopt_ms(dialer, "reconnect-time-max") == 900
        options._setopt_bool(listener, "tcp-nodelay", False)
        assert options._getopt_bool(listener, "tcp-nodelay") is False
        assert options._getopt_bool(pipe, "tcp-nodelay") is True
        assert options._getopt_string(pipe, "url") == url
        assert options._getopt_int(pipe, "peer") == rep.protocol
        assert str(options._getopt_sockaddr(pipe, "remote-address")) == \
            str(pipe.remote_address)


def test_options_helpers_errors_name_the_option(make_url):
    url = make_url("tcp")
    with sock(Rep0, listen=url) as rep, sock(Req0, dial=url) as req:
        wait_until(lambda: req.pipes)
        dialer, listener, pipe = req.dialers[0], rep.listeners[0], req.pipes[0]
        with pytest.raises(NotSupported, match="recv-timeot"):
            options._getopt_int(req, "recv-timeot")
        with pytest.raises(NotSupported, match="no-such"):
            options._setopt_bool(dialer, "no-such", True)
        with pytest.raises(NotSupported, match="recv-timeout"):
            options._setopt_int(dialer, "recv-timeout", 5)  # the socket's, not its
        with pytest.raises(ReadOnly, match="tcp-bound-port"):
            options._setopt_int(listener, "tcp-bound-port", 5)
        with pytest.raises(ReadOnly, match="tcp-nodelay"):
            options._setopt_bool(pipe, "tcp-nodelay", False)
        with pytest.raises(ValueError, match="recv-timeout"):
            options._setopt_int(req, "recv-timeout", 1.5)
        with pytest.raises(TypeError):
            options._getopt_int(object(), "recv-timeout")


# --------------------------------------------------------------------------
# recv_fd and send_fd


def _readable(fd, timeout):
    return select.select([fd], [], [], timeout)[0] == [fd]


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_recv_fd_with_selectors(make_url, transport):
    url = make_url(transport)
    with sock(Pull0, listen=url) as pull, sock(Push0, dial=url) as push:
        selector = selectors.DefaultSelector()
        selector.register(pull.recv_fd, selectors.EVENT_READ)
        assert selector.select(0.05) == []
        sent = [b"message %d" % i for i in range(20)]
        for data in sent:
            push.send(data)
        received = []
        while len(received) < len(sent):
            assert selector.select(DEFAULT_TIMEOUT), received
            received.append(pull.recv(block=False))  # readable: never blocks
        assert received == sent
        assert selector.select(0.05) == [] and not _readable(pull.recv_fd, 0.05)
        push.send(b"one more")
        assert _readable(pull.recv_fd, DEFAULT_TIMEOUT)
        assert pull.recv(block=False) == b"one more"
        assert not _readable(pull.recv_fd, 0.05)
        selector.close()


def test_recv_fd_after_a_blocking_receive(make_url):
    """A blocking receive may read the connection itself; a message that
    came in with it still makes the descriptor readable."""
    url = make_url("tcp")
    with sock(Pair0, listen=url) as a, sock(Pair0, dial=url) as b:
        fd = a.recv_fd
        for round_ in range(5):
            b.send(b"first %d" % round_)
            b.send(b"second %d" % round_)
            assert a.recv() == b"first %d" % round_
            assert _readable(fd, DEFAULT_TIMEOUT)
            assert a.recv(block=False) == b"second %d" % round_
            assert not _readable(fd, 0.02)


@pytest.mark.parametrize("pair", ["sub", "req", "surveyor"])
def test_recv_fd_of_protocols_with_their_own_state(make_url, pair):
    url = make_url("inproc")
    if pair == "sub":
        sender, receiver = sock(Pub0, listen=url), sock(Sub0, topics=b"", dial=url)
        wait_until(lambda: sender.pipes)
        start = lambda: sender.send(b"news")  # noqa: E731
    elif pair == "req":
        replier, receiver = sock(Rep0, listen=url), sock(Req0, dial=url)
        sender = replier

        def start():
            receiver.send(b"question")
            replier.send(replier.recv())
    else:
        receiver, sender = sock(Surveyor0, listen=url), sock(Respondent0, dial=url)
        wait_until(lambda: receiver.pipes)

        def start():
            receiver.send(b"poll")
            sender.send(sender.recv())
    try:
        assert not _readable(receiver.recv_fd, 0.05)
        start()
        assert _readable(receiver.recv_fd, DEFAULT_TIMEOUT)
        receiver.recv(block=False)
        assert not _readable(receiver.recv_fd, 0.05)
    finally:
        sender.close()
        receiver.close()


def test_send_fd_readable_while_a_send_would_go(make_url):
    url = make_url("inproc")
    with sock(Pair0, send_buffer_size=0) as lonely:
        assert not _readable(lonely.send_fd, 0.05)  # no peer, no queue
    with sock(Pair0, send_buffer_size=2) as queued:
        fd = queued.send_fd
        assert _readable(fd, 0)
        queued.send(b"1", block=False)
        queued.send(b"2", block=False)
        assert not _readable(fd, 0.05)  # the queue is full
        with sock(Pair0, listen=url) as peer:
            queued.dial(url)
            assert peer.recv() == b"1" and peer.recv() == b"2"
            assert _readable(fd, DEFAULT_TIMEOUT)
    with sock(Push0, send_buffer_size=0) as push:
        fd = push.send_fd
        assert not _readable(fd, 0.05)
        with sock(Pull0, listen=make_url("tcp")) as pull:
            push.dial(pull.listeners[0].url)
            assert _readable(fd, DEFAULT_TIMEOUT)  # a pipe joined
        wait_until(lambda: not push.pipes)
        assert not _readable(fd, 0.05)  # and left
    with sock(Pub0) as pub:
        assert _readable(pub.send_fd, 0)  # fan-out never blocks


def test_fds_where_the_protocol_cannot_and_after_close():
    with Push0() as push, Pull0() as pull:
        with pytest.raises(NotSupported, match="recv_fd"):
            push.recv_fd
        with pytest.raises(NotSupported, match="send_fd"):
            pull.send_fd
        fd = pull.recv_fd
        assert pull.recv_fd == fd  # the same one every time
    assert _readable(fd, 0)  # closed: the receive that follows raises Closed
    with pytest.raises(Closed):
        pull.recv(block=False)
    with pytest.raises(Closed):
        pull.recv_fd


# --------------------------------------------------------------------------
# Pipes, endpoints, check_err


def test_pipe_and_endpoint_facts(make_url):
    url = make_url("tcp")
    with sock(Rep0, listen=url) as rep, sock(Req0, dial=url) as req:
        wait_until(lambda: req.pipes and rep.pipes)
        pipe, dialer, listener = req.pipes[0], req.dialers[0], rep.listeners[0]
        assert pipe.url == url == rep.pipes[0].url
        assert (pipe.protocol, pipe.protocol_name) == (req.protocol, "req")
        assert (pipe.peer, pipe.peer_name) == (rep.protocol, "rep")
        assert (dialer.peer, dialer.peer_name) == (rep.protocol, "rep")
        assert (listener.peer, listener.peer_name) == (req.protocol, "req")
        assert str(dialer.remote_address) == str(pipe.remote_address) == \
            str(listener.local_address)
        assert str(dialer.local_address) == str(pipe.local_address) == \
            str(rep.pipes[0].remote_address)


def test_dialer_addresses_before_it_connects():
    with sock(Pair0) as s:
        dialer = s.dial("tcp://127.0.0.1:9", block=False)  # nothing listens there
        assert str(dialer.remote_address) == "127.0.0.1:9"
        assert dialer.local_address.family_as_str == "Unspecified"  # pynng's word
        inproc = s.dial("inproc://nobody-here", block=False)
        assert str(inproc.remote_address) == "inproc://nobody-here"


@pytest.mark.parametrize("code, name", [(5, "Timeout"), (7, "Closed"), (9, "NotSupported"),
                                        (24, "ReadOnly"), (10, "AddressInUse")])
def test_check_err_raises_the_class_of_the_code(code, name):
    with pytest.raises(getattr(pynng_core, name)) as info:
        pynng_core.check_err(code)
    assert info.value.errno == code
    pynng_core.check_err(0)  # no error: nothing raised

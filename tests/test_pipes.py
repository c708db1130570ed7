"""Pipes: ``socket.pipes``, Pipe addresses / endpoints / options / send /
close, ``Message.pipe``, pipe event callbacks (pynng's API) and the
options Listener and Dialer read back."""

import asyncio
import logging
import socket as pysocket
import sys
import threading
import time

import pytest

import pynng_core
from pynng_core import (
    Closed, Dialer, Listener, Pair0, Pair1, Pipe, Pub0, Pull0, Push0, Sub0, Timeout,
)
from pynng_core.sockaddr import In6Addr, InAddr, InprocAddr, IPCAddr
from peers import free_tcp_port, ipc_path, is_listening, wait_until, wakeups_of
from protocol_peers import FAST_RECONNECT, connect_one, dial_url, listen_url, pipe_ids, recv_all

TRANSPORTS = ["tcp", "ipc", "inproc"]
EVENTS_THREAD = "pynng_core pipe events"


def expected_inproc_name(url):
    # pynng (NNG) reports an inproc address as the whole URL it was given:
    # pynng.Pair0(listen="inproc://abc").pipes[0].local_address.name
    # == "inproc://abc".
    return url


def established_tcp(local_port, remote_port):
    """True if /proc/net/tcp lists an established 127.0.0.1:local_port ->
    127.0.0.1:remote_port connection (None if /proc is unavailable)."""
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                local, remote, state = fields[1], fields[2], fields[3]
                if (state == "01" and local == "0100007F:%04X" % local_port
                        and remote == "0100007F:%04X" % remote_port):
                    return True
        return False
    except OSError:
        return None


# --------------------------------------------------------------------------
# 1. the pipes list and addresses


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pipes_grow_and_shrink(transport, socks, make_url):
    server = socks(Pull0)
    listener = server.listen(listen_url(transport, make_url))
    url = dial_url(listener)
    assert server.pipes == []
    clients = []
    for n in range(1, 4):
        client = socks(Push0)
        connect_one(server, client, url)
        clients.append(client)
        assert len(server.pipes) == n
        assert all(isinstance(p, Pipe) for p in server.pipes)
        assert len(pipe_ids(server)) == n  # distinct ids
    for c in clients:
        assert len(c.pipes) == 1
    # The same Pipe object every time it is seen.
    first = server.pipes
    assert all(a is b for a, b in zip(first, server.pipes))
    for n in (2, 1, 0):
        gone = clients.pop()
        before = pipe_ids(server)
        gone.close()
        wait_until(lambda: len(server.pipes) == n,
                   message="server still has %d pipes, expected %d" % (len(server.pipes), n))
        assert pipe_ids(server) < before
    assert all(p.closed for p in first)


def test_tcp_addresses(socks):
    server = socks(Pair1, polyamorous=True)
    listener = server.listen("tcp://127.0.0.1:0")
    port = listener.port
    assert isinstance(port, int) and 0 < port < 65536
    assert is_listening("tcp://127.0.0.1:%d" % port)
    la = listener.local_address
    assert isinstance(la, InAddr)
    assert la.port_number == port
    assert la.port == pysocket.htons(port)  # network byte order, as pynng
    assert la.host == "127.0.0.1"
    assert la.addr == int.from_bytes(bytes([127, 0, 0, 1]), "little")
    assert str(la) == "127.0.0.1:%d" % port
    assert la.family_as_str == "inet"
    url = "tcp://127.0.0.1:%d" % port
    for _ in range(2):
        client = socks(Pair1)
        spipe, cpipe = connect_one(server, client, url)
        for a in (spipe.local_address, spipe.remote_address,
                  cpipe.local_address, cpipe.remote_address):
            assert isinstance(a, InAddr)
            assert a.host == "127.0.0.1"
            assert a.family == la.family
            assert a.port == pysocket.htons(a.port_number)
        # Server side: local is the listening port, remote the client's port.
        assert spipe.local_address.port_number == port
        assert cpipe.remote_address.port_number == port
        assert spipe.remote_address.port_number == cpipe.local_address.port_number
        assert spipe.remote_address.port_number != port
        assert str(spipe.remote_address) == str(cpipe.local_address)
        # The kernel agrees this connection exists.
        if sys.platform.startswith("linux"):
            assert established_tcp(cpipe.local_address.port_number, port)
            assert established_tcp(port, cpipe.local_address.port_number)


def test_tcp_ipv6_addresses(socks):
    if not pysocket.has_ipv6:
        pytest.skip("no IPv6")
    server = socks(Pair0)
    try:
        listener = server.listen("tcp://[::1]:0")
    except pynng_core.NNGException as exc:
        pytest.skip("no IPv6 loopback: %s" % exc)
    port = listener.port
    assert isinstance(listener.local_address, In6Addr)
    assert listener.local_address.port_number == port
    assert listener.local_address.host == "::1"
    client = socks(Pair0)
    spipe, cpipe = connect_one(server, client, "tcp://[::1]:%d" % port)
    assert isinstance(spipe.remote_address, In6Addr)
    assert spipe.local_address.port_number == port
    assert spipe.remote_address.port_number == cpipe.local_address.port_number
    assert str(cpipe.remote_address) == "[::1]:%d" % port


def test_ipc_addresses(socks, make_url):
    url = make_url("ipc")
    server = socks(Pair0)
    listener = server.listen(url)
    assert isinstance(listener.local_address, IPCAddr)
    assert listener.local_address.path == ipc_path(url)
    client = socks(Pair0)
    spipe, cpipe = connect_one(server, client, url)
    for a in (spipe.local_address, spipe.remote_address,
              cpipe.local_address, cpipe.remote_address):
        assert isinstance(a, IPCAddr)
        assert a.family_as_str == "ipc"
        assert a.path == ipc_path(url)
        assert str(a) == ipc_path(url)


def test_inproc_addresses(socks, make_url):
    url = make_url("inproc")
    server = socks(Pair0)
    listener = server.listen(url)
    client = socks(Pair0)
    spipe, cpipe = connect_one(server, client, url)
    for a in (listener.local_address, spipe.local_address, spipe.remote_address,
              cpipe.local_address, cpipe.remote_address):
        assert isinstance(a, InprocAddr)
        assert a.family_as_str == "inproc"
        assert a.name == expected_inproc_name(url)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pipe_dialer_and_listener(transport, socks, make_url):
    server = socks(Pair1, polyamorous=True)
    listener = server.listen(listen_url(transport, make_url))
    other_listener = server.listen(make_url("inproc"))  # not the one used
    assert isinstance(listener, Listener)
    assert listener.id != other_listener.id
    clients, dialers = [], []
    for _ in range(2):
        client = socks(Pair1)
        before = pipe_ids(server)
        dialer = client.dial(dial_url(listener))
        assert isinstance(dialer, Dialer)
        wait_until(lambda: len(pipe_ids(server) - before) == 1 and client.pipes)
        clients.append(client)
        dialers.append(dialer)
    for p in server.pipes:
        assert p.listener is listener
        assert p.socket is server
        with pytest.raises(TypeError):
            p.dialer
    for client, dialer in zip(clients, dialers):
        (p,) = client.pipes
        assert p.dialer is dialer
        assert p.socket is client
        with pytest.raises(TypeError):
            p.listener


# --------------------------------------------------------------------------
# 2. Message.pipe and Pipe.send


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_message_pipe_identifies_sender(transport, socks, make_url):
    server = socks(Pair1, polyamorous=True)
    url = dial_url(server.listen(listen_url(transport, make_url)))
    clients, server_pipes = [], []
    for _ in range(3):
        client = socks(Pair1)
        spipe, _ = connect_one(server, client, url)
        clients.append(client)
        server_pipes.append(spipe)
    for i, client in enumerate(clients):
        client.send(b"from-%d" % i)
    seen = {}
    for _ in range(3):
        msg = server.recv_msg()
        i = int(msg.bytes.split(b"-")[1])
        assert msg.pipe is server_pipes[i]
        assert any(msg.pipe is p for p in server.pipes)
        seen[i] = msg.pipe
    assert len({p.id for p in seen.values()}) == 3
    if transport == "tcp":
        for i, client in enumerate(clients):
            assert (seen[i].remote_address.port_number
                    == client.pipes[0].local_address.port_number)
    # Replying on the pipe reaches that client only.
    for i in (2, 0, 1):
        seen[i].send(b"reply-%d" % i)
    for i, client in enumerate(clients):
        msg = client.recv_msg()
        assert msg.bytes == b"reply-%d" % i
        assert msg.pipe is client.pipes[0]
    for client in clients:
        assert recv_all(client, timeout_ms=150) == []


def _targeted_send(server, clients, server_pipes, rounds=4):
    """(Clients need recv_buffer_size >= rounds: nothing reads until the end.)
    Sends ``rounds`` messages to each client through its server-side pipe,
    interleaved; each client must get exactly its own, in order."""
    for r in range(rounds):
        for i, p in enumerate(server_pipes):
            p.send(b"%d:%d" % (i, r))
    for i, client in enumerate(clients):
        got = [client.recv() for _ in range(rounds)]
        assert got == [b"%d:%d" % (i, r) for r in range(rounds)], (i, got)
    for i, client in enumerate(clients):
        extra = recv_all(client, timeout_ms=150)
        assert extra == [], "client %d got messages meant for others: %r" % (i, extra)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pipe_send_push_to_one_pull(transport, socks, make_url):
    server = socks(Push0)
    url = dial_url(server.listen(listen_url(transport, make_url)))
    clients, spipes = [], []
    for _ in range(3):
        client = socks(Pull0, recv_buffer_size=16)
        spipe, _ = connect_one(server, client, url)
        clients.append(client)
        spipes.append(spipe)
    _targeted_send(server, clients, spipes)
    # A received message's pipe on the pull side is its only pipe.
    spipes[1].send(b"x")
    msg = clients[1].recv_msg()
    assert msg.bytes == b"x"
    assert msg.pipe is clients[1].pipes[0]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pipe_send_pub_to_one_sub(transport, socks, make_url):
    server = socks(Pub0)
    url = dial_url(server.listen(listen_url(transport, make_url)))
    clients, spipes = [], []
    for _ in range(3):
        client = socks(Sub0, topics=b"", recv_buffer_size=16)
        spipe, _ = connect_one(server, client, url)
        clients.append(client)
        spipes.append(spipe)
    _targeted_send(server, clients, spipes)
    # An untargeted publish still reaches everyone.
    server.send(b"all")
    for client in clients:
        assert client.recv() == b"all"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pipe_send_pair1_polyamorous(transport, socks, make_url):
    server = socks(Pair1, polyamorous=True)
    url = dial_url(server.listen(listen_url(transport, make_url)))
    clients, spipes = [], []
    for _ in range(3):
        client = socks(Pair1, recv_buffer_size=16)
        spipe, _ = connect_one(server, client, url)
        clients.append(client)
        spipes.append(spipe)
    _targeted_send(server, clients, spipes)


def test_pipe_asend_and_arecv_msg_pipe(socks, make_url):
    server = socks(Pair1, polyamorous=True)
    url = dial_url(server.listen("tcp://127.0.0.1:0"))
    clients, spipes = [], []
    for _ in range(2):
        client = socks(Pair1)
        spipe, _ = connect_one(server, client, url)
        clients.append(client)
        spipes.append(spipe)

    async def main():
        await spipes[1].asend(b"to-1")
        got = await asyncio.wait_for(clients[1].arecv_msg(), 10)
        assert got.bytes == b"to-1"
        assert got.pipe is clients[1].pipes[0]
        await clients[0].asend(b"up-0")
        up = await asyncio.wait_for(server.arecv_msg(), 10)
        assert up.bytes == b"up-0"
        assert up.pipe is spipes[0]

    asyncio.run(main())
    assert recv_all(clients[0], timeout_ms=150) == []


# --------------------------------------------------------------------------
# 3. Pipe.close


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pipe_close_disconnects_that_peer_only(transport, socks, make_url):
    server = socks(Pull0)
    url = dial_url(server.listen(listen_url(transport, make_url)))
    clients, spipes = [], []
    for _ in range(3):
        client = socks(Push0, **FAST_RECONNECT)
        spipe, _ = connect_one(server, client, url)
        clients.append(client)
        spipes.append(spipe)
    victim, old_client_pipe = spipes[0], clients[0].pipes[0]
    assert not victim.closed
    victim.close()
    assert victim.closed
    wait_until(lambda: victim.id not in pipe_ids(server))
    # The client notices and its dialer reconnects with a new pipe.
    wait_until(lambda: old_client_pipe.closed,
               message="client side of the closed pipe is still open")
    wait_until(lambda: len(server.pipes) == 3 and clients[0].pipes
               and clients[0].pipes[0].id != old_client_pipe.id,
               message="dialer did not reconnect after its pipe was closed")
    # The other two pipes were untouched.
    assert {spipes[1].id, spipes[2].id} <= pipe_ids(server)
    assert not spipes[1].closed and not spipes[2].closed
    for i in (1, 2):
        clients[i].send(b"still-%d" % i)
    for _ in range(2):
        msg = server.recv_msg()
        i = int(msg.bytes.split(b"-")[1])
        assert msg.pipe is spipes[i]
    clients[0].send(b"back")
    msg = server.recv_msg()
    assert msg.bytes == b"back"
    assert msg.pipe.id not in (victim.id, spipes[1].id, spipes[2].id)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_send_to_closed_pipe_reaches_nobody(transport, socks, make_url):
    """A message for a peer that is gone raises Closed, naming the pipe, and
    is never given to another peer."""
    server = socks(Push0)
    url = dial_url(server.listen(listen_url(transport, make_url)))
    clients, spipes = [], []
    for _ in range(2):
        client = socks(Pull0)
        spipe, _ = connect_one(server, client, url)
        clients.append(client)
        spipes.append(spipe)
    gone = spipes[0]
    clients[0].close()
    wait_until(lambda: gone.closed)
    with pytest.raises(Closed, match="to pipe %d " % gone.id):
        gone.send(b"for the departed")
    spipes[1].send(b"for the living")
    assert clients[1].recv() == b"for the living"
    assert recv_all(clients[1], timeout_ms=150) == []


def test_pipe_close_from_dialer_side(socks, make_url):
    server = socks(Pair1, polyamorous=True)
    url = dial_url(server.listen("tcp://127.0.0.1:0"))
    a, b = socks(Pair1, **FAST_RECONNECT), socks(Pair1, **FAST_RECONNECT)
    sa, ca = connect_one(server, a, url)
    sb, cb = connect_one(server, b, url)
    ca.close()
    wait_until(lambda: sa.closed, message="server kept the pipe the client closed")
    wait_until(lambda: a.pipes and a.pipes[0].id != ca.id)
    b.send(b"b")
    msg = server.recv_msg()
    assert msg.pipe is sb and msg.bytes == b"b"


# --------------------------------------------------------------------------
# 4. pipe event callbacks


class Recorder:
    """Pipe callbacks that record (event, pipe id, thread name, extra)."""

    def __init__(self, s):
        self.socket = s
        self.events = []
        self.lock = threading.Lock()

    def _add(self, kind, pipe, extra=None):
        with self.lock:
            self.events.append((kind, pipe.id, threading.current_thread().name, extra))

    def pre(self, pipe):
        self._add("pre", pipe, isinstance(pipe, Pipe))

    def post(self, pipe):
        self._add("post", pipe, any(p is pipe for p in self.socket.pipes))

    def remove(self, pipe):
        self._add("remove", pipe, pipe.closed)

    def install(self):
        self.socket.add_pre_pipe_connect_cb(self.pre)
        self.socket.add_post_pipe_connect_cb(self.post)
        self.socket.add_post_pipe_remove_cb(self.remove)

    def uninstall(self):
        self.socket.remove_pre_pipe_connect_cb(self.pre)
        self.socket.remove_post_pipe_connect_cb(self.post)
        self.socket.remove_post_pipe_remove_cb(self.remove)

    def of(self, pipe_id):
        with self.lock:
            return [e for e in self.events if e[1] == pipe_id]

    def kinds(self, pipe_id):
        return [e[0] for e in self.of(pipe_id)]

    def count(self, kind):
        with self.lock:
            return sum(1 for e in self.events if e[0] == kind)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_callback_order_and_thread(transport, socks, make_url):
    server = socks(Pair1, polyamorous=True)
    srec = Recorder(server)
    srec.install()
    url = dial_url(server.listen(listen_url(transport, make_url)))
    clients, ids = [], []
    for _ in range(3):
        client = socks(Pair1)
        crec = Recorder(client)
        crec.install()
        spipe, cpipe = connect_one(server, client, url)
        clients.append((client, crec, cpipe.id))
        ids.append(spipe.id)
        wait_until(lambda: srec.kinds(spipe.id) == ["pre", "post"])
        wait_until(lambda: crec.kinds(cpipe.id) == ["pre", "post"])
    for client, _, _ in clients:
        client.close()
    for pid in ids:
        wait_until(lambda: len(srec.of(pid)) == 3)
        assert srec.kinds(pid) == ["pre", "post", "remove"]
    with srec.lock:
        events = list(srec.events)
    assert len(events) == 9
    for kind, pid, thread, extra in events:
        assert thread == EVENTS_THREAD
        assert thread != threading.current_thread().name
        assert extra is True, (kind, pid)  # Pipe object / in pipes / closed
    for client, crec, cpid in clients:
        wait_until(lambda: len(crec.of(cpid)) == 3)
        assert crec.kinds(cpid) == ["pre", "post", "remove"]
        assert all(e[2] == EVENTS_THREAD for e in crec.of(cpid))


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="counts a thread's wake-ups in /proc (Linux)")
def test_the_events_thread_sleeps_until_an_event(socks, make_url):
    """The thread that runs pipe callbacks waits for the next event as long
    as it takes: with none coming, it is not woken (it was, every 200 ms)."""
    server, client = socks(Pair0), socks(Pair0)
    rec = Recorder(server)
    rec.install()
    spipe, _ = connect_one(server, client, dial_url(server.listen(listen_url("tcp", make_url))))
    wait_until(lambda: rec.kinds(spipe.id) == ["pre", "post"])
    [events] = [t for t in threading.enumerate() if t.name == EVENTS_THREAD]
    before = wakeups_of(events.native_id)
    time.sleep(1.0)
    woken = wakeups_of(events.native_id) - before
    client.close()
    wait_until(lambda: rec.kinds(spipe.id) == ["pre", "post", "remove"])
    assert woken < 3, "woken %d times in a second with no event" % woken


def test_callbacks_see_pipe_addresses_and_endpoint(socks):
    server = socks(Pair0)
    listener = server.listen("tcp://127.0.0.1:0")
    seen = []

    def pre(pipe):
        seen.append((pipe.local_address.port_number, pipe.listener))

    server.add_pre_pipe_connect_cb(pre)
    client = socks(Pair0)
    spipe, cpipe = connect_one(server, client, dial_url(listener))
    wait_until(lambda: seen)
    assert seen == [(listener.port, listener)]


def test_pre_connect_refuses_every_second_connection(socks, make_url):
    server = socks(Pull0)
    url = dial_url(server.listen("tcp://127.0.0.1:0"))
    refused, admitted, posted, removed = [], [], [], []

    def pre(pipe):
        if (len(refused) + len(admitted)) % 2 == 0:
            refused.append(pipe.id)
            pipe.close()
        else:
            admitted.append(pipe.id)

    server.add_pre_pipe_connect_cb(pre)
    server.add_post_pipe_connect_cb(lambda p: posted.append(p.id))
    server.add_post_pipe_remove_cb(lambda p: removed.append(p.id))
    clients = [socks(Push0, **FAST_RECONNECT) for _ in range(4)]
    for c in clients:
        c.dial(url, block=False)
    wait_until(lambda: len(server.pipes) == 4,
               message="not all dialers admitted: %r" % (server.pipes,))
    wait_until(lambda: len(posted) == 4)
    assert len(admitted) == 4
    assert len(refused) == 4  # strictly alternating refuse/admit
    assert not set(refused) & set(admitted)
    assert pipe_ids(server) == set(admitted)
    assert sorted(posted) == sorted(admitted)  # no post-connect for a refused pipe
    assert not set(removed) & set(refused)  # nor post-remove
    st = server.stats
    assert st["pipes_rejected"] == 4
    # Every client now delivers, on an admitted pipe.
    for i, c in enumerate(clients):
        wait_until(lambda: c.pipes)
        c.send(b"c%d" % i)
    pipes_seen = set()
    for _ in clients:
        msg = server.recv_msg()
        assert msg.pipe.id in admitted
        pipes_seen.add(msg.pipe.id)
    assert pipes_seen == set(admitted)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refused_dialer_never_delivers_until_admitted(transport, socks, make_url):
    server = socks(Pull0)
    url = dial_url(server.listen(listen_url(transport, make_url)))
    refused, admitted = [], []

    def pre(pipe):
        if len(refused) < 3:
            refused.append(pipe.id)
            pipe.close()
        else:
            admitted.append(pipe.id)

    server.add_pre_pipe_connect_cb(pre)
    client = socks(Push0, **FAST_RECONNECT)
    client.dial(url, block=False)
    wait_until(lambda: admitted, message="the dialer was never admitted")
    assert len(refused) == 3
    # The pre-connect callback admits the pipe before the socket lists it.
    wait_until(lambda: pipe_ids(server) == set(admitted),
               message="the admitted pipe never joined: %r" % (pipe_ids(server),))
    assert server.stats["pipes_rejected"] == 3
    wait_until(lambda: client.pipes)
    client.send(b"hello")
    msg = server.recv_msg()
    assert msg.bytes == b"hello"
    assert msg.pipe.id == admitted[0]
    # The client's own counters stay consistent (over inproc a refused pipe
    # may be gone before the client side ever joins it, so it may not count).
    wait_until(lambda: client.stats["pipes_opened"] - client.stats["pipes_closed"] == 1)
    if transport != "inproc":
        wait_until(lambda: client.stats["pipes_closed"] >= 3)
        assert client.stats["pipes_opened"] >= 4


def test_sending_while_refused_delivers_only_on_admitted_pipe(socks, make_url):
    """A push dialer sends while the server keeps refusing it: the server
    never receives anything (what went out on a refused connection is lost
    with it); once admitted, everything it gets comes on the admitted pipe."""
    server = socks(Pull0)
    url = dial_url(server.listen("tcp://127.0.0.1:0"))
    refused, admitted = [], []
    gate = threading.Event()

    def pre(pipe):
        if not gate.is_set():
            refused.append(pipe.id)
            pipe.close()
        else:
            admitted.append(pipe.id)

    server.add_pre_pipe_connect_cb(pre)
    client = socks(Push0, send_buffer_size=64, **FAST_RECONNECT)
    client.dial(url, block=False)
    wait_until(lambda: len(refused) >= 2)
    for i in range(10):
        client.send(b"m%d" % i)
    wait_until(lambda: len(refused) >= 4)  # refused again after the sends
    server.recv_timeout = 100
    with pytest.raises(Timeout):
        server.recv()
    assert server.pipes == []
    server.recv_timeout = 5000
    gate.set()
    wait_until(lambda: admitted)
    wait_until(lambda: client.pipes)
    client.send(b"after")
    while True:
        msg = server.recv_msg()
        assert msg.pipe.id == admitted[0], (msg.bytes, msg.pipe.id, refused)
        if msg.bytes == b"after":
            break
    assert server.stats["pipes_rejected"] == len(refused)
    assert not set(refused) & set(admitted)


def test_callback_exception_is_logged_and_later_callbacks_run(socks, make_url, caplog):
    caplog.set_level(logging.ERROR, logger="pynng_core")
    server = socks(Pair0)
    url = dial_url(server.listen("tcp://127.0.0.1:0"))
    after = []

    def boom(pipe):
        raise RuntimeError("boom %d" % pipe.id)

    for add in (server.add_pre_pipe_connect_cb, server.add_post_pipe_connect_cb,
                server.add_post_pipe_remove_cb):
        add(boom)
    server.add_pre_pipe_connect_cb(lambda p: after.append(("pre", p.id)))
    server.add_post_pipe_connect_cb(lambda p: after.append(("post", p.id)))
    server.add_post_pipe_remove_cb(lambda p: after.append(("remove", p.id)))

    client = socks(Pair0, **FAST_RECONNECT)
    spipe, _ = connect_one(server, client, url)
    # The raising pre-connect callback did not refuse the pipe.
    client.send(b"x")
    assert server.recv_msg().pipe is spipe
    spipe.close()
    wait_until(lambda: ("remove", spipe.id) in after)
    assert [e for e in after if e[1] == spipe.id] == [
        ("pre", spipe.id), ("post", spipe.id), ("remove", spipe.id)]
    # Later events still come: the client redials.
    wait_until(lambda: len([e for e in after if e[0] == "post"]) == 2)
    # boom runs (and is logged) before the recording callbacks of each event.
    boom_records = [r for r in caplog.records
                    if r.name == "pynng_core" and r.exc_info
                    and r.exc_info[0] is RuntimeError]
    assert len(boom_records) >= 5  # pre, post, remove, pre, post
    assert any("boom %d" % spipe.id in str(r.exc_info[1]) for r in boom_records)
    assert all(r.levelno >= logging.ERROR for r in boom_records)


def test_remove_callbacks_stops_them(socks, make_url):
    server = socks(Pair1, polyamorous=True)
    url = dial_url(server.listen(make_url("inproc")))
    marker = Recorder(server)
    marker.install()
    rec = Recorder(server)
    rec.install()
    c1 = socks(Pair1)
    p1, _ = connect_one(server, c1, url)
    # Callbacks run in the order they were added: rec's post is the last of
    # the two (waiting for marker's instead raced with rec's, seen under wine).
    wait_until(lambda: rec.kinds(p1.id) == ["pre", "post"])
    assert marker.kinds(p1.id) == ["pre", "post"]
    rec.uninstall()
    c2 = socks(Pair1)
    p2, _ = connect_one(server, c2, url)
    wait_until(lambda: marker.kinds(p2.id) == ["pre", "post"])
    c1.close()
    wait_until(lambda: marker.kinds(p1.id) == ["pre", "post", "remove"])
    assert rec.kinds(p2.id) == []
    assert rec.kinds(p1.id) == ["pre", "post"]  # no remove after uninstall
    # Removing one kind only keeps the others.
    rec.socket.add_post_pipe_connect_cb(rec.post)
    rec.socket.add_post_pipe_remove_cb(rec.remove)
    rec.socket.remove_post_pipe_remove_cb(rec.remove)
    c3 = socks(Pair1)
    p3, _ = connect_one(server, c3, url)
    wait_until(lambda: marker.kinds(p3.id) == ["pre", "post"])
    c3.close()
    wait_until(lambda: marker.kinds(p3.id) == ["pre", "post", "remove"])
    assert rec.kinds(p3.id) == ["post"]
    # With every callback removed, connections are admitted as usual.
    marker.uninstall()
    rec.socket.remove_post_pipe_connect_cb(rec.post)
    c4 = socks(Pair1)
    p4, _ = connect_one(server, c4, url)
    c4.send(b"ok")
    assert server.recv_msg().pipe is p4


def test_remove_unknown_callback_raises(socks):
    s = socks(Pair0)
    with pytest.raises(ValueError):
        s.remove_post_pipe_connect_cb(lambda p: None)


# --------------------------------------------------------------------------
# 5. tcp_nodelay / tcp_keepalive


def test_tcp_option_defaults(socks):
    s = socks(Pair0)
    assert s.tcp_nodelay is True
    assert s.tcp_keepalive is False
    listener = s.listen("tcp://127.0.0.1:0")
    c = socks(Pair0)
    sp, cp = connect_one(s, c, dial_url(listener))
    assert (sp.tcp_nodelay, sp.tcp_keepalive) == (True, False)
    assert (cp.tcp_nodelay, cp.tcp_keepalive) == (True, False)


@pytest.mark.parametrize("nodelay", [True, False])
@pytest.mark.parametrize("keepalive", [True, False])
def test_tcp_options_reach_the_pipe(nodelay, keepalive, socks):
    server = socks(Pair0)
    server.tcp_nodelay = nodelay
    server.tcp_keepalive = keepalive
    assert (server.tcp_nodelay, server.tcp_keepalive) == (nodelay, keepalive)
    listener = server.listen("tcp://127.0.0.1:0")
    client = socks(Pair0)
    # The client gets the opposite values: each side applies its own.
    client.tcp_nodelay = not nodelay
    client.tcp_keepalive = not keepalive
    sp, cp = connect_one(server, client, dial_url(listener))
    assert sp.tcp_nodelay is nodelay
    assert sp.tcp_keepalive is keepalive
    assert cp.tcp_nodelay is (not nodelay)
    assert cp.tcp_keepalive is (not keepalive)


def test_tcp_options_apply_to_new_connections_only(socks):
    server = socks(Pair1, polyamorous=True)
    listener = server.listen("tcp://127.0.0.1:0")
    c1 = socks(Pair1)
    p1, _ = connect_one(server, c1, dial_url(listener))
    server.tcp_nodelay = False
    server.tcp_keepalive = True
    c2 = socks(Pair1)
    p2, _ = connect_one(server, c2, dial_url(listener))
    assert (p1.tcp_nodelay, p1.tcp_keepalive) == (True, False)
    assert (p2.tcp_nodelay, p2.tcp_keepalive) == (False, True)


def test_tcp_options_not_supported_on_inproc(socks, make_url):
    url = make_url("inproc")
    server = socks(Pair0, listen=url)
    client = socks(Pair0)
    sp, _ = connect_one(server, client, url)
    with pytest.raises(pynng_core.NotSupported):
        sp.tcp_nodelay
    with pytest.raises(pynng_core.NotSupported):
        sp.tcp_keepalive


# --------------------------------------------------------------------------
# 7. endpoint options


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_endpoint_options_read_socket_values(transport, socks, make_url):
    server = socks(Pair0, recv_max_size=12345, reconnect_time_min=70,
                   reconnect_time_max=700)
    server.tcp_nodelay = False
    server.tcp_keepalive = True
    listener = server.listen(listen_url(transport, make_url))
    client = socks(Pair0, recv_max_size=54321, reconnect_time_min=30,
                   reconnect_time_max=300)
    dialer = client.dial(dial_url(listener))
    assert listener.recv_max_size == 12345
    assert listener.reconnect_time_min == 70
    assert listener.reconnect_time_max == 700
    assert listener.tcp_nodelay is False
    assert listener.tcp_keepalive is True
    assert dialer.recv_max_size == 54321
    assert dialer.reconnect_time_min == 30
    assert dialer.reconnect_time_max == 300
    assert dialer.tcp_nodelay is True
    assert dialer.tcp_keepalive is False


def test_endpoint_options_follow_later_socket_changes(socks, make_url):
    """NNG applies a socket option set later to its existing endpoints too."""
    server = socks(Pair0)
    listener = server.listen("tcp://127.0.0.1:0")
    client = socks(Pair0)
    dialer = client.dial(dial_url(listener))
    server.recv_max_size = 999
    server.tcp_nodelay = False
    client.reconnect_time_min = 11
    client.reconnect_time_max = 222
    client.tcp_keepalive = True
    assert listener.recv_max_size == 999
    assert listener.tcp_nodelay is False
    assert dialer.reconnect_time_min == 11
    assert dialer.reconnect_time_max == 222
    assert dialer.tcp_keepalive is True


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_listener_id_url_address(transport, socks, make_url):
    s = socks(Pair0)
    url = listen_url(transport, make_url)
    listener = s.listen(url)
    other = s.listen(make_url("inproc"))
    assert isinstance(listener.id, int) and listener.id > 0
    assert listener.id != other.id
    assert listener.url == url
    la = listener.local_address
    if transport == "tcp":
        assert listener.port > 0
        assert la.port_number == listener.port
        assert la.port == pysocket.htons(listener.port)
        assert la.host == "127.0.0.1"
    elif transport == "ipc":
        assert la.path == ipc_path(url)
        with pytest.raises(pynng_core.NotSupported):
            listener.port
    else:
        assert la.name == expected_inproc_name(url)
    c = socks(Pair0)
    d = c.dial(dial_url(listener))
    assert isinstance(d.id, int) and d.id > 0
    wait_until(lambda: s.pipes)
    assert s.pipes[0].listener.id == listener.id


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_closing_an_endpoint_closes_its_own_pipes_and_no_others(socks, make_url, transport):
    """A listener's close takes its pipes with it and a dialer's its one
    pipe, and nothing of the socket's other endpoints: each endpoint knows
    its own pipes (a socket's close of thousands of dialers no longer looks
    for each one's pipe among all of them)."""
    server = socks(Pull0)
    listeners = [server.listen(listen_url(transport, make_url)) for _ in range(2)]
    clients = [socks(Push0, **FAST_RECONNECT) for _ in range(4)]
    dialers = [c.dial(dial_url(listeners[i % 2]), block=True) for i, c in enumerate(clients)]
    wait_until(lambda: len(server.pipes) == 4)
    first = {p.id for p in server.pipes if p.listener.id == listeners[0].id}
    assert len(first) == 2

    listeners[0].close()
    wait_until(lambda: len(server.pipes) == 2)
    assert {p.listener.id for p in server.pipes} == {listeners[1].id}
    assert first.isdisjoint(p.id for p in server.pipes)
    for i, c in enumerate(clients):
        if i % 2 == 1:
            c.send(b"still %d" % i)
    assert sorted(server.recv() for _ in range(2)) == [b"still 1", b"still 3"]

    # Two dialers on one socket: closing one leaves the other's pipe.
    extra = clients[1].dial(dial_url(listeners[1]), block=True)
    wait_until(lambda: len(clients[1].pipes) == 2)
    kept = [p.id for p in clients[1].pipes if p.dialer.id == extra.id]
    dialers[1].close()
    wait_until(lambda: len(clients[1].pipes) == 1)
    assert [p.id for p in clients[1].pipes] == kept
    clients[1].send(b"through the other dialer")
    assert server.recv() == b"through the other dialer"


@pytest.mark.parametrize("transport", ["tcp", "ipc", "ws"])
def test_a_closing_listener_gives_a_redialing_peer_no_pipe(transport, socks, make_url):
    """A peer redials the moment the listening socket's close drops its
    pipe; its connection may arrive before the listener's descriptor is
    let go.  The closing listener must not answer it: a pipe handed to the
    peer then would die at once, with whatever the peer sent into it.  So
    the peer's pipes opened are exactly the listening sockets it met."""
    port = free_tcp_port()
    url = {"tcp": "tcp://127.0.0.1:%d" % port, "ipc": make_url("ipc"),
           "ws": "ws://127.0.0.1:%d/closing" % port}[transport]
    rounds = 40
    push = socks(Push0, reconnect_time_min=1, reconnect_time_max=5)
    push.dial(url, block=False)
    for i in range(rounds):
        pull = Pull0(listen=url, recv_timeout=5000)
        try:
            wait_until(lambda: len(push.pipes) == 1, timeout=10)
            push.send(b"round %d" % i)
            assert pull.recv() == b"round %d" % i
        finally:
            pull.close()
        wait_until(lambda: not push.pipes, timeout=10)
    assert push.stats["pipes_opened"] == rounds


def test_a_socket_closes_many_endpoints_and_lets_their_addresses_go(socks):
    """Closing a socket closes all its endpoints before it waits for their
    descriptors to be let go: every address it listened on can be listened
    on again at once, and every peer of its dialers sees its pipe close."""
    owner = Pull0()
    listeners = [owner.listen("tcp://127.0.0.1:0") for _ in range(20)]
    ports = [listener.port for listener in listeners]
    peer = socks(Push0)
    for port in ports[:10]:
        peer.dial("tcp://127.0.0.1:%d" % port, block=True)
    target = socks(Push0)
    target_listener = target.listen("tcp://127.0.0.1:0")
    for _ in range(300):
        owner.dial("tcp://127.0.0.1:%d" % target_listener.port, block=False)
    wait_until(lambda: len(target.pipes) == 300 and len(owner.pipes) == 310, timeout=20)

    owner.close()
    again = socks(Pull0)
    for port in ports:
        again.listen("tcp://127.0.0.1:%d" % port)  # AddressInUse if one were held
    wait_until(lambda: len(target.pipes) == 0, timeout=10)
    wait_until(lambda: len(peer.pipes) == 10, timeout=10)  # redialed, to the new socket
    peer.send(b"to the socket that listens there now")
    assert again.recv() == b"to the socket that listens there now"

"""What a pynng program meets: pynng's newer async API (aclose, async with
on every object, async for), a Socket.pipes that other threads may change,
and the errors it catches.  Where pynng behaves some way, the same code
runs against pynng too and shows ours matches."""
import threading
import time

import pynng
import pytest

import pynng_core
from pynng_core import (BadType, Closed, Message, Pair0, Pair1, Pub0, Pull0, Push0, ReadOnly,
                        Rep0, Req0, Sub0)
from peers import wait_until
from protocol_peers import FAST_RECONNECT, connect_one, dial_url, recv_all, sock
from test_async import AsyncioLib, TrioLib

# Nothing here depends on the I/O poller.
pytestmark = pytest.mark.one_poller

LIBS = {"pynng": pynng, "pynng_core": pynng_core}


@pytest.fixture(params=["asyncio", "trio"])
def alib(request):
    return AsyncioLib() if request.param == "asyncio" else TrioLib()


@pytest.fixture(params=sorted(LIBS))
def lib(request):
    return LIBS[request.param]


# --------------------------------------------------------------------------
# Point 4: aclose, async with, async for, Socket.pipes under change


def closing_thread(obj):
    """Records the thread obj.close() runs on (an instance attribute wins)."""
    threads = []
    close = obj.close

    def recording_close():
        threads.append(threading.get_ident())
        close()

    obj.close = recording_close
    return threads


def test_aclose_closes_socket_and_context_off_the_loop_thread(alib, make_url):
    url = make_url("tcp")

    async def main():
        rep = sock(Rep0, listen=url)
        ctx = rep.new_context()
        loop_thread = threading.get_ident()
        ctx_threads, rep_threads = closing_thread(ctx), closing_thread(rep)

        async def waiter():
            with pytest.raises(Closed):
                await ctx.arecv()

        async def closer():
            await alib.sleep(0.05)
            await ctx.aclose()
            await rep.aclose()

        await alib.guard(5, lambda: alib.gather(waiter, closer))
        assert ctx_threads and rep_threads
        assert loop_thread not in ctx_threads + rep_threads
        await rep.aclose()  # twice: harmless
        await ctx.aclose()
        with pytest.raises(Closed):
            rep.send(b"x")
        # the port is free again at once, as after close()
        sock(Rep0, listen=url).close()

    alib.run(main)


def test_async_with_on_dialer_and_listener(alib, make_url):
    url = make_url("tcp")

    async def main():
        with sock(Pair0) as server, sock(Pair0, **FAST_RECONNECT) as client:
            async with server.listen(url) as listener:
                async with client.dial(url) as dialer:
                    await client.asend(b"through")
                    assert await server.arecv() == b"through"
                    assert server.listeners == [listener]
                assert client.dialers == []
                wait_until(lambda: not server.pipes, message="the dialer's pipe stayed")
            assert server.listeners == []
            # the address is free again at once
            sock(Pair0, listen=url).close()
            for endpoint in (listener, dialer):
                endpoint.close()  # a second and third close: harmless
                await endpoint.aclose()

    alib.run(main)


def test_dialer_and_listener_close_twice(make_url):
    url = make_url("ipc")
    with sock(Pair0) as server, sock(Pair0) as client:
        listener = server.listen(url)
        dialer = client.dial(url)
        for _ in range(2):
            dialer.close()
            listener.close()
        assert (server.listeners, client.dialers) == ([], [])


@pytest.mark.parametrize("closer", ["aclose", "another thread"])
def test_async_for_ends_when_closed_while_waiting(alib, make_url, closer):
    url = make_url("inproc")

    async def main():
        pull = sock(Pull0, listen=url)
        push = sock(Push0, dial=url)
        got = []

        async def consume():
            async for msg in pull:  # ends with no exception
                got.append(msg)
            return "ended"

        async def produce_then_close():
            await push.asend(b"one")
            await push.asend(b"two")
            while len(got) < 2:
                await alib.sleep(0.01)
            await alib.sleep(0.05)  # the loop is waiting in arecv again
            if closer == "aclose":
                await pull.aclose()
            else:
                timer = threading.Timer(0, pull.close)
                timer.start()
                await alib.run_in_thread(timer.join)

        ended, _ = await alib.guard(5, lambda: alib.gather(consume, produce_then_close))
        assert ended == "ended"
        assert got == [b"one", b"two"]
        push.close()

    alib.run(main)


def test_async_for_on_a_context_ends_when_it_closes(alib, make_url):
    async def main():
        with sock(Rep0, listen=make_url("inproc")) as rep:
            ctx = rep.new_context()

            async def consume():
                return [m async for m in ctx]

            async def closer():
                await alib.sleep(0.05)
                await ctx.aclose()

            got, _ = await alib.guard(5, lambda: alib.gather(consume, closer))
            assert got == []

    alib.run(main)


PIPE_ATTRIBUTES = ("id", "socket", "local_address", "remote_address", "closed")


@pytest.mark.parametrize("watched", [False, True], ids=["no callbacks", "callbacks"])
def test_pipes_readable_while_connections_come_and_go(make_url, watched):
    """One thread dials and closes connection after connection, another
    reads sock.pipes and every Pipe's attributes meanwhile (the pipe events
    thread changes the socket's table too when callbacks are watched)."""
    server = sock(Pair1, polyamorous=True)
    url = dial_url(server.listen("tcp://127.0.0.1:0"))
    removed = []
    if watched:
        server.add_post_pipe_connect_cb(lambda pipe: pipe.closed)
        server.add_post_pipe_remove_cb(lambda pipe: removed.append(pipe.id))
    stop = threading.Event()
    errors, reads = [], [0]

    def churn():
        try:
            for _ in range(150):
                with Pair1(dial=url) as client:
                    client.send(b"hello")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            stop.set()

    def read():
        try:
            while not stop.is_set():
                for pipe in server.pipes:
                    for name in PIPE_ATTRIBUTES:
                        getattr(pipe, name)
                    try:
                        pipe.listener
                    except Closed:
                        pass  # gone meanwhile
                reads[0] += 1
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=churn), threading.Thread(target=read)]
    for t in threads:
        t.start()
    while not stop.is_set():  # and this thread looks up each Message's pipe
        for msg in ready_messages(server):
            assert msg.pipe.id == msg.pipe_id
        time.sleep(0.001)
    for t in threads:
        t.join()
    assert errors == []
    assert reads[0] > 0
    # A pipe whose messages wait unread is not read on: its end unseen.
    wait_until(lambda: not ready_messages(server) and not server.pipes)
    if watched:
        wait_until(lambda: len(removed) == 150)
    # The table of Pipe objects kept about the live ones, not all 150.
    new_client = sock(Pair1)
    spipe, _ = connect_one(server, new_client, url)
    assert server.pipes == [spipe] and server.pipes[0] is spipe
    assert len(server._pipes._pipes) <= 64
    new_client.close()
    server.close()


def ready_messages(s):
    """The messages ready now, as Messages (empty when none)."""
    out = []
    while True:
        try:
            out.append(s.recv_msg(block=False))
        except pynng_core.TryAgain:
            return out


def test_a_pipe_keeps_its_object_while_it_lasts(make_url):
    url = make_url("tcp")
    with sock(Pair0, listen=url) as server, sock(Pair0, dial=url) as client:
        wait_until(lambda: server.pipes)
        client.send(b"x")
        assert server.recv_msg().pipe is server.pipes[0]


# --------------------------------------------------------------------------
# Point 5: the errors a pynng program catches


def test_send_of_str_is_a_value_error_with_a_hint(lib, make_url):
    url = make_url("inproc")
    with lib.Pair0(listen=url) as a, lib.Pair0(dial=url) as b:
        wait_until(lambda: a.pipes)
        for send in (a.send, a.pipes[0].send):
            with pytest.raises(ValueError, match=r'\.encode\(\)'):
                send("text")
        b.send(b"still fine")
        assert a.recv() == b"still fine"


def test_our_message_and_send_msg_refuse_str_the_same_way():
    """BadType: a ValueError (pynng's send) and a TypeError (pynng's Message)."""
    with pytest.raises(BadType, match=r'Message: cannot send type str.*\.encode\(\)'):
        Message("text")
    with Pair0() as s:
        with pytest.raises(BadType, match=r'send_msg: cannot send type str'):
            s.send_msg("text")
        with pytest.raises(TypeError, match=r'send: cannot send type str'):
            s.send("text")
        with pytest.raises(TypeError, match="send_msg takes a Message, not bytes"):
            s.send_msg(b"bytes")
        with pytest.raises(TypeError, match="send: a message is bytes or a buffer.*not int"):
            s.send(3)


def test_asend_of_str_is_a_value_error(alib, lib):
    async def main():
        with lib.Pair0() as s:
            with pytest.raises(ValueError, match=r'\.encode\(\)'):
                await s.asend("text")
            if lib is pynng_core:
                with pytest.raises(ValueError, match=r'asend_msg: cannot send type str'):
                    await s.asend_msg("text")

    alib.run(main)


@pytest.mark.parametrize("attr, value", [("protocol", 1), ("raw", True), ("peer", 3),
                                         ("protocol_name", "x")])
def test_setting_a_read_only_option_raises_read_only(lib, attr, value):
    with lib.Pair0() as s:
        before = getattr(s, attr)
        with pytest.raises(lib.ReadOnly):
            setattr(s, attr, value)
        assert getattr(s, attr) == before


def test_read_only_is_an_attribute_error_naming_the_attribute(make_url):
    assert issubclass(ReadOnly, AttributeError)
    url = make_url("tcp")
    with sock(Pair0) as server, sock(Pair0, dial=url, block_on_dial=False) as client:
        listener = server.listen(url)
        wait_until(lambda: server.pipes)
        targets = [(server, "protocol"), (server, "protocol_name"), (server, "id"),
                   (listener, "port"), (listener, "local_address"), (listener, "id"),
                   (client.dialers[0], "peer_name"), (server.pipes[0], "closed"),
                   (server.pipes[0], "tcp_keepalive"), (sock(Rep0).new_context(), "id")]
        for obj, attr in targets:
            with pytest.raises(AttributeError, match="%s cannot be set" % attr) as info:
                setattr(obj, attr, 1)
            assert type(info.value) is ReadOnly, (obj, attr)


# (attribute, value, what pynng raises); ours is BadType, a TypeError and a
# ValueError both, so a handler written for either catches it.
WRONG_TYPES = [
    ("recv_timeout", "x", ValueError),
    ("recv_timeout", 1.5, ValueError),
    ("recv_timeout", None, TypeError),
    ("send_timeout", "100", ValueError),
    ("recv_buffer_size", "x", ValueError),
    ("recv_max_size", "x", ValueError),
    ("reconnect_time_min", [], TypeError),
    ("tcp_nodelay", "x", TypeError),
    ("tcp_nodelay", None, TypeError),
    ("name", None, TypeError),
]


@pytest.mark.parametrize("attr, value, raised", WRONG_TYPES)
def test_wrong_option_type_raises_what_pynng_raises(lib, attr, value, raised):
    with lib.Pair0() as s:
        before = getattr(s, attr)
        with pytest.raises(raised):
            setattr(s, attr, value)
        assert getattr(s, attr) == before


@pytest.mark.parametrize("attr, value, raised", WRONG_TYPES)
def test_our_wrong_option_type_is_bad_type_naming_option_and_value(attr, value, raised):
    with Pair0() as s:
        with pytest.raises(BadType, match="%s must be .*, not %s" % (attr, repr(value).replace(
                "[", r"\[").replace("]", r"\]").replace(".", r"\."))) as info:
            setattr(s, attr, value)
        assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)


def test_option_values_pynng_takes_we_take(lib):
    with lib.Pair0() as s:
        s.recv_timeout = 2.0
        s.recv_buffer_size = True
        s.name = b"bytes-name"
        assert (s.recv_timeout, s.recv_buffer_size, s.name) == (2, 1, "bytes-name")


@pytest.mark.parametrize("bad", [3, None, 1.5])
def test_subscribe_to_a_non_topic_is_a_type_error(lib, bad):
    with lib.Sub0() as s:
        with pytest.raises(TypeError):
            s.subscribe(bad)


def test_our_topic_errors_name_the_value(make_url):
    with Sub0() as s:
        ctx = s.new_context()
        for call in (s.subscribe, s.unsubscribe, ctx.subscribe, ctx.unsubscribe):
            with pytest.raises(TypeError, match="a topic is str or bytes, not 3$"):
                call(3)
        with pytest.raises(TypeError, match="topics is a topic .* not 3$"):
            Sub0(topics=3)
    # No subscription to b"\0\0\0" was made: such a message is not received.
    url = make_url("inproc")
    with sock(Pub0, listen=url) as pub, sock(Sub0, dial=url, recv_timeout=200) as sub:
        with pytest.raises(TypeError):
            sub.subscribe(3)
        sub.subscribe(bytearray(b"ab"))
        sub.subscribe(memoryview(b"cd"))
        for payload in (b"\0\0\0zero", b"abc", b"xyz", b"cde"):
            pub.send(payload)
        assert recv_all(sub) == [b"abc", b"cde"]
    with Sub0(topics=(t for t in ["a", b"b"])):
        pass  # any iterable of topics, as pynng


# Protocols whose sockets honour a send addressed to one pipe (Pipe.send,
# Message(pipe=)): (socket, peer, socket keywords).
ADDRESSED = [(Pair0, Pair0, {}), (Pair1, Pair1, {}), (Pair1, Pair1, {"polyamorous": True}),
             (Push0, Pull0, {}), (Pub0, Sub0, {}), (pynng_core.Bus0, pynng_core.Bus0, {}),
             (pynng_core.Surveyor0, pynng_core.Respondent0, {})]


@pytest.mark.parametrize("cls, peer_cls, kwargs", ADDRESSED,
                         ids=lambda v: getattr(v, "__name__", None) or repr(v))
@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_pipe_send_to_a_gone_peer_raises_closed(cls, peer_cls, kwargs, transport, make_url):
    url = make_url(transport)
    server = sock(cls, listen=url, **kwargs)
    peer = sock(peer_cls, dial=url)
    if peer_cls is Sub0:
        peer.subscribe(b"")
    wait_until(lambda: server.pipes)
    gone = server.pipes[0]
    peer.close()
    wait_until(lambda: gone.closed)
    with pytest.raises(Closed, match="send_msg to pipe %d on" % gone.id):
        gone.send(b"lost?")
    msg = Message(b"kept", pipe=gone)
    with pytest.raises(Closed, match="send_msg to pipe %d" % gone.id):
        server.send_msg(msg)
    # The message is still the sender's: it goes to a live peer instead.
    other = sock(peer_cls, dial=url)
    if peer_cls is Sub0:
        other.subscribe(b"")
    wait_until(lambda: server.pipes)
    msg.pipe = server.pipes[0]
    server.send_msg(msg)
    assert other.recv() == b"kept"
    other.close()
    server.close()


def test_async_pipe_send_to_a_gone_peer_raises_closed(alib, make_url):
    url = make_url("tcp")

    async def main():
        with sock(Pair1, listen=url, polyamorous=True) as server:
            with sock(Pair1, dial=url):
                wait_until(lambda: server.pipes)
                gone = server.pipes[0]
            wait_until(lambda: gone.closed)
            with pytest.raises(Closed, match="asend_msg to pipe %d" % gone.id):
                await gone.asend(b"lost?")
            with pytest.raises(Closed, match="asend_msg to pipe %d" % gone.id):
                await server.asend_msg(Message(b"lost?", pipe=gone))

    alib.run(main)


def test_rep_reply_to_a_gone_requester(make_url):
    """A reply the protocol routes (send) to a requester that left is
    dropped, as nng (the requester resends); one addressed to that pipe by
    the caller (Pipe.send) raises."""
    url = make_url("tcp")

    def request_from_a_gone_requester():
        with sock(Req0, dial=url) as req:
            req.send(b"request")
            msg = rep.recv_msg()
        wait_until(lambda: msg.pipe.closed)
        return msg

    with sock(Rep0, listen=url) as rep:
        request_from_a_gone_requester()
        rep.send(b"reply")  # dropped
        msg = request_from_a_gone_requester()
        with pytest.raises(Closed, match="to pipe %d" % msg.pipe.id):
            msg.pipe.send(b"reply")


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_second_pair0_dialer_waits_its_turn(lib, transport, make_url):
    """A second Pair0 dialing one already paired: the dial succeeds and
    keeps trying; when the first peer goes, the second is paired."""
    url = make_url(transport)
    with lib.Pair0(listen=url, recv_timeout=200) as server, \
            lib.Pair0(dial=url, recv_timeout=200) as first, \
            lib.Pair0(recv_timeout=200, **FAST_RECONNECT) as second:
        assert send_until_received(lib, first, server, b"from first")
        dialer = second.dial(url)
        assert isinstance(dialer, lib.Dialer)
        time.sleep(0.1)
        first.close()
        assert send_until_received(lib, second, server, b"from second")
        assert send_until_received(lib, server, second, b"to second")


def send_until_received(lib, sender, receiver, payload):
    """Sends until ``receiver`` gets it: a message sent on a connection the
    listener is refusing goes with that connection (nng and ours alike)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sender.send(payload)
        try:
            return receiver.recv() == payload
        except lib.Timeout:
            continue
    return False


# pynng names that `from pynng import *` gives and ours does not: its cffi
# FFI (ours is another library's; its `lib` has the openers pynng programs
# name) and its implementation module nng.
NOT_OURS = {"ffi", "nng"}


def star_names(module_name):
    namespace = {}
    exec("from %s import *" % module_name, namespace)
    return set(namespace) - {"__builtins__"}


def test_star_import_gives_public_names_and_pynng_s():
    ours = star_names("pynng_core")
    assert not [n for n in ours if n.startswith("_")]
    modules = {n for n in ours if type(getattr(pynng_core, n)) is type(pynng_core)}
    assert modules == {"exceptions", "options", "sockaddr", "tls"}
    assert "check" not in ours and "exception_for" not in ours
    assert star_names("pynng") - ours <= NOT_OURS

"""A user's program, typed: every public call of pynng_core, each result
assigned to the type a user expects, so that ``mypy --strict`` checks the
types users meet (.ci/typecheck.py; test_typing.py runs mypy on it too).
It also runs (test_typing.py runs it as a program): the calls are real,
over inproc:// and tcp://127.0.0.1.

    PYTHONPATH=src python3 tests/typed_usage.py
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pynng_core
from pynng_core import (
    AbstractAddr, Bus0, Context, Dialer, In6Addr, InAddr, InprocAddr, IPCAddr, Listener,
    Message, Pair0, Pair1, Pipe, Pub0, Pull0, Push0, Rep0, Req0, Respondent0, SockAddr,
    Socket, Sub0, Surveyor0, TLSConfig, device, exceptions, options, sockaddr, tls)

ADDRESS = "inproc://typed_usage"
SHORT_MS = 100


def sockets_and_options() -> None:
    version: str = pynng_core.__version__
    assert version
    with Pair0(listen=ADDRESS, recv_timeout=1000, send_timeout=1000, name="typed") as a, \
            Pair0(dial=ADDRESS, recv_buffer_size=4, send_buffer_size=4, recv_max_size=0,
                  reconnect_time_min=10, reconnect_time_max=100, block_on_dial=True) as b:
        timeout: int = a.recv_timeout
        a.send_timeout = timeout
        name: str = a.name
        a.name = name + "!"
        nodelay: bool = a.tcp_nodelay
        a.tcp_nodelay = not nodelay
        keepalive: bool = a.tcp_keepalive
        a.tcp_keepalive = keepalive
        sizes: list[int] = [a.recv_buffer_size, a.send_buffer_size, a.recv_max_size,
                            a.reconnect_time_min, a.reconnect_time_max]
        numbers: list[int] = [a.protocol, a.peer, a.id, a.recv_fd, a.send_fd]
        raw: bool = a.raw
        names: tuple[str, str] = (a.protocol_name, a.peer_name)
        assert sizes and numbers and not raw and names == ("pair", "pair")

        a.send(b"bytes")
        data: bytes = b.recv()
        b.send(bytearray(b"any buffer"), block=True)
        buffer = bytearray(64)
        size: int = a.recv_into(buffer)
        assert data == b"bytes" and buffer[:size] == b"any buffer"
        sent: int = a.send_many([b"one", memoryview(b"two")])
        received: list[bytes] = b.recv_many(max_messages=2)
        assert sent == 2 and received[0] == b"one"
        while len(received) < 2:
            received += b.recv_many()

        messages_and_pipes(a, b)
        stats: dict[str, int] = a.stats
        assert stats
        a_socket: Socket = a
        assert a_socket.tls_config is None


def messages_and_pipes(a: Pair0, b: Pair0) -> None:
    msg = Message(b"zero copy")
    a.send_msg(msg)
    got: Message = b.recv_msg()
    body: bytes = got.bytes
    view: memoryview = got.buffer
    header: bytes = got.header
    length: int = len(got)
    assert body == bytes(got) == bytes(view) and header == b"" and length == 9
    pipe: Pipe | None = got.pipe
    assert pipe is not None
    pipe_id: int = got.pipe_id
    assert pipe_id == pipe.id
    got.close()
    with Message(size=4) as filled:
        filled.buffer[:] = b"full"
        b.send_msg(filled, block=False)
    assert a.recv() == b"full"
    reply = Message(b"to that pipe", pipe)
    reply.pipe = pipe
    b.send_msg(reply)
    assert a.recv() == b"to that pipe"

    pipes: list[Pipe] = b.pipes
    assert pipes == [pipe]
    owner: Socket = pipe.socket
    assert owner is b
    local: SockAddr | None = pipe.local_address
    remote: SockAddr | None = pipe.remote_address
    url: str | None = pipe.url
    dialer: Dialer | None = pipe.dialer
    assert local is not None and remote is not None and url == ADDRESS
    assert dialer is b.dialers[0]
    about: tuple[int, str, int, str] = (pipe.protocol, pipe.protocol_name, pipe.peer,
                                        pipe.peer_name)
    closed: bool = pipe.closed
    counters: dict[str, int] = pipe.stats
    assert about and not closed and counters
    pipe.send(b"pipe send")
    pipe.send_msg(Message(b"pipe send_msg"))
    assert a.recv() == b"pipe send" and a.recv() == b"pipe send_msg"
    try:
        verified: bool = pipe.tls_verified
        common_name: str = pipe.tls_peer_cn
        alt_names: list[str] = pipe.tls_peer_alt_names
        assert verified or common_name or alt_names
    except exceptions.NNGException as e:  # inproc has no TLS
        errno: int | None = e.errno
        assert errno
    listener: Listener | None = a.pipes[0].listener
    assert listener is a.listeners[0]


def endpoints() -> None:
    with Rep0() as rep, Req0(resend_time=1000) as req:
        listener: Listener = rep.listen("tcp://127.0.0.1:0")
        port: int = listener.port
        address: SockAddr = listener.local_address
        assert isinstance(address, InAddr)
        host: str = address.host
        port_number: int = address.port_number
        family: str = address.family_as_str
        assert port_number == port and host == "127.0.0.1" and family == "inet"
        dialer: Dialer = req.new_dialer("tcp://127.0.0.1:%d" % port)
        dialer.reconnect_time_min = 10
        dialer.start(block=True)
        remote: SockAddr | None = dialer.remote_address
        last: exceptions.NNGException | None = dialer.last_error
        assert remote is not None and last is None
        url: str = dialer.url
        ids: tuple[int, int] = (dialer.id, listener.id)
        owner: Socket = dialer.socket
        peer: str = dialer.peer_name
        assert url and ids and owner is req and peer == "rep"
        assert req.dialers == [dialer] and rep.listeners == [listener]
        req.resend_time = SHORT_MS * 10
        resend: int = req.resend_time
        assert resend == SHORT_MS * 10
        req.send(b"question")
        assert rep.recv() == b"question"
        rep.send(b"answer")
        assert req.recv() == b"answer"

        later: Listener = rep.new_listener("tcp://127.0.0.1:0")
        later.start(block=False)
        with later:
            assert later.tls_config is None
        dialer.close()

    addresses: list[SockAddr] = [
        InAddr(bytes(4), 1), In6Addr(bytes(16), 1), IPCAddr(b"/tmp/x"),
        InprocAddr(b"inproc://x"), AbstractAddr(b"x"), SockAddr()]
    texts: list[str] = [str(a) for a in addresses]
    path: str = IPCAddr(b"/tmp/x").path
    name: str = InprocAddr(b"inproc://x").name
    union = InAddr(bytes(4), 1).sock_addr
    kinds: dict[int, str] = SockAddr.type_to_str
    assert texts and path and name and union and kinds and sockaddr.SockAddr is SockAddr


def protocols_and_contexts() -> None:
    with Pub0(listen=ADDRESS) as pub, Sub0(dial=ADDRESS, topics=["a", b"b"]) as sub:
        sub.subscribe("c")
        sub.unsubscribe(b"c")
        sub.topics = "d"
        sub.recv_timeout = SHORT_MS
        try:
            sub.recv()
        except pynng_core.Timeout:
            pass
        context: Context = sub.new_context()
        with context:
            context.subscribe(b"")
            context.unsubscribe(b"")
            context.recv_timeout = SHORT_MS
            ctx_timeout: int = context.recv_timeout + context.send_timeout
            ctx_id: int = context.id
            owner: Socket = context.socket
            assert ctx_timeout and ctx_id and owner is sub
        assert pub.send_buffer_size >= 0

    with Push0(listen=ADDRESS) as push, Pull0(dial=ADDRESS) as pull:
        push.send(b"work")
        assert pull.recv() == b"work"
    with Surveyor0(listen=ADDRESS, survey_time=SHORT_MS) as surveyor, \
            Respondent0(dial=ADDRESS) as respondent:
        surveyor.survey_time = SHORT_MS * 5
        survey: int = surveyor.survey_time
        assert survey == SHORT_MS * 5
        surveyor.send(b"who?")
        assert respondent.recv() == b"who?"
        respondent.send(b"me")
        assert surveyor.recv() == b"me"
    with Bus0(listen=ADDRESS) as bus, Bus0(dial=ADDRESS) as other:
        other.send(b"everyone")
        assert bus.recv() == b"everyone"
    with Pair1(polyamorous=True, listen=ADDRESS) as pair1:
        poly: bool = pair1.polyamorous
        hops: int = pair1.ttl_max
        assert poly and hops
    with Socket(opener=pynng_core.lib.nng_pair0_open_raw) as opened:
        assert opened.raw


def callbacks_and_device() -> None:
    seen: list[Pipe] = []
    callback: Callable[[Pipe], None] = seen.append
    with Rep0(raw=True, listen=ADDRESS) as front, Req0(raw=True) as back:
        front.add_pre_pipe_connect_cb(callback)
        front.add_post_pipe_connect_cb(callback)
        front.add_post_pipe_remove_cb(callback)
        front.remove_pre_pipe_connect_cb(callback)
        front.remove_post_pipe_connect_cb(callback)
        front.remove_post_pipe_remove_cb(callback)
        back.listen(ADDRESS + "-back")
        forwarding = threading.Thread(target=device, args=(front, back))
        forwarding.start()
        with Req0(dial=ADDRESS) as client, Rep0(dial=ADDRESS + "-back") as server:
            client.send(b"via the device")
            assert server.recv() == b"via the device"
        front.close()
        forwarding.join()


def exceptions_and_options() -> None:
    with Pair0(recv_timeout=SHORT_MS) as sock:
        try:
            sock.recv(block=False)
        except pynng_core.TryAgain as e:
            code: int = e.code
            assert code == pynng_core.TryAgain.code
        try:
            sock.recv()
        except TimeoutError as e:
            assert isinstance(e, exceptions.Timeout)
        error_class: type[exceptions.NNGException] = exceptions.EXCEPTION_MAP[7]
        assert error_class is pynng_core.Closed
        try:
            exceptions.check_err(5)
        except pynng_core.NNGException as e:
            assert e.errno == 5
        timeout: int = options._getopt_int(sock, "recv-timeout")
        options._setopt_int(sock, "recv-timeout", timeout)
        nodelay: bool = options._getopt_bool(sock, "tcp-nodelay")
        options._setopt_bool(sock, "tcp-nodelay", nodelay)
        name: str = options._getopt_string(sock, "socket-name")
        options._setopt_string(sock, "socket-name", name)
        ms: int = options._getopt_ms(sock, "send-timeout")
        options._setopt_ms(sock, "send-timeout", ms)
        size: int = options._getopt_size(sock, "recv-size-max")
        options._setopt_size(sock, "recv-size-max", size)
    try:
        Pair0().dial("tcp://127.0.0.1:1", block=True)
    except pynng_core.ConnectionRefused:
        pass


def tls_configs() -> None:
    engine: str | None = tls.engine()
    if engine is None:  # a build without OpenSSL: TLSConfig says NotSupported
        return
    client = TLSConfig(TLSConfig.MODE_CLIENT, server_name="localhost",
                       auth_mode=TLSConfig.AUTH_MODE_OPTIONAL)
    client.set_server_name("example.org")
    client.set_auth_mode(TLSConfig.AUTH_MODE_REQUIRED)
    failing: list[Callable[[], None]] = [
        lambda: client.set_ca_chain("not PEM"),
        lambda: client.set_own_cert("not PEM", "not PEM"),
        lambda: client.add_ca_file("/no/such/file"),
        lambda: client.set_cert_key_file("/no/such/file", passwd="")]
    for call in failing:
        try:
            call()
        except exceptions.NNGException:
            pass
    with Pair0(tls_config=client) as sock:
        config: TLSConfig | None = sock.tls_config
        assert config is client
        dialer: Dialer = sock.new_dialer("tls+tcp://127.0.0.1:1", tls_config=client)
        try:
            dialer.tls_ca_file = "/no/such/file"
        except exceptions.NNGException:
            pass


async def async_calls() -> None:
    async with Pair0(listen=ADDRESS, async_backend="asyncio") as a, Pair0(dial=ADDRESS) as b:
        await a.asend(b"async")
        data: bytes = await b.arecv()
        await b.asend_msg(Message(data))
        msg: Message = await a.arecv_msg()
        sent: int = await a.asend_many([b"1", b"2"])
        batch: list[bytes] = await b.arecv_many(max_messages=2)
        assert msg.bytes == b"async" and sent == 2 and batch
        pipe = a.pipes[0]
        await pipe.asend(b"pipe")
        await pipe.asend_msg(Message(b"pipe msg"))
        received: list[bytes] = list(batch)
        while b"pipe msg" not in received:
            received.append(await b.arecv())
    async with Rep0(listen=ADDRESS) as rep, Req0(dial=ADDRESS) as req:
        context = req.new_context()
        async with context:
            await context.asend(b"from a context")
            async for message in rep:
                text: bytes = message
                assert text == b"from a context"
                await rep.asend(b"reply")
                break
            reply: Message = await context.arecv_msg()
            assert reply.bytes == b"reply"
        listener: Listener = rep.listeners[0]
        await listener.aclose()
        await req.aclose()


def main() -> None:
    sockets_and_options()
    endpoints()
    protocols_and_contexts()
    callbacks_and_device()
    exceptions_and_options()
    tls_configs()
    asyncio.run(async_calls())
    print("typed_usage: every call ran")


if __name__ == "__main__":
    main()

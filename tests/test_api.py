"""Unit tests of the public pynng_core API (pynng-compatible plus additions)."""

import array
import gc
import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import pynng_core
from pynng_core import (
    AddressInUse, AddressInvalid, Closed, ConnectionRefused, InvalidOperation,
    Message, MessageStateError, NNGException, NotSupported, Pair0, Pair1,
    Pull0, Push0, Timeout, TryAgain,
)
from peers import (
    DEFAULT_TIMEOUT, SOCKET_TIMEOUT_MS, interruptible_popen, ipc_path, is_listening, mixed_burst,
    tcp_url, transfer, wait_until, wakeups_of,
)
from platform_probes import ipc_missing, posix_signals_missing, skip_unless, unix_sockets_missing

TRANSPORTS = ["tcp", "ipc", "inproc"]
STREAM_TRANSPORTS = ["tcp", "ipc"]
FAST_RECONNECT = dict(reconnect_time_min=20, reconnect_time_max=100)


def sock(cls=Pair0, **kwargs):
    """A socket whose blocking calls give up (Timeout) instead of hanging."""
    kwargs.setdefault("recv_timeout", SOCKET_TIMEOUT_MS)
    kwargs.setdefault("send_timeout", SOCKET_TIMEOUT_MS)
    return cls(**kwargs)


class Connected:
    """Two sockets, one listening on url and one dialing it (block=True)."""

    def __init__(self, url, listener_cls=Pair0, dialer_cls=Pair0, **kwargs):
        self.url = url
        self.listener = sock(listener_cls, **kwargs)
        self.dialer = sock(dialer_cls, **kwargs)
        try:
            self.listener.listen(url)
            self.dialer.dial(url, block=True)
        except BaseException:
            self.close()
            raise

    def close(self):
        self.dialer.close()
        self.listener.close()

    def __enter__(self):
        return self.listener, self.dialer

    def __exit__(self, *exc):
        self.close()


def assert_flows(sender, receiver, payload=b"ping"):
    sender.send(payload)
    assert receiver.recv() == payload


def flows_eventually(sender, receiver, payload):
    """Send payload until one copy arrives.  After a peer restarts, the
    sender may give the first messages to the dead connection before it
    notices the close; those are lost, as with libnng.  Then one more
    message must flow with no retry."""
    saved = receiver.recv_timeout
    receiver.recv_timeout = 100
    try:
        deadline = time.monotonic() + DEFAULT_TIMEOUT
        while True:
            sender.send(payload)
            try:
                if receiver.recv() == payload:
                    break
            except Timeout:
                assert time.monotonic() < deadline, "%r never arrived" % payload
    finally:
        receiver.recv_timeout = saved
    while True:  # drop duplicates still on their way
        sender.send(b"sync")
        msg = receiver.recv()
        if msg == b"sync":
            break
        assert msg == payload


def raises_mentioning(exc_class, text):
    """pytest.raises that also checks str(exc) names ``text``."""
    class _Ctx:
        def __enter__(self):
            self.ctx = pytest.raises(exc_class)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = self.ctx.__exit__(*exc)
            if suppressed:
                assert text in str(self.info.value), (
                    "%s message %r does not mention %r" % (exc_class.__name__, str(self.info.value), text))
            return suppressed
    return _Ctx()


# --------------------------------------------------------------------------
# Sending and receiving


BUFFERS = {
    "bytes": lambda: b"plain bytes \x00\xff",
    "bytearray": lambda: bytearray(b"a bytearray \x00\xff"),
    "memoryview": lambda: memoryview(b"a memoryview \x00\xff"),
    "memoryview-slice": lambda: memoryview(b"0123456789 sliced view 0123456789")[11:22],
    "array-int32": lambda: array.array("i", range(-50, 50)),
    "array-double": lambda: array.array("d", [1.5, -2.25, 1e300]),
    "memoryview-2d": lambda: memoryview(bytearray(range(24))).cast("B", (4, 6)),
}


@pytest.mark.parametrize("kind", sorted(BUFFERS))
def test_send_buffer_protocol_objects(kind, make_url):
    obj = BUFFERS[kind]()
    expected = memoryview(obj).tobytes()
    with Connected(make_url("inproc")) as (a, b):
        a.send(obj)
        got = b.recv()
    assert type(got) is bytes
    assert got == expected


def test_send_numpy_array(make_url):
    numpy = pytest.importorskip("numpy")
    arr = numpy.arange(1000, dtype=numpy.float64).reshape(10, 100)
    with Connected(make_url("tcp")) as (a, b):
        a.send(arr)
        got = b.recv()
    assert numpy.array_equal(numpy.frombuffer(got, dtype=numpy.float64).reshape(10, 100), arr)


def test_send_rejects_non_buffers(make_url):
    with Connected(make_url("inproc")) as (a, b):
        for bad in ("a str", 12, None, [1, 2]):
            with pytest.raises(TypeError):
                a.send(bad)
        assert_flows(a, b)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_empty_message(transport, make_url):
    with Connected(make_url(transport)) as (a, b):
        a.send(b"")
        assert b.recv() == b""
        b.send(b"")
        assert a.recv() == b""
        assert_flows(a, b, b"after empty")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_small_size_arrives_whole(transport, make_url):
    # Every size up to 39 and around 2 KiB, then one byte at a time without
    # blocking.
    sizes = list(range(40)) + [2047, 2048, 2049, 70000] + list(range(39, -1, -3))
    payloads = [os.urandom(n) for n in sizes]
    with Connected(make_url(transport), Pull0, Push0) as (pull, push):
        assert transfer(push, pull, payloads) == payloads
        for payload in (b"1", b"", b"22"):
            push.send(payload)
            assert _collect_from([pull], 1) == {0: [payload]}


@pytest.mark.parametrize("transport", STREAM_TRANSPORTS)
def test_frames_around_the_read_in_place_size_arrive_whole(transport, make_url):
    # A frame of 32 KiB or more is read straight into its message from
    # wherever the read buffer ends; the small ones between come through the
    # buffer.  Read both by a waiting receiver (transfer) and by the I/O
    # thread (all sent before any receive).
    sizes = [1, 32767, 32768, 32769, 3, 70000, 65536, 0, 40000, 300000, 5, 32768]
    payloads = [os.urandom(n) for n in sizes]
    with Connected(make_url(transport), Pull0, Push0, recv_buffer_size=len(sizes)) as (pull, push):
        assert transfer(push, pull, payloads) == payloads
        for payload in payloads:
            push.send(payload)
        assert [pull.recv() for _ in payloads] == payloads


@pytest.mark.parametrize("size", [(1 << 20) + 17, 8 << 20])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_large_message(transport, size, make_url):
    payload = os.urandom(size)
    with Connected(make_url(transport)) as (a, b):
        assert transfer(a, b, [payload]) == [payload]
        assert transfer(b, a, [payload[::-1], b"small"]) == [payload[::-1], b"small"]


def test_many_messages_keep_order(make_url):
    msgs = [b"%05d" % i * (i % 40 + 1) for i in range(2000)]
    with Connected(make_url("tcp"), Pull0, Push0) as (pull, push):
        assert transfer(push, pull, msgs) == msgs


@pytest.mark.parametrize("transport", STREAM_TRANSPORTS)
def test_a_burst_of_mixed_sizes_arrives_whole_and_in_order(transport, make_url):
    msgs = mixed_burst(3000)
    with Connected(make_url(transport), Pull0, Push0) as (pull, push):
        assert transfer(push, pull, msgs) == msgs


# --------------------------------------------------------------------------
# recv_into


def test_recv_into_truncates_and_returns_full_length(make_url):
    payload = bytes(range(100))
    with Connected(make_url("inproc")) as (a, b):
        a.send(payload)
        buf = bytearray(10)
        n = b.recv_into(buf)
        assert n == 100
        assert buf == payload[:10]
        # The rest of the message is gone; the next message is intact.
        a.send(b"next")
        buf = bytearray(10)
        assert b.recv_into(buf) == 4
        assert buf[:4] == b"next"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_recv_into_larger_buffer(transport, make_url):
    payload = b"exact payload \x00\xff"
    with Connected(make_url(transport)) as (a, b):
        a.send(payload)
        buf = bytearray(b"\xee" * 100)
        n = b.recv_into(buf)
        assert n == len(payload)
        assert buf[:n] == payload
        assert buf[n:] == b"\xee" * (100 - n)


def test_recv_into_other_writable_buffers(make_url):
    with Connected(make_url("inproc")) as (a, b):
        payload = array.array("i", [7, -8, 9])
        a.send(payload)
        target = array.array("i", [0, 0, 0, 0])
        assert b.recv_into(target) == 12
        assert target.tolist() == [7, -8, 9, 0]

        a.send(b"into a view")
        backing = bytearray(b"." * 20)
        assert b.recv_into(memoryview(backing)[5:]) == 11
        assert backing == b".....into a view...."


def test_recv_into_needs_writable_buffer(make_url):
    with Connected(make_url("inproc")) as (a, b):
        with pytest.raises(TypeError):
            b.recv_into(b"read-only bytes")


def test_recv_into_nonblocking_and_timeout(make_url):
    with Connected(make_url("inproc")) as (a, b):
        with pytest.raises(TryAgain):
            b.recv_into(bytearray(10), block=False)
        b.recv_timeout = 50
        with pytest.raises(Timeout):
            b.recv_into(bytearray(10))


# --------------------------------------------------------------------------
# Messages


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_recv_msg_zero_copy(transport, make_url):
    payload = b"zero copy \x00\xff" * 100
    with Connected(make_url(transport)) as (a, b):
        a.send(payload)
        msg = b.recv_msg()
        view = msg.buffer
        assert isinstance(view, memoryview)
        assert not view.readonly
        assert len(msg) == len(payload) == len(view)
        assert view.tobytes() == payload
        assert msg.bytes == payload
        assert type(msg.bytes) is bytes
        # The buffer is the message's own memory: writes show in msg.bytes,
        # and not in the copies it made before.
        before = msg.bytes
        view[0:4] = b"ZERO"
        assert msg.bytes == b"ZERO" + payload[4:]
        assert before == payload
        view.release()
        msg.close()
        for use in (lambda: msg.bytes, lambda: msg.buffer, lambda: a.send_msg(msg)):
            with pytest.raises(MessageStateError):
                use()
        msg.close()  # closing twice is harmless


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_received_buffer_outlives_its_message(transport, make_url):
    payloads = [os.urandom(n) for n in (100, 70000)]
    with Connected(make_url(transport)) as (a, b):
        views = []
        for payload in payloads:
            a.send(payload)
            msg = b.recv_msg()
            views.append(msg.buffer)
            del msg  # the view holds the memory now
        gc.collect()
        a.send(b"after")  # memory freed too soon would be reused here
        assert b.recv_msg().bytes == b"after"
        assert [v.tobytes() for v in views] == payloads


def test_recv_msg_context_manager(make_url):
    with Connected(make_url("inproc")) as (a, b):
        a.send(b"in a with block")
        with b.recv_msg() as msg:
            assert msg.bytes == b"in a with block"
        with pytest.raises(MessageStateError):
            msg.bytes


def test_received_message_can_be_forwarded(make_url):
    with Connected(make_url("inproc")) as (a, b):
        a.send(b"round trip")
        msg = b.recv_msg()
        b.send_msg(msg)
        assert a.recv() == b"round trip"
        with pytest.raises(MessageStateError):
            msg.bytes


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_message_from_data(transport, make_url):
    data = bytearray(b"copied in")
    msg = Message(data)
    data[0:6] = b"CHANGE"  # Message(data) copied it
    assert msg.bytes == b"copied in"
    assert len(msg) == 9
    with Connected(make_url(transport)) as (a, b):
        a.send_msg(msg)
        assert b.recv() == b"copied in"
        # send_msg consumed it.
        for use in (lambda: a.send_msg(msg), lambda: msg.bytes, lambda: msg.buffer):
            with pytest.raises(MessageStateError):
                use()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_message_of_size_filled_in_place(transport, make_url):
    size = 300000
    content = bytes(range(256)) * (size // 256) + bytes(size % 256)
    msg = Message(size=size)
    assert len(msg) == size
    view = msg.buffer
    assert isinstance(view, memoryview) and not view.readonly and len(view) == size
    view[:] = content
    view.release()
    with Connected(make_url(transport)) as (a, b):
        a.send_msg(msg)
        assert b.recv() == content
        with pytest.raises(MessageStateError):
            a.send_msg(msg)
        with pytest.raises(MessageStateError):
            msg.buffer


def test_closed_unsent_message(make_url):
    msg = Message(b"never sent")
    with msg:
        assert msg.bytes == b"never sent"
    with Connected(make_url("inproc")) as (a, b):
        with pytest.raises(MessageStateError):
            a.send_msg(msg)
        assert_flows(a, b)


# --------------------------------------------------------------------------
# Blocking, non-blocking, timeouts


def test_nonblocking_recv_raises_tryagain(make_url):
    with Connected(make_url("inproc")) as (a, b):
        with pytest.raises(TryAgain):
            b.recv(block=False)
        with pytest.raises(TryAgain):
            b.recv_msg(block=False)
        a.send(b"ready")
        wait_until(lambda: _try_recv(b) == b"ready")


def _try_recv(s):
    try:
        return s.recv(block=False)
    except TryAgain:
        return None


def test_nonblocking_send_without_peer_raises_tryagain():
    with sock(Push0) as push:
        with pytest.raises(TryAgain):
            push.send(b"nobody", block=False)
        with pytest.raises(TryAgain):
            push.send_msg(Message(b"nobody"), block=False)


@pytest.mark.parametrize("body", [b"kept", bytearray(b"kept")], ids=["bytes", "bytearray"])
def test_a_refused_message_is_kept_whole_and_sent_later(body, make_url):
    """A Message of bytes is sent by _hotpath.c, any other through cffi:
    either one refused (TryAgain, Timeout) stays whole and usable, and a
    blocking send_msg then waits for a peer and spends it."""
    msg = Message(body)
    url = make_url("tcp")
    with sock(Push0, send_timeout=50) as push, sock(Pull0) as pull:
        with pytest.raises(TryAgain):
            push.send_msg(msg, block=False)
        with pytest.raises(Timeout):
            push.send_msg(msg)
        assert msg.bytes == b"kept" and len(msg) == 4
        pull.listen(url)
        push.send_timeout = DEFAULT_TIMEOUT * 1000
        push.dial(url, block=False)  # the send waits for the connection
        push.send_msg(msg)
        assert pull.recv() == b"kept"
        with pytest.raises(MessageStateError):
            push.send_msg(msg)


def test_a_message_for_a_pipe_id_past_32_bits_is_refused_whole():
    msg = Message(b"kept")
    msg.pipe = 2 ** 33
    with sock(Push0) as push:
        with pytest.raises(OverflowError, match="8589934592"):
            push.send_msg(msg, block=False)
    assert msg.bytes == b"kept"


def test_recv_timeout_raises_timeout():
    with sock(Pull0, recv_timeout=50) as pull:
        start = time.monotonic()
        with pytest.raises(Timeout):
            pull.recv()
        assert time.monotonic() - start < DEFAULT_TIMEOUT
        with pytest.raises(Timeout):
            pull.recv_msg()


def test_send_timeout_raises_timeout():
    with sock(Push0, send_timeout=50) as push:
        with pytest.raises(Timeout):
            push.send(b"nobody listens")


# --------------------------------------------------------------------------
# Addresses


@pytest.mark.parametrize("transport", STREAM_TRANSPORTS)
def test_address_in_use(transport, make_url):
    url = make_url(transport)
    with sock() as first, sock() as second:
        first.listen(url)
        with raises_mentioning(AddressInUse, url):
            second.listen(url)
        # The live listener is untouched.
        with sock() as peer:
            peer.dial(url, block=True)
            assert_flows(peer, first)


def test_address_in_use_inproc(make_url):
    url = make_url("inproc")
    with sock() as first, sock() as second:
        first.listen(url)
        with raises_mentioning(AddressInUse, url):
            second.listen(url)


BAD_URLS = [
    "tcp://",
    "tcp://127.0.0.1",
    "tcp://127.0.0.1:99999",
    "tcp://127.0.0.1:-1",
    "tcp://127.0.0.1:5555/path?q",
    "tcp://127.0.0.1:5555/#frag",
    "ipc://",
    "inproc://",
    "no-scheme-at-all",
]


@pytest.mark.parametrize("op", ["listen", "dial"])
@pytest.mark.parametrize("url", BAD_URLS)
def test_invalid_address(url, op):
    with sock() as s:
        with raises_mentioning(AddressInvalid, url):
            if op == "listen":
                s.listen(url)
            else:
                s.dial(url, block=True)
        # The socket is still usable.
        assert list(s.listeners) == [] and list(s.dialers) == []


@pytest.mark.parametrize("op", ["listen", "dial"])
def test_unknown_scheme(op):
    url = "foo://x"
    with sock() as s:
        with pytest.raises((AddressInvalid, NotSupported)) as info:
            getattr(s, op)(url)
        assert url in str(info.value)


def test_tcp_port_zero(make_url):
    with sock() as server, sock() as client:
        listener = server.listen("tcp://127.0.0.1:0")
        port = listener.port
        assert isinstance(port, int) and 0 < port < 65536
        url = "tcp://127.0.0.1:%d" % port
        assert is_listening(url)
        client.dial(url, block=True)
        assert_flows(client, server)


def test_tcp_wildcard_host():
    url = tcp_url()
    port = url.rpartition(":")[2]
    with sock() as server, sock() as client:
        server.listen("tcp://*:%s" % port)
        client.dial("tcp://127.0.0.1:%s" % port, block=True)
        assert_flows(client, server)
        assert_flows(server, client)


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_tcp_ipv6_loopback():
    url = tcp_url("::1")
    with Connected(url) as (a, b):
        assert_flows(a, b)
        assert_flows(b, a)


def _stale_socket_file(path):
    skip_unless(unix_sockets_missing())  # a named pipe leaves no file
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    s.close()  # leaves the file behind, nothing listening
    assert os.path.exists(path)


@pytest.mark.parametrize("how", ["listener.close", "socket.close"])
def test_ipc_stale_file_and_unlink(how, make_url):
    url = make_url("ipc")
    path = ipc_path(url)
    _stale_socket_file(path)
    server = sock()
    try:
        listener = server.listen(url)
        with sock() as client:
            client.dial(url, block=True)
            assert_flows(client, server)
        if how == "listener.close":
            listener.close()
        else:
            server.close()
        wait_until(lambda: not os.path.exists(path),
                   message="%s still exists after %s" % (path, how))
    finally:
        server.close()


def test_ipc_missing_directory(make_url):
    skip_unless(ipc_missing())
    if sys.platform == "win32":
        pytest.skip("a pipe name has no folders: \\\\.\\pipe\\no/such/dir is a name")
    url = "ipc://%s/no/such/dir/sock" % make_url.dir
    with sock() as s:
        with pytest.raises(NNGException) as info:
            s.listen(url)
        assert url in str(info.value)


def test_listeners_and_dialers(make_url):
    url = make_url("tcp")
    with sock() as server, sock() as client:
        listener = server.listen(url)
        dialer = client.dial(url, block=True)
        assert isinstance(listener, pynng_core.Listener)
        assert isinstance(dialer, pynng_core.Dialer)
        assert list(server.listeners) == [listener]
        assert list(client.dialers) == [dialer]
        assert listener.url == url
        assert dialer.url == url
        assert_flows(client, server)
        with listener:
            pass
        wait_until(lambda: not is_listening(url))
        # The address is free again.
        with sock() as other:
            other.listen(url)


def test_dialer_close_stops_redialing(make_url):
    url = make_url("tcp")
    with sock(**FAST_RECONNECT) as client:
        dialer = client.dial(url, block=False)
        with dialer:
            pass
        with sock(Pair0) as server:
            server.listen(url)
            time.sleep(0.5)  # several reconnect periods
            # No connection appeared: a send from the server side cannot go.
            with pytest.raises(TryAgain):
                server.send(b"x", block=False)


# --------------------------------------------------------------------------
# Dialing and listening modes


@pytest.mark.parametrize("transport", STREAM_TRANSPORTS)
def test_dial_block_true_refused(transport, make_url):
    url = make_url(transport)
    with sock() as s:
        with raises_mentioning(ConnectionRefused, url):
            s.dial(url, block=True)
        assert list(s.dialers) == []


def _connects_later(make_url, transport, block):
    url = make_url(transport)
    with sock(Pull0, **FAST_RECONNECT) as pull:
        dialer = pull.dial(url, block=block)
        assert isinstance(dialer, pynng_core.Dialer)
        time.sleep(0.1)  # let a few connect attempts fail first
        with sock(Push0) as push:
            push.listen(url)
            push.send(b"connected in the background")
            assert pull.recv() == b"connected in the background"


@pytest.mark.parametrize("transport", STREAM_TRANSPORTS)
def test_dial_nonblocking_connects_later(transport, make_url):
    _connects_later(make_url, transport, block=False)


@pytest.mark.parametrize("transport", STREAM_TRANSPORTS)
def test_dial_default_falls_back_to_background(transport, make_url):
    _connects_later(make_url, transport, block=None)


def test_listen_nonblocking_on_busy_port(make_url):
    url = make_url("tcp")
    port = int(url.rpartition(":")[2])
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", port))
    squatter.listen(1)
    try:
        with sock(Pull0) as pull, sock(Push0, **FAST_RECONNECT) as push:
            with pytest.raises(AddressInUse):
                pull.listen(url)
            listener = pull.listen(url, block=False)
            assert isinstance(listener, pynng_core.Listener)
            squatter.close()
            push.dial(url, block=False)
            push.send(b"bound once the port was free")
            assert pull.recv() == b"bound once the port was free"
    finally:
        squatter.close()


@pytest.mark.parametrize("transport", STREAM_TRANSPORTS)
def test_reconnect_after_listener_restart(transport, make_url):
    url = make_url(transport)
    with sock(Push0, **FAST_RECONNECT) as push:
        with sock(Pull0) as pull:
            pull.listen(url)
            push.dial(url, block=True)
            assert_flows(push, pull, b"first life")
        for life in (b"second life", b"third life"):
            with sock(Pull0) as pull:
                pull.listen(url)
                flows_eventually(push, pull, life)


# --------------------------------------------------------------------------
# Options


OPTION_VALUES = {
    "recv_timeout": 1234,
    "send_timeout": 4321,
    "recv_buffer_size": 7,
    "send_buffer_size": 9,
    "recv_max_size": 65536,
    "reconnect_time_min": 123,
    "reconnect_time_max": 4567,
    "name": "my-socket",
}


@pytest.mark.parametrize("option", sorted(OPTION_VALUES))
def test_option_round_trip(option):
    value = OPTION_VALUES[option]
    with Pair0() as s:
        setattr(s, option, value)
        assert getattr(s, option) == value
    with Pair0(**{option: value}) as s:
        assert getattr(s, option) == value


def test_timeouts_accept_forever():
    with Pair0() as s:
        s.recv_timeout = -1
        s.send_timeout = -1
        assert (s.recv_timeout, s.send_timeout) == (-1, -1)
        s.recv_max_size = 0
        assert s.recv_max_size == 0


BAD_OPTION_VALUES = [
    ("recv_buffer_size", -1, ("recv_buffer_size", "recv-buffer")),
    ("recv_buffer_size", 100000, ("recv_buffer_size", "recv-buffer")),
    ("send_buffer_size", -1, ("send_buffer_size", "send-buffer")),
    ("send_buffer_size", 100000, ("send_buffer_size", "send-buffer")),
    ("recv_max_size", -1, ("recv_max_size", "recv-size-max")),
]


@pytest.mark.parametrize("option,value,names", BAD_OPTION_VALUES)
def test_option_bad_value(option, value, names):
    with Pair0() as s:
        before = getattr(s, option)
        with pytest.raises(InvalidOperation) as info:
            setattr(s, option, value)
        assert any(n in str(info.value) for n in names), str(info.value)
        assert getattr(s, option) == before
    with pytest.raises(InvalidOperation):
        Pair0(**{option: value})


@pytest.mark.parametrize("option,value", [
    ("recv_timeout", "100"), ("send_timeout", 1.5j), ("recv_buffer_size", "8"),
    ("recv_max_size", b"1"), ("reconnect_time_min", [1]), ("name", 123),
])
def test_option_wrong_type(option, value):
    with Pair0() as s:
        before = getattr(s, option)
        with pytest.raises(TypeError):
            setattr(s, option, value)
        assert getattr(s, option) == before


def test_constructor_keywords(make_url):
    url = make_url("ipc")
    with Pair0(listen=url, name="server", recv_timeout=SOCKET_TIMEOUT_MS) as server:
        with Pair0(dial=url, name="client", send_timeout=SOCKET_TIMEOUT_MS,
                   recv_timeout=SOCKET_TIMEOUT_MS) as client:
            assert server.name == "server" and client.name == "client"
            assert server.recv_timeout == SOCKET_TIMEOUT_MS
            assert client.send_timeout == SOCKET_TIMEOUT_MS
            assert [l.url for l in server.listeners] == [url]
            assert [d.url for d in client.dialers] == [url]
            assert_flows(client, server)
            assert_flows(server, client)


def test_constructor_listen_error_raises(make_url):
    url = make_url("tcp")
    with Pair0(listen=url):
        with pytest.raises(AddressInUse):
            Pair0(listen=url)


# --------------------------------------------------------------------------
# Closing


def _blocked_call(fn):
    """Run fn in a thread; returns (thread, outcome list)."""
    outcome = []

    def run():
        try:
            outcome.append(("returned", fn()))
        except BaseException as exc:  # reported by the test
            outcome.append(("raised", exc))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, outcome


@pytest.mark.parametrize("op", ["recv", "recv_msg", "recv_into", "send", "send_msg"])
def test_close_from_other_thread_wakes_blocked_call(op):
    cls = Pull0 if op.startswith("recv") else Push0
    s = cls(recv_timeout=-1, send_timeout=-1)
    call = {
        "recv": lambda: s.recv(),
        "recv_msg": lambda: s.recv_msg(),
        "recv_into": lambda: s.recv_into(bytearray(10)),
        "send": lambda: s.send(b"no peer, blocks"),
        "send_msg": lambda: s.send_msg(Message(b"no peer, blocks")),
    }[op]
    t, outcome = _blocked_call(call)
    time.sleep(0.2)  # let it block
    assert outcome == [], "%s did not block: %r" % (op, outcome)
    s.close()
    t.join(DEFAULT_TIMEOUT)
    assert not t.is_alive(), "%s still blocked after close()" % op
    kind, value = outcome[0]
    assert kind == "raised" and isinstance(value, Closed), outcome


CLOSED_OPS = {
    "send": lambda s, url: s.send(b"x"),
    "send-nonblocking": lambda s, url: s.send(b"x", block=False),
    "recv": lambda s, url: s.recv(),
    "recv-nonblocking": lambda s, url: s.recv(block=False),
    "recv_into": lambda s, url: s.recv_into(bytearray(4)),
    "send_msg": lambda s, url: s.send_msg(Message(b"x")),
    "recv_msg": lambda s, url: s.recv_msg(),
    "listen": lambda s, url: s.listen(url),
    "dial": lambda s, url: s.dial(url, block=False),
}


@pytest.mark.parametrize("op", sorted(CLOSED_OPS))
def test_operations_on_closed_socket(op, make_url):
    s = Pair0()
    s.close()
    with pytest.raises(Closed):
        CLOSED_OPS[op](s, make_url("tcp"))


def test_close_twice_and_context_manager(make_url):
    url = make_url("tcp")
    with Pair0(listen=url) as s:
        pass
    with pytest.raises(Closed):
        s.recv(block=False)
    s.close()
    s.close()
    # The listener went away with the socket.
    wait_until(lambda: not is_listening(url))


def test_close_with_connected_peer_and_pending_messages(make_url):
    url = make_url("tcp")
    with sock(Pull0) as pull:
        pull.listen(url)
        push = sock(Push0)
        push.dial(url, block=True)
        for i in range(10):
            push.send(b"pending %d" % i)
        push.close()
        pull.close()
    with pytest.raises(Closed):
        pull.recv()


# --------------------------------------------------------------------------
# Ctrl-C


def _run_script(script, *args):
    env = dict(os.environ)
    return interruptible_popen(
        [sys.executable, "-c", textwrap.dedent(script)] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )


INTERRUPT_SCRIPT = """
    import os, signal, sys, threading, time
    import pynng_core
    op, sender, url = sys.argv[1:]
    if op == "recv":
        s = pynng_core.Pull0(recv_timeout=30000)
        s.listen(url)
        call = s.recv
    else:
        s = pynng_core.Push0(send_timeout=30000)
        call = lambda: s.send(b"nobody will take this")
    if sender == "thread":
        def interrupt(main=threading.get_native_id()):
            wait_blocked(os.getpid(), main)
            os.kill(os.getpid(), signal.SIGINT)
        threading.Thread(target=interrupt, daemon=True).start()
    print("ready", flush=True)
    start = time.monotonic()
    try:
        call()
        print("returned", flush=True)
    except KeyboardInterrupt:
        print("KeyboardInterrupt after %.3f" % (time.monotonic() - start), flush=True)
    except BaseException as exc:
        print("raised %s: %s" % (type(exc).__name__, exc), flush=True)
    s.close()
"""


def wait_blocked(pid, tid):
    """Until thread ``tid`` of process ``pid`` has slept for a while (it is
    then inside the blocking call, the only place it sleeps), 10 s at most;
    0.3 s where /proc cannot tell."""
    stat = "/proc/%d/task/%d/stat" % (pid, tid)
    if not os.path.exists(stat):
        time.sleep(0.3)
        return
    asleep_since, deadline = None, time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(stat) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        now = time.monotonic()
        asleep_since = (asleep_since or now) if state == "S" else None
        if asleep_since is not None and now - asleep_since >= 0.1:
            return
        time.sleep(0.01)


@pytest.mark.parametrize("sender", ["thread", "parent"])
@pytest.mark.parametrize("op", ["recv", "send"])
def test_ctrl_c_interrupts_blocking_call(op, sender, make_url):
    skip_unless(posix_signals_missing())
    script = textwrap.dedent(inspect.getsource(wait_blocked)) + textwrap.dedent(INTERRUPT_SCRIPT)
    proc = _run_script(script, op, sender, make_url("ipc"))
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        if sender == "parent":
            wait_blocked(proc.pid, proc.pid)  # let it block in the call
            proc.send_signal(signal.SIGINT)
        # The call has a 30 s timeout: finishing well before it means the
        # signal interrupted it (not the timeout).
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
        proc.wait()
    assert out.startswith("KeyboardInterrupt"), (out, err)
    assert proc.returncode == 0, err


NO_LOSS_SCRIPT = """
    import collections, itertools, json, os, signal, sys, threading, time
    import pynng_core
    url, n, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    pull = pynng_core.Pull0(recv_timeout=10000)
    pull.listen(url)
    push = pynng_core.Push0(send_timeout=10000)
    push.dial(url, block=True)

    # The handler raises KeyboardInterrupt (like the default one) only while
    # the main loop is inside its try block, and disarms itself, so the
    # exception never escapes the except clause below.
    armed = False
    def on_sigint(signum, frame):
        global armed
        if armed:
            armed = False
            raise KeyboardInterrupt
    signal.signal(signal.SIGINT, on_sigint)

    done = threading.Event()
    def send_numbers():
        for i in range(n):
            push.send(b"%d" % i)
            time.sleep(0.001)
    def interrupt():
        while not done.is_set():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.003)
    threads = [threading.Thread(target=send_numbers, daemon=True),
               threading.Thread(target=interrupt, daemon=True)]
    for t in threads:
        t.start()

    # deque.extend(islice(iter(pull.recv, None), k)) is all C: a message the
    # library returned is appended before any Python bytecode of ours runs,
    # so a KeyboardInterrupt can only lose a message inside pull.recv itself.
    # recv_many's lists go the same way through chain; islice stops inside
    # one only at message n, and no message comes after that.  recv_msg's
    # Messages are kept as they are, and read after the loop.
    if how == "recv":
        messages = lambda: iter(pull.recv, None)
    elif how == "recv_msg":
        messages = lambda: iter(pull.recv_msg, None)
    else:
        messages = lambda: itertools.chain.from_iterable(iter(pull.recv_many, None))
    received = collections.deque()
    interrupts = 0
    while len(received) < n:
        try:
            armed = True
            received.extend(itertools.islice(messages(), n - len(received)))
            armed = False
        except KeyboardInterrupt:
            interrupts += 1
        except pynng_core.Timeout:
            break  # messages were lost: report what arrived
    armed = False
    done.set()
    for t in threads:
        t.join(10)
    try:
        extra = pull.recv(block=False)
    except pynng_core.TryAgain:
        extra = None
    print(json.dumps({"received": [int(bytes(m)) for m in received], "interrupts": interrupts,
                      "extra": extra is not None}))
"""


@pytest.mark.parametrize("how", ["recv", "recv_msg", "recv_many"])
def test_ctrl_c_loses_no_message(how, make_url):
    skip_unless(posix_signals_missing())
    n = 300
    proc = _run_script(NO_LOSS_SCRIPT, make_url("ipc"), str(n), how)
    try:
        out, err = proc.communicate(timeout=40)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["interrupts"] > 0, "the receiver was never interrupted"
    received = result["received"]
    missing = sorted(set(range(n)) - set(received))
    assert missing == [], "lost %d messages (interrupted %d times): %s" % (
        len(missing), result["interrupts"], missing[:20])
    assert received == list(range(n))
    assert not result["extra"], "a message was delivered twice"


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="counts a thread's wake-ups in /proc (Linux)")
def test_a_receive_off_the_main_thread_sleeps_until_its_message():
    """Python handles signals on its main thread only, so only there does a
    blocking call come back every slice to look for them: a thread blocked
    in recv elsewhere is not woken until its message comes (with 50 ms
    slices, a second's wait woke it 20 times)."""
    with sock(Pair0, recv_timeout=-1) as a, sock(Pair0) as b:
        a.listen("inproc://off-main")
        b.dial("inproc://off-main")
        tid, got = [], []

        def receive():
            tid.append(threading.get_native_id())
            got.append(a.recv())
        t = threading.Thread(target=receive, daemon=True)
        t.start()
        wait_blocked(os.getpid(), _first(tid))
        before = wakeups_of(tid[0])
        time.sleep(1.0)
        woken = wakeups_of(tid[0]) - before
        b.send(b"at last")
        t.join(DEFAULT_TIMEOUT)
    assert got == [b"at last"]
    assert woken < 5, "woken %d times in a second with nothing to receive" % woken


def _first(items):
    deadline = time.monotonic() + DEFAULT_TIMEOUT
    while not items and time.monotonic() < deadline:
        time.sleep(0.01)
    return items[0]


# --------------------------------------------------------------------------
# Protocol behavior


def test_pair0_rejects_second_peer(make_url):
    url = make_url("tcp")
    with sock(Pair0) as server, sock(Pair0) as first, sock(Pair0, **FAST_RECONNECT) as second:
        server.listen(url)
        first.dial(url, block=True)
        assert_flows(first, server, b"from first")
        second.dial(url, block=False)
        second.send_timeout = 500  # time for several connection attempts
        try:
            second.send(b"intruder")
        except Timeout:
            pass
        # The first peer keeps working, both ways, and is the only one heard.
        for i in range(5):
            assert_flows(first, server, b"first %d" % i)
            assert_flows(server, first, b"to first %d" % i)
        server.recv_timeout = 300
        with pytest.raises(Timeout):
            server.recv()
        with pytest.raises(TryAgain):
            second.recv(block=False)


def _collect_from(sockets, expected_count, timeout=DEFAULT_TIMEOUT):
    """Non-blocking receive round-robin over sockets until expected_count
    messages arrived; returns {index: [messages]}."""
    got = {i: [] for i in range(len(sockets))}

    def poll():
        for i, s in enumerate(sockets):
            try:
                got[i].append(s.recv(block=False))
            except TryAgain:
                pass
        return sum(map(len, got.values())) >= expected_count

    wait_until(poll, timeout, interval=0.001,
               message="expected %d messages, got %r" % (expected_count, got))
    return got


def test_pair1_polyamorous(make_url):
    url = make_url("tcp")
    with sock(Pair1, polyamorous=True) as hub:
        hub.listen(url)
        peers = [sock(Pair1) for _ in range(3)]
        try:
            for p in peers:
                p.dial(url, block=True)
            for i, p in enumerate(peers):
                p.send(b"from peer %d" % i)
            assert sorted(hub.recv() for _ in peers) == [b"from peer %d" % i for i in range(3)]
            # Replies go to some peer each: every one arrives exactly once.
            replies = [b"reply %d" % i for i in range(9)]
            for r in replies:
                hub.send(r)
            got = _collect_from(peers, len(replies))
            assert sorted(m for ms in got.values() for m in ms) == replies
        finally:
            for p in peers:
                p.close()


def test_pair1_not_polyamorous_by_default(make_url):
    url = make_url("tcp")
    with sock(Pair1) as server, sock(Pair1) as first, sock(Pair1, **FAST_RECONNECT) as second:
        server.listen(url)
        first.dial(url, block=True)
        assert_flows(first, server)
        second.dial(url, block=False)
        second.send_timeout = 500
        try:
            second.send(b"intruder")
        except Timeout:
            pass
        for i in range(3):
            assert_flows(server, first, b"only to first %d" % i)
            assert_flows(first, server, b"only from first %d" % i)
        with pytest.raises(TryAgain):
            second.recv(block=False)
        server.recv_timeout = 300
        with pytest.raises(Timeout):
            server.recv()


def test_push_spreads_over_pulls(make_url):
    url = make_url("tcp")
    with sock(Push0) as push, sock(Pull0) as pull1, sock(Pull0) as pull2:
        push.listen(url)
        pull1.dial(url, block=True)
        pull2.dial(url, block=True)
        pulls = [pull1, pull2]
        got = {0: [], 1: []}
        sent = 0

        def drain():
            for i, p in enumerate(pulls):
                while True:
                    try:
                        got[i].append(int(p.recv(block=False)))
                    except TryAgain:
                        break

        # Send until both pulls have received something (a push that never
        # spreads fails this within the deadline), then 100 more.
        deadline = time.monotonic() + DEFAULT_TIMEOUT
        while not (got[0] and got[1]):
            assert time.monotonic() < deadline, "all messages went to one pull: %r" % (
                {k: len(v) for k, v in got.items()})
            push.send(b"%d" % sent)
            sent += 1
            drain()
        for _ in range(100):
            push.send(b"%d" % sent)
            sent += 1
        wait_until(lambda: drain() or len(got[0]) + len(got[1]) >= sent)
    assert sorted(got[0] + got[1]) == list(range(sent)), "lost or duplicated messages"
    assert got[0] and got[1]
    for seq in got.values():
        assert seq == sorted(seq), "per-pipe order not kept"


def test_pull_fair_queues_from_two_pushes(make_url):
    url = make_url("tcp")
    n = 200
    with sock(Pull0) as pull, sock(Push0) as a, sock(Push0) as b:
        pull.listen(url)
        a.dial(url, block=True)
        b.dial(url, block=True)
        progress = {b"a": 0, b"b": 0}

        def sender(s, tag):
            for i in range(n):
                s.send(tag + b"%04d" % i + b"." * 1000)
                progress[tag] = i + 1

        threads = [threading.Thread(target=sender, args=(s, tag), daemon=True)
                   for s, tag in ((a, b"a"), (b, b"b"))]
        for t in threads:
            t.start()
        # Both sources have messages pending before we start reading.
        wait_until(lambda: progress[b"a"] >= 5 and progress[b"b"] >= 5)
        received = [pull.recv()[:5] for _ in range(2 * n)]
        for t in threads:
            t.join(DEFAULT_TIMEOUT)
    for tag in (b"a", b"b"):
        assert [m for m in received if m.startswith(tag)] == [tag + b"%04d" % i for i in range(n)]
    first_half = received[:n]
    assert any(m.startswith(b"a") for m in first_half) and any(m.startswith(b"b") for m in first_half), (
        "one pusher was starved while the other had messages pending")


# --------------------------------------------------------------------------
# Exceptions

ERROR_CODES = {
    "Interrupted": 1, "NoMemory": 2, "InvalidOperation": 3, "Busy": 4, "Timeout": 5,
    "ConnectionRefused": 6, "Closed": 7, "TryAgain": 8, "NotSupported": 9,
    "AddressInUse": 10, "BadState": 11, "NoEntry": 12, "ProtocolError": 13,
    "DestinationUnreachable": 14, "AddressInvalid": 15, "PermissionDenied": 16,
    "MessageTooLarge": 17, "ConnectionAborted": 18, "ConnectionReset": 19,
    "Canceled": 20, "OutOfFiles": 21, "OutOfSpace": 22, "AlreadyExists": 23,
    "ReadOnly": 24, "WriteOnly": 25, "CryptoError": 26, "AuthenticationError": 27,
    "NoArgument": 28, "Ambiguous": 29, "BadType": 30, "ConnectionShutdown": 31,
    "Internal": 1000,
}
EXCEPTION_NAMES = sorted(ERROR_CODES) + ["MessageStateError"]

BUILTIN_BASES = {
    "Timeout": TimeoutError,
    "AddressInUse": OSError,
    "TryAgain": BlockingIOError,
    "ConnectionRefused": ConnectionRefusedError,
    "InvalidOperation": ValueError,
    "AddressInvalid": ValueError,
}


@pytest.mark.parametrize("name", EXCEPTION_NAMES)
def test_exception_names(name):
    import pynng_core.exceptions as exc_module
    cls = getattr(pynng_core, name)
    assert getattr(exc_module, name) is cls
    assert issubclass(cls, NNGException)
    assert issubclass(cls, Exception)


@pytest.mark.parametrize("name", sorted(BUILTIN_BASES))
def test_exception_builtin_bases(name):
    assert issubclass(getattr(pynng_core, name), BUILTIN_BASES[name])


def _raise_timeout(url):
    with Pull0(recv_timeout=10) as s:
        s.recv()


def _raise_tryagain(url):
    with Pull0() as s:
        s.recv(block=False)


def _raise_closed(url):
    s = Pull0()
    s.close()
    s.recv()


def _raise_in_use(url):
    with Pull0(listen=url), Pull0() as s:
        s.listen(url)


def _raise_refused(url):
    with Pull0() as s:
        s.dial(url, block=True)


def _raise_invalid_address(url):
    with Pull0() as s:
        s.listen("tcp://127.0.0.1:99999")


def _raise_invalid_option(url):
    with Pull0() as s:
        s.recv_buffer_size = -1


@pytest.mark.parametrize("raiser,exc_class,code,builtin", [
    (_raise_timeout, Timeout, 5, TimeoutError),
    (_raise_tryagain, TryAgain, 8, BlockingIOError),
    (_raise_closed, Closed, 7, None),
    (_raise_in_use, AddressInUse, 10, OSError),
    (_raise_refused, ConnectionRefused, 6, ConnectionRefusedError),
    (_raise_invalid_address, AddressInvalid, 15, ValueError),
    (_raise_invalid_option, InvalidOperation, 3, ValueError),
], ids=lambda v: getattr(v, "__name__", None))
def test_raised_exception_errno_and_bases(raiser, exc_class, code, builtin, make_url):
    with pytest.raises(exc_class) as info:
        raiser(make_url("tcp"))
    exc = info.value
    assert exc.errno == code
    assert isinstance(exc, NNGException)
    if builtin is not None:
        assert isinstance(exc, builtin)
        # Catchable as the builtin, too.
        try:
            raiser(make_url("tcp"))
        except builtin:
            pass
    assert str(exc)

"""Helpers for the protocol tests (req/rep, pub/sub, survey, bus, device) and
the interop matrix, on top of peers.py.

* ``sock``: a pynng_core socket whose blocking calls time out instead of hanging.
* ``RawPeer``: a hand-written SP peer over a plain tcp/ipc socket (handshake
  with any protocol id, send and read framed messages).
* ``send_until_received`` / ``recv_all`` / ``recv_skipping``: for protocols
  that drop messages until a connection is up (pub, surveyor, bus).
* ``BackgroundCall``: run one blocking call in a thread; its result or
  exception is read back by the test.
* ``cat_argv``: command lines for nngcat / nanocat, every protocol.
"""

import struct
import threading
import time

import pynng_core
from peers import (
    DEFAULT_TIMEOUT, SOCKET_TIMEOUT_MS, frame, raw_connect, read_frame,
    recv_exactly, require_tool, sp_header, wait_until,
)

# wire.md section 1: protocol ids (u16 = proto*16 + role).
SP_ID = {
    "pair0": 0x10, "pair1": 0x11, "pub0": 0x20, "sub0": 0x21,
    "req0": 0x30, "rep0": 0x31, "push0": 0x50, "pull0": 0x51,
    "surveyor0": 0x62, "respondent0": 0x63, "bus0": 0x70,
}

FAST_RECONNECT = dict(reconnect_time_min=20, reconnect_time_max=100)


def sock(cls, **kwargs):
    """A socket whose blocking calls give up (Timeout) instead of hanging."""
    kwargs.setdefault("recv_timeout", SOCKET_TIMEOUT_MS)
    kwargs.setdefault("send_timeout", SOCKET_TIMEOUT_MS)
    return cls(**kwargs)


def word(value):
    """One 32-bit big-endian header word."""
    return struct.pack(">I", value)


def words(data):
    """Split header bytes into 32-bit big-endian words."""
    assert len(data) % 4 == 0, data
    return list(struct.unpack(">%dI" % (len(data) // 4), data))


# --------------------------------------------------------------------------
# A hand-written SP peer


class RawPeer:
    """A plain tcp/ipc connection speaking the SP wire by hand.

    ``RawPeer(url, "req0")`` connects (retrying until something listens),
    sends the 8-byte handshake with that protocol's id and checks the one
    the other side sends back.
    """

    def __init__(self, url, proto, expect_peer=None, timeout=DEFAULT_TIMEOUT):
        self.transport = url.split("://", 1)[0]
        self.sock = raw_connect(url, timeout)
        try:
            self.sock.sendall(sp_header(SP_ID[proto]))
            self.peer_header = recv_exactly(self.sock, 8)
        except BaseException:
            self.sock.close()
            raise
        if expect_peer is not None:
            assert self.peer_header == sp_header(SP_ID[expect_peer]), self.peer_header

    def send(self, payload):
        self.sock.sendall(frame(self.transport, payload))

    def recv(self, timeout=DEFAULT_TIMEOUT):
        self.sock.settimeout(timeout)
        return read_frame(self.sock, self.transport)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------
# Receiving helpers


def recv_all(sock, timeout_ms=200):
    """Everything ``sock`` receives until it is quiet for ``timeout_ms``."""
    saved = sock.recv_timeout
    sock.recv_timeout = timeout_ms
    got = []
    try:
        while True:
            try:
                got.append(sock.recv())
            except pynng_core.Timeout:
                return got
    finally:
        sock.recv_timeout = saved


def recv_skipping(sock, prefix=b"sync"):
    """The next message that does not start with ``prefix`` (left-over
    messages of a ``send_until_received`` handshake are skipped)."""
    while True:
        msg = sock.recv()
        if not msg.startswith(prefix):
            return msg


def send_until_received(sender, receiver, payload=b"sync", timeout=DEFAULT_TIMEOUT,
                        poll_ms=50):
    """Send ``payload`` until ``receiver`` gets one copy (pub, bus and
    surveyor drop messages while no connection is up).  Later copies may
    still arrive; receive with ``recv_skipping`` afterwards."""
    saved = receiver.recv_timeout
    receiver.recv_timeout = poll_ms
    deadline = time.monotonic() + timeout
    try:
        while True:
            sender.send(payload)
            try:
                got = receiver.recv()
            except pynng_core.Timeout:
                if time.monotonic() > deadline:
                    raise AssertionError("%r never reached %r within %.0fs"
                                         % (payload, receiver, timeout)) from None
                continue
            assert got.startswith(payload[:4]), got
            return got
    finally:
        receiver.recv_timeout = saved


class BackgroundCall:
    """Runs ``fn(*args)`` in a daemon thread; ``result()`` returns its value
    or re-raises its exception (waiting at most ``timeout``)."""

    def __init__(self, fn, *args):
        self._value = None
        self._error = None
        self.started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()
        self.started.wait(DEFAULT_TIMEOUT)

    def _run(self, fn, args):
        self.started.set()
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to the test thread
            self._error = exc

    def done(self):
        return not self._thread.is_alive()

    def join(self, timeout=DEFAULT_TIMEOUT):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "background call still blocked after %.0fs" % timeout

    def result(self, timeout=DEFAULT_TIMEOUT):
        self.join(timeout)
        if self._error is not None:
            raise self._error
        return self._value

    def error(self, timeout=DEFAULT_TIMEOUT):
        """The exception the call raised (fails if it returned)."""
        self.join(timeout)
        assert self._error is not None, "call returned %r instead of raising" % (self._value,)
        return self._error


def settle(seconds=0.2):
    """Give a thread time to block in a call.  Only used where the library
    offers nothing to wait on (a blocked recv is not observable)."""
    time.sleep(seconds)


# --------------------------------------------------------------------------
# nngcat / nanocat command lines (every protocol)

# our protocol name -> (nngcat flag, nanocat flag); nanocat has no pair1
CAT_PROTO = {
    "pair0": ("--pair0", "--pair"),
    "pair1": ("--pair1", None),
    "req0": ("--req0", "--req"),
    "rep0": ("--rep0", "--rep"),
    "pub0": ("--pub0", "--pub"),
    "sub0": ("--sub0", "--sub"),
    "push0": ("--push0", "--push"),
    "pull0": ("--pull0", "--pull"),
    "surveyor0": ("--surveyor0", "--surveyor"),
    "respondent0": ("--respondent0", "--respondent"),
    "bus0": ("--bus0", "--bus"),
}


def tool_speaks(tool, proto):
    return CAT_PROTO[proto][0 if tool == "nngcat" else 1] is not None


def cat_argv(tool, proto, mode, url, *, data=None, interval=None, subscribe=None,
             recv_timeout=None):
    """nngcat/nanocat command line.  Received messages are printed with
    --hex (one line each; CliPeer parses them).  nngcat 1.5.2 takes whole
    seconds for --interval/--recv-timeout (nanocat takes fractions), so an
    nngcat interval is rounded up to 1 s."""
    exe = require_tool(tool)
    flag = CAT_PROTO[proto][0 if tool == "nngcat" else 1]
    if flag is None:
        raise ValueError("%s does not speak %s" % (tool, proto))
    where = {"listen": "--listen", "dial": "--dial"} if tool == "nngcat" else \
        {"listen": "--bind", "dial": "--connect"}
    argv = [exe, flag, where[mode], url]
    if proto not in ("push0", "pub0"):
        argv.append("--hex")
    if subscribe is not None:
        argv += ["--subscribe", subscribe]
    if data is not None:
        argv += ["--data", data]
    if interval is not None:
        argv += ["--interval", _cat_seconds(tool, interval)]
    if recv_timeout is not None:
        argv += ["--recv-timeout", _cat_seconds(tool, recv_timeout)]
    return argv


def _cat_seconds(tool, seconds):
    if tool == "nngcat":
        return str(max(1, int(-(-seconds // 1))))
    return repr(float(seconds))


def pipe_ids(s):
    return {p.id for p in s.pipes}


def listen_url(transport, make_url):
    """A URL to listen on: tcp on port 0 (the real port comes from the
    Listener), ipc and inproc fresh."""
    return "tcp://127.0.0.1:0" if transport == "tcp" else make_url(transport)


def dial_url(listener):
    if listener.url.startswith("tcp://"):
        return "tcp://127.0.0.1:%d" % listener.port
    return listener.url


def connect_one(server, client, url, **dial_kwargs):
    """``client`` dials ``url``; waits for the new pipe on both sides and
    returns (server-side pipe, client-side pipe)."""
    before = pipe_ids(server)
    assert not client.pipes
    client.dial(url, **dial_kwargs)
    new = wait_until(lambda: pipe_ids(server) - before,
                     message="no new pipe on %r after dialing %s" % (server, url))
    assert len(new) == 1, new
    wait_until(lambda: len(client.pipes) == 1)
    (sid,) = new
    (spipe,) = [p for p in server.pipes if p.id == sid]
    return spipe, client.pipes[0]

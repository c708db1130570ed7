"""Pipe: one connection of a socket to one peer, and the pipe events.

Pipe events (pynng's ``add_pre_pipe_connect_cb`` and friends) come from the
core through one queue for the process; a Python thread of ours reads it
and runs the callbacks, in order, never on a core thread.  A pre-connect
callback runs before the pipe joins its socket: closing the pipe there
refuses the peer.  An exception in a callback is logged, not lost, and
never stops the thread: that includes SystemExit, since sys.exit() in a
callback ends no program (it is not the main thread) and a dead events
thread would leave every later pre-connect pipe waiting for admission.
"""
from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from ._core import ffi, lib
from .exceptions import NotSupported, exception_for
from .message import Message
from .options import ReadOnlyProperties
from .sockaddr import SockAddr, from_core

if TYPE_CHECKING:
    from typing_extensions import Buffer  # typing's from 3.12; type checkers only

    from ._core import CData  # the stub's: cffi's types have no names at run time
    from .endpoints import Dialer, Listener
    from .socket import Socket

# What add_pre_pipe_connect_cb and the others take.
PipeCallback = Callable[["Pipe"], object]

PRE_CONNECT = lib.PNC_PIPE_PRE_CONNECT
POST_CONNECT = lib.PNC_PIPE_POST_CONNECT
POST_REMOVE = lib.PNC_PIPE_POST_REMOVE
_ESLICE = lib.PNC_ESLICE
_EREADONLY = lib.PNC_EREADONLY

log = logging.getLogger("pynng_core")

# The counters, as the core's pnc_stats struct names them; a pipe has the
# message and byte ones, which come first.
STAT_FIELDS: tuple[str, ...] = tuple(name for name, _ in ffi.typeof("pnc_stats").fields)
PIPE_STAT_FIELDS = STAT_FIELDS[:4]
# The fewest Pipe objects a socket keeps before it drops those of gone pipes.
_PRUNE_MIN = 64


def stats_dict(struct: CData, fields: Iterable[str]) -> dict[str, int]:
    return {name: getattr(struct, name) for name in fields}


class Pipe(ReadOnlyProperties):
    """A connection of ``socket`` to one peer (pynng's Pipe).

    ``socket.pipes``, a received Message's ``pipe`` and the pipe callbacks
    give the same Pipe object for the same connection while it lasts."""

    local_address: SockAddr | None
    remote_address: SockAddr | None

    def __init__(self, socket: Socket, pipe_id: int) -> None:
        self.socket = socket
        self.id = pipe_id
        self._closed = False
        info = ffi.new("pnc_pipe_info *")
        # A pipe already gone keeps its id; its addresses stay unknown.
        if lib.pnc_pipe_info_get(socket._core(), pipe_id, info) == 0:
            self.local_address = from_core(info.local)
            self.remote_address = from_core(info.remote)
            self._endpoint_id = info.endpoint_id
            self._from_listener = bool(info.from_listener)
        else:
            self.local_address = self.remote_address = None
            self._endpoint_id, self._from_listener = 0, False
            self._closed = True

    @property
    def dialer(self) -> Dialer | None:
        """The Dialer it came from (TypeError when it came from a listener)."""
        self._check_endpoint_known()
        if self._from_listener:
            raise TypeError("pipe %d has no dialer: it was accepted by a listener" % self.id)
        return cast("Dialer | None", self.socket._endpoint_by_id(self._endpoint_id))

    @property
    def listener(self) -> Listener | None:
        """The Listener that accepted it (TypeError when it was dialed)."""
        self._check_endpoint_known()
        if not self._from_listener:
            raise TypeError("pipe %d has no listener: it was dialed" % self.id)
        return cast("Listener | None", self.socket._endpoint_by_id(self._endpoint_id))

    def _check_endpoint_known(self) -> None:
        if not self._endpoint_id:
            raise exception_for(lib.PNC_ECLOSED, "pipe %d was gone before its dialer or "
                                                 "listener was known" % self.id)

    @property
    def url(self) -> str | None:
        """The URL of the dialer or listener it came from."""
        endpoint = self.socket._endpoint_by_id(self._endpoint_id)
        return endpoint.url if endpoint is not None else None

    # The protocols at its two ends: its socket's, and its peer's.
    if TYPE_CHECKING:
        @property
        def protocol(self) -> int: ...
        @property
        def protocol_name(self) -> str: ...
        @property
        def peer(self) -> int: ...
        @property
        def peer_name(self) -> str: ...
    else:
        protocol = property(lambda self: self.socket.protocol)
        protocol_name = property(lambda self: self.socket.protocol_name)
        peer = property(lambda self: self.socket.peer)
        peer_name = property(lambda self: self.socket.peer_name)

    @property
    def closed(self) -> bool:
        return self._closed or self.id not in self.socket._pipe_ids()

    def _get_int(self, nng_name: str) -> int:
        out = ffi.new("int64_t *")
        rv = lib.pnc_pipe_get_int(self.socket._core(), self.id, nng_name.encode(), out)
        if rv:
            raise exception_for(rv, "%s of pipe %d" % (nng_name, self.id))
        value: int = out[0]
        return value

    def _get_option(self, nng_name: str, kind: type) -> Any:
        """By NNG name: the transport's, else its socket's (read-only)."""
        if kind is str:
            return self.url if nng_name == "url" else self.socket._get_option(nng_name, str)
        try:
            return self._get_int(nng_name)
        except NotSupported:
            return self.socket._get_option(nng_name, kind)

    def _set_option(self, nng_name: str, kind: type, value: Any) -> int:
        return _EREADONLY  # a pipe's options are its endpoint's, as it began

    def _get_string(self, nng_name: str) -> str:
        buf = ffi.new("char[]", 4096)
        rv = lib.pnc_pipe_get_string(self.socket._core(), self.id, nng_name.encode(), buf, 4096)
        if rv:
            raise exception_for(rv, "%s of pipe %d" % (nng_name, self.id))
        return ffi.string(buf).decode("utf-8", "replace")

    @property
    def tls_verified(self) -> bool:
        """tls+tcp and wss: whether the peer's certificate was verified."""
        return bool(self._get_int("tls-verified"))

    @property
    def tls_peer_cn(self) -> str:
        """tls+tcp and wss: the common name of the peer's certificate."""
        return self._get_string("tls-peer-cn")

    @property
    def tls_peer_alt_names(self) -> list[str]:
        """tls+tcp and wss: the subject alternative names of the peer's certificate."""
        text = self._get_string("tls-peer-alt-names")
        return text.split("\n") if text else []

    @property
    def tcp_nodelay(self) -> bool:
        return bool(self._get_int("tcp-nodelay"))

    @property
    def tcp_keepalive(self) -> bool:
        return bool(self._get_int("tcp-keepalive"))

    @property
    def stats(self) -> dict[str, int]:
        """Messages and bytes in and out on this pipe."""
        out = ffi.new("pnc_stats *")
        rv = lib.pnc_pipe_stats(self.socket._core(), self.id, out)
        if rv:
            raise exception_for(rv, "stats of pipe %d" % self.id)
        return stats_dict(out, PIPE_STAT_FIELDS)

    def send(self, data: Buffer, block: bool = True) -> None:
        """Sends to this peer only."""
        self.socket.send_msg(Message(data, pipe=self), block=block)

    def send_msg(self, msg: Message, block: bool = True) -> None:
        msg.pipe = self
        self.socket.send_msg(msg, block=block)

    async def asend(self, data: Buffer) -> None:
        await self.socket.asend_msg(Message(data, pipe=self))

    async def asend_msg(self, msg: Message) -> None:
        msg.pipe = self
        await self.socket.asend_msg(msg)

    def close(self) -> None:
        """Closes this connection (in a pre-connect callback: refuses it)."""
        self._closed = True
        lib.pnc_pipe_close_id(self.socket._core(), self.id)

    def __repr__(self) -> str:
        return "<Pipe %d %s -> %s>" % (self.id, self.local_address, self.remote_address)


class _Events:
    """The thread that reads the core's pipe events and runs the callbacks."""

    _sockets: weakref.WeakValueDictionary[int, Socket]
    _thread: threading.Thread | None

    def __init__(self) -> None:
        self._after_fork()

    def _after_fork(self) -> None:
        # Also run in a forked child: the thread did not come along, the
        # lock may have been held by a thread that did not either, and the
        # sockets watched are the parent's (see _fork), so their events are
        # not this process's to handle.
        self._sockets = weakref.WeakValueDictionary()  # socket id -> Socket
        self._lock = threading.Lock()
        self._thread = None

    def watch(self, socket: Socket) -> None:
        with self._lock:
            self._sockets[socket.id] = socket
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="pynng_core pipe events")
                self._thread.start()

    def _run(self) -> None:
        ev = ffi.new("pnc_pipe_event *")
        while True:
            if lib.pnc_pipe_events_next(ev, 200) == _ESLICE:
                continue
            self._handle(ev.socket_id, ev.pipe_id, ev.kind)

    def _handle(self, socket_id: int, pipe_id: int, kind: int) -> None:
        # A frame of its own, so that no reference to the socket outlives
        # the event: the loop above waits for the next one for as long as
        # it takes, and a socket kept alive meanwhile keeps its descriptors.
        socket = self._sockets.get(socket_id)
        if socket is None:
            return
        try:
            socket._pipe_event(pipe_id, kind)
        except BaseException:
            log.exception("pynng_core: handling pipe event %d of pipe %d failed",
                          kind, pipe_id)


events = _Events()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=events._after_fork)


def run_callbacks(callbacks: Iterable[PipeCallback], pipe: Pipe, what: str) -> None:
    for callback in list(callbacks):
        try:
            callback(pipe)
        except BaseException:  # SystemExit too: see the module doc
            log.exception("pynng_core: %s callback %r failed for %r", what, callback, pipe)


class PipeTable:
    """A socket's Pipe objects by id, safe to use from any thread.

    The events thread adds and removes entries while other threads read
    ``Socket.pipes`` and ``Message.pipe``.  A Pipe made for a pipe that is
    already gone is not kept, and those of pipes that went without a
    remove event (none comes unless a callback is watched) are dropped
    whenever the table has doubled, so it holds about the live ones.
    """

    def __init__(self, socket: Socket) -> None:
        self._socket = socket
        self._pipes: dict[int, Pipe] = {}
        self._lock = threading.Lock()
        self._prune_at = _PRUNE_MIN

    def get(self, pipe_id: int) -> Pipe:
        """The Pipe of ``pipe_id``, made on first sight."""
        with self._lock:
            pipe = self._pipes.get(pipe_id)
            if pipe is None:
                pipe = Pipe(self._socket, pipe_id)
                if not pipe._closed:
                    self._pipes[pipe_id] = pipe
                    if len(self._pipes) >= self._prune_at:
                        self._prune()
            return pipe

    def forget(self, pipe_id: int) -> None:
        """The pipe has gone (its remove event)."""
        with self._lock:
            self._pipes.pop(pipe_id, None)

    def _prune(self) -> None:
        core = self._socket._core()
        info = ffi.new("pnc_pipe_info *")
        for pipe_id in list(self._pipes):
            if lib.pnc_pipe_info_get(core, pipe_id, info) != 0:  # gone
                del self._pipes[pipe_id]
        self._prune_at = max(_PRUNE_MIN, 2 * len(self._pipes))

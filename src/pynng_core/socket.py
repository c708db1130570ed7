"""Socket: the base of every protocol class (Pair0, Req0, Sub0, ...)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from . import _fork, aio
from ._core import ffi, lib
from .context import Context
from .endpoints import Dialer, Listener, endpoint_error
from .exceptions import check, exception_for
from .openers import Opener
from .options import Option
from .tls import TLSConfig, config_ptr
from .pipe import (POST_CONNECT, POST_REMOVE, PRE_CONNECT, STAT_FIELDS, Pipe, PipeCallback,
                   PipeTable, events, run_callbacks, stats_dict)
from .sendrecv import NONBLOCK, InheritedSendRecv, SendRecv, _inherited

if TYPE_CHECKING:
    from ._core import CData  # the stub's: cffi's types have no names at run time
    from .endpoints import _Endpoint

    # A sub topic (str is UTF-8).
    Topic = str | bytes | bytearray | memoryview

_EndpointT = TypeVar("_EndpointT", Listener, Dialer)

# A blocking dial that fails with one of these is not retried in the background.


class SocketKeywords(TypedDict, total=False):
    """Socket's keywords, for the protocol classes' own __init__ to take
    as ``**keywords`` (test_typing.py checks the two lists agree)."""

    dial: str | None
    listen: str | None
    recv_timeout: int | None
    send_timeout: int | None
    recv_buffer_size: int | None
    send_buffer_size: int | None
    recv_max_size: int | None
    reconnect_time_min: int | None
    reconnect_time_max: int | None
    opener: Opener | None
    block_on_dial: bool | None
    name: str | None
    tls_config: TLSConfig | None
    async_backend: aio.Backend | None
    raw: bool


_DIAL_FINAL: set[int] = {lib.PNC_ECLOSED, lib.PNC_EADDRINVAL, lib.PNC_ENOTSUP, lib.PNC_ENOMEM}


class Socket(SendRecv):
    """A Scalability Protocols socket; use a protocol class such as Pair0.

    Keywords set the options of the same name before ``listen=`` and
    ``dial=`` are acted on, as in pynng.  ``opener=`` (one of
    ``pynng_core.lib``'s, such as ``lib.nng_pair0_open_raw``) says what to
    open, as pynng's openers do; ``async_backend=`` ("asyncio" or "trio")
    makes the async calls use that library instead of detecting it.
    """

    _protocol: str | None = None  # the core's protocol name, set by each subclass

    recv_timeout = Option("recv-timeout", doc="Receive timeout in ms (-1: none).")
    send_timeout = Option("send-timeout", doc="Send timeout in ms (-1: none).")
    recv_buffer_size = Option("recv-buffer", doc="Messages queued for receiving (0-8192).")
    send_buffer_size = Option("send-buffer", doc="Messages queued for sending (0-8192).")
    recv_max_size = Option("recv-size-max", doc="Largest message accepted, bytes (default 1 GiB; 0: any).")
    reconnect_time_min = Option("reconnect-time-min", doc="First redial wait, ms.")
    reconnect_time_max = Option("reconnect-time-max", doc="Longest redial wait, ms (0: no growth).")
    tcp_nodelay = Option("tcp-nodelay", bool, doc="TCP_NODELAY on new tcp connections.")
    name = Option("socket-name", str, doc="The socket's name (its id unless set).")
    protocol = Option("protocol", readonly=True, doc="The protocol's number.")
    peer = Option("peer", readonly=True, doc="The peer protocol's number.")
    raw = Option("raw", bool, readonly=True, doc="True for a raw socket.")
    tcp_keepalive = Option("tcp-keepalive", bool, doc="SO_KEEPALIVE on new tcp connections.")
    ttl_max = Option("ttl-max", doc="Most hops a message may take (pair1, rep, respondent).")

    def __init__(self, *, dial: str | None = None, listen: str | None = None,
                 recv_timeout: int | None = None, send_timeout: int | None = None,
                 recv_buffer_size: int | None = None, send_buffer_size: int | None = None,
                 recv_max_size: int | None = None, reconnect_time_min: int | None = None,
                 reconnect_time_max: int | None = None, opener: Opener | None = None,
                 block_on_dial: bool | None = None, name: str | None = None,
                 tls_config: TLSConfig | None = None,
                 async_backend: aio.Backend | None = None, raw: bool = False) -> None:
        protocol, raw = self._what_to_open(opener, raw)
        if tls_config is not None:
            config_ptr(tls_config)  # a TypeError before anything is opened
        self._async_backend = aio.check_backend(async_backend)
        pp = ffi.new("pnc_socket **")
        rv = lib.pnc_socket_open(pp, protocol.encode(), bool(raw))
        if rv:
            raise exception_for(rv, "opening a %s socket" % type(self).__name__)
        self._sock = ffi.gc(pp[0], lib.pnc_socket_release)
        _fork.track(self)
        self._set_ctx(lib.pnc_socket_context(self._sock))
        self._dialers: list[Dialer] = []
        self._listeners: list[Listener] = []
        self._closed = False
        self._pipes = PipeTable(self)
        self._callbacks: dict[int, list[PipeCallback]] = {
            PRE_CONNECT: [], POST_CONNECT: [], POST_REMOVE: []}
        self._tls_config: TLSConfig | None = None
        if tls_config is not None:
            self.tls_config = tls_config
        for attr, value in (("recv_timeout", recv_timeout), ("send_timeout", send_timeout),
                            ("recv_buffer_size", recv_buffer_size),
                            ("send_buffer_size", send_buffer_size),
                            ("recv_max_size", recv_max_size),
                            ("reconnect_time_min", reconnect_time_min),
                            ("reconnect_time_max", reconnect_time_max), ("name", name)):
            if value is not None:
                setattr(self, attr, value)
        self._setup()
        if opener is not None and opener.polyamorous:
            check(self._set_option("pair1:polyamorous", bool, True), "opening with %r" % opener)
        if listen is not None:
            self.listen(listen)
        if dial is not None:
            self.dial(dial, block=block_on_dial)

    def _what_to_open(self, opener: object, raw: bool) -> tuple[str, bool]:
        """The core protocol and raw mode: the class's, or the opener's."""
        if opener is None:
            if self._protocol is None:
                raise TypeError("Socket is the base class; open a protocol such as Pair0, "
                                "or give opener=, such as lib.nng_pair0_open")
            return self._protocol, raw
        if not isinstance(opener, Opener):
            raise TypeError("opener=%r is not an opener of pynng_core.lib, such as "
                            "lib.nng_pair0_open or lib.nng_pair0_open_raw" % (opener,))
        if self._protocol not in (None, opener.protocol):
            raise TypeError("%s cannot open with %r: it opens %s; use Socket(opener=...)"
                            % (type(self).__name__, opener, opener.protocol))
        return opener.protocol, raw or opener.raw

    def _setup(self) -> None:
        """Protocol options the subclass sets before any connection."""

    # -- options ----------------------------------------------------------

    def _get_option(self, nng_name: str, kind: type) -> Any:
        key = nng_name.encode()
        if kind is str:
            buf = ffi.new("char[]", 128)
            rv = lib.pnc_socket_get_string(self._sock, key, buf, 128)
            value = ffi.string(buf).decode() if rv == 0 else None
        else:
            out = ffi.new("int64_t *")
            rv = lib.pnc_socket_get_int(self._sock, key, out)
            value = out[0]
        if rv:
            raise exception_for(rv, "%s of %s" % (nng_name, self._describe()))
        return value

    def _set_option(self, nng_name: str, kind: type, value: Any) -> int:
        if kind is str:
            return lib.pnc_socket_set_string(self._sock, nng_name.encode(), value.encode())
        return lib.pnc_socket_set_int(self._sock, nng_name.encode(), int(value))

    def _topic_option(self, fn: Callable[[CData, bytes, bytes, int], int], handle: CData,
                      nng_name: str, topic: Topic) -> None:
        if isinstance(topic, str):
            data = topic.encode()
        elif isinstance(topic, (bytes, bytearray, memoryview)):
            data = bytes(topic)
        else:  # bytes(3) would be three zero bytes
            raise TypeError("%s: a topic is str or bytes, not %r" % (nng_name, topic))
        rv = fn(handle, nng_name.encode(), data, len(data))
        if rv:
            raise exception_for(rv, "%s of %r on %s" % (nng_name, topic, self._describe()))

    @property
    def protocol_name(self) -> str:
        return ffi.string(lib.pnc_socket_protocol(self._sock, 0)).decode()

    @property
    def peer_name(self) -> str:
        return ffi.string(lib.pnc_socket_protocol(self._sock, 1)).decode()

    @property
    def id(self) -> int:
        return lib.pnc_socket_id(self._sock)

    def _ready_fd(self, sending: int, what: str) -> int:
        fd = ffi.new("int *")
        check(lib.pnc_socket_ready_fd(self._sock, sending, fd),
              "%s of %s" % (what, self._describe()))
        ready_fd: int = fd[0]
        return ready_fd

    @property
    def recv_fd(self) -> int:
        """A descriptor readable exactly while ``recv(block=False)`` would
        get a message (or, once closed, raise Closed): for select, poll and
        selectors, never to be read.  Readiness comes and goes with the
        queue, so select, receive one, select again works."""
        return self._ready_fd(0, "recv_fd")

    @property
    def send_fd(self) -> int:
        """A descriptor readable exactly while ``send(block=False)`` would
        go through (as recv_fd); select it for reading, as with pynng."""
        return self._ready_fd(1, "send_fd")

    # -- endpoints --------------------------------------------------------

    @property
    def tls_config(self) -> TLSConfig | None:
        """The TLSConfig its tls+tcp:// and wss:// endpoints use (unless given their own)."""
        return self._tls_config

    @tls_config.setter
    def tls_config(self, config: TLSConfig) -> None:
        check(lib.pnc_socket_set_tls(self._sock, config_ptr(config)),
              "tls_config of %s" % self._describe())
        self._tls_config = config

    def new_listener(self, address: str, *, tls_config: TLSConfig | None = None) -> Listener:
        """A Listener for ``address`` that does not listen yet (nng's
        nng_listener_create): set its options (``tls_cert_key_file``,
        ``ws:response-headers``, ...), then ``start()`` it.  ``tls_config``:
        a server TLSConfig for it alone (else the socket's)."""
        return self._new_endpoint(Listener, "listen", address, tls_config)

    def new_dialer(self, address: str, *, tls_config: TLSConfig | None = None) -> Dialer:
        """A Dialer for ``address`` that does not dial yet (nng's
        nng_dialer_create): set its options (``tls_ca_file``,
        ``ws:request-headers``, ...), then ``start()`` it, so its first
        connection has them too.  ``tls_config``: a client TLSConfig for it
        alone (else the socket's)."""
        return self._new_endpoint(Dialer, "dial", address, tls_config)

    def _new_endpoint(self, cls: type[_EndpointT], call: str, address: str,
                      tls_config: TLSConfig | None) -> _EndpointT:
        cfg = config_ptr(tls_config) if tls_config is not None else ffi.NULL
        listener = cls is Listener
        out = ffi.new("pnc_listener **" if listener else "pnc_dialer **")
        create = lib.pnc_listener_create if listener else lib.pnc_dialer_create
        rv = create(self._sock, self._url(address), cfg, out)
        if rv:
            raise endpoint_error(rv, call, address, self._describe())
        endpoint = cls(self, out[0], address)
        endpoint._tls_config = tls_config
        (self._listeners if listener else self._dialers).append(endpoint)  # type: ignore[arg-type]  # its kind's list
        return endpoint

    def listen(self, address: str, flags: int = 0, *, block: bool | None = None,
               tls_config: TLSConfig | None = None) -> Listener:
        """Listens on ``address``; the bind happens now and its failure raises.

        With ``block=False`` (or NNG's non-blocking flag in ``flags``) a bind
        that fails is retried in the background instead.  ``tls_config``: a
        server TLSConfig for this listener alone (else the socket's).
        """
        listener = self.new_listener(address, tls_config=tls_config)
        rv = listener._start(not (flags & NONBLOCK or block is False))
        if rv:
            error = listener._start_error(rv, "listen")
            listener.close()
            raise error
        return listener

    def dial(self, address: str, *, block: bool | None = None,
             tls_config: TLSConfig | None = None) -> Dialer:
        """Dials ``address``.

        ``block=True`` connects now and raises on failure (saying why: a TLS
        handshake's reason too); ``block=False`` connects in the background;
        ``None`` (pynng's rule) tries a blocking dial and falls back to the
        background one if it fails.  ``tls_config``: a client TLSConfig for
        this dialer alone (else the socket's).

        A socket has at most 256 connection attempts under way at once
        (connect and SP handshake); further dials wait their turn, so
        thousands dialed at once never overflow a listener's accept queue.
        An attempt that has not finished in a second (a peer that does not
        answer) no longer holds up the others.
        """
        dialer = self.new_dialer(address, tls_config=tls_config)
        rv = dialer._start(block or block is None)
        if rv and block is None and rv not in _DIAL_FINAL:
            rv = dialer._start(False)
        if rv:
            error = dialer._start_error(rv, "dial")
            dialer.close()
            raise error
        return dialer

    @staticmethod
    def _url(address: str | bytes) -> bytes:
        if isinstance(address, bytes):
            return address
        if not isinstance(address, str):
            raise TypeError("an address is a str such as 'tcp://127.0.0.1:5555', not %r"
                            % (address,))
        return address.encode()

    @property
    def listeners(self) -> list[Listener]:
        return list(self._listeners)

    @property
    def dialers(self) -> list[Dialer]:
        return list(self._dialers)

    def _forget_endpoint(self, endpoint: _Endpoint) -> None:
        for group in (self._listeners, self._dialers):
            if endpoint in group:
                group.remove(endpoint)  # type: ignore[arg-type]  # the one it is in

    # -- pipes and their events -------------------------------------------

    def _pipe_ids(self) -> list[int]:
        ids = ffi.new("uint32_t[]", 256)
        n = lib.pnc_socket_pipes(self._sock, ids, 256)
        if n > 256:
            ids = ffi.new("uint32_t[]", n + 64)
            n = min(lib.pnc_socket_pipes(self._sock, ids, n + 64), n + 64)
        return [ids[i] for i in range(n)]

    def _pipe(self, pipe_id: int) -> Pipe:
        return self._pipes.get(pipe_id)

    @property
    def pipes(self) -> list[Pipe]:
        """The connections this socket has now."""
        return [self._pipe(i) for i in self._pipe_ids()]

    def _endpoint_by_id(self, endpoint_id: int) -> Listener | Dialer | None:
        for endpoint in self._listeners + self._dialers:
            if endpoint.id == endpoint_id:
                return endpoint
        return None

    def _add_callback(self, kind: int, callback: PipeCallback) -> None:
        self._callbacks[kind].append(callback)
        self._watch_pipes()

    def _remove_callback(self, kind: int, callback: PipeCallback) -> None:
        self._callbacks[kind].remove(callback)
        self._watch_pipes()

    def _watch_pipes(self) -> None:
        mask = sum(kind for kind, cbs in self._callbacks.items() if cbs)
        if mask:
            events.watch(self)
        rv = lib.pnc_socket_watch_pipes(self._sock, mask)
        if rv:
            raise exception_for(rv, "pipe callbacks on %s" % self._describe())

    def add_pre_pipe_connect_cb(self, callback: PipeCallback) -> None:
        """callback(pipe) before a new pipe joins; closing it refuses the peer."""
        self._add_callback(PRE_CONNECT, callback)

    def add_post_pipe_connect_cb(self, callback: PipeCallback) -> None:
        """callback(pipe) once a new pipe has joined the socket."""
        self._add_callback(POST_CONNECT, callback)

    def add_post_pipe_remove_cb(self, callback: PipeCallback) -> None:
        """callback(pipe) once a pipe has left the socket."""
        self._add_callback(POST_REMOVE, callback)

    def remove_pre_pipe_connect_cb(self, callback: PipeCallback) -> None:
        self._remove_callback(PRE_CONNECT, callback)

    def remove_post_pipe_connect_cb(self, callback: PipeCallback) -> None:
        self._remove_callback(POST_CONNECT, callback)

    def remove_post_pipe_remove_cb(self, callback: PipeCallback) -> None:
        self._remove_callback(POST_REMOVE, callback)

    def _pipe_event(self, pipe_id: int, kind: int) -> None:
        """On the events thread: run this socket's callbacks for a pipe."""
        pipe = self._pipe(pipe_id)
        if kind == PRE_CONNECT:
            run_callbacks(self._callbacks[PRE_CONNECT], pipe, "pre-connect")
            # Admitted unless a callback closed it (then this is a no-op).
            lib.pnc_pipe_admit(self._sock, pipe_id, 0 if pipe._closed else 1)
        elif kind == POST_CONNECT:
            run_callbacks(self._callbacks[POST_CONNECT], pipe, "post-connect")
        else:
            run_callbacks(self._callbacks[POST_REMOVE], pipe, "post-remove")
            pipe._closed = True
            self._pipes.forget(pipe_id)

    def _core(self) -> CData:
        """The core socket, for the calls a Pipe makes on it."""
        return self._sock

    @property
    def stats(self) -> dict[str, int]:
        """Counters: messages and bytes in and out, pipes opened, closed and
        refused, messages dropped as too large, with a bad header, or for a
        full queue."""
        out = ffi.new("pnc_stats *")
        lib.pnc_socket_stats(self._core(), out)
        return stats_dict(out, STAT_FIELDS)

    def _owner(self) -> Socket:
        return self

    def new_context(self) -> Context:
        """A Context: independent protocol state on this socket (req, rep,
        sub, surveyor, respondent), so many requests or surveys can be under
        way at once, from different threads."""
        return Context(self)

    # -- life cycle -------------------------------------------------------

    def close(self) -> None:
        """Closes the socket, its endpoints and connections; wakes every
        blocked call with Closed.  Closing twice is harmless."""
        if not self._closed:
            self._closed = True
            lib.pnc_socket_close(self._sock)
            for endpoint in self._listeners + self._dialers:
                endpoint._closed = True
            self._listeners.clear()
            self._dialers.clear()

    def _forked_away(self) -> None:
        """In a forked child: this socket is the parent's (see _fork)."""
        self._closed = True
        ffi.gc(self._sock, None)
        SendRecv._forked_away(self)
        _fork.disown(self, _InheritedSocket)

    def _describe(self) -> str:
        return "%s socket %d%s" % (type(self).__name__, lib.pnc_socket_id(self._sock),
                                   " (closed)" if self._closed else "")

    def __repr__(self) -> str:
        return "<%s>" % self._describe()


class _InheritedSocket(InheritedSendRecv):
    """A socket a forked child inherited (see _fork): it has no pipes, and
    what would reach the core raises Closed."""

    listen = dial = new_context = _topic_option = _watch_pipes = _pipe = _core = _inherited
    _ready_fd = _inherited

    def _pipe_ids(self) -> list[int]:
        return []

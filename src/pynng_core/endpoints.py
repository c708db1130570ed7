"""Listener and Dialer: the endpoints a socket listens and dials with.

``Socket.listen`` and ``Socket.dial`` make one and start it at once, as
pynng's do; ``Socket.new_listener`` and ``Socket.new_dialer`` make one
that waits for ``start()`` (nng's create, set, start), so that options
set meanwhile (``tls_ca_file``, ``ws:request-headers``, ...) hold for its
first connection too.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar, overload

from . import _fork
from ._core import ffi, lib
from .aio import AsyncClose
from .exceptions import NNGException, check, exception_for
from .options import HasOptions, Option, ReadOnlyProperties, _coerced
from .sockaddr import SockAddr, from_core, from_url, url_trouble

if TYPE_CHECKING:
    from ._core import CData  # the stub's: cffi's types have no names at run time
    from .pipe import Pipe
    from .socket import Socket
    from .tls import TLSConfig

_T = TypeVar("_T")
_TLSOptionT = TypeVar("_TLSOptionT", bound="_TLSOption[Any]")
_EndpointT = TypeVar("_EndpointT", bound="_Endpoint")

_ECLOSED = lib.PNC_ECLOSED
_STRING_MAX = 8192  # the longest string option (ws headers: 4096) and then some
_ESTATE = lib.PNC_ESTATE
_NONBLOCK = lib.PNC_FLAG_NONBLOCK

# What a TLS option's error means, whichever option it is.
_TLS_TROUBLE: dict[int, str] = {
    lib.PNC_ENOTSUP: "only tls+tcp:// and wss:// endpoints have TLS options",
    lib.PNC_EWRITEONLY: "write-only, as in NNG (each sets part of the endpoint's TLS "
                        "configuration, which is not read back)",
    lib.PNC_EBUSY: "the endpoint started already, or its TLS configuration served a "
                   "connection: set TLS options before it starts (Socket.new_dialer or "
                   "new_listener, the options, then start()), as in NNG",
    lib.PNC_ENOENT: "no such file, or it cannot be read",
}


class _TLSOption(Option[_T]):
    """A TLS option of a tls+tcp:// or wss:// endpoint, as nng's: set before
    the endpoint starts (after, Busy), it changes the endpoint's own TLS
    configuration (the TLSConfig given to it, if one was, else a new one of
    its role with nng's defaults: the socket's ``tls_config`` is neither
    changed nor copied).  Reading it raises WriteOnly, as in pynng: nng
    keeps no value to give back (a CA file adds to the CAs)."""

    def __init__(self, nng_name: str, kind: type[_T], doc: str, invalid: str) -> None:
        super().__init__(nng_name, kind, doc=doc)
        self.invalid = invalid  # what PNC_EINVAL says of a value

    @overload
    def __get__(self: _TLSOptionT, obj: None, owner: type | None = None) -> _TLSOptionT: ...
    @overload
    def __get__(self, obj: HasOptions, owner: type | None = None) -> NoReturn: ...

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        unused = ffi.new("int64_t *")  # the core answers WriteOnly, or NotSupported
        raise self._error(obj, type(obj)._get_int_fn(obj._ptr, self.nng_name.encode(),
                                                     unused), None)

    def __set__(self, obj: HasOptions, value: _T) -> None:
        value = _coerced(self.name, self.kind, value)
        rv = obj._set_option(self.nng_name, self.kind, value)
        if rv:
            raise self._error(obj, rv, value)

    def _error(self, obj: Any, code: int, value: object) -> NNGException:
        shown = self.name if value is None else "%s=%r" % (self.name, value)
        trouble = self.invalid if code == lib.PNC_EINVAL else _TLS_TROUBLE.get(code)
        what = "%s (NNG option %r) of %s" % (shown, self.nng_name, obj._describe())
        return exception_for(code, what + (": " + trouble if trouble else ""))


class _Endpoint(AsyncClose, ReadOnlyProperties):
    if TYPE_CHECKING:
        # Each subclass's core calls, a listener's or a dialer's (their first
        # argument its pointer).
        _close_fn: ClassVar[Callable[..., int]]
        _release_fn: ClassVar[Callable[..., None]]
        _get_int_fn: ClassVar[Callable[..., int]]
        _set_int_fn: ClassVar[Callable[..., int]]
        _get_string_fn: ClassVar[Callable[..., int]]
        _set_string_fn: ClassVar[Callable[..., int]]
        _id_fn: ClassVar[Callable[..., int]]
        _set_tls_fn: ClassVar[Callable[..., int]]
        _start_fn: ClassVar[Callable[..., int]]
        _last_error_fn: ClassVar[Callable[..., int]]
    else:
        _close_fn = None
        _release_fn = None
        _get_int_fn = None
        _set_int_fn = None
        _get_string_fn = None
        _set_string_fn = None
        _id_fn = None

    def __init__(self, socket: Socket, ptr: CData, url: str) -> None:
        self._ptr = ffi.gc(ptr, type(self)._release_fn)
        self.socket = socket
        self.url = url
        self._closed = False
        _fork.track(self)

    def close(self) -> None:
        """Stops it and closes its connections; closing twice is harmless."""
        if not self._closed:
            self._closed = True
            type(self)._close_fn(self._ptr)
            self.socket._forget_endpoint(self)

    @property
    def id(self) -> int:
        return type(self)._id_fn(self._ptr)

    # Options of the connections it makes: the socket's until set here
    # (then for its future connections and redials), as with nng.
    recv_max_size = Option("recv-size-max", doc="Largest message accepted, bytes (0: any).")
    reconnect_time_min = Option("reconnect-time-min", doc="First redial wait, ms.")
    reconnect_time_max = Option("reconnect-time-max", doc="Longest redial wait, ms (0: no growth).")
    tcp_nodelay = Option("tcp-nodelay", bool, doc="TCP_NODELAY on its new tcp connections.")
    tcp_keepalive = Option("tcp-keepalive", bool, doc="SO_KEEPALIVE on its new tcp connections.")
    peer = Option("peer", readonly=True, doc="The peer protocol's number.")

    @property
    def peer_name(self) -> str:
        """The peer protocol's name."""
        return self.socket.peer_name

    # pynng's TLS options (nng's, see _TLSOption), set before start().
    tls_ca_file = _TLSOption(
        "tls-ca-file", str, "A PEM file of certificate authorities to verify the peer "
        "with (added to those it has).", "the file holds no PEM certificate")
    tls_cert_key_file = _TLSOption(
        "tls-cert-key-file", str, "A PEM file with its own certificate (then its chain) "
        "and private key.", "the file holds no PEM certificate with its matching, "
        "unencrypted private key")
    tls_auth_mode = _TLSOption(
        "tls-authmode", int, "Whether the peer must show a certificate: "
        "TLSConfig.AUTH_MODE_NONE (0), _OPTIONAL (1) or _REQUIRED (2).",
        "out of range: 0 (none), 1 (optional) or 2 (required)")
    tls_server_name = _TLSOption(
        "tls-server-name", str, "The name a dialer checks the server's certificate "
        "against and sends (SNI); the URL's host unless set.", "not a usable name")

    _tls_config: TLSConfig | None = None
    if not TYPE_CHECKING:
        _set_tls_fn = None
        _start_fn = None
        _last_error_fn = None

    @property
    def tls_config(self) -> TLSConfig | None:
        """The TLSConfig given to it, else the socket's (a configuration its
        tls_* options made is not a TLSConfig object, and not shown here)."""
        return self._tls_config if self._tls_config is not None else self.socket.tls_config

    @tls_config.setter
    def tls_config(self, config: TLSConfig) -> None:
        from .tls import config_ptr
        check(type(self)._set_tls_fn(self._ptr, config_ptr(config)),
              "tls_config of %s (a listener takes a server config, a dialer a client one)"
              % self._describe())
        self._tls_config = config

    def _start(self, block: bool) -> int:
        """0, or the core's error of a start (see start())."""
        return type(self)._start_fn(self._ptr, 0 if block else _NONBLOCK)

    def _start_error(self, code: int, call: str) -> NNGException:
        """The exception of a failed start, with why its connection failed
        (a TLS handshake's reason, say) when the transport said."""
        last, why = self._last_failure()
        return endpoint_error(code, call, self.url, self.socket._describe(),
                              why if last == code else "")

    def _last_failure(self) -> tuple[int, str]:
        code = ffi.new("int *")
        why = ffi.new("char[]", lib.PNC_WHY_MAX)
        type(self)._last_error_fn(self._ptr, code, why, lib.PNC_WHY_MAX)
        return code[0], ffi.string(why).decode("utf-8", "replace")

    @property
    def last_error(self) -> NNGException | None:
        """Why its last connection failed, as the exception that says it (its
        ``errno`` the NNG code; its text what the transport said, such as
        "TLS: certificate verify failed: ..."), or None while none has since
        it started.  A listener's are the connections it refused (counted in
        the socket's ``stats``: pipes_rejected and rejected_*); a dialer's,
        its attempts."""
        code, why = self._last_failure()
        if not code:
            return None
        return exception_for(code, self._describe() + (": " + why if why else ""))

    def _get_int(self, nng_name: str) -> int:
        value = ffi.new("int64_t *")
        rv = type(self)._get_int_fn(self._ptr, nng_name.encode(), value)
        check(rv, _what(rv, "%s of %s %s" % (nng_name, type(self).__name__, self.url)))
        got: int = value[0]
        return got

    def _get_option(self, nng_name: str, kind: type) -> Any:
        """By NNG name; strings are the transport's ("ws:request-headers"),
        else its URL's or the socket's (as nng's)."""
        if kind is not str:
            return self._get_int(nng_name)
        if nng_name == "url":
            return self.url
        buf = ffi.new("char[]", _STRING_MAX)
        rv = type(self)._get_string_fn(self._ptr, nng_name.encode(), buf, _STRING_MAX)
        if rv != lib.PNC_ENOTSUP:
            check(rv, "%s of %s %s" % (nng_name, type(self).__name__, self.url))
            return ffi.string(buf).decode()
        return self.socket._get_option(nng_name, str)

    def _set_option(self, nng_name: str, kind: type, value: Any) -> int:
        if kind is str:  # the transport's: "ws:request-headers", "ws:response-headers"
            return type(self)._set_string_fn(self._ptr, nng_name.encode(), value.encode())
        return type(self)._set_int_fn(self._ptr, nng_name.encode(), int(value))

    def __enter__(self: _EndpointT) -> _EndpointT:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _forked_away(self) -> None:
        """In a forked child: this endpoint is the parent's (see _fork)."""
        self._closed = True
        ffi.gc(self._ptr, None)
        _fork.disown(self, _InheritedEndpoint)

    def _describe(self) -> str:
        return "%s %s of %s" % (type(self).__name__, self.url, self.socket._describe())

    def __repr__(self) -> str:
        return "<%s %s%s>" % (type(self).__name__, self.url,
                              " (closed)" if self._closed else "")


def endpoint_error(code: int, call: str, address: str | bytes, socket: str,
                   why: str = "") -> NNGException:
    """The error of a listen or dial, saying what is wrong with the URL when
    the URL shows it (a path too long for a unix socket, say), and ``why``."""
    what = "%s(%r) on %s" % (call, address, socket)
    trouble = url_trouble(address if isinstance(address, bytes) else address.encode(), code)
    return exception_for(code, (trouble + ": " if trouble else "") + what +
                         (": " + why if why else ""))


def _what(code: int, what: str) -> str:
    """What an endpoint's error is about; a listener answers PNC_ESTATE only
    while its bind has not succeeded (listen(block=False) retries it)."""
    if code != _ESTATE:
        return what
    return what + ": not bound yet (its listen retries in the background, " \
        "the address being in use or unavailable)"


def _inherited(self: Any, *args: object) -> NoReturn:
    raise _fork.inherited_error(self)


class _InheritedEndpoint:
    """A dialer or listener a forked child inherited (see _fork)."""

    _get_int = _get_option = _set_option = _inherited
    local_address = remote_address = property(_inherited)


class Listener(_Endpoint):
    """A listening address; ``port`` is the TCP port it is bound to."""

    _close_fn = lib.pnc_listener_close
    _release_fn = lib.pnc_listener_release
    _get_int_fn = lib.pnc_listener_get_int
    _set_int_fn = lib.pnc_listener_set_int
    _get_string_fn = lib.pnc_listener_get_string
    _set_string_fn = lib.pnc_listener_set_string
    _id_fn = lib.pnc_listener_id
    _set_tls_fn = lib.pnc_listener_set_tls
    _start_fn = lib.pnc_listener_start
    _last_error_fn = lib.pnc_listener_last_error

    def start(self, block: bool = True) -> None:
        """Binds (nng_listener_start), for a listener from
        ``Socket.new_listener``.  A failed bind raises and leaves it
        unstarted; with ``block=False`` it is retried in the background
        instead."""
        rv = self._start(block)
        if rv:
            raise self._start_error(rv, "listen")

    @property
    def port(self) -> int:
        """The bound TCP port (the real one when the URL asked for port 0)."""
        return self._get_int("tcp-bound-port")

    @property
    def local_address(self) -> SockAddr:
        """The address it listens on (the real port for port 0)."""
        out = ffi.new("pnc_addr *")
        rv = lib.pnc_listener_addr(self._ptr, out)
        check(rv, _what(rv, "address of %r" % self))
        return from_core(out)

    @property
    def remote_address(self) -> SockAddr:
        """A listener has many peers, none its own: unspecified (as nng)."""
        return from_core(ffi.new("pnc_addr *"))


class Dialer(_Endpoint):
    """A dialed address, redialed with backoff whenever its connection goes."""

    _close_fn = lib.pnc_dialer_close
    _release_fn = lib.pnc_dialer_release
    _get_int_fn = lib.pnc_dialer_get_int
    _set_int_fn = lib.pnc_dialer_set_int
    _get_string_fn = lib.pnc_dialer_get_string
    _set_string_fn = lib.pnc_dialer_set_string
    _id_fn = lib.pnc_dialer_id
    _set_tls_fn = lib.pnc_dialer_set_tls
    _start_fn = lib.pnc_dialer_start
    _last_error_fn = lib.pnc_dialer_last_error

    def start(self, block: bool = True) -> None:
        """Dials (nng_dialer_start), for a dialer from ``Socket.new_dialer``.
        ``block=True`` connects now: a failure raises, saying why (a TLS
        handshake's reason too), and leaves it unstarted; ``block=False``
        dials in the background, again with backoff after failures."""
        rv = self._start(block)
        if rv:
            raise self._start_error(rv, "dial")

    def _connection(self) -> Pipe | None:
        """Its current pipe, or None while it is not connected."""
        return next((pipe for pipe in self.socket.pipes
                     if pipe._endpoint_id == self.id and not pipe._from_listener), None)

    @property
    def local_address(self) -> SockAddr | None:
        """Its connection's local address; unspecified while not connected."""
        pipe = self._connection()
        return pipe.local_address if pipe is not None else from_core(ffi.new("pnc_addr *"))

    @property
    def remote_address(self) -> SockAddr | None:
        """The address it dials: its connection's peer, else from its URL."""
        pipe = self._connection()
        return pipe.remote_address if pipe is not None else from_url(self.url)

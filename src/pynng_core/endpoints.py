"""Listener and Dialer: the endpoints a socket listens and dials with."""
from . import _fork
from ._core import ffi, lib
from .aio import AsyncClose
from .exceptions import check
from .options import Option, ReadOnlyProperties
from .sockaddr import from_core, from_url

_ECLOSED = lib.PNC_ECLOSED
_STRING_MAX = 8192  # the longest string option (ws headers: 4096) and then some
_ESTATE = lib.PNC_ESTATE


class _Endpoint(AsyncClose, ReadOnlyProperties):
    _close_fn = None
    _release_fn = None
    _get_int_fn = None
    _set_int_fn = None
    _get_string_fn = None
    _set_string_fn = None
    _id_fn = None

    def __init__(self, socket, ptr, url):
        self._ptr = ffi.gc(ptr, type(self)._release_fn)
        self.socket = socket
        self.url = url
        self._closed = False
        _fork.track(self)

    def close(self):
        """Stops it and closes its connections; closing twice is harmless."""
        if not self._closed:
            self._closed = True
            type(self)._close_fn(self._ptr)
            self.socket._forget_endpoint(self)

    @property
    def id(self):
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
    def peer_name(self):
        """The peer protocol's name."""
        return self.socket.peer_name

    _tls_config = None
    _set_tls_fn = None

    @property
    def tls_config(self):
        """Its own TLSConfig (for its next connections), else the socket's."""
        return self._tls_config if self._tls_config is not None else self.socket.tls_config

    @tls_config.setter
    def tls_config(self, config):
        from .tls import config_ptr
        check(type(self)._set_tls_fn(self._ptr, config_ptr(config)),
              "tls_config of %s (a listener takes a server config, a dialer a client one)"
              % self._describe())
        self._tls_config = config

    def _get_int(self, nng_name):
        value = ffi.new("int64_t *")
        rv = type(self)._get_int_fn(self._ptr, nng_name.encode(), value)
        check(rv, _what(rv, "%s of %s %s" % (nng_name, type(self).__name__, self.url)))
        return value[0]

    def _get_option(self, nng_name, kind):
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

    def _set_option(self, nng_name, kind, value):
        if kind is str:  # the transport's: "ws:request-headers", "ws:response-headers"
            return type(self)._set_string_fn(self._ptr, nng_name.encode(), value.encode())
        return type(self)._set_int_fn(self._ptr, nng_name.encode(), int(value))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _forked_away(self):
        """In a forked child: this endpoint is the parent's (see _fork)."""
        self._closed = True
        ffi.gc(self._ptr, None)
        _fork.disown(self, _InheritedEndpoint)

    def _describe(self):
        return "%s %s of %s" % (type(self).__name__, self.url, self.socket._describe())

    def __repr__(self):
        return "<%s %s%s>" % (type(self).__name__, self.url,
                              " (closed)" if self._closed else "")


def _what(code, what):
    """What an endpoint's error is about; a listener answers PNC_ESTATE only
    while its bind has not succeeded (listen(block=False) retries it)."""
    if code != _ESTATE:
        return what
    return what + ": not bound yet (its listen retries in the background, " \
        "the address being in use or unavailable)"


def _inherited(self, *args):
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

    @property
    def port(self):
        """The bound TCP port (the real one when the URL asked for port 0)."""
        return self._get_int("tcp-bound-port")

    @property
    def local_address(self):
        """The address it listens on (the real port for port 0)."""
        out = ffi.new("pnc_addr *")
        rv = lib.pnc_listener_addr(self._ptr, out)
        check(rv, _what(rv, "address of %r" % self))
        return from_core(out)

    @property
    def remote_address(self):
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

    def _connection(self):
        """Its current pipe, or None while it is not connected."""
        return next((pipe for pipe in self.socket.pipes
                     if pipe._endpoint_id == self.id and not pipe._from_listener), None)

    @property
    def local_address(self):
        """Its connection's local address; unspecified while not connected."""
        pipe = self._connection()
        return pipe.local_address if pipe is not None else from_core(ffi.new("pnc_addr *"))

    @property
    def remote_address(self):
        """The address it dials: its connection's peer, else from its URL."""
        pipe = self._connection()
        return pipe.remote_address if pipe is not None else from_url(self.url)

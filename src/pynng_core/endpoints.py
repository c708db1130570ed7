"""Listener and Dialer: the endpoints a socket listens and dials with."""
from . import _fork
from ._core import ffi, lib
from .aio import AsyncClose
from .exceptions import check
from .options import ReadOnlyProperties
from .sockaddr import from_core

_ECLOSED = lib.PNC_ECLOSED
_ESTATE = lib.PNC_ESTATE


class _Endpoint(AsyncClose, ReadOnlyProperties):
    _close_fn = None
    _release_fn = None
    _get_int_fn = None
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

    # Options of the connections it makes (the socket's, as nng copies them).
    recv_max_size = property(lambda self: self._get_int("recv-size-max"))
    reconnect_time_min = property(lambda self: self._get_int("reconnect-time-min"))
    reconnect_time_max = property(lambda self: self._get_int("reconnect-time-max"))
    tcp_nodelay = property(lambda self: bool(self._get_int("tcp-nodelay")))
    tcp_keepalive = property(lambda self: bool(self._get_int("tcp-keepalive")))

    def _get_int(self, nng_name):
        value = ffi.new("int64_t *")
        rv = type(self)._get_int_fn(self._ptr, nng_name.encode(), value)
        check(rv, _what(rv, "%s of %s %s" % (nng_name, type(self).__name__, self.url)))
        return value[0]

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

    _get_int = _inherited
    local_address = property(_inherited)


class Listener(_Endpoint):
    """A listening address; ``port`` is the TCP port it is bound to."""

    _close_fn = lib.pnc_listener_close
    _release_fn = lib.pnc_listener_release
    _get_int_fn = lib.pnc_listener_get_int
    _id_fn = lib.pnc_listener_id

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


class Dialer(_Endpoint):
    """A dialed address, redialed with backoff whenever its connection goes."""

    _close_fn = lib.pnc_dialer_close
    _release_fn = lib.pnc_dialer_release
    _get_int_fn = lib.pnc_dialer_get_int
    _id_fn = lib.pnc_dialer_id

"""Listener and Dialer: the endpoints a socket listens and dials with."""
from ._core import ffi, lib
from .exceptions import check

_ECLOSED = lib.PNC_ECLOSED
_ESTATE = lib.PNC_ESTATE


class _Endpoint:
    _close_fn = None
    _release_fn = None
    _get_int_fn = None

    def __init__(self, socket, ptr, url):
        self._ptr = ffi.gc(ptr, type(self)._release_fn)
        self.socket = socket
        self.url = url
        self._closed = False

    def close(self):
        """Stops it and closes its connections; closing twice is harmless."""
        if not self._closed:
            self._closed = True
            type(self)._close_fn(self._ptr)
            self.socket._forget_endpoint(self)

    def _get_int(self, nng_name):
        value = ffi.new("int64_t *")
        check(type(self)._get_int_fn(self._ptr, nng_name.encode(), value),
              "%s of %s %s" % (nng_name, type(self).__name__, self.url))
        return value[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<%s %s%s>" % (type(self).__name__, self.url,
                              " (closed)" if self._closed else "")


class Listener(_Endpoint):
    """A listening address; ``port`` is the TCP port it is bound to."""

    _close_fn = lib.pnc_listener_close
    _release_fn = lib.pnc_listener_release
    _get_int_fn = lib.pnc_listener_get_int

    @property
    def port(self):
        """The bound TCP port (the real one when the URL asked for port 0)."""
        return self._get_int("tcp-bound-port")


class Dialer(_Endpoint):
    """A dialed address, redialed with backoff whenever its connection goes."""

    _close_fn = lib.pnc_dialer_close
    _release_fn = lib.pnc_dialer_release
    _get_int_fn = lib.pnc_dialer_get_int

"""Option properties: each maps a pynng attribute name to an NNG option.

``recv_timeout = Option("recv-timeout", int)`` on a class makes
``sock.recv_timeout`` read and write the core's option.  A wrong type is a
TypeError and a value out of range an InvalidOperation, both naming the
option and the value.
"""
from .exceptions import exception_for

_EINVAL = 3
_ENOTSUP = 9


class Option:
    """An integer (or bool) option of the object's core handle."""

    def __init__(self, nng_name, kind=int, doc=None, readonly=False):
        self.nng_name = nng_name
        self.kind = kind
        self.readonly = readonly
        self.__doc__ = doc or "The %r option." % nng_name

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj._get_option(self.nng_name, self.kind)
        return bool(value) if self.kind is bool else value

    def __set__(self, obj, value):
        if self.readonly:
            raise AttributeError("%s is read-only" % self.name)
        if self.kind is str:
            if not isinstance(value, str):
                raise TypeError("%s must be a str, not %r" % (self.name, value))
        elif not isinstance(value, int):
            raise TypeError("%s must be an int, not %r" % (self.name, value))
        rv = obj._set_option(self.nng_name, self.kind, value)
        if rv:
            detail = "%s=%r (NNG option %r)" % (self.name, value, self.nng_name)
            if rv == _EINVAL:
                detail += ": out of range"
            raise exception_for(rv, detail)


# pynng's helpers for options that have no property, by NNG name
# ("recv-timeout", "tcp-nodelay", "req:resend-time"), on a Socket,
# Context, Dialer, Listener or Pipe.  An unknown name raises NotSupported,
# naming it.  Durations and sizes are integers here, as in the core.

def _option_name(option):
    return option.decode() if isinstance(option, bytes) else option


def _getopt(obj, option, kind):
    if not hasattr(obj, "_get_option"):
        raise TypeError("%r has no NNG options" % (obj,))
    return obj._get_option(_option_name(option), kind)


def _setopt(obj, option, kind, value):
    if not hasattr(obj, "_set_option"):
        raise TypeError("%r has no NNG options" % (obj,))
    name = _option_name(option)
    rv = obj._set_option(name, kind, value)
    if rv:
        raise exception_for(rv, "option %r = %r on %r" % (name, value, obj))


def _integral(option, value):
    """pynng's rule: an int, or a float that is exactly one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError("option %r takes an integer, not %r" % (_option_name(option), value))
    return int(value)


def _getopt_int(obj, option):
    return _getopt(obj, option, int)


def _setopt_int(obj, option, value):
    _setopt(obj, option, int, _integral(option, value))


_getopt_ms = _getopt_size = _getopt_int
_setopt_ms = _setopt_size = _setopt_int


def _getopt_bool(obj, option):
    return bool(_getopt(obj, option, bool))


def _setopt_bool(obj, option, value):
    _setopt(obj, option, bool, bool(value))


def _getopt_string(obj, option):
    return _getopt(obj, option, str)


def _setopt_string(obj, option, value):
    if isinstance(value, bytes):
        value = value.decode()
    if not isinstance(value, str):
        raise ValueError("option %r takes a str, not %r" % (_option_name(option), value))
    _setopt(obj, option, str, value)


_ADDRESS_OPTIONS = {"local-address": "local_address", "remote-address": "remote_address"}


def _getopt_sockaddr(obj, option):
    name = _option_name(option)
    if name not in _ADDRESS_OPTIONS:
        raise exception_for(_ENOTSUP, "address option %r of %r" % (name, obj))
    return getattr(obj, _ADDRESS_OPTIONS[name])

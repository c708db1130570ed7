"""Option properties: each maps a pynng attribute name to an NNG option.

``recv_timeout = Option("recv-timeout", int)`` on a class makes
``sock.recv_timeout`` read and write the core's option.  A wrong type is a
TypeError and a value out of range an InvalidOperation, both naming the
option and the value.
"""
from .exceptions import exception_for

_EINVAL = 3


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

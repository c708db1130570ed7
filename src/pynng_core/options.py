"""Option properties: each maps a pynng attribute name to an NNG option.

``recv_timeout = Option("recv-timeout", int)`` on a class makes
``sock.recv_timeout`` read and write the core's option.  A wrong type is
BadType, both a TypeError and a ValueError (pynng raises either, by the
option and the value); a value out of range is InvalidOperation; setting a
read-only option is ReadOnly, an AttributeError too.  Each names the
option and the value.
"""
from ._core import lib
from .exceptions import exception_for

_EINVAL = lib.PNC_EINVAL
_KIND_NAMES = {int: "an int", bool: "a bool", str: "a str"}


def read_only_error(name):
    """ReadOnly for setting the attribute ``name``."""
    return exception_for(lib.PNC_EREADONLY, "%s cannot be set" % name)


class _ReadOnlyProperty(property):
    """A property without a setter whose set raises ReadOnly."""

    name = None  # the attribute's

    def __set__(self, obj, value):
        raise read_only_error(self.name)


class ReadOnlyProperties:
    """Setting a property that has no setter raises ReadOnly, as setting a
    read-only option does in pynng (an AttributeError too, what Python
    raises).  Each subclass's properties are changed once, when it is made.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, attr in list(vars(cls).items()):
            if type(attr) is property and attr.fset is None:
                prop = _ReadOnlyProperty(attr.fget, doc=attr.__doc__)
                prop.name = name
                setattr(cls, name, prop)


def _coerced(name, kind, value):
    """``value`` as the option's kind; BadType when it is not one."""
    if kind is str and isinstance(value, (str, bytes)):
        return value.decode() if isinstance(value, bytes) else value
    if kind is not str and isinstance(value, int):
        return value
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)  # pynng takes 2.0 for 2
    raise exception_for(lib.PNC_EBADTYPE, "%s must be %s, not %r"
                        % (name, _KIND_NAMES[kind], value))


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
            raise read_only_error(self.name)
        value = _coerced(self.name, self.kind, value)
        rv = obj._set_option(self.nng_name, self.kind, value)
        if rv:
            detail = "%s=%r (NNG option %r)" % (self.name, value, self.nng_name)
            if rv == _EINVAL:
                detail += ": out of range"
            raise exception_for(rv, detail)

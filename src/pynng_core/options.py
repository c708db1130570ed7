"""Option properties: each maps a pynng attribute name to an NNG option.

``recv_timeout = Option("recv-timeout", int)`` on a class makes
``sock.recv_timeout`` read and write the core's option.  A wrong type is
BadType, both a TypeError and a ValueError (pynng raises either, by the
option and the value); a value out of range is InvalidOperation; setting a
read-only option is ReadOnly, an AttributeError too.  Each names the
option and the value.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

from ._core import lib
from .exceptions import NNGException, exception_for

if TYPE_CHECKING:
    from .sockaddr import SockAddr

_EINVAL = lib.PNC_EINVAL
_KIND_NAMES: dict[type, str] = {int: "an int", bool: "a bool", str: "a str"}

_T = TypeVar("_T")
_OptionT = TypeVar("_OptionT", bound="Option[Any]")


class HasOptions(Protocol):
    """An object with NNG options: a Socket, Context, Dialer, Listener or Pipe."""

    def _get_option(self, nng_name: str, kind: type) -> Any: ...

    def _set_option(self, nng_name: str, kind: type, value: Any) -> int: ...


def read_only_error(name: str) -> NNGException:
    """ReadOnly for setting the attribute ``name``."""
    return exception_for(lib.PNC_EREADONLY, "%s cannot be set" % name)


class _ReadOnlyProperty(property):
    """A property without a setter whose set raises ReadOnly."""

    name: str  # the attribute's, set by ReadOnlyProperties when it makes one

    def __set__(self, obj: object, value: object) -> None:
        raise read_only_error(self.name)


class ReadOnlyProperties:
    """Setting a property that has no setter raises ReadOnly, as setting a
    read-only option does in pynng (an AttributeError too, what Python
    raises).  Each subclass's properties are changed once, when it is made.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, attr in list(vars(cls).items()):
            if type(attr) is property and attr.fset is None:
                prop = _ReadOnlyProperty(attr.fget)
                prop.name = name
                setattr(cls, name, prop)


def _coerced(name: str, kind: type, value: Any) -> Any:
    """``value`` as the option's kind; BadType when it is not one."""
    if kind is str and isinstance(value, (str, bytes)):
        return value.decode() if isinstance(value, bytes) else value
    if kind is not str and isinstance(value, int):
        return value
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)  # pynng takes 2.0 for 2
    raise exception_for(lib.PNC_EBADTYPE, "%s must be %s, not %r"
                        % (name, _KIND_NAMES[kind], value))


class Option(Generic[_T]):
    """An integer (or bool) option of the object's core handle."""

    name: str

    # The value's type is the kind's: Option("x") is an int option.
    @overload
    def __init__(self: Option[int], nng_name: str, *, doc: str | None = None,
                 readonly: bool = False) -> None: ...
    @overload
    def __init__(self, nng_name: str, kind: type[_T], doc: str | None = None,
                 readonly: bool = False) -> None: ...

    def __init__(self, nng_name: str, kind: type = int, doc: str | None = None,
                 readonly: bool = False) -> None:
        self.nng_name = nng_name
        self.kind = kind
        self.readonly = readonly
        self.__doc__ = doc or "The %r option." % nng_name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self: _OptionT, obj: None, owner: type | None = None) -> _OptionT: ...
    @overload
    def __get__(self, obj: HasOptions, owner: type | None = None) -> _T: ...

    def __get__(self, obj: HasOptions | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj._get_option(self.nng_name, self.kind)
        return bool(value) if self.kind is bool else value

    def __set__(self, obj: HasOptions, value: _T) -> None:
        if self.readonly:
            raise read_only_error(self.name)
        value = _coerced(self.name, self.kind, value)
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

def _option_name(option: str | bytes) -> str:
    return option.decode() if isinstance(option, bytes) else option


def _getopt(obj: object, option: str | bytes, kind: type[_T]) -> _T:
    if not hasattr(obj, "_get_option"):
        raise TypeError("%r has no NNG options" % (obj,))
    value: _T = obj._get_option(_option_name(option), kind)  # kind's type
    return value


def _setopt(obj: object, option: str | bytes, kind: type, value: object) -> None:
    if not hasattr(obj, "_set_option"):
        raise TypeError("%r has no NNG options" % (obj,))
    name = _option_name(option)
    rv = obj._set_option(name, kind, value)
    if rv:
        raise exception_for(rv, "option %r = %r on %r" % (name, value, obj))


def _getopt_int(obj: object, option: str | bytes) -> int:
    return _getopt(obj, option, int)


def _setopt_int(obj: object, option: str | bytes, value: int) -> None:
    _setopt(obj, option, int, _coerced(_option_name(option), int, value))


_getopt_ms = _getopt_size = _getopt_int
_setopt_ms = _setopt_size = _setopt_int


def _getopt_bool(obj: object, option: str | bytes) -> bool:
    return bool(_getopt(obj, option, bool))


def _setopt_bool(obj: object, option: str | bytes, value: bool) -> None:
    _setopt(obj, option, bool, _coerced(_option_name(option), bool, value))


def _getopt_string(obj: object, option: str | bytes) -> str:
    return _getopt(obj, option, str)


def _setopt_string(obj: object, option: str | bytes, value: str) -> None:
    _setopt(obj, option, str, _coerced(_option_name(option), str, value))


_ADDRESS_OPTIONS = {"local-address": "local_address", "remote-address": "remote_address"}


def _getopt_sockaddr(obj: object, option: str | bytes) -> SockAddr:
    name = _option_name(option)
    if name not in _ADDRESS_OPTIONS:
        raise exception_for(lib.PNC_ENOTSUP, "address option %r of %r" % (name, obj))
    address: SockAddr = getattr(obj, _ADDRESS_OPTIONS[name])
    return address

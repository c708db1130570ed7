"""Socket addresses of pipes and listeners, as pynng's sockaddr classes.

``InAddr``/``In6Addr`` keep pynng's raw fields (``port`` and ``addr`` in
network byte order, as NNG stores them) and add readable ones: ``host``
(the address text) and ``port_number``.  ``str()`` gives "host:port".

pynng's helpers are here under its names: ``SockAddr.type_to_str`` (family
number -> name), ``family_as_str``, and ``sock_addr``, a view of the
address as NNG's ``nng_sockaddr`` union with its field names (``s_family``
and the family's member: ``s_in``, ``s_in6``, ``s_ipc``, ``s_inproc`` or
``s_abstract``), whose values are plain ints and bytes.
"""
from __future__ import annotations

import ipaddress
import re
import sys
import socket as _socket
import urllib.parse
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from ._core import ffi, lib

if TYPE_CHECKING:
    from ._core import CData  # the stub's: cffi's types have no names at run time

_AF_ZT = 5  # NNG's ZeroTier family: a name pynng has, no transport here


class SockAddr:
    """An address of a family the core did not name (NNG_AF_UNSPEC)."""

    family: int = lib.PNC_AF_UNSPEC
    type_to_str: dict[int, str] = {
        lib.PNC_AF_UNSPEC: "Unspecified",
        lib.PNC_AF_INPROC: "inproc",
        lib.PNC_AF_IPC: "ipc",
        lib.PNC_AF_INET: "inet",
        lib.PNC_AF_INET6: "inetv6",
        _AF_ZT: "zerotier",
        lib.PNC_AF_ABSTRACT: "abstract",
    }
    _member: str | None = None  # its nng_sockaddr union member

    @property
    def family_as_str(self) -> str:
        return self.type_to_str[self.family]

    @property
    def sock_addr(self) -> SimpleNamespace:
        """The address as NNG's nng_sockaddr union, with its field names."""
        union = SimpleNamespace(s_family=self.family)
        if self._member is not None:
            setattr(union, self._member,
                    SimpleNamespace(sa_family=self.family, **self._nng_fields()))
        return union

    def _nng_fields(self) -> dict[str, Any]:
        return {}

    def __str__(self) -> str:
        return self.family_as_str

    def __repr__(self) -> str:
        return "<%s %s>" % (type(self).__name__, self)


class InAddr(SockAddr):
    family = lib.PNC_AF_INET
    _member = "s_in"

    def __init__(self, ip: bytes, port: int) -> None:
        self.host = str(ipaddress.IPv4Address(ip))
        self.port_number = port
        self.port = _socket.htons(port)  # pynng: network byte order
        self.addr = int.from_bytes(ip, "little")  # pynng: the raw in_addr value

    def _nng_fields(self) -> dict[str, Any]:
        return {"sa_port": self.port, "sa_addr": self.addr}

    def __str__(self) -> str:
        return "%s:%d" % (self.host, self.port_number)


class In6Addr(SockAddr):
    family = lib.PNC_AF_INET6
    _member = "s_in6"

    def __init__(self, ip: bytes, port: int) -> None:
        self.host = str(ipaddress.IPv6Address(ip))
        self.port_number = port
        self.port = _socket.htons(port)
        self.addr = bytes(ip)

    def _nng_fields(self) -> dict[str, Any]:
        return {"sa_port": self.port, "sa_addr": self.addr, "sa_scope": 0}

    def __str__(self) -> str:
        return "[%s]:%d" % (self.host, self.port_number)


class _NamedAddr(SockAddr):
    """An address that is a name in bytes (``name_bytes``), ``name`` its
    text; NNG's field for it is ``sa_name``."""

    def __init__(self, name_bytes: bytes) -> None:
        self.name_bytes = name_bytes

    @property
    def name(self) -> str:
        return self.name_bytes.decode(errors="replace")

    def _nng_fields(self) -> dict[str, Any]:
        return {"sa_name": self.name_bytes}

    def __str__(self) -> str:
        return self.name


class IPCAddr(_NamedAddr):
    """A unix socket's path: pynng calls it ``path`` (``sa_path``)."""

    family = lib.PNC_AF_IPC
    _member = "s_ipc"
    path_bytes = property(lambda self: self.name_bytes)
    path = _NamedAddr.name

    def _nng_fields(self) -> dict[str, Any]:
        return {"sa_path": self.name_bytes}


class InprocAddr(_NamedAddr):
    family = lib.PNC_AF_INPROC
    _member = "s_inproc"


class AbstractAddr(_NamedAddr):
    """A Linux abstract socket's name: any bytes, NULs too.  ``str()`` is
    the URL that reaches it (the name percent-encoded, as URLs carry it)."""

    family = lib.PNC_AF_ABSTRACT
    _member = "s_abstract"

    def _nng_fields(self) -> dict[str, Any]:
        return {"sa_len": len(self.name_bytes), "sa_name": self.name_bytes}

    def __str__(self) -> str:
        return "abstract://" + urllib.parse.quote(self.name_bytes)


class ZTAddr(SockAddr):
    """pynng's ZeroTier address class; no transport here makes one, the
    name exists so that code testing for it runs."""

    family = _AF_ZT


def from_core(addr: CData) -> SockAddr:
    """The address object for a core pnc_addr."""
    family = addr.family
    if family == lib.PNC_AF_INET:
        return InAddr(bytes(ffi.buffer(addr.ip, 4)), addr.port)
    if family == lib.PNC_AF_INET6:
        return In6Addr(bytes(ffi.buffer(addr.ip, 16)), addr.port)
    if family == lib.PNC_AF_IPC:
        return IPCAddr(ffi.string(addr.path))
    if family == lib.PNC_AF_INPROC:
        return InprocAddr(ffi.string(addr.path))
    if family == lib.PNC_AF_ABSTRACT:
        return AbstractAddr(bytes(ffi.buffer(addr.path, addr.name_len)))
    return SockAddr()


_nng_sockaddr = from_core  # pynng's name for it (there over nng_sockaddr)


def url_trouble(url: bytes, code: int) -> str:
    """What is wrong with ``url`` (bytes), when the core refused it with
    ``code`` for a reason the URL itself shows; "" otherwise."""
    scheme, sep, rest = url.partition(b"://")
    scheme = scheme.lower()
    if code == lib.PNC_EADDRINVAL and len(url) >= lib.PNC_URL_MAX:
        return "a URL of %d bytes is longer than the %d bytes it may have" % (
            len(url), lib.PNC_URL_MAX - 1)
    if code == lib.PNC_ENOTSUP and scheme == b"abstract":
        return "abstract:// (Linux abstract sockets) is not available on this system"
    if scheme in (b"tls+tcp", b"tls+tcp4", b"tls+tcp6", b"wss", b"wss4", b"wss6"):
        if code == lib.PNC_ENOTSUP and lib.pnc_tls_engine() == ffi.NULL:
            return "%s://: this build has no TLS engine (OpenSSL was not found when it " \
                "was built, or PYNNG_CORE_NO_TLS was set)" % scheme.decode()
        if code == lib.PNC_EINVAL:
            return "%s:// needs a TLS configuration of the endpoint's kind: a " \
                "listener a MODE_SERVER TLSConfig with its certificate (or its " \
                "tls_cert_key_file option), a dialer a MODE_CLIENT one" % scheme.decode()
    if code != lib.PNC_EADDRINVAL or not sep:
        return ""
    if scheme in (b"ipc", b"unix"):
        what, size = "ipc path", len(rest)
    elif scheme == b"abstract":
        if re.search(rb"%(?![0-9A-Fa-f]{2})", rest):
            return "abstract name has a '%' that is not a %XX escape"
        what, size = "abstract name", len(urllib.parse.unquote_to_bytes(rest))
    else:
        return ""
    limit = lib.pnc_ipc_name_max()
    if size <= limit:
        return ""
    if scheme != b"abstract" and sys.platform == "win32":
        return "%s of %d bytes is longer than the %d characters a Windows pipe name " \
            "holds after \\\\.\\pipe\\" % (what, size, limit)
    return "%s of %d bytes is longer than the %d bytes a unix socket address holds" % (
        what, size, limit)


def from_url(url: str) -> SockAddr:
    """The address a URL names (a dialer's target): tcp and ws hosts resolved as
    the core resolves them, unspecified for what it cannot tell."""
    scheme, _, rest = url.partition("://")
    if scheme.startswith("tls+"):
        scheme = scheme[4:]
    if scheme in ("ipc", "unix"):
        return IPCAddr(rest.encode())
    if scheme == "inproc":
        return InprocAddr(url.encode())  # the whole URL, as the core's
    if scheme == "abstract":
        return AbstractAddr(urllib.parse.unquote_to_bytes(rest))
    if scheme.startswith("ws"):  # ws://host[:port][/path]: port 80 if none, wss's 443
        rest = rest.partition("/")[0]
        if ":" not in rest.rpartition("]")[2]:
            rest += ":443" if scheme.startswith("wss") else ":80"
        scheme = "tcp"
    if scheme.startswith("tcp"):
        host, _, port = rest.rpartition(":")
        try:
            family, _, _, _, sockaddr = _socket.getaddrinfo(
                host.strip("[]"), int(port), type=_socket.SOCK_STREAM)[0]
        except (OSError, ValueError):
            return SockAddr()
        ip, port_number = cast("tuple[str, int]", sockaddr)[:2]  # inet or inet6: (ip, port, ...)
        if family == _socket.AF_INET6:
            return In6Addr(_socket.inet_pton(family, ip), port_number)
        return InAddr(_socket.inet_pton(family, ip), port_number)
    return SockAddr()

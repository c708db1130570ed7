"""Socket addresses of pipes and listeners, as pynng's sockaddr classes.

``InAddr``/``In6Addr`` keep pynng's raw fields (``port`` and ``addr`` in
network byte order, as NNG stores them) and add readable ones: ``host``
(the address text) and ``port_number``.  ``str()`` gives "host:port".
"""
import ipaddress
import socket as _socket

from ._core import ffi, lib


class SockAddr:
    family = lib.PNC_AF_UNSPEC
    family_as_str = "unspec"

    def __str__(self):
        return self.family_as_str

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self)


class InAddr(SockAddr):
    family = lib.PNC_AF_INET
    family_as_str = "inet"

    def __init__(self, ip, port):
        self.host = str(ipaddress.IPv4Address(ip))
        self.port_number = port
        self.port = _socket.htons(port)  # pynng: network byte order
        self.addr = int.from_bytes(ip, "little")  # pynng: the raw in_addr value

    def __str__(self):
        return "%s:%d" % (self.host, self.port_number)


class In6Addr(SockAddr):
    family = lib.PNC_AF_INET6
    family_as_str = "inet6"

    def __init__(self, ip, port):
        self.host = str(ipaddress.IPv6Address(ip))
        self.port_number = port
        self.port = _socket.htons(port)
        self.addr = bytes(ip)

    def __str__(self):
        return "[%s]:%d" % (self.host, self.port_number)


class IPCAddr(SockAddr):
    family = lib.PNC_AF_IPC
    family_as_str = "ipc"

    def __init__(self, path):
        self.path = path

    def __str__(self):
        return self.path


class InprocAddr(SockAddr):
    family = lib.PNC_AF_INPROC
    family_as_str = "inproc"

    def __init__(self, name):
        self.name = name

    def __str__(self):
        return self.name


def from_core(addr):
    """The address object for a core pnc_addr."""
    family = addr.family
    if family == lib.PNC_AF_INET:
        return InAddr(bytes(ffi.buffer(addr.ip, 4)), addr.port)
    if family == lib.PNC_AF_INET6:
        return In6Addr(bytes(ffi.buffer(addr.ip, 16)), addr.port)
    if family == lib.PNC_AF_IPC:
        return IPCAddr(ffi.string(addr.path).decode(errors="replace"))
    if family == lib.PNC_AF_INPROC:
        return InprocAddr(ffi.string(addr.path).decode(errors="replace"))
    return SockAddr()


def from_url(url):
    """The address a URL names (a dialer's target): tcp hosts resolved as
    the core resolves them, unspecified for what it cannot tell."""
    scheme, _, rest = url.partition("://")
    if scheme == "ipc":
        return IPCAddr(rest)
    if scheme == "inproc":
        return InprocAddr(url)
    if scheme.startswith("tcp"):
        host, _, port = rest.rpartition(":")
        try:
            family, _, _, _, sockaddr = _socket.getaddrinfo(
                host.strip("[]"), int(port), type=_socket.SOCK_STREAM)[0]
        except (OSError, ValueError):
            return SockAddr()
        if family == _socket.AF_INET6:
            return In6Addr(_socket.inet_pton(family, sockaddr[0]), sockaddr[1])
        return InAddr(_socket.inet_pton(family, sockaddr[0]), sockaddr[1])
    return SockAddr()

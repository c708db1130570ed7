"""device(): forward between two raw sockets inside the core (nng_device).

A broker or proxy is then two raw sockets and one call, with no Python loop
touching the messages: ``device(Rep0(raw=True, listen=front),
Req0(raw=True, listen=back))`` carries requests to the workers and replies
back.  With one socket whose peer is itself (raw Bus0 or Pair1) it reflects.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._core import ffi, lib
from .exceptions import exception_for
from .sendrecv import SLICE_MS

if TYPE_CHECKING:
    from .socket import Socket

_ESLICE = lib.PNC_ESLICE


def _check_pair(a: Socket, b: Socket | None) -> None:
    cooked = [s for s in (a, b) if s is not None and not s.raw]
    if cooked:
        raise exception_for(lib.PNC_EINVAL, "device(%r, %r): %s not raw; open device "
                            "sockets with raw=True" % (a, b, ", ".join(map(repr, cooked))))
    if b is None and a.peer != a.protocol:
        raise exception_for(lib.PNC_EINVAL, "device(%r): one socket can only reflect "
                            "when it is its own peer (Bus0, Pair1)" % a)
    if b is not None and (a.peer != b.protocol or b.peer != a.protocol):
        raise exception_for(lib.PNC_EINVAL, "device(%r, %r): %s and %s are not each "
                            "other's peers" % (a, b, a.protocol_name, b.protocol_name))


def device(a: Socket, b: Socket | None = None) -> None:
    """Forwards until either socket closes (or Ctrl-C); then returns."""
    _check_pair(a, b)
    pp = ffi.new("pnc_device **")
    rv = lib.pnc_device_start(a._sock, b._sock if b is not None else ffi.NULL, pp)
    if rv:
        raise exception_for(rv, "device(%r, %r)" % (a, b))
    try:
        rv = lib.pnc_device_wait(pp[0], SLICE_MS)
        while rv == _ESLICE:
            rv = lib.pnc_device_wait(pp[0], SLICE_MS)
    finally:
        lib.pnc_device_release(pp[0])
    if rv and rv != lib.PNC_ECLOSED:
        raise exception_for(rv, "device(%r, %r)" % (a, b))

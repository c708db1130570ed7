"""Which I/O poller the core's thread uses: "epoll" (Linux), "iocp" (Windows:
AFD poll requests completed through an I/O completion port) or "poll"
(poll(2), WSAPoll on Windows).

The PYNNG_CORE_POLLER environment variable picks it at start; ``use`` moves
every live connection to another one at any time (the tests run under both).
"""
from __future__ import annotations

from ._core import ffi, lib
from .exceptions import exception_for


def current() -> str:
    return ffi.string(lib.pnc_poller_name()).decode()


def use(name: str) -> None:
    rv = lib.pnc_poller_set(name.encode())
    if rv:
        raise exception_for(rv, "poller %r (epoll on Linux, iocp on Windows, or poll)" % name)

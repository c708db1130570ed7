"""pynng_core: Scalability Protocols sockets for Python on a C core of its own.

Wire-compatible with NNG and nanomsg, and a drop-in for pynng: change
``import pynng`` to ``import pynng_core as pynng``.
"""
from ._core import ffi as _ffi, lib as _lib
from . import exceptions, options, sockaddr
from .context import Context
from .device import device
from .endpoints import Dialer, Listener
from .exceptions import *  # noqa: F401,F403  (pynng exposes them at top level too)
from .message import Message
from .openers import lib
from .pipe import Pipe
from .sockaddr import AbstractAddr, In6Addr, InAddr, InprocAddr, IPCAddr, SockAddr
from .protocols import (Bus0, Pair0, Pair1, Pub0, Pull0, Push0, Rep0, Req0,
                        Respondent0, Sub0, Surveyor0)
from .socket import Socket
from . import tls
from .tls import TLSConfig

__version__ = _ffi.string(_lib.pnc_version()).decode()

__all__ = ["Socket", "Pair0", "Pair1", "Push0", "Pull0", "Req0", "Rep0", "Pub0",
           "Sub0", "Surveyor0", "Respondent0", "Bus0", "Context", "Message",
           "Dialer", "Listener", "Pipe", "device", "exceptions", "options", "sockaddr",
           "SockAddr", "InAddr", "In6Addr", "IPCAddr", "InprocAddr", "AbstractAddr",
           "lib", "TLSConfig", "tls"]
__all__ += exceptions.__all__  # (+= so that type checkers follow it)

"""pynng_core: Scalability Protocols sockets for Python on a C core of its own.

Wire-compatible with NNG and nanomsg, and a drop-in for pynng: change
``import pynng`` to ``import pynng_core as pynng``.
"""
from ._core import ffi as _ffi, lib as _lib
from . import exceptions
from .endpoints import Dialer, Listener
from .exceptions import *  # noqa: F401,F403  (pynng exposes them at top level too)
from .message import Message
from .protocols import Pair0, Pair1, Pull0, Push0
from .socket import Socket

__version__ = _ffi.string(_lib.pnc_version()).decode()

__all__ = ["Socket", "Pair0", "Pair1", "Push0", "Pull0", "Message", "Dialer",
           "Listener", "exceptions"] + exceptions.__all__

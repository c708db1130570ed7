"""Exceptions: one class per NNG error code, with pynng's names.

Each class also derives from the built-in exception that means the same
thing, so ``except TimeoutError`` catches a receive timeout and ``except
OSError`` an address in use.  ``check`` turns a core return code into the
exception, with a message that says what failed.
"""
from ._core import ffi, lib


class NNGException(Exception):
    """Base of every error the core reports; ``errno`` is the NNG code."""

    def __init__(self, msg, errno=None):
        super().__init__(msg)
        self._nng_errno = errno

    @property
    def errno(self):
        return self._nng_errno

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class MessageStateError(NNGException):
    """A Message was used after it was sent or closed."""


def _error(name, code, *builtins, doc):
    cls = type(name, (NNGException,) + builtins, {"__doc__": doc, "code": code})
    globals()[name] = cls
    return cls


# (name, NNG code, matching built-ins, meaning) -- wire.md section 5.
_TABLE = [
    ("Interrupted", 1, (InterruptedError,), "The operation was interrupted."),
    ("NoMemory", 2, (MemoryError,), "Out of memory."),
    ("InvalidOperation", 3, (ValueError,), "An argument or option value is invalid."),
    ("Busy", 4, (), "The resource is busy."),
    ("Timeout", 5, (TimeoutError,), "The operation timed out."),
    ("ConnectionRefused", 6, (ConnectionRefusedError,), "The peer refused the connection."),
    ("Closed", 7, (), "The socket, dialer, listener or pipe is closed."),
    ("TryAgain", 8, (BlockingIOError,), "Nothing is ready for a non-blocking operation."),
    ("NotSupported", 9, (NotImplementedError,), "The protocol or object does not support this."),
    ("AddressInUse", 10, (OSError,), "The address is already in use."),
    ("BadState", 11, (), "The protocol is not in a state that allows this."),
    ("NoEntry", 12, (LookupError,), "No such entry."),
    ("ProtocolError", 13, (), "The peer broke the protocol."),
    ("DestinationUnreachable", 14, (OSError,), "The destination is unreachable."),
    ("AddressInvalid", 15, (ValueError,), "The address is invalid."),
    ("PermissionDenied", 16, (PermissionError,), "Permission denied."),
    ("MessageTooLarge", 17, (ValueError,), "The message is too large."),
    ("ConnectionAborted", 18, (ConnectionAbortedError,), "The connection was aborted."),
    ("ConnectionReset", 19, (ConnectionResetError,), "The peer reset the connection."),
    ("Canceled", 20, (), "The operation was canceled."),
    ("OutOfFiles", 21, (OSError,), "Out of file descriptors."),
    ("OutOfSpace", 22, (OSError,), "Out of space."),
    ("AlreadyExists", 23, (FileExistsError,), "The resource already exists."),
    ("ReadOnly", 24, (AttributeError,), "The option is read-only."),
    ("WriteOnly", 25, (AttributeError,), "The option is write-only."),
    ("CryptoError", 26, (), "A cryptographic error."),
    ("AuthenticationError", 27, (), "The peer could not be authenticated."),
    ("NoArgument", 28, (ValueError,), "The option needs an argument."),
    ("Ambiguous", 29, (ValueError,), "The option is ambiguous."),
    # A ValueError too: pynng raises that for a str given to an int option.
    ("BadType", 30, (TypeError, ValueError), "The value has the wrong type."),
    ("ConnectionShutdown", 31, (ConnectionError,), "The connection was shut down."),
    ("Internal", 1000, (), "An internal error in the core."),
]

EXCEPTION_MAP = {code: _error(name, code, *builtins, doc=doc)
                 for name, code, builtins, doc in _TABLE}


def exception_for(code, what=""):
    """The exception for an NNG code; ``what`` names the URL, option or value."""
    cls = EXCEPTION_MAP.get(code, NNGException)
    text = ffi.string(lib.pnc_strerror(code)).decode()
    return cls(text + (": " + what if what else ""), code)


def check(code, what=""):
    if code:
        raise exception_for(code, what)


check_err = check  # pynng's name: raises the exception for an NNG code, if not 0


# The public names (pynng's); check and exception_for are this package's own.
__all__ = ["NNGException", "MessageStateError", "EXCEPTION_MAP", "check_err"] + [
    row[0] for row in _TABLE]

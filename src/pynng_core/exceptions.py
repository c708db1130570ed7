"""Exceptions: one class per NNG error code, with pynng's names.

Each class also derives from the built-in exception that means the same
thing, so ``except TimeoutError`` catches a receive timeout and ``except
OSError`` an address in use.  ``check`` turns a core return code into the
exception, with a message that says what failed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ._core import ffi, lib


class NNGException(Exception):
    """Base of every error the core reports; ``errno`` is the NNG code."""

    def __init__(self, msg: object, errno: int | None = None) -> None:
        super().__init__(msg)
        self._nng_errno = errno

    @property
    def errno(self) -> int | None:
        return self._nng_errno

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MessageStateError(NNGException):
    """A Message was used after it was sent or closed."""


def _error(name: str, code: int, *builtins: type[Exception], doc: str) -> type[NNGException]:
    cls = type(name, (NNGException,) + builtins, {"__doc__": doc, "code": code})
    globals()[name] = cls
    return cls


# (name, NNG code, matching built-ins, meaning) -- wire.md section 5.
_TABLE: list[tuple[str, int, tuple[type[Exception], ...], str]] = [
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

EXCEPTION_MAP: dict[int, type[NNGException]] = {
    code: _error(name, code, *builtins, doc=doc) for name, code, builtins, doc in _TABLE}

if TYPE_CHECKING:
    # The classes _error makes from _TABLE, as a type checker cannot see
    # them made (test_typing.py checks the two lists agree).  NNGException's
    # errno is read-only, where OSError's can be set: so it is at run time.
    class Interrupted(NNGException, InterruptedError): code: ClassVar[int]  # type: ignore[override]
    class NoMemory(NNGException, MemoryError): code: ClassVar[int]
    class InvalidOperation(NNGException, ValueError): code: ClassVar[int]
    class Busy(NNGException): code: ClassVar[int]
    class Timeout(NNGException, TimeoutError): code: ClassVar[int]  # type: ignore[override]
    class ConnectionRefused(NNGException, ConnectionRefusedError): code: ClassVar[int]  # type: ignore[override]
    class Closed(NNGException): code: ClassVar[int]
    class TryAgain(NNGException, BlockingIOError): code: ClassVar[int]  # type: ignore[override]
    class NotSupported(NNGException, NotImplementedError): code: ClassVar[int]
    class AddressInUse(NNGException, OSError): code: ClassVar[int]  # type: ignore[override]
    class BadState(NNGException): code: ClassVar[int]
    class NoEntry(NNGException, LookupError): code: ClassVar[int]
    class ProtocolError(NNGException): code: ClassVar[int]
    class DestinationUnreachable(NNGException, OSError): code: ClassVar[int]  # type: ignore[override]
    class AddressInvalid(NNGException, ValueError): code: ClassVar[int]
    class PermissionDenied(NNGException, PermissionError): code: ClassVar[int]  # type: ignore[override]
    class MessageTooLarge(NNGException, ValueError): code: ClassVar[int]
    class ConnectionAborted(NNGException, ConnectionAbortedError): code: ClassVar[int]  # type: ignore[override]
    class ConnectionReset(NNGException, ConnectionResetError): code: ClassVar[int]  # type: ignore[override]
    class Canceled(NNGException): code: ClassVar[int]
    class OutOfFiles(NNGException, OSError): code: ClassVar[int]  # type: ignore[override]
    class OutOfSpace(NNGException, OSError): code: ClassVar[int]  # type: ignore[override]
    class AlreadyExists(NNGException, FileExistsError): code: ClassVar[int]  # type: ignore[override]
    class ReadOnly(NNGException, AttributeError): code: ClassVar[int]
    class WriteOnly(NNGException, AttributeError): code: ClassVar[int]
    class CryptoError(NNGException): code: ClassVar[int]
    class AuthenticationError(NNGException): code: ClassVar[int]
    class NoArgument(NNGException, ValueError): code: ClassVar[int]
    class Ambiguous(NNGException, ValueError): code: ClassVar[int]
    class BadType(NNGException, TypeError, ValueError): code: ClassVar[int]
    class ConnectionShutdown(NNGException, ConnectionError): code: ClassVar[int]  # type: ignore[override]
    class Internal(NNGException): code: ClassVar[int]


def exception_for(code: int, what: str = "") -> NNGException:
    """The exception for an NNG code; ``what`` names the URL, option or value."""
    cls = EXCEPTION_MAP.get(code, NNGException)
    text = ffi.string(lib.pnc_strerror(code)).decode()
    return cls(text + (": " + what if what else ""), code)


def check(code: int, what: str = "") -> None:
    if code:
        raise exception_for(code, what)


check_err = check  # pynng's name: raises the exception for an NNG code, if not 0


# The public names (pynng's); check and exception_for are this package's own.
if TYPE_CHECKING:  # the same, as a type checker needs them: written out
    __all__ = [
        "NNGException", "MessageStateError", "EXCEPTION_MAP", "check_err",
        "Interrupted", "NoMemory", "InvalidOperation", "Busy", "Timeout",
        "ConnectionRefused", "Closed", "TryAgain", "NotSupported", "AddressInUse",
        "BadState", "NoEntry", "ProtocolError", "DestinationUnreachable",
        "AddressInvalid", "PermissionDenied", "MessageTooLarge", "ConnectionAborted",
        "ConnectionReset", "Canceled", "OutOfFiles", "OutOfSpace", "AlreadyExists",
        "ReadOnly", "WriteOnly", "CryptoError", "AuthenticationError", "NoArgument",
        "Ambiguous", "BadType", "ConnectionShutdown", "Internal"
    ]
else:
    __all__ = ["NNGException", "MessageStateError", "EXCEPTION_MAP", "check_err"] + [
        row[0] for row in _TABLE]

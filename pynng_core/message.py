"""Message: a core message seen from Python, without copying its bytes.

The body's memory is the core's own.  ``buffer`` is a memoryview straight
onto it (writable, so a message can be filled in place before it is sent);
``bytes`` is a copy.  The memory lives as long as the Message or any view of
it does, so a view never points at freed memory.  Sending hands the memory
to the core; if views of it are still alive, the core gets a copy instead.
"""
import sys

from ._core import ffi, lib
from .exceptions import MessageStateError, check


def _owned(msg_ptr):
    """The body pointer, owning the message: freed with its last reference."""
    body = ffi.cast("char *", lib.pnc_msg_body(msg_ptr))
    return ffi.gc(body, lambda _body, m=msg_ptr: lib.pnc_msg_free(m))


class Message:
    """A message to send or one received.

    ``Message(data)`` copies ``data`` (bytes or any buffer) into a new core
    message; ``Message(size=n)`` makes an n-byte zeroed one to fill in place
    through ``buffer``.
    """

    __slots__ = ("_msg", "_body", "_len", "pipe_id", "__weakref__")

    def __init__(self, data=b"", pipe=None, *, size=None):
        pp = ffi.new("pnc_msg **")
        if size is not None:
            if data:
                raise TypeError("Message takes data or size=, not both")
            if not isinstance(size, int) or size < 0:
                raise ValueError("Message size must be a non-negative int, not %r" % (size,))
            check(lib.pnc_msg_from(pp, ffi.NULL, size), "Message(size=%d)" % size)
        else:
            src = data if type(data) is bytes else ffi.from_buffer(data)
            check(lib.pnc_msg_from(pp, src, len(src)), "Message of %d bytes" % len(src))
        self._adopt(pp[0])
        self.pipe_id = getattr(pipe, "id", 0) if pipe is not None else 0

    @classmethod
    def _from_core(cls, msg_ptr, body, length):
        """Wraps a message the core handed over (a received one)."""
        self = cls.__new__(cls)
        self._msg = msg_ptr
        self._body = ffi.gc(body, lambda _body, m=msg_ptr: lib.pnc_msg_free(m))
        self._len = length
        self.pipe_id = lib.pnc_msg_pipe_id(msg_ptr)
        return self

    def _adopt(self, msg_ptr):
        self._msg = msg_ptr
        self._body = _owned(msg_ptr)
        self._len = lib.pnc_msg_len(msg_ptr)

    def _live_body(self):
        if self._body is None:
            raise MessageStateError("the Message was already sent or closed")
        return self._body

    @property
    def buffer(self):
        """A writable memoryview of the body: the core's memory, no copy."""
        return memoryview(ffi.buffer(self._live_body(), self._len))

    @property
    def bytes(self):
        """A copy of the body as bytes."""
        return ffi.unpack(self._live_body(), self._len)

    @property
    def _buffer(self):  # pynng's name
        return self.buffer

    @property
    def header(self):
        """The protocol header (raw sockets), as bytes."""
        self._live_body()
        return ffi.unpack(ffi.cast("char *", lib.pnc_msg_header(self._msg)),
                          lib.pnc_msg_header_len(self._msg))

    def __len__(self):
        self._live_body()
        return self._len

    def __bytes__(self):
        return self.bytes

    def __repr__(self):
        if self._body is None:
            return "<Message (sent or closed)>"
        return "<Message of %d bytes>" % self._len

    def _for_send(self):
        """(core message, is_copy) to send; the Message is untouched until
        ``_sent`` says the core took it."""
        body = self._live_body()
        # Views alive besides ours (and getrefcount's own argument)?  Then the
        # core must not take this memory: it gets a copy instead.
        if hasattr(sys, "getrefcount") and sys.getrefcount(body) <= 2:
            return self._msg, False
        pp = ffi.new("pnc_msg **")
        check(lib.pnc_msg_from(pp, body, self._len), "copy of a viewed Message")
        return pp[0], True

    def _sent(self, was_copy):
        """The core took the message: this Message is spent."""
        if not was_copy:
            ffi.gc(self._body, None)  # the core frees it now
        self._body = None
        self._msg = None

    def close(self):
        """Lets go of the memory (at once, unless views of it are alive)."""
        self._body = None
        self._msg = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

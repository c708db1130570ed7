"""Message: a core message seen from Python, without copying its bytes.

A Message holds a core operation record (``pnc_op``) that owns the core
message; the memory is freed when the last holder of that record goes.
recv_msg's record, and that of a Message made of bytes, lives in a
``Received`` (_hotpath.c), which the Message holds, and whose op it sees
through a cffi view made when first needed; until then its ``bytes``, its
length and its send_msg need no cffi call.
``buffer`` is a writable memoryview straight onto the core's memory (a
message can be filled in place before it is sent) and keeps the memory
alive for as long as the view lives; ``bytes`` is a copy.  Sending hands
the memory to the core, or a copy of it when views of it are still alive.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, TypeVar

from . import _core
from ._core import ffi, lib
from .exceptions import MessageStateError, NNGException, check, exception_for

if TYPE_CHECKING:
    import builtins  # the class's property "bytes" hides the type there

    from typing_extensions import Buffer  # typing's from 3.12; type checkers only

    # CData is the stub's (cffi's types have no names at run time); Received
    # is there only once sendrecv has installed _hotpath.c's calls.
    from ._core import CData, Received
    from .pipe import Pipe
    from .socket import Socket

_MessageT = TypeVar("_MessageT", bound="Message")


OP_TYPE = ffi.typeof("pnc_op *")


def new_op() -> CData:
    """An operation record that frees whatever message it still owns."""
    return ffi.gc(ffi.new(OP_TYPE), lib.pnc_op_release)


def str_error(what: str) -> NNGException:
    """The error for a str where bytes belong, with pynng's hint: BadType,
    a ValueError as pynng's send raises and a TypeError as its Message."""
    return exception_for(lib.PNC_EBADTYPE, '%s: cannot send type str; a message is '
                         'bytes. Maybe you left out a ".encode()" somewhere?' % what)


def body_of(data: Buffer, what: str) -> CData:
    """``data`` (bytes or any buffer) as the cffi buffer a message is made from."""
    if isinstance(data, str):
        raise str_error(what)
    try:
        return ffi.from_buffer(data)
    except TypeError:
        raise TypeError("%s: a message is bytes or a buffer (bytearray, memoryview, "
                        "array...), not %s" % (what, type(data).__name__)) from None


def _new_message(data: Buffer, size: int | None) -> CData:
    """An op owning a new message: a copy of ``data`` (any buffer), or
    ``size`` zeroed bytes."""
    pp = ffi.new("pnc_msg **")
    if size is not None:
        if data:
            raise TypeError("Message takes data or size=, not both")
        if not isinstance(size, int) or size < 0:
            raise ValueError("Message size must be a non-negative int, not %r" % (size,))
        check(lib.pnc_msg_from(pp, ffi.NULL, size), "Message(size=%d)" % size)
    else:
        src = body_of(data, "Message")
        check(lib.pnc_msg_from(pp, src, len(src)), "Message of %d bytes" % len(src))
    op = new_op()
    op.msg = pp[0]
    op.body = ffi.cast("char *", lib.pnc_msg_body(pp[0]))
    op.len = lib.pnc_msg_len(pp[0])
    return op


def check_message(msg: object, what: str) -> None:
    """``msg`` is a Message, or the error that says what to pass instead."""
    if not isinstance(msg, Message):
        if isinstance(msg, str):
            raise str_error(what)
        raise TypeError("%s takes a Message, not %s (send() takes bytes)"
                        % (what, type(msg).__name__))


class Message:
    """A message to send or one received.

    ``Message(data)`` copies ``data`` (bytes or any buffer) into a new core
    message; ``Message(size=n)`` makes an n-byte zeroed one to fill in place
    through ``buffer``.
    """

    __slots__ = ("_op", "_held", "_views", "pipe_id", "_targeted", "_socket", "__weakref__")

    _op: CData | None
    _held: Received | None
    _views: weakref.WeakSet[CData] | None
    pipe_id: int
    _targeted: bool
    _socket: Socket | None

    def __init__(self, data: Buffer = b"", pipe: Pipe | int | None = None, *,
                 size: int | None = None, header: Buffer | None = None) -> None:
        self._op = self._held = self._views = self._socket = None
        self.pipe_id, self._targeted = 0, False
        if size is None and type(data) is bytes:
            # The common case in C: a Received owns the new message.
            held = _core.Received.of(data)
            if isinstance(held, int):
                raise exception_for(held, "Message of %d bytes" % len(data))
            self._held = held
        else:
            self._op = _new_message(data, size)
        if header:
            hdr = bytes(header)
            rv = lib.pnc_msg_set_header(self._live_op().msg, hdr, len(hdr))
            if rv:
                self.close()
                check(rv, "Message header of %d bytes (a raw header is whole 32-bit "
                          "words, at most 64 bytes)" % len(hdr))
        if pipe is not None:
            self.pipe = pipe

    @classmethod
    def _wrap(cls: type[_MessageT], op: CData | None, socket: Socket,
              held: Received | None = None) -> _MessageT:
        """A received message: the Message now shares the op that owns it,
        or holds the Received whose op it is (``op`` None)."""
        self = cls.__new__(cls)
        self._op = op
        self._held = held
        self._views = None
        self._socket = socket
        self.pipe_id = held.pipe_id if op is None else lib.pnc_msg_pipe_id(op.msg)  # type: ignore[union-attr]  # held is given when op is not
        self._targeted = False
        return self

    @property
    def pipe(self) -> Pipe | None:
        """The Pipe it came in on (received), or the one it is sent to."""
        if not self.pipe_id or self._socket is None:
            return None
        return self._socket._pipe(self.pipe_id)

    @pipe.setter
    def pipe(self, pipe: Pipe | int) -> None:
        """Send it to this peer only (a Pipe, or a pipe id)."""
        self.pipe_id = getattr(pipe, "id", pipe)  # type: ignore[arg-type]  # a Pipe's id, or the id
        self._socket = getattr(pipe, "socket", self._socket)
        self._targeted = True

    def _live_op(self) -> CData:
        op = self._op
        if op is None and self._held is not None:
            op = self._op = ffi.cast(OP_TYPE, self._held.address)
        if op is None or op.msg == ffi.NULL:
            raise MessageStateError("the Message was already sent or closed")
        return op

    @property
    def buffer(self) -> memoryview:
        """A writable memoryview of the body: the core's memory, no copy."""
        op = self._live_op()
        # The view's pointer keeps the op's owner alive through the lambda,
        # and is watched, so a send knows whether a view is still alive.
        owner: object = op if self._held is None else self._held  # (an empty Received is falsy)
        body = ffi.gc(op.body, lambda _body, owner=owner: None)  # type: ignore[misc]
        if self._views is None:
            self._views = weakref.WeakSet()
        self._views.add(body)
        return memoryview(ffi.buffer(body, op.len))

    @property
    def bytes(self) -> builtins.bytes:
        """A copy of the body as bytes."""
        held = self._held
        if held is not None and (body := held.body) is not None:
            return body
        op = self._live_op()
        return ffi.unpack(op.body, op.len)

    @property
    def _buffer(self) -> memoryview:  # pynng's name
        return self.buffer

    @property
    def header(self) -> builtins.bytes:
        """The protocol header (raw sockets), as bytes."""
        msg = self._live_op().msg
        return ffi.unpack(ffi.cast("char *", lib.pnc_msg_header(msg)),
                          lib.pnc_msg_header_len(msg))

    def __len__(self) -> int:
        if self._op is None and self._held is not None:
            return len(self._held)  # no view needed
        return self._live_op().len  # type: ignore[no-any-return]  # a size_t

    def __bytes__(self) -> builtins.bytes:
        return self.bytes

    def __repr__(self) -> str:
        try:
            return "<Message of %d bytes>" % len(self)
        except MessageStateError:
            return "<Message (sent or closed)>"

    def _for_send(self) -> tuple[CData, bool]:
        """(core message, is_copy) to send.  The Message stays as it is until
        ``_sent`` says the core took it."""
        op = self._live_op()
        if self._targeted:
            lib.pnc_msg_set_pipe_id(op.msg, self.pipe_id)
        if not self._views:
            return op.msg, False
        # A view of this memory is alive: the core must not take it.
        pp = ffi.new("pnc_msg **")
        check(lib.pnc_msg_dup(pp, op.msg), "copy of a viewed Message")
        return pp[0], True

    def _sending(self, what: str) -> str:
        """``what`` (the sending call), with the pipe it is addressed to."""
        return "%s to pipe %d" % (what, self.pipe_id) if self._targeted else what

    def _sent(self, was_copy: bool) -> None:
        """The core took the message: this Message is spent."""
        if not was_copy:
            self._op.msg = ffi.NULL  # type: ignore[union-attr]  # the core owns it now (_op is live until sent)
        self._op = self._held = None

    def close(self) -> None:
        """Lets go of the memory (at once, unless views of it are alive)."""
        self._op = self._held = None
        self._views = None

    def __enter__(self: _MessageT) -> _MessageT:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

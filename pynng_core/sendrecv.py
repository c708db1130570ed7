"""The send and receive methods that Socket and Context share.

Blocking calls wait in the core in slices of SLICE_MS and come back to
Python between slices, so Ctrl-C raises KeyboardInterrupt promptly.  A
received message stays owned by its operation record until the receiving
method returns; an exception before that (Ctrl-C lands after any C call)
puts it back at the front of its queue, so an interrupt loses nothing.
"""
from ._core import ffi, lib
from .exceptions import exception_for
from .message import Message, new_op

SLICE_MS = 50
NONBLOCK = lib.PNC_FLAG_NONBLOCK
_ESLICE = lib.PNC_ESLICE


def wait(fn, args, op):
    """Calls ``fn(*args, op, SLICE_MS)`` until its wait is over."""
    rv = fn(*args, op, SLICE_MS)
    while rv == _ESLICE:
        rv = fn(*args, op, SLICE_MS)
    return rv


def _flags(block):
    return 0 if block else NONBLOCK


class SendRecv:
    """Subclasses set ``_handle`` (the core object) and the core functions."""

    _send_data_fn = None
    _send_fn = None
    _recv_fn = None

    def send(self, data, block=True):
        """Sends bytes or any buffer-protocol object (copied into the core)."""
        if type(data) is not bytes:
            data = ffi.from_buffer(data)
        rv = wait(type(self)._send_data_fn, (self._handle, data, len(data), _flags(block)),
                  ffi.new("pnc_op *"))
        if rv:
            raise self._error(rv, "send")

    def send_msg(self, msg, block=True):
        """Sends a Message, handing its memory to the core without a copy."""
        ptr, was_copy = msg._for_send()
        rv = wait(type(self)._send_fn, (self._handle, ptr, _flags(block)), ffi.new("pnc_op *"))
        if rv:
            if was_copy:
                lib.pnc_msg_free(ptr)
            raise self._error(rv, "send_msg")
        msg._sent(was_copy)

    def _take(self, op, block, what):
        """Waits for a message, which ``op`` then owns (see the module doc).

        The caller makes ``op`` before its ``try``: an interrupt may land
        anywhere in here, even after the message was taken."""
        rv = wait(type(self)._recv_fn, (self._handle, _flags(block)), op)
        if rv:
            raise self._error(rv, what)

    def recv(self, block=True):
        """Receives the next message as bytes."""
        op = new_op()
        try:
            self._take(op, block, "recv")
            return ffi.unpack(op.body, op.len)
        except BaseException:
            lib.pnc_op_unget(op)
            raise

    def recv_into(self, buffer, block=True):
        """Receives into ``buffer``: copies what fits, returns the full length.

        As with nn_recv, a message longer than the buffer is truncated, and
        the return value tells how long it really was.
        """
        try:
            target = ffi.from_buffer(buffer, require_writable=True)
        except BufferError:
            raise TypeError("recv_into needs a writable buffer (bytearray, memoryview, "
                            "array), not %s" % type(buffer).__name__) from None
        op = new_op()
        try:
            self._take(op, block, "recv_into")
            lib.pnc_op_copy(op, target, len(target))
            return op.len
        except BaseException:
            lib.pnc_op_unget(op)
            raise

    def recv_msg(self, block=True):
        """Receives a Message whose buffer is the core's memory (no copy)."""
        op = new_op()
        try:
            self._take(op, block, "recv_msg")
            return Message._wrap(op)
        except BaseException:
            lib.pnc_op_unget(op)
            raise

    def _error(self, rv, what):
        return exception_for(rv, "%s on %s" % (what, self._describe()))

    def _describe(self):
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

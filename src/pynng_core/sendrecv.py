"""The send and receive methods that Socket and Context share.

Blocking calls on the main thread wait in the core in slices of SLICE_MS
and come back to Python between slices, so Ctrl-C raises KeyboardInterrupt
promptly; Python handles signals on that thread only, so the core lets a
wait on any other thread last until it is woken or times out.  A
received message stays owned by its operation record until the receiving
method returns; an exception before that (Ctrl-C lands after any C call)
puts it back at the front of its queue, so an interrupt loses nothing.

These are the hot paths, so they are written for speed.  send of bytes,
recv, the batch calls, recv_msg and the send_msg of a Message that holds a
Received go through _hotpath.c, which skips cffi's
per-call cost (a GIL round trip and argument conversions) and makes the
received bytes in C; the common case makes one call.  A send first tries
once without an operation record (the core takes the message at once or
says it would block), and recv reuses one record per socket (see
``_spare_rx``) instead of making one per call.
"""
from __future__ import annotations

import functools
import os
import threading
import types
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from . import _core, _fork, aio
from .aio import scheduling_point
from ._core import ffi, lib
from . import exceptions
from .exceptions import NNGException, exception_for
from .message import OP_TYPE, Message, body_of, check_message, new_op
from .options import ReadOnlyProperties

if TYPE_CHECKING:
    from typing_extensions import Buffer  # typing's from 3.12; type checkers only

    from ._core import CData  # the stub's: cffi's types have no names at run time
    from .socket import Socket

    # _hotpath.c's calls, bound (see _bound): they return a result, or an
    # int code in its place.
    HotCall = Callable[..., Any]

_SendRecvT = TypeVar("_SendRecvT", bound="SendRecv")

SLICE_MS = lib.PNC_SLICE_MS
# Only the thread that handles signals waits in slices: the main thread
# (imported elsewhere, every thread's waits stay sliced), and in a forked
# child the thread that forked, its main thread.
if threading.current_thread() is threading.main_thread():
    lib.pnc_signal_thread_set()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lib.pnc_signal_thread_set)
NONBLOCK = lib.PNC_FLAG_NONBLOCK
_EAGAIN = lib.PNC_EAGAIN
_ESLICE = lib.PNC_ESLICE
_send_data = lib.pnc_ctx_send_data
_send_msg = lib.pnc_ctx_send
_try_send_data = lib.pnc_ctx_try_send_data
_try_send_msg = lib.pnc_ctx_try_send
_recv = lib.pnc_ctx_recv
_BATCH_TYPE = ffi.typeof("pnc_batch *")
_ASEND_CHUNK = 1024  # messages per send_many of asend_many


def _as_bytes(message: Buffer) -> bytes:
    """One message of a batch as bytes; a clear error for what is not one."""
    if type(message) is bytes:
        return message
    try:
        return memoryview(message).tobytes()
    except TypeError:
        raise TypeError("send_many needs bytes or buffers, not %s"
                        % type(message).__name__) from None


def _check_max_messages(value: object, what: str) -> None:
    if type(value) is not int or value < 1:
        raise ValueError("%s: max_messages must be a positive int, not %r" % (what, value))


if lib.pnc_hotpath_install():
    raise ImportError("pynng_core: the compiled send/recv calls did not install")
_Received = _core.Received


def _address(ptr: CData) -> int:
    return int(ffi.cast("uintptr_t", ptr))


def _bound(name: str, ptr: CData) -> HotCall:
    """_hotpath.c's call ``name`` bound to what ``ptr`` points to."""
    return _core.bind(name, _address(ptr))


def wait(fn: Callable[..., Any], *args: Any) -> Any:
    """Calls ``fn(*args)`` until its wait is over (it stops saying its
    slice ran out); Python looks for signals between calls."""
    rv = fn(*args)
    while rv == _ESLICE:
        rv = fn(*args)
    return rv


class SendRecv(aio.AsyncClose, ReadOnlyProperties):
    """Subclasses call ``_set_ctx`` with the core context their calls run in."""

    # An operation record a finished recv left behind for the next one, with
    # its bound hot recv.  It still owns the message that recv returned,
    # which the core frees when the next recv starts; no interrupt can land
    # in between, since Python looks for one only after a call.  Taking the
    # record and putting it back are attribute stores, which no thread
    # switch can split either.
    _spare_rx: tuple[CData, HotCall] | None = None
    # The same for recv_many: the batch it left behind (see recv_many).
    _spare_batch: tuple[CData, HotCall] | None = None
    # The send call of _hotpath.c: "send_one_way" on push and pub sockets
    # (and with it "send_one_way_held", send_msg's).
    _send_call = "send"

    _ctx: CData
    _recv_op: CData  # the op of recv's call in _hotpath.c
    _send_bytes: HotCall
    _send_slice: HotCall
    _send_held: HotCall
    _take_msg: tuple[HotCall, HotCall]
    _async_backend: aio.Backend | None

    def _set_ctx(self, ctx: CData) -> None:
        self._ctx = ctx
        self._send_bytes = _bound(self._send_call, ctx)
        self._send_slice = _bound("send_slice", ctx)
        self._send_held = _bound(self._send_call + "_held", ctx)
        # Indexed by ``not block``.
        self._take_msg = (_bound("recv_msg", ctx), _bound("try_recv_msg", ctx))
        # send and recv as calls of _hotpath.c in front of the methods below,
        # which they fall back on for anything but the common call.
        self._recv_op = op = new_op()
        op.ctx = ctx
        self.send = _core.bind(self._send_call + "_call", (  # type: ignore[method-assign]
            _address(ctx), weakref.WeakMethod(types.MethodType(SendRecv.send, self))))
        self.recv = _core.bind("recv_call", (  # type: ignore[method-assign]
            [_address(op)], weakref.WeakMethod(types.MethodType(SendRecv.recv, self)),
            weakref.WeakMethod(self._error), op))

    def send(self, data: Buffer, block: bool = True) -> None:
        """Sends bytes or any buffer-protocol object (copied into the core)."""
        if type(data) is bytes:
            send_bytes = self._send_bytes  # an attribute load: cheaper than a method lookup
            rv = send_bytes(data)
        else:
            data = body_of(data, "send")
            rv = _try_send_data(self._ctx, data, len(data))
        if rv == _EAGAIN and block:
            op = ffi.new(OP_TYPE)
            if type(data) is bytes:  # the core may keep a lent body as it is
                rv = wait(self._send_slice, data, _address(op))
            else:
                rv = wait(_send_data, self._ctx, data, len(data), 0, op, SLICE_MS)
        if rv:
            raise self._error(rv, "send")

    def send_msg(self, msg: Message, block: bool = True) -> None:
        """Sends a Message, handing its memory to the core without a copy."""
        check_message(msg, "send_msg")
        held = msg._held
        if held is not None and msg._op is None:  # no view of its memory
            rv = self._send_held(held, msg._targeted, msg.pipe_id)
            if rv == 0:
                msg._held = None  # spent
                return
            if rv is not None and not (rv == _EAGAIN and block):
                raise self._error(rv, msg._sending("send_msg"))
        ptr, was_copy = msg._for_send()
        rv = _try_send_msg(self._ctx, ptr)
        if rv == _EAGAIN and block:
            rv = wait(_send_msg, self._ctx, ptr, 0, ffi.new(OP_TYPE), SLICE_MS)
        if rv:
            if was_copy:
                lib.pnc_msg_free(ptr)
            raise self._error(rv, msg._sending("send_msg"))
        msg._sent(was_copy)

    def send_many(self, messages: Iterable[Buffer], block: bool = True) -> int:
        """Sends each of ``messages`` (bytes or buffers) in turn, as that many
        send() calls would, but in one call into the core.

        Returns how many were sent: all of them, or with ``block=False``
        those the socket could take at once.  An error part way (Timeout,
        Closed, Ctrl-C...) carries in its ``sent`` attribute how many went
        before it; the rest were not sent.
        """
        if type(messages) is not list:
            messages = list(messages)
        batch = ffi.new(_BATCH_TYPE)
        batch.op.ctx = self._ctx
        send_many = _bound("send_many", batch)
        flags = 0 if block else NONBLOCK
        try:
            try:
                rv = wait(send_many, messages, flags)
            except TypeError:  # not all bytes (none was sent)
                rv = wait(send_many, list(map(_as_bytes, messages)), flags)
            if rv and not (rv == _EAGAIN and not block):
                raise self._error(rv, "send_many")
        except BaseException as e:
            e.sent = batch.count  # type: ignore[attr-defined]  # any exception says it
            raise
        count: int = batch.count
        return count

    def recv_many(self, max_messages: int = 1024, block: bool = True) -> list[bytes]:
        """Receives the messages ready now, as a list of bytes in order.

        Waits for the first as recv does (or raises TryAgain with
        ``block=False``), then takes what else has arrived without waiting:
        at most ``max_messages``, and no more once they hold 64 KiB.  Cooked
        req, rep and respondent sockets, whose every receive sets the
        state for the next send, return one at a time.
        """
        _check_max_messages(max_messages, "recv_many")
        spare = self._spare_batch or self._new_batch()
        self._spare_batch = None
        batch, recv_many = spare
        try:
            messages = wait(recv_many, block, max_messages)
            if type(messages) is int:  # not the list: a code
                raise self._error(messages, "recv_many")
        except BaseException:
            lib.pnc_batch_unget(batch)
            raise
        self._spare_batch = spare
        return messages  # type: ignore[no-any-return]  # the list: a code raised above

    def _new_batch(self) -> tuple[CData, HotCall]:
        """A batch for this object's recv_many, and the hot call bound to it."""
        out = ffi.new("pnc_batch **")
        rv = lib.pnc_batch_open(self._ctx, out)
        if rv:
            raise self._error(rv, "recv_many")
        batch = ffi.gc(out[0], lib.pnc_batch_free)
        return batch, _bound("recv_many", batch)

    def _take(self, op: CData, block: bool, what: str) -> None:
        """Waits for a message, which ``op`` then owns (see the module doc).

        The caller makes ``op`` before its ``try``: an interrupt may land
        anywhere in here, even after the message was taken."""
        rv = wait(_recv, self._ctx, 0 if block else NONBLOCK, op, SLICE_MS)
        if rv:
            raise self._error(rv, what)

    def _new_spare(self) -> tuple[CData, HotCall]:
        """An op for this object's receives (pnc_op_recv runs in op.ctx)
        and the hot recv bound to it."""
        op = new_op()
        op.ctx = self._ctx
        return op, _bound("recv", op)

    def _spare(self) -> tuple[CData, HotCall]:
        """The spare op and its hot recv, with its last message freed: safe
        to unget from even if an interrupt lands before the next receive."""
        spare = self._spare_rx or self._new_spare()
        self._spare_rx = None
        lib.pnc_op_release(spare[0])
        return spare

    def recv(self, block: bool = True) -> bytes:
        """Receives the next message as bytes."""
        spare = self._spare_rx or self._new_spare()
        self._spare_rx = None
        op, take = spare
        try:
            data = take(block)
            while type(data) is int:  # not the body: a code
                if data != _ESLICE:
                    raise self._error(-data, "recv")
                data = take(block)
        except BaseException:
            lib.pnc_op_unget(op)
            raise
        self._spare_rx = spare
        return data  # type: ignore[no-any-return]  # the body: a code raised above

    def recv_into(self, buffer: Buffer, block: bool = True) -> int:
        """Receives into ``buffer``: copies what fits, returns the full length.

        As with nn_recv, a message longer than the buffer is truncated, and
        the return value tells how long it really was.
        """
        try:
            target = ffi.from_buffer(buffer, require_writable=True)
        except BufferError:
            raise TypeError("recv_into needs a writable buffer (bytearray, memoryview, "
                            "array), not %s" % type(buffer).__name__) from None
        spare = self._spare()
        op = spare[0]
        try:
            self._take(op, block, "recv_into")
            lib.pnc_op_copy(op, target, len(target))
            size = op.len
        except BaseException:
            lib.pnc_op_unget(op)
            raise
        self._spare_rx = spare
        return size  # type: ignore[no-any-return]  # a size_t

    def recv_msg(self, block: bool = True) -> Message:
        """Receives a Message whose buffer is the core's memory (no copy)."""
        held = _Received()
        take = self._take_msg[not block]
        try:
            rv = take(held)
            while rv == _ESLICE:  # wait(), inlined: a Python call less
                rv = take(held)
            if rv:
                raise self._error(-rv, "recv_msg")
            return Message._wrap(None, self._owner(), held)
        except BaseException:
            held.unget()
            raise

    # -- async: asyncio or trio, whichever runs the coroutine --------------

    async def asend(self, data: Buffer) -> None:
        """Sends bytes or any buffer, without blocking the event loop."""
        src: bytes | CData
        if type(data) is bytes:
            # As send: one try in _hotpath.c, after the call's scheduling
            # point (a cancellation delivered there sends nothing).
            due = scheduling_point()
            if due is not None:
                await due
            rv = self._send_bytes(data)
            if rv != _EAGAIN:
                if rv:
                    raise self._error(rv, "asend")
                return
            src = data
        else:
            src = body_of(data, "asend")
        pp = ffi.new("pnc_msg **")
        rv = lib.pnc_msg_from(pp, src, len(src))
        if rv:
            raise self._error(rv, "asend")
        try:
            await self._asend_core(pp[0], "asend", tried=type(data) is bytes)
        except BaseException:
            lib.pnc_msg_free(pp[0])  # not sent: the core did not take it
            raise

    async def asend_msg(self, msg: Message) -> None:
        """Sends a Message (its memory handed over, as send_msg)."""
        check_message(msg, "asend_msg")
        ptr, was_copy = msg._for_send()
        try:
            await self._asend_core(ptr, msg._sending("asend_msg"))
        except BaseException:
            if was_copy:
                lib.pnc_msg_free(ptr)
            raise
        msg._sent(was_copy)

    async def _asend_core(self, msg_ptr: CData, what: str, tried: bool = False) -> None:
        step = functools.partial(lib.pnc_ctx_send_async, self._ctx, msg_ptr)
        rv = await aio.run(step, ffi.new(OP_TYPE), self._async_backend, tried=tried)
        if rv:
            raise self._error(rv, what)

    async def _atake(self, op: CData, what: str, tried: bool = False) -> None:
        step = functools.partial(lib.pnc_ctx_recv_async, self._ctx)
        # Callers put the message back if this raises.
        rv = await aio.run(step, op, self._async_backend, undoable=True, tried=tried)
        if rv:
            raise self._error(rv, what)

    async def arecv(self) -> bytes:
        """Receives the next message as bytes, without blocking the loop."""
        # As recv: one try in _hotpath.c with the spare op; a message
        # taken makes the call's scheduling point after (a cancellation
        # there puts it back), a wait makes it by waiting.
        spare = self._spare_rx or self._new_spare()
        self._spare_rx = None
        op, take = spare
        try:
            data = take(False)  # the body, or a negated code
            if type(data) is bytes:
                due = scheduling_point()
                if due is not None:
                    await due
            elif data == -_EAGAIN:
                await self._atake(op, "arecv", tried=True)
                data = ffi.unpack(op.body, op.len)
            else:
                raise self._error(-data, "arecv")
        except BaseException:
            lib.pnc_op_unget(op)
            raise
        self._spare_rx = spare
        return data  # the body: a code raised above

    async def asend_many(self, messages: Iterable[Buffer]) -> int:
        """send_many without blocking the event loop: what the socket takes
        at once goes in one call, and an await waits for room for the next.
        Returns how many were sent; an error or a cancellation part way
        carries that count in its ``sent`` attribute."""
        if not isinstance(messages, (list, tuple)):
            messages = list(messages)
        sent = 0
        due = scheduling_point()  # the first chunk may go without an await
        if due is not None:
            await due
        try:
            while sent < len(messages):
                # A bounded slice: what the socket refuses is gone over
                # again next time round, so a whole long list would be too.
                chunk = messages[sent:sent + _ASEND_CHUNK]
                took = self.send_many(chunk, block=False)
                sent += took
                if took < len(chunk):
                    await self.asend(messages[sent])
                    sent += 1
        except BaseException as e:
            e.sent = sent + getattr(e, "sent", 0)  # type: ignore[attr-defined]  # as send_many
            raise
        return sent

    async def arecv_many(self, max_messages: int = 1024) -> list[bytes]:
        """recv_many without blocking the event loop: awaits the first
        message, then returns it with what else is ready (see recv_many)."""
        _check_max_messages(max_messages, "arecv_many")
        while True:
            op = new_op()
            try:
                await self._atake(op, "arecv_many")
            finally:
                # Back at the front: recv_many takes it with what followed,
                # as many as the protocol allows.
                lib.pnc_op_unget(op)
            try:
                return self.recv_many(max_messages, block=False)
            except exceptions.TryAgain:
                continue  # another receiver took it meanwhile: wait again

    async def arecv_msg(self) -> Message:
        """Receives a Message (zero copy), without blocking the loop."""
        op = new_op()
        try:
            await self._atake(op, "arecv_msg")
            return Message._wrap(op, self._owner())
        except BaseException:
            lib.pnc_op_unget(op)
            raise

    def __aiter__(self: _SendRecvT) -> _SendRecvT:
        return self

    async def __anext__(self) -> bytes:
        """``async for msg in sock``: messages as bytes until it closes."""
        try:
            return await self.arecv()
        except exceptions.Closed:
            raise StopAsyncIteration from None

    def _error(self, rv: int, what: str) -> NNGException:
        return exception_for(rv, "%s on %s" % (what, self._describe()))

    def _forked_away(self) -> None:
        """In a forked child (see _fork): the spare receive records are the
        parent's copies; they are left as they are, not freed."""
        for spare in (self._spare_rx, self._spare_batch):
            if spare is not None:
                ffi.gc(spare[0], None)
        self._spare_rx = self._spare_batch = None
        ffi.gc(self._recv_op, None)
        # The class's methods again, which the disowned class makes raise.
        del self.send, self.recv

    def _describe(self) -> str:
        raise NotImplementedError

    def _owner(self) -> Socket:
        """The socket whose pipes its messages come in on."""
        raise NotImplementedError

    def __enter__(self: _SendRecvT) -> _SendRecvT:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _inherited(self: Any, *args: object, **kwargs: object) -> NoReturn:
    raise _fork.inherited_error(self)


async def _ainherited(self: Any, *args: object, **kwargs: object) -> NoReturn:
    raise _fork.inherited_error(self)


class InheritedSendRecv:
    """What a socket or context inherited through fork() becomes in the
    child (see _fork): every call that would reach the core raises Closed."""

    send = send_msg = send_many = recv = recv_into = recv_msg = recv_many = _inherited
    asend = asend_msg = asend_many = arecv = arecv_msg = arecv_many = _ainherited
    _get_option = _set_option = _inherited

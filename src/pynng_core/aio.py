"""Async send and receive under asyncio and trio (detected at call time).

Each event loop (each trio run) gets a completion queue from the core; its
descriptor is watched by the loop (by a thread of its own for an asyncio
loop that has no add_reader, such as the Proactor loop, Windows' default),
and one wake-up drains every operation that became ready.  The core never calls Python: a ready operation only
makes its coroutine try again.  Because the core takes nothing for a
coroutine until it tries, a cancelled await (a timeout, a task cancel)
loses no message; a later receive gets it.
"""
from __future__ import annotations

import asyncio
import itertools
import select
import socket
import sys
import threading
import types
import weakref
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from . import _fork
from ._core import ffi, lib
from .exceptions import check

if TYPE_CHECKING:
    from ._core import CData  # the stub's: cffi's types have no names at run time

    # One core try of an async operation: step(op, queue, token, final, waiter_out).
    Step = Callable[[CData, CData | None, int, int, CData], int]

PENDING = lib.PNC_EPENDING
_FOREVER = 2 ** 63 - 1
_BATCH = 256


_running_loop = asyncio._get_running_loop  # the C-accelerated, cheap one
_modules = sys.modules

_T = TypeVar("_T")
_CloseableT = TypeVar("_CloseableT", bound="AsyncClose")
Backend = Literal["asyncio", "trio"]


class _Completions:
    """A core completion queue and the wake-ups waiting on it."""

    queue: CData | None

    def __init__(self) -> None:
        self._wakers: dict[int, Callable[[], object]] = {}  # token -> callable waking its coroutine
        self.queue = None
        qp = ffi.new("pnc_aioq **")
        check(lib.pnc_aioq_open(qp), "an async completion queue")
        self.queue = qp[0]
        self.fd = lib.pnc_aioq_fd(self.queue)
        self._tokens = ffi.new("uint64_t[]", _BATCH)
        self._counter = itertools.count(1)
        _fork.track(self)

    if TYPE_CHECKING:
        async def wait(self, token: int, deadline_ms: int, waiter: CData) -> bool: ...

    def _forked_away(self) -> None:
        """In a forked child the queue is the parent's copy: never closed here."""
        self.queue = None
        self._wakers.clear()

    def token(self) -> int:
        return next(self._counter)

    def drain(self) -> None:
        """Wakes every coroutine whose operation is ready (many per call)."""
        if self.queue is None:  # the parent's, in a forked child
            return
        while True:
            n = lib.pnc_aioq_drain(self.queue, self._tokens, _BATCH)
            for i in range(n):
                wake = self._wakers.pop(self._tokens[i], None)
                if wake is not None:
                    wake()
            if n < _BATCH:
                return

    def __del__(self) -> None:
        # A waiter still registered would fire into this queue: keep it then.
        if self.queue is not None and not self._wakers and lib is not None:
            lib.pnc_aioq_close(self.queue)


class _WatchThread:
    """add_reader for one descriptor, on a loop that has none (the Proactor
    loop): a thread blocks in select() on it and, each time it is readable,
    has the loop run ``callback`` once.  It selects again only after the
    callback ran: the descriptor stays readable until the callback drains
    what it signals, and one call_soon_threadsafe per batch of completions
    is all the wake-ups cost.

    The thread ends when the loop closes (its ``close`` is wrapped, as pyzmq
    does for its selector thread).  It holds the loop: a loop freed in it
    would close there, and join the thread itself.  A loop never closed
    keeps its thread, a daemon that does not hold up the interpreter's exit
    (asyncio warns of the unclosed loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int,
                 callback: Callable[[], None]) -> None:
        self._loop = loop
        self._fd = fd
        self._callback = callback
        self._stop_r, self._stop_w = socket.socketpair()
        self._stopping = False
        self._callback_ran = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True,
                                        name="pynng_core completions watcher")
        self._thread.start()
        _fork.track(self)
        close = loop.close

        def close_then_stop() -> None:
            close()  # first: a running loop refuses, and keeps its thread
            self.stop()
            if loop.__dict__.get("close") is close_then_stop:
                del loop.close  # no cycle left through the loop's own dict

        loop.close = close_then_stop  # type: ignore[method-assign]

    def _watch(self) -> None:
        watched: list[int | socket.socket] = [self._fd, self._stop_r]
        while True:
            if self._stop_r in select.select(watched, (), ())[0]:
                return
            self._callback_ran.clear()
            if self._stopping:  # stop() may have set the event before the clear
                return
            try:
                self._loop.call_soon_threadsafe(self._run_callback)
            except RuntimeError:  # the loop is closed: stop() is on its way
                return
            self._callback_ran.wait()

    def _run_callback(self) -> None:
        try:
            self._callback()
        finally:
            self._callback_ran.set()

    def stop(self) -> None:
        """Ends the thread and lets its descriptors go (once, when the loop
        has closed)."""
        if self._stopping:
            return
        self._stopping = True
        self._stop_w.send(b"\0")
        self._callback_ran.set()
        self._thread.join()
        self._stop_r.close()
        self._stop_w.close()

    def _forked_away(self) -> None:
        """In a forked child the thread is gone and the socket pair is shared
        with the parent, whose thread a stop byte would end: only let go of
        this process's copies."""
        self._stopping = True
        self._stop_r.close()
        self._stop_w.close()


class _AsyncioCompletions(_Completions):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        # Weakly: the loop's cache entry (and this queue) go with the loop.
        self._loop_ref = weakref.ref(loop)
        try:
            loop.add_reader(self.fd, self.drain)
            self._loop_reads_pipes = True
        except NotImplementedError:  # the Proactor loop
            _WatchThread(loop, self.fd, self.drain)
            # A waiter relies on the queue alone: the I/O thread reads its pipe.
            self._loop_reads_pipes = False

    async def wait(self, token: int, deadline_ms: int, waiter: CData) -> bool:
        """Until the token fires (False) or the deadline passes (True).

        A receive on a one-pipe socket has the loop watch the pipe itself
        (a loop with add_reader): the reply then comes with no hop through
        the core's I/O thread."""
        loop: asyncio.AbstractEventLoop = self._loop_ref()  # type: ignore[assignment]  # it runs this
        future: asyncio.Future[bool] = loop.create_future()
        wake = self._wakers[token] = lambda: future.done() or future.set_result(False)  # type: ignore[func-returns-value]
        timer = None
        if deadline_ms != _FOREVER:
            delay = max(0, deadline_ms - lib.pnc_clock_now_ms()) / 1000
            timer = loop.call_later(delay, lambda: future.done() or future.set_result(True))  # type: ignore[func-returns-value]
        fd = lib.pnc_waiter_watch_fd(waiter) if self._loop_reads_pipes else -1
        if fd >= 0:
            loop.add_reader(fd, lambda: (lib.pnc_waiter_read(waiter), wake()))  # type: ignore[func-returns-value]
        try:
            return await future
        finally:
            self._wakers.pop(token, None)
            if timer is not None:
                timer.cancel()
            if fd >= 0:
                loop.remove_reader(fd)


class _TrioCompletions(_Completions):
    def __init__(self) -> None:
        import trio
        super().__init__()
        self._trio = trio
        trio.lowlevel.spawn_system_task(self._watch, name="pynng_core completions")

    async def _watch(self) -> None:
        while True:
            await self._trio.lowlevel.wait_readable(self.fd)
            self.drain()

    async def wait(self, token: int, deadline_ms: int, waiter: CData) -> bool:
        trio = self._trio
        event = trio.Event()
        self._wakers[token] = event.set
        delay = _FOREVER if deadline_ms == _FOREVER else \
            max(0, deadline_ms - lib.pnc_clock_now_ms()) / 1000
        try:
            with trio.move_on_after(delay if delay != _FOREVER else float("inf")) as scope:
                await event.wait()
            timed_out: bool = scope.cancelled_caught
            return timed_out
        finally:
            self._wakers.pop(token, None)


_asyncio_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AsyncioCompletions] = \
    weakref.WeakKeyDictionary()
_trio_queue: Any = None  # a trio RunVar, made on first use


BACKENDS = ("asyncio", "trio")


def check_backend(backend: str | None) -> Backend | None:
    """A socket's ``async_backend=``: None (detect at each call) or one of
    BACKENDS; anything else is a ValueError naming it."""
    if backend is not None and backend not in BACKENDS:
        raise ValueError("async_backend=%r is not supported: use one of %s, or None "
                         "to detect it" % (backend, ", ".join(map(repr, BACKENDS))))
    return cast("Backend | None", backend)  # one of BACKENDS, as checked


def completions(backend: Backend | None = None) -> _Completions:
    """The completion queue of the running event loop (made on first use);
    ``backend`` ("asyncio" or "trio") says whose, instead of detecting it
    (as under trio-asyncio, where both run)."""
    global _trio_queue
    loop = _running_loop() if backend != "trio" else None
    if loop is not None:
        q = _asyncio_queues.get(loop)
        if q is None:
            q = _asyncio_queues[loop] = _AsyncioCompletions(loop)
        return q
    if backend == "asyncio":
        raise RuntimeError("async_backend='asyncio', but no asyncio loop is running")
    if "trio" in sys.modules:  # not asyncio: trio is the other one we serve
        import trio
        if _trio_queue is None:
            _trio_queue = trio.lowlevel.RunVar("pynng_core_completions")
        try:
            queue: _Completions = _trio_queue.get()
            return queue
        except LookupError:
            trio_queue = _TrioCompletions()
            _trio_queue.set(trio_queue)
            return trio_queue
    raise RuntimeError("pynng_core async calls need a running asyncio loop or trio")


_NO_WAITER = ffi.new("pnc_waiter **")  # the fast path registers none
EAGAIN = lib.PNC_EAGAIN


@types.coroutine
def _asyncio_yield() -> Generator[None, None, None]:
    """One turn of the asyncio loop: what asyncio.sleep(0) does, one call less."""
    yield


# Every awaited call is a scheduling point, as in pynng: other tasks run
# and a cancellation is delivered there, even when the core completes the
# call at once (a publisher with no subscribers must not starve the rest).
# A turn of the event loop costs more than many calls (asyncio's 2 us,
# trio's 3.6 us, with an epoll_wait each, against 0.3 us for a send), so a
# run of calls completed at once lets the other tasks run once in
# IMMEDIATE_RUN; a call that waits has yielded, and starts the count again.
# Under trio every call is a cancel point all the same: a cancelled scope
# raises Cancelled at the very next call, as trio's own calls do.
IMMEDIATE_RUN = 32
# Calls since the last that yielded.  A list's item, not a global: a store
# to a module global costs every global lookup in the module its cache.
_immediate = [0]
# trio.lowlevel's checkpoint and checkpoint_if_cancelled, once in use.
_trio_calls: tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]] | None = None


def scheduling_point() -> Awaitable[None] | None:
    """Counts an awaited call, and gives what it must await for its
    scheduling point: a turn of the loop when it ends a run of
    IMMEDIATE_RUN, else under trio a cancel point, else None (under
    asyncio nothing to await: a coroutine less per call)."""
    _immediate[0] += 1
    if _immediate[0] >= IMMEDIATE_RUN:
        _immediate[0] = 0
        return _asyncio_yield() if _running_loop() is not None else _trio()[0]()
    if "trio" in _modules and _running_loop() is None:
        return _trio()[1]()
    return None


def _trio() -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    global _trio_calls
    if _trio_calls is None:
        import trio
        _trio_calls = (trio.lowlevel.checkpoint, trio.lowlevel.checkpoint_if_cancelled)
    return _trio_calls


async def run(step: Step, op: CData, backend: Backend | None = None,
              undoable: bool = False, tried: bool = False) -> int:
    """Runs an async operation: ``step(op, queue, token, final, waiter_out)``
    is one core try; between tries the coroutine sleeps until its waiter
    fires or its deadline passes (in ``backend``'s loop, see completions).
    Returns the core's final code.

    An operation the caller undoes when the await raises (a receive puts
    its message back) makes its scheduling point after a try that completed
    at once: one that has to wait has yielded by waiting.  Any other makes
    it first, so that a cancellation delivered there leaves nothing done.
    A caller that ``tried`` once itself (a hot call of _hotpath.c, which
    said it would wait) made the call's scheduling point already."""
    if not tried:
        if not undoable:
            due = scheduling_point()
            if due is not None:
                await due
        # Most operations complete at once: no queue, no waiter, no event loop.
        rv = step(op, ffi.NULL, 0, 0, _NO_WAITER)
        if rv != EAGAIN:
            if undoable:
                due = scheduling_point()
                if due is not None:
                    await due
            return rv
    _immediate[0] = 0
    comp = completions(backend)
    out = ffi.new("pnc_waiter **")
    final = False
    while True:
        token = comp.token()
        rv = step(op, comp.queue, token, final, out)
        if rv != PENDING:
            return rv
        waiter = out[0]
        # No await between the try and here: the loop cannot drain the
        # token before its waker is in place.
        try:
            final = await comp.wait(token, op.deadline, waiter)
        except BaseException:
            lib.pnc_waiter_release(waiter, 1)  # pass on a wake-up it got
            raise
        lib.pnc_waiter_release(waiter, 0)


async def to_thread(fn: Callable[[], _T]) -> _T:
    """``fn()`` on a worker thread, awaited under asyncio or trio: the event
    loop runs on meanwhile."""
    loop = _running_loop()
    if loop is not None:
        return await loop.run_in_executor(None, fn)
    import trio
    result: _T = await trio.to_thread.run_sync(fn)
    return result


class AsyncClose:
    """``aclose()`` and ``async with`` for an object that has ``close()``."""

    if TYPE_CHECKING:
        def close(self) -> None: ...

    async def aclose(self) -> None:
        """close() without blocking the event loop: closing an endpoint
        waits for the I/O thread to let its descriptors go, so it runs on a
        worker thread.  Closing twice is harmless."""
        await to_thread(self.close)

    async def __aenter__(self: _CloseableT) -> _CloseableT:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

"""The async API (asend / arecv / asend_msg / arecv_msg, asend_many /
arecv_many, async with, async for) under asyncio and trio: round trips on every protocol and
transport, many concurrent awaits, contexts, cancellation (single and in
storms: no message lost or duplicated), backpressure, timeouts, closing,
interpreter exit with pending operations, mixing with sync threads, and every awaited call being a scheduling point
(a loop of calls the core completes at once starves no other task).

Every test runs once per event-loop library (``alib`` fixture: asyncio's
default loop, an asyncio loop without add_reader as Windows' Proactor loop
is, and trio) and, through conftest's autouse fixture, once per I/O poller.  Every wait is bounded:
sockets carry recv/send timeouts and every top-level run is guarded by an
overall deadline, so a bug fails a test instead of hanging it.
"""

import asyncio
import os
import random
import selectors
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import trio

import pynng_core
from pynng_core import (
    Canceled, Closed, Message, Pair0, Pub0, Pull0, Push0, Rep0, Req0, Respondent0,
    Sub0, Surveyor0, Timeout,
)
from peers import DEFAULT_TIMEOUT, tree_env
from platform_probes import skip_unless, trio_missing
from proactorlike import NoAddReaderLoop
from protocol_peers import sock

TRANSPORTS = ["tcp", "ipc", "inproc"]
LIBS = ["asyncio", "asyncio-proactorlike", "trio"]
# Overall guard on one test's event-loop run (seconds).
RUN_GUARD = 45.0


# --------------------------------------------------------------------------
# A small shim so each test body is written once for asyncio and trio.


def run_on_loop(loop_factory, coro):
    """asyncio.run on a loop of our choice: asyncio.Runner's loop_factory
    from 3.11 on, by hand on 3.10 (the same steps: run, cancel what is
    left, finish async generators, close)."""
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(coro)
    loop = loop_factory()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro)
    finally:
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


class AsyncioLib:
    name = "asyncio"
    Cancelled = asyncio.CancelledError
    loop_factory = None  # asyncio's default

    def run(self, fn, *args, guard=RUN_GUARD):
        async def guarded():
            return await asyncio.wait_for(fn(*args), guard)
        if self.loop_factory is None:
            return asyncio.run(guarded())
        return run_on_loop(self.loop_factory, guarded())

    async def sleep(self, seconds):
        await asyncio.sleep(seconds)

    async def checkpoint(self):
        await asyncio.sleep(0)

    async def gather(self, *fns):
        """Runs the zero-argument coroutine functions concurrently; their
        results in order (the first exception propagates)."""
        return list(await asyncio.gather(*(f() for f in fns)))

    async def within(self, seconds, fn):
        """(True, result) if ``fn()`` finishes within ``seconds``, else
        (False, None) after cancelling it."""
        try:
            return True, await asyncio.wait_for(fn(), seconds)
        except pynng_core.Timeout:
            raise  # also a TimeoutError, but the library's own
        except asyncio.TimeoutError:
            return False, None

    async def guard(self, seconds, fn):
        """``fn()``, failing the test if it takes longer than ``seconds``."""
        try:
            return await asyncio.wait_for(fn(), seconds)
        except pynng_core.Timeout:
            raise  # also a TimeoutError, but the library's own
        except asyncio.TimeoutError:
            raise AssertionError("still waiting after %.1fs" % seconds) from None

    async def run_in_thread(self, fn):
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    async def cancel_after_yields(self, fn, yields):
        """Starts ``fn()`` as a task, lets the loop run ``yields`` times,
        then cancels it.  (True, result) if it completed anyway, else
        (False, None)."""
        task = asyncio.ensure_future(fn())
        for _ in range(yields):
            await asyncio.sleep(0)
        task.cancel()
        try:
            return True, await task
        except asyncio.CancelledError:
            return False, None


    async def cancel_on_demand(self, fn, cancellers):
        """Runs ``fn()``; appends to ``cancellers`` a function that cancels
        it.  (True, result) if it completed, (False, None) if cancelled."""
        task = asyncio.ensure_future(fn())
        cancellers.append(task.cancel)
        try:
            return True, await task
        except asyncio.CancelledError:
            return False, None


class ProactorLikeLib(AsyncioLib):
    """asyncio on a loop without add_reader, as Windows' default loop is."""
    name = "asyncio-proactorlike"
    loop_factory = NoAddReaderLoop


class TrioLib:
    name = "trio"
    Cancelled = trio.Cancelled

    def run(self, fn, *args, guard=RUN_GUARD):
        skip_unless(trio_missing())

        async def guarded():
            with trio.fail_after(guard):
                return await fn(*args)
        return trio.run(guarded)

    async def sleep(self, seconds):
        await trio.sleep(seconds)

    async def checkpoint(self):
        await trio.lowlevel.checkpoint()

    async def gather(self, *fns):
        results = [None] * len(fns)

        async def one(i, f):
            results[i] = await f()

        async with trio.open_nursery() as nursery:
            for i, f in enumerate(fns):
                nursery.start_soon(one, i, f)
        return results

    async def within(self, seconds, fn):
        result = None
        with trio.move_on_after(seconds) as scope:
            result = await fn()
        if scope.cancelled_caught:
            return False, None
        return True, result

    async def guard(self, seconds, fn):
        try:
            with trio.fail_after(seconds):
                return await fn()
        except trio.TooSlowError:
            raise AssertionError("still waiting after %.1fs" % seconds) from None

    async def run_in_thread(self, fn):
        return await trio.to_thread.run_sync(fn)

    async def cancel_after_yields(self, fn, yields):
        box = []
        scope = trio.CancelScope()

        async def body():
            with scope:
                box.append(await fn())

        async def canceller():
            for _ in range(yields):
                await trio.lowlevel.checkpoint()
            scope.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(body)
            nursery.start_soon(canceller)
        if box:
            return True, box[0]
        return False, None


    async def cancel_on_demand(self, fn, cancellers):
        box = []
        with trio.CancelScope() as scope:
            cancellers.append(scope.cancel)
            box.append(await fn())
        if box:
            return True, box[0]
        return False, None


@pytest.fixture(params=LIBS)
def alib(request):
    return {"asyncio": AsyncioLib, "asyncio-proactorlike": ProactorLikeLib,
            "trio": TrioLib}[request.param]()


async def asend_until_received(alib, sender, receiver, payload=b"sync", poll=0.05):
    """Pub, surveyor and friends drop messages until the connection is up:
    send ``payload`` until ``receiver`` gets one copy (async throughout)."""
    deadline = time.monotonic() + DEFAULT_TIMEOUT
    while True:
        await sender.asend(payload)
        done, got = await alib.within(poll, receiver.arecv)
        if done:
            assert got == payload, got
            return
        assert time.monotonic() < deadline, "%r never arrived" % payload


async def drain_quiet(alib, receiver, quiet=0.2):
    """Everything ``receiver`` gets until it is quiet for ``quiet`` s."""
    got = []
    while True:
        done, msg = await alib.within(quiet, receiver.arecv)
        if not done:
            return got
        got.append(msg)


# --------------------------------------------------------------------------
# Round trips on every protocol and transport


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_reqrep_round_trip(alib, transport, make_url):
    url = make_url(transport)

    async def main():
        with sock(Rep0, listen=url) as rep, sock(Req0) as req:
            req.dial(url, block=True)

            async def server():
                for _ in range(20):
                    q = await rep.arecv()
                    await rep.asend(b"re:" + q)

            async def client():
                got = []
                for i in range(20):
                    await req.asend(b"q%d" % i)
                    got.append(await req.arecv())
                return got

            _, got = await alib.gather(server, client)
            assert got == [b"re:q%d" % i for i in range(20)]

    alib.run(main)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pushpull_round_trip(alib, transport, make_url):
    url = make_url(transport)

    async def main():
        with sock(Pull0, listen=url) as pull, sock(Push0) as push:
            push.dial(url, block=True)

            async def sender():
                for i in range(200):
                    await push.asend(b"m%d" % i)

            async def receiver():
                return [await pull.arecv() for _ in range(200)]

            _, got = await alib.gather(sender, receiver)
            assert got == [b"m%d" % i for i in range(200)]

    alib.run(main)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pair_round_trip_both_ways_and_msgs(alib, transport, make_url):
    url = make_url(transport)

    async def main():
        with sock(Pair0, listen=url) as a, sock(Pair0) as b:
            b.dial(url, block=True)
            for i in range(20):
                await a.asend(b"a%d" % i)
                assert await b.arecv() == b"a%d" % i
                await b.asend_msg(Message(b"b%d" % i))
                msg = await a.arecv_msg()
                assert isinstance(msg, Message)
                assert msg.bytes == b"b%d" % i
            # a buffer-protocol object (not bytes) is accepted too
            await a.asend(bytearray(b"buf"))
            assert await b.arecv() == b"buf"
            await a.asend(memoryview(b"xmemview")[1:])
            assert await b.arecv() == b"memview"
            big = os.urandom(1 << 20)
            await a.asend(big)
            assert await b.arecv() == big

    alib.run(main)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pubsub_round_trip(alib, transport, make_url):
    url = make_url(transport)

    async def main():
        with sock(Pub0, listen=url) as pub, sock(Sub0, topics=[b"t", b"sync"]) as sub:
            sub.dial(url, block=True)
            await asend_until_received(alib, pub, sub)
            for i in range(20):
                await pub.asend(b"x-not-subscribed%d" % i)
                await pub.asend(b"t%d" % i)
            got = [m for m in await drain_quiet(alib, sub) if not m.startswith(b"sync")]
            assert got == [b"t%d" % i for i in range(20)]

    alib.run(main)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_survey_round_trip(alib, transport, make_url):
    url = make_url(transport)

    async def main():
        with sock(Surveyor0, listen=url, survey_time=2000) as surveyor, \
                sock(Respondent0) as resp:
            resp.dial(url, block=True)
            # the surveyor drops surveys until its side of the pipe is up
            deadline = time.monotonic() + DEFAULT_TIMEOUT
            while True:
                await surveyor.asend(b"sync")
                done, got = await alib.within(0.05, resp.arecv)
                if done:
                    break
                assert time.monotonic() < deadline
            await resp.asend(b"sync-answer")
            assert await surveyor.arecv() == b"sync-answer"
            for i in range(10):
                await surveyor.asend(b"s%d" % i)
                assert await resp.arecv() == b"s%d" % i
                await resp.asend(b"r%d" % i)
                assert await surveyor.arecv() == b"r%d" % i

    alib.run(main)


# --------------------------------------------------------------------------
# Many concurrent awaits


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_many_concurrent_arecv_on_one_socket(alib, transport, make_url):
    url = make_url(transport)
    n = 200

    async def main():
        with sock(Pull0, listen=url) as pull, sock(Push0) as push:
            push.dial(url, block=True)
            started = []

            async def receiver():
                started.append(1)
                return await pull.arecv()

            async def sender():
                while len(started) < n:  # every receiver is waiting first
                    await alib.checkpoint()
                await alib.checkpoint()
                for i in range(n):
                    await push.asend(b"%d" % i)

            results = await alib.gather(sender, *([receiver] * n))
            got = results[1:]
            assert sorted(got) == sorted(b"%d" % i for i in range(n))
            assert len(set(got)) == n
            # nothing left over, nothing duplicated
            assert await drain_quiet(alib, pull) == []

    alib.run(main)


def test_many_req_contexts_against_async_rep_contexts(alib, make_url):
    url = make_url("tcp")
    n = 100

    async def main():
        with sock(Rep0, listen=url) as rep, sock(Req0) as req:
            req.dial(url, block=True)
            served = []

            async def server():
                ctx = rep.new_context()
                try:
                    while True:
                        q = await ctx.arecv()
                        served.append(q)
                        await alib.checkpoint()
                        await ctx.asend(b"re:" + q)
                except Closed:
                    pass

            async def client(i):
                ctx = req.new_context()
                await ctx.asend(b"q%d" % i)
                got = await ctx.arecv()
                ctx.close()
                return got

            async def clients():
                try:
                    return await alib.gather(*(
                        (lambda i=i: client(i)) for i in range(n)))
                finally:
                    rep.close()  # stops the servers

            results = await alib.gather(clients, *([server] * 16))
            assert results[0] == [b"re:q%d" % i for i in range(n)]
            assert sorted(served) == sorted(b"q%d" % i for i in range(n))

    alib.run(main)


# --------------------------------------------------------------------------
# Cancellation


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancelled_arecv_loses_nothing(alib, transport, make_url):
    url = make_url(transport)

    async def main():
        with sock(Pair0, listen=url) as a, sock(Pair0) as b:
            b.dial(url, block=True)
            done, _ = await alib.within(0.1, b.arecv)
            assert not done
            await a.asend(b"after-cancel")
            assert await b.arecv() == b"after-cancel"
            # a cancelled arecv then a sync recv
            done, _ = await alib.within(0.05, b.arecv_msg)
            assert not done
            a.send(b"sync-recv")
            assert b.recv() == b"sync-recv"
            # a cancelled arecv_many, then a batch
            done, _ = await alib.within(0.05, b.arecv_many)
            assert not done
            await a.asend_many([b"x", b"y", b"z"])
            got = []
            while len(got) < 3:
                got += await b.arecv_many()
            assert got == [b"x", b"y", b"z"]

    alib.run(main)


def test_cancelled_arecv_then_message_sent_before_next_await(alib, make_url):
    """The message arrives while nobody waits (after the cancel): it stays
    queued for whoever receives next."""
    url = make_url("tcp")

    async def main():
        with sock(Pull0, listen=url) as pull, sock(Push0) as push:
            push.dial(url, block=True)
            for i in range(20):
                done, _ = await alib.within(0.01, pull.arecv)
                assert not done
                push.send(b"m%d" % i)
                await alib.sleep(0.005)  # let it land in the queue
                assert await pull.arecv() == b"m%d" % i

    alib.run(main)


def _storm(alib, url, n_messages, attempts, seed):
    """Receives on a Pull0 with ``attempts`` arecv awaits, each cancelled at
    a random moment, while a sender task pushes ``n_messages`` numbered
    messages; then drains.  Returns the messages in the order received."""

    async def main():
        rng = random.Random(seed)
        with sock(Pull0, listen=url) as pull, sock(Push0) as push:
            push.dial(url, block=True)
            got = []
            stats = {"completed": 0, "cancelled": 0}

            async def sender():
                for i in range(n_messages):
                    await push.asend(b"%d" % i)
                    if rng.random() < 0.3:
                        await alib.checkpoint()

            async def receiver():
                for k in range(attempts):
                    mode = k % 3
                    if mode == 0:
                        # cancelled after a random number of loop turns
                        done, msg = await alib.cancel_after_yields(pull.arecv, rng.randrange(4))
                    elif mode == 1:
                        # timed out by the event loop library
                        done, msg = await alib.within(rng.uniform(0, 0.0005), pull.arecv)
                    else:
                        done, msg = await alib.cancel_after_yields(pull.arecv_msg,
                                                                   rng.randrange(3))
                        if done:
                            msg = msg.bytes
                    if done:
                        got.append(msg)
                        stats["completed"] += 1
                    else:
                        stats["cancelled"] += 1
                # drain (the sender may still be sending): the rest must
                # all be there, then nothing more
                while len(got) < n_messages:
                    got.append(await pull.arecv())

            await alib.gather(sender, receiver)
            pull.recv_timeout = 200
            with pytest.raises(Timeout):
                await pull.arecv()
            return got, stats

    return alib.run(main)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_cancellation_storm_single_pipe_in_order(alib, transport, make_url):
    n = 2000
    got, stats = _storm(alib, make_url(transport), n, 3000, seed=transport)
    assert stats["cancelled"] > 0
    expected = [b"%d" % i for i in range(n)]
    missing = sorted(set(expected) - set(got), key=int)
    dup = sorted({m for m in got if got.count(m) > 1}, key=int) if len(got) != len(set(got)) else []
    assert not missing, "lost %d messages, first %r" % (len(missing), missing[:10])
    assert not dup, "duplicated %r" % dup[:10]
    assert got == expected, "out of order"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_cancellation_storm_concurrent_receivers(alib, transport, make_url):
    """3000 arecv tasks alive at once, each cancelled at a random moment,
    while messages arrive: every message is received exactly once."""
    url = make_url(transport)
    n = 1500
    attempts = 3000

    async def main():
        rng = random.Random(transport)
        with sock(Pull0, listen=url) as pull, sock(Push0) as push:
            push.dial(url, block=True)
            got = []

            async def sender():
                for i in range(n):
                    await push.asend(b"%d" % i)
                    if rng.random() < 0.2:
                        await alib.checkpoint()

            async def one(k):
                await alib.sleep(rng.uniform(0, 0.05))
                if k % 2:
                    done, msg = await alib.within(rng.uniform(0, 0.002), pull.arecv)
                else:
                    done, msg = await alib.cancel_after_yields(pull.arecv, rng.randrange(5))
                if done:
                    got.append(msg)

            async def storm_then_drain():
                await alib.gather(*((lambda k=k: one(k)) for k in range(attempts)))
                while len(got) < n:
                    got.append(await pull.arecv())

            await alib.gather(sender, storm_then_drain)
            pull.recv_timeout = 200
            with pytest.raises(Timeout):
                await pull.arecv()
            return got

    got = alib.run(main)
    assert len(got) == n
    assert sorted(got, key=int) == [b"%d" % i for i in range(n)]


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_wakeup_of_a_cancelled_waiter_passes_on(alib, transport, make_url):
    """10 arecv tasks wait; 3 messages arrive; 7 random tasks are then
    cancelled (some of them already woken for a message).  Every message
    not taken by a cancelled task must reach a surviving task promptly
    (well before the 5 s recv_timeout): a woken-then-cancelled waiter
    passes its wake-up on, it does not swallow it."""
    url = make_url(transport)

    async def main():
        rng = random.Random(transport)
        with sock(Pull0, listen=url) as pull, sock(Push0) as push:
            push.dial(url, block=True)
            for rnd in range(60):
                got = []
                scopes = []

                async def waiter(k):
                    done, msg = await alib.cancel_on_demand(pull.arecv, scopes)
                    if done:
                        got.append(msg)

                async def driver():
                    while len(scopes) < 10:
                        await alib.checkpoint()
                    await alib.sleep(0.002)  # every waiter is registered
                    for i in range(3):
                        await push.asend(b"%d-%d" % (rnd, i))
                    for _ in range(rng.randrange(6)):
                        await alib.checkpoint()
                    victims = rng.sample(range(10), 7)
                    for v in victims:
                        scopes[v]()
                    survivors = [k for k in range(10) if k not in victims]
                    # wait (bounded) for every message to be received
                    deadline = time.monotonic() + 1.0
                    while len(got) < 3 and time.monotonic() < deadline:
                        await alib.sleep(0.005)
                    for k in survivors:
                        scopes[k]()
                    return survivors

                await alib.gather(driver, *((lambda k=k: waiter(k)) for k in range(10)))
                assert sorted(got) == [b"%d-%d" % (rnd, i) for i in range(3)], \
                    "round %d: received %r within 1 s" % (rnd, got)

    alib.run(main)


def test_cancelled_arecv_on_rep_context_keeps_request(alib, make_url):
    url = make_url("inproc")

    async def main():
        with sock(Rep0, listen=url) as rep, sock(Req0) as req:
            req.dial(url, block=True)
            ctx = rep.new_context()
            done, _ = await alib.within(0.05, ctx.arecv)
            assert not done
            await req.asend(b"q")
            assert await ctx.arecv() == b"q"
            await ctx.asend(b"a")
            assert await req.arecv() == b"a"

    alib.run(main)


# --------------------------------------------------------------------------
# asend and backpressure


def test_asend_without_peer_times_out(alib, make_url):
    url = make_url("tcp")

    async def main():
        with Push0(listen=url, send_timeout=100) as push:
            t0 = time.monotonic()
            with pytest.raises(Timeout):
                await push.asend(b"nobody")
            assert time.monotonic() - t0 >= 0.05
            # and asend_msg
            with pytest.raises(Timeout):
                await push.asend_msg(Message(b"nobody"))

    alib.run(main)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancelled_asend_is_not_sent(alib, transport, make_url):
    url = make_url(transport)

    async def main():
        with sock(Push0, listen=url) as push:
            done, _ = await alib.within(0.1, lambda: push.asend(b"cancelled"))
            assert not done
            done, _ = await alib.within(0.05, lambda: push.asend_msg(Message(b"cancelled-msg")))
            assert not done
            with sock(Pull0, recv_timeout=300) as pull:
                pull.dial(url, block=True)
                await push.asend(b"after")
                assert await pull.arecv() == b"after"
                with pytest.raises(Timeout):
                    await pull.arecv()

    alib.run(main)


def test_asend_waits_for_a_peer_then_sends(alib, make_url):
    url = make_url("tcp")

    async def main():
        with sock(Push0, listen=url) as push, sock(Pull0) as pull:
            async def late_dial():
                await alib.sleep(0.1)
                pull.dial(url, block=False)

            async def send():
                await push.asend(b"waited")

            await alib.gather(late_dial, send)
            assert await pull.arecv() == b"waited"

    alib.run(main)


# --------------------------------------------------------------------------
# Every awaited call is a scheduling point, as in pynng, even when the core
# completes it at once: a loop of such calls lets other tasks run and sees
# a cancellation.

LOOP_LIMIT = 100000  # a starving loop ends here, and the test fails


def _immediate_sends(pub):
    """Awaited sends a Pub0 with no subscriber completes at once, by name."""
    return {
        "asend": lambda: pub.asend(b"x"),
        "asend_msg": lambda: pub.asend_msg(Message(b"x")),
        "asend_many": lambda: pub.asend_many([b"x", b"y"]),
    }


@pytest.mark.parametrize("call", ["asend", "asend_msg", "asend_many"])
def test_loop_of_immediate_sends_lets_other_tasks_run(alib, call, make_url):
    async def main():
        with sock(Pub0, listen=make_url("inproc")) as pub:
            send = _immediate_sends(pub)[call]
            other_ran = []

            async def publisher():
                n = 0
                while not other_ran and n < LOOP_LIMIT:
                    await send()
                    n += 1
                return n

            async def other():
                other_ran.append(True)

            n, _ = await alib.gather(publisher, other)
            assert other_ran and n <= pynng_core.aio.IMMEDIATE_RUN, \
                "the other task ran only after %d sends" % n

    alib.run(main)


@pytest.mark.parametrize("call", ["arecv", "arecv_msg", "arecv_many"])
def test_loop_of_immediate_receives_lets_other_tasks_run(alib, call, make_url):
    url = make_url("inproc")

    async def main():
        with sock(Pull0, listen=url, recv_buffer_size=1000) as pull, sock(Push0) as push:
            push.dial(url, block=True)
            for i in range(500):
                push.send(b"m%d" % i)
            other_ran = []
            got = []

            receive = {"arecv": pull.arecv, "arecv_msg": pull.arecv_msg,
                       "arecv_many": lambda: pull.arecv_many(1)}[call]

            async def receiver():
                while not other_ran and len(got) < 500:
                    got.append(await receive())

            async def other():
                other_ran.append(True)

            await alib.gather(receiver, other)
            assert other_ran and len(got) <= pynng_core.aio.IMMEDIATE_RUN, \
                "the other task ran only after %d receives" % len(got)

    alib.run(main)


@pytest.mark.parametrize("call", ["asend", "asend_msg", "asend_many"])
def test_cancel_reaches_a_loop_of_immediate_sends(alib, call, make_url):
    async def main():
        with sock(Pub0, listen=make_url("inproc")) as pub:
            send = _immediate_sends(pub)[call]

            async def forever():
                for _ in range(LOOP_LIMIT):
                    await send()
                return "never cancelled"

            completed, result = await alib.cancel_after_yields(forever, 3)
            assert not completed, result

    alib.run(main)


async def _cancel_after_one_step(alib, fn):
    """Runs ``fn()`` until its first scheduling point, cancels it there, and
    returns the exception it ended with.  (A call lets the others run once in
    aio.IMMEDIATE_RUN: the callers make that every call.)"""
    if isinstance(alib, AsyncioLib):
        task = asyncio.ensure_future(fn())
        await asyncio.sleep(0)  # the task runs up to its scheduling point
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as caught:
            await task
        return caught.value
    with trio.CancelScope() as scope:
        scope.cancel()  # seen at the first checkpoint, after the try
        await fn()
    assert scope.cancelled_caught
    return None


@pytest.mark.parametrize("call", ["arecv", "arecv_msg", "arecv_many"])
def test_receive_cancelled_at_its_scheduling_point_keeps_the_message(alib, call, make_url,
                                                                     monkeypatch):
    """A receive that took a message at once and is cancelled while it lets
    the others run puts the message back: the next receive gets it."""
    monkeypatch.setattr(pynng_core.aio, "IMMEDIATE_RUN", 1)
    url = make_url("inproc")

    async def main():
        with sock(Pull0, listen=url) as pull, sock(Push0) as push:
            push.dial(url, block=True)
            push.send(b"first")
            await alib.guard(5, lambda: pull.arecv_msg())  # the pipe is up
            push.send(b"kept")
            push.send(b"next")
            await _cancel_after_one_step(alib, getattr(pull, call))
            assert pull.recv() == b"kept"
            assert pull.recv() == b"next"

    alib.run(main)


def test_send_cancelled_at_its_scheduling_point_sends_nothing(alib, make_url, monkeypatch):
    monkeypatch.setattr(pynng_core.aio, "IMMEDIATE_RUN", 1)
    url = make_url("inproc")

    async def main():
        with sock(Pull0, listen=url, recv_timeout=200) as pull, sock(Push0) as push:
            push.dial(url, block=True)
            await _cancel_after_one_step(alib, lambda: push.asend(b"cancelled"))
            push.send(b"after")
            assert pull.recv() == b"after"
            with pytest.raises(Timeout):
                pull.recv()

    alib.run(main)


@pytest.mark.parametrize("call", ["asend", "arecv"])
def test_trio_call_in_a_cancelled_scope_raises_at_once(call, make_url):
    """Under trio a call that completes at once lets the others run only
    once in a run, but each call is a cancel point, as trio's own are."""
    skip_unless(trio_missing())
    url = make_url("inproc")

    async def main():
        with sock(Pull0, listen=url) as pull, sock(Push0) as push:
            push.dial(url, block=True)
            for i in range(10):
                push.send(b"m%d" % i)
            assert pull.recv() == b"m0"  # the pipe is up: the rest are queued
            fn = {"asend": lambda: push.asend(b"x"), "arecv": pull.arecv}[call]
            done = 0
            with trio.CancelScope() as scope:
                for _ in range(3):
                    await fn()
                    done += 1
                scope.cancel()
                await fn()
                done += 1
            assert scope.cancelled_caught and done == 3
            if call == "arecv":  # the cancelled receive put its message back
                assert pull.recv() == b"m4"

    trio.run(main)


# --------------------------------------------------------------------------
# Timeouts, closing, async with / async for


def test_recv_timeout_applies_to_arecv(alib, make_url):
    async def main():
        with Pull0(listen=make_url("inproc"), recv_timeout=100) as pull:
            t0 = time.monotonic()
            with pytest.raises(Timeout):
                await pull.arecv()
            assert time.monotonic() - t0 >= 0.05
            with pytest.raises(Timeout):
                await pull.arecv_msg()
            # a context starts with the socket's timeout; its own applies
            with Rep0(listen=make_url("inproc"), recv_timeout=100) as rep:
                ctx = rep.new_context()
                with pytest.raises(Timeout):
                    await ctx.arecv()
                ctx.recv_timeout = 50
                with pytest.raises(Timeout):
                    await ctx.arecv()

    alib.run(main)


def test_recv_timeout_change_while_other_arecv_pending(alib, make_url):
    """A timed-out arecv and a concurrent arecv without timeout: the second
    one still gets the next message."""
    url = make_url("inproc")

    async def main():
        with sock(Pull0, listen=url) as pull, sock(Push0, dial=url) as push:
            async def timed():
                ctx_timeout = pull.recv_timeout
                assert ctx_timeout == 5000
                return await pull.arecv()

            async def sender():
                await alib.sleep(0.1)
                await push.asend(b"one")
                await push.asend(b"two")

            a, b, _ = await alib.gather(timed, timed, sender)
            assert sorted([a, b]) == [b"one", b"two"]

    alib.run(main)


def test_close_from_another_task_wakes_arecv(alib, make_url):
    async def main():
        pull = sock(Pull0, listen=make_url("inproc"))

        async def closer():
            await alib.sleep(0.1)
            pull.close()

        async def waiter():
            with pytest.raises(Closed):
                await pull.arecv()

        await alib.guard(5, lambda: alib.gather(waiter, waiter, closer))

    alib.run(main)


def test_close_from_another_thread_wakes_arecv(alib, make_url):
    async def main():
        pull = sock(Pull0, listen=make_url("tcp"))
        rep = sock(Rep0, listen=make_url("inproc"))
        ctx = rep.new_context()
        timer = threading.Timer(0.1, lambda: (pull.close(), rep.close()))
        timer.start()
        try:
            async def on_socket():
                with pytest.raises(Closed):
                    await pull.arecv()

            async def on_context():
                with pytest.raises(Closed):
                    await ctx.arecv()

            await alib.guard(5, lambda: alib.gather(on_socket, on_context))
        finally:
            timer.join()

    alib.run(main)


def test_context_close_wakes_its_arecv(alib, make_url):
    async def main():
        with sock(Rep0, listen=make_url("inproc")) as rep:
            ctx = rep.new_context()

            async def closer():
                await alib.sleep(0.1)
                ctx.close()

            async def waiter():
                with pytest.raises(Closed):
                    await ctx.arecv()

            await alib.guard(5, lambda: alib.gather(waiter, closer))

    alib.run(main)


def test_async_for_ends_when_socket_closes(alib, make_url):
    url = make_url("inproc")

    async def main():
        pull = sock(Pull0, listen=url)
        push = sock(Push0, dial=url)

        async def consume():
            got = []
            async for msg in pull:
                got.append(msg)
                if len(got) == 5:
                    pull.close()
            return got

        async def produce():
            for i in range(5):
                await push.asend(b"%d" % i)

        got, _ = await alib.guard(5, lambda: alib.gather(consume, produce))
        assert got == [b"%d" % i for i in range(5)]
        push.close()

        # closed from another task while the loop waits
        pull2 = sock(Pull0, listen=make_url("inproc"))

        async def consume2():
            return [m async for m in pull2]

        async def closer():
            await alib.sleep(0.1)
            pull2.close()

        got2, _ = await alib.guard(5, lambda: alib.gather(consume2, closer))
        assert got2 == []

    alib.run(main)


def test_async_with_closes(alib, make_url):
    url = make_url("inproc")

    async def main():
        async with sock(Pair0, listen=url) as a:
            async with sock(Pair0, dial=url) as b:
                await a.asend(b"x")
                assert await b.arecv() == b"x"
            with pytest.raises(Closed):
                await b.arecv()
            with pytest.raises(Closed):
                b.send(b"y")
        with pytest.raises(Closed):
            await a.asend(b"z")
        # closes on an exception too
        s = sock(Pair0)
        with pytest.raises(ValueError):
            async with s:
                raise ValueError
        with pytest.raises(Closed):
            s.send(b"q")

    alib.run(main)


# --------------------------------------------------------------------------
# Req0 context semantics


@pytest.mark.parametrize("on", ["context", "socket"])
def test_new_asend_on_req_cancels_pending_arecv(alib, on, make_url):
    """As nng: a new request on a Req0 socket/context ends the pending
    arecv of the old one with Canceled; the old request's late reply is
    dropped and the new one's reply arrives."""
    url = make_url("tcp")

    async def main():
        with sock(Rep0, listen=url) as rep, sock(Req0) as req:
            req.dial(url, block=True)
            ctx = req.new_context() if on == "context" else req
            server_old, server_new = rep.new_context(), rep.new_context()
            await ctx.asend(b"first")
            assert await server_old.arecv() == b"first"
            outcome = []

            async def pending_recv():
                try:
                    outcome.append(await ctx.arecv())
                except Canceled as exc:
                    outcome.append(exc)

            async def second_request():
                await alib.sleep(0.1)
                await ctx.asend(b"second")

            # Canceled at once (not at the recv_timeout, 5 s)
            await alib.guard(2, lambda: alib.gather(pending_recv, second_request))
            assert len(outcome) == 1 and isinstance(outcome[0], Canceled), outcome
            assert await server_new.arecv() == b"second"
            await server_old.asend(b"late answer to first")  # must be dropped
            await server_new.asend(b"answer to second")
            assert await ctx.arecv() == b"answer to second"

    alib.run(main)


@pytest.mark.parametrize("on", ["context", "socket"])
def test_new_asend_on_surveyor_cancels_pending_arecv(alib, on, make_url):
    url = make_url("tcp")

    async def main():
        with sock(Surveyor0, listen=url, survey_time=3000) as surveyor, \
                sock(Respondent0) as resp:
            resp.dial(url, block=True)
            s = surveyor.new_context() if on == "context" else surveyor
            await s.asend(b"old")
            outcome = []

            async def pending_recv():
                try:
                    outcome.append(await s.arecv())
                except Canceled as exc:
                    outcome.append(exc)

            async def new_survey():
                await alib.sleep(0.1)
                await s.asend(b"new")

            # Canceled at once, not at the survey deadline (3 s)
            await alib.guard(2, lambda: alib.gather(pending_recv, new_survey))
            assert len(outcome) == 1 and isinstance(outcome[0], Canceled), outcome

    alib.run(main)


def test_survey_deadline_ends_pending_arecv(alib, make_url):
    """The survey deadline (200 ms), not the 5 s recv_timeout, ends an
    arecv waiting for answers."""
    url = make_url("tcp")

    async def main():
        with sock(Surveyor0, listen=url, survey_time=200) as surveyor:
            await surveyor.asend(b"anyone?")
            with pytest.raises(Timeout):
                await alib.guard(2.5, surveyor.arecv)

    alib.run(main)


def test_req_contexts_are_independent_under_async(alib, make_url):
    """A new request on one context does not cancel another's pending
    arecv."""
    url = make_url("tcp")

    async def main():
        with sock(Rep0, listen=url) as rep, sock(Req0) as req:
            req.dial(url, block=True)
            c1, c2 = req.new_context(), req.new_context()

            async def server():
                for _ in range(2):
                    ctx = rep.new_context()
                    q = await ctx.arecv()
                    if q == b"one":
                        await alib.sleep(0.2)  # answer after c2's request
                    await ctx.asend(b"re:" + q)

            async def first():
                await c1.asend(b"one")
                return await c1.arecv()

            async def second():
                await alib.sleep(0.1)
                await c2.asend(b"two")
                return await c2.arecv()

            r1, r2, _ = await alib.gather(first, second, server)
            assert (r1, r2) == (b"re:one", b"re:two")

    alib.run(main)


# --------------------------------------------------------------------------
# Sync threads and event loops together


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_thread_blocking_sends_while_loop_arecvs(alib, transport, make_url):
    url = make_url(transport)
    n = 500

    async def main():
        with sock(Pull0, listen=url) as pull, sock(Push0) as push:
            push.dial(url, block=True)
            errors = []

            def send_all():
                try:
                    for i in range(n):
                        push.send(b"%d" % i)
                        if i % 50 == 0:
                            time.sleep(0.001)
                except Exception as exc:
                    errors.append(exc)

            thread = threading.Thread(target=send_all, daemon=True)
            thread.start()
            try:
                got = [await pull.arecv() for _ in range(n)]
            finally:
                thread.join(DEFAULT_TIMEOUT)
            assert not errors
            assert got == [b"%d" % i for i in range(n)]

    alib.run(main)


def test_thread_blocking_recvs_while_loop_asends(alib, make_url):
    url = make_url("tcp")
    n = 300

    async def main():
        with sock(Pair0, listen=url) as a, sock(Pair0) as b:
            b.dial(url, block=True)

            def receive_all():
                return [b.recv() for _ in range(n)]

            async def receiver():
                return await alib.run_in_thread(receive_all)

            async def sender():
                for i in range(n):
                    await a.asend(b"%d" % i)

            got, _ = await alib.gather(receiver, sender)
            assert got == [b"%d" % i for i in range(n)]

    alib.run(main)


def test_sync_and_async_receivers_on_one_socket(alib, make_url):
    """A thread in a blocking recv and a task in arecv share one Pull0:
    each message goes to exactly one of them."""
    url = make_url("inproc")
    n = 200

    async def main():
        with sock(Pull0, listen=url) as pull, sock(Push0, dial=url) as push:
            thread_got = []

            def thread_recv():
                try:
                    while True:
                        thread_got.append(pull.recv())
                except Closed:
                    pass

            thread = threading.Thread(target=thread_recv, daemon=True)
            thread.start()
            loop_got = []

            async def loop_recv():
                try:
                    while True:
                        loop_got.append(await pull.arecv())
                except Closed:
                    pass

            async def send_then_close():
                for i in range(n):
                    await push.asend(b"%d" % i)
                deadline = time.monotonic() + DEFAULT_TIMEOUT
                while len(thread_got) + len(loop_got) < n and time.monotonic() < deadline:
                    await alib.sleep(0.01)
                pull.close()

            await alib.gather(loop_recv, send_then_close)
            thread.join(DEFAULT_TIMEOUT)
            assert sorted(thread_got + loop_got, key=int) == [b"%d" % i for i in range(n)]

    alib.run(main)


@pytest.mark.parametrize("with_trio", [False, True], ids=["asyncio", "asyncio_and_trio"])
def test_event_loops_in_several_threads(with_trio, make_url):
    """Asyncio loops (with and without add_reader) and trio runs at once in
    threads, each with its own completion queue."""
    if with_trio:
        skip_unless(trio_missing())  # here: a skip in a worker thread would be an error
    results = {}
    errors = []

    def worker(name, lib):
        url = make_url("inproc")

        async def main():
            with sock(Pair0, listen=url) as a, sock(Pair0, dial=url) as b:
                got = []
                for i in range(200):
                    await a.asend(b"%s%d" % (name.encode(), i))
                    got.append(await b.arecv())
                return got

        try:
            results[name] = lib.run(main)
        except BaseException as exc:
            errors.append(exc)

    libs = {"a0": AsyncioLib(), "a1": AsyncioLib()}
    if with_trio:
        libs.update(t0=TrioLib(), t1=TrioLib())
    libs.update(p0=ProactorLikeLib(), p1=ProactorLikeLib())
    threads = [threading.Thread(target=worker, args=item) for item in libs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEFAULT_TIMEOUT * 3)
    assert not errors, errors
    assert sorted(results) == sorted(libs)
    for name, got in results.items():
        assert got == [b"%s%d" % (name.encode(), i) for i in range(200)]


def test_loop_runs_one_after_another(alib, make_url):
    """A socket used by one event loop run, then by a new one."""
    url = make_url("inproc")
    with sock(Pair0, listen=url) as a, sock(Pair0, dial=url) as b:
        async def exchange(tag):
            await a.asend(tag)
            return await b.arecv()

        for i in range(3):
            assert alib.run(exchange, b"run%d" % i) == b"run%d" % i
            assert AsyncioLib().run(exchange, b"asyncio%d" % i) == b"asyncio%d" % i
            assert TrioLib().run(exchange, b"trio%d" % i) == b"trio%d" % i

        # an arecv cancelled at the end of one run; the next run gets the message
        async def abandon():
            done, _ = await alib.within(0.05, b.arecv)
            assert not done
        alib.run(abandon)
        a.send(b"later")
        assert alib.run(b.arecv) == b"later"


def _open_fds():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_event_loop_runs_do_not_leak_descriptors(alib, make_url):
    """Each loop (asyncio.run / trio.run) gets a completion queue; when the
    loop is gone its queue (a descriptor) must go too, or a program that
    runs many loops runs out of files.  A loop without add_reader has a
    thread watch its queue: the thread and its descriptors end with the loop."""
    import gc
    url = make_url("inproc")
    with sock(Pair0, listen=url) as a, sock(Pair0, dial=url) as b:
        async def exchange():
            async def later():
                await alib.sleep(0.001)
                await a.asend(b"x")
            # the arecv really waits (so the loop's completion queue is used)
            got, _ = await alib.gather(b.arecv, later)
            return got

        alib.run(exchange)
        gc.collect()
        before = _open_fds()
        threads_before = threading.active_count()
        for _ in range(200):
            assert alib.run(exchange) == b"x"
            assert threading.active_count() <= threads_before
        gc.collect()
        after = _open_fds()
        assert after - before < 20, "%d descriptors more after 200 %s runs" % (
            after - before, alib.name)


def test_loop_without_add_reader_is_woken_once_per_batch(make_url):
    """Where a thread watches the completion queue, the loop is woken (a
    call_soon_threadsafe) once for a batch of completions, not once per
    operation: 50 receives, all made ready while the loop is busy, cost at
    most two wake-ups, and each gets its message."""
    url = make_url("inproc")
    wakeups = []

    class CountingLoop(NoAddReaderLoop):
        def call_soon_threadsafe(self, callback, *args, **kwargs):
            wakeups.append(callback)
            return super().call_soon_threadsafe(callback, *args, **kwargs)

    lib = ProactorLikeLib()
    lib.loop_factory = CountingLoop
    n = 50

    async def main():
        with sock(Pull0, listen=url) as pull, sock(Push0, dial=url) as push:
            receivers = [asyncio.ensure_future(pull.arecv()) for _ in range(n)]
            await asyncio.sleep(0.05)  # every receive waits
            del wakeups[:]
            for i in range(n):  # blocking sends: the loop runs none of its callbacks
                push.send(b"%d" % i)
            return await lib.guard(5, lambda: asyncio.gather(*receivers))

    got = lib.run(main)
    assert sorted(got, key=int) == [b"%d" % i for i in range(n)]
    assert 1 <= len(wakeups) <= 2, "%d wake-ups for %d receives" % (len(wakeups), n)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_inside_a_loop_without_add_reader(make_url):
    """A child forked inside a loop whose completion queue a thread watches
    closes its copy of the loop when its run ends.  The thread is not the
    child's, and the parent's must go on: the parent's next arecv that
    waits still completes (a stop sent on the socket pair the two processes
    share would have ended it)."""
    url = make_url("inproc")
    lib = ProactorLikeLib()
    # poll, not asyncio's default epoll: an epoll set is shared with the
    # child, and asyncio's closing of it in the child stops the parent's loop.
    lib.loop_factory = lambda: NoAddReaderLoop(selectors.PollSelector())
    parent = os.getpid()

    async def main():
        with sock(Pair0, listen=url) as a, sock(Pair0, dial=url) as b:
            async def exchange(payload):
                async def later():
                    await lib.sleep(0.01)
                    await a.asend(payload)
                got, _ = await lib.gather(b.arecv, later)
                return got

            assert await exchange(b"before") == b"before"  # the thread watches
            pid = os.fork()
            if pid == 0:
                return None  # the child's run ends and closes its loop
            _, status = await lib.run_in_thread(lambda: os.waitpid(pid, 0))
            assert os.waitstatus_to_exitcode(status) == 0
            return [await lib.guard(5, lambda: exchange(b"after %d" % i)) for i in range(3)]

    try:
        got = lib.run(main)
    except BaseException:
        if os.getpid() != parent:
            os._exit(1)
        raise
    if os.getpid() != parent:
        os._exit(0)
    assert got == [b"after 0", b"after 1", b"after 2"]


# --------------------------------------------------------------------------
# Interpreter exit with async operations pending

EXIT_PROLOGUE = """
import asyncio, os, sys, threading, time
import pynng_core
from pynng_core import Pair0, Pull0, Push0, Rep0, Req0, Sub0
url = {url!r}
pull = Pull0(listen=url)
rep = Rep0(listen=url + "-rep" if url.startswith("inproc") else {url2!r})
sub = Sub0(listen={url3!r}, topics=[b""])
socks = [pull, rep, sub]
ctxs = [rep.new_context() for _ in range(3)]
"""

EXIT_SCRIPTS = {
    # asyncio.run returns while arecv tasks are still pending (it cancels them)
    "asyncio_run_returns": """
async def main():
    tasks = [asyncio.ensure_future(s.arecv()) for s in socks + ctxs for _ in range(5)]
    await asyncio.sleep(0.1)
asyncio.run(main())
""",
    # a loop left with pending tasks, never closed: they pend at exit
    "asyncio_loop_abandoned": """
loop = asyncio.new_event_loop()
async def main():
    global tasks
    tasks = [loop.create_task(s.arecv()) for s in socks + ctxs for _ in range(5)]
    await asyncio.sleep(0.1)
loop.run_until_complete(main())
""",
    # sys.exit from inside a coroutine while arecv tasks pend
    "asyncio_sys_exit_inside": """
async def main():
    tasks = [asyncio.ensure_future(s.arecv()) for s in socks + ctxs for _ in range(5)]
    await asyncio.sleep(0.1)
    sys.exit(0)
asyncio.run(main())
""",
    # a daemon thread runs a loop with pending arecv; main thread exits
    "asyncio_in_daemon_thread": """
started = threading.Event()
def run():
    async def main():
        tasks = [asyncio.ensure_future(s.arecv()) for s in socks + ctxs for _ in range(5)]
        started.set()
        await asyncio.sleep(3600)
    asyncio.run(main())
threading.Thread(target=run, daemon=True).start()
def blocked():
    try:
        pull.recv()
    except Exception:
        pass
threading.Thread(target=blocked, daemon=True).start()
started.wait(10)
time.sleep(0.1)
sys.exit(0)
""",
    # trio: sys.exit inside the run with arecv tasks pending in a nursery
    "trio_sys_exit_inside": """
import trio
async def main():
    async with trio.open_nursery() as n:
        for s in socks + ctxs:
            for _ in range(5):
                n.start_soon(s.arecv)
        await trio.sleep(0.1)
        sys.exit(0)
try:
    trio.run(main)
except BaseException as e:
    # trio >= 0.25 wraps a SystemExit from a nursery in an exception group.
    if isinstance(e, SystemExit) or all(isinstance(x, SystemExit)
                                        for x in getattr(e, "exceptions", ())):
        sys.exit(0)
    raise
""",
    # trio in a daemon thread, blocked forever; main thread exits
    "trio_in_daemon_thread": """
import trio
started = threading.Event()
def run():
    async def main():
        async with trio.open_nursery() as n:
            for s in socks + ctxs:
                for _ in range(5):
                    n.start_soon(s.arecv)
            started.set()
    trio.run(main)
threading.Thread(target=run, daemon=True).start()
started.wait(10)
time.sleep(0.1)
""",
    # pending asend (no peer) plus pending arecv, exit inside asyncio
    "asyncio_pending_asend": """
push = Push0(listen={url4!r})
async def main():
    tasks = [asyncio.ensure_future(push.asend(b"x" * 100)) for _ in range(10)]
    tasks += [asyncio.ensure_future(s.arecv()) for s in socks]
    await asyncio.sleep(0.1)
    sys.exit(0)
asyncio.run(main())
""",
}


# Every asyncio scenario runs on a loop without add_reader too.
PROACTORLIKE_PROLOGUE = """
sys.path.insert(0, {tests!r})
from proactorlike import NoAddReaderLoopPolicy
asyncio.set_event_loop_policy(NoAddReaderLoopPolicy())
"""
EXIT_RUNS = [(scenario, loop) for scenario in sorted(EXIT_SCRIPTS)
             for loop in (["default", "proactorlike"] if scenario.startswith("asyncio") else
                          ["default"])]


@pytest.mark.parametrize("scenario,loop", EXIT_RUNS)
@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_interpreter_exit_with_pending_async_ops(scenario, loop, transport, make_url, poller):
    if scenario.startswith("trio"):
        skip_unless(trio_missing())
    urls = dict(url=make_url(transport), url2=make_url("tcp"), url3=make_url(transport),
                url4=make_url(transport))
    script = EXIT_PROLOGUE.format(**urls)
    if loop == "proactorlike":
        script += PROACTORLIKE_PROLOGUE.format(tests=os.path.dirname(os.path.abspath(__file__)))
    script += textwrap.dedent(EXIT_SCRIPTS[scenario]).format(**urls)
    script = "import pynng_core.poller; pynng_core.poller.use(%r)\n" % poller + script
    try:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=10,
                              env=tree_env())
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("interpreter did not exit within 10 s; stderr: %r"
                             % (exc.stderr,)) from None
    stderr = proc.stderr.decode(errors="replace")
    assert "Fatal Python error" not in stderr, stderr
    assert "Segmentation fault" not in stderr, stderr
    assert proc.returncode == 0, "rc=%d, stderr:\n%s" % (proc.returncode, stderr)


# --------------------------------------------------------------------------
# Batches: asend_many / arecv_many


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_async_batches_keep_order(alib, transport, make_url):
    url = make_url(transport)
    msgs = [b"m%05d" % i + b"x" * (i % 200) for i in range(3000)]

    async def main():
        with sock(Pull0, listen=url) as pull, sock(Push0) as push:
            push.dial(url, block=True)

            async def sender():
                return await push.asend_many(msgs)

            async def receiver():
                got, sizes = [], []
                while len(got) < len(msgs):
                    batch = await pull.arecv_many()
                    got += batch
                    sizes.append(len(batch))
                return got, sizes

            sent, (got, sizes) = await alib.gather(sender, receiver)
            assert sent == len(msgs)
            assert got == msgs
            assert max(sizes) > 1, "every arecv_many returned one message"
            with pytest.raises(ValueError, match="arecv_many: max_messages"):
                await pull.arecv_many(0)

    alib.run(main)


def test_arecv_many_on_rep_takes_one_request(alib, make_url):
    url = make_url("tcp")

    async def main():
        with sock(Rep0, listen=url) as rep, sock(Req0) as r1, sock(Req0) as r2:
            r1.dial(url, block=True)
            r2.dial(url, block=True)
            await r1.asend(b"one")
            await r2.asend(b"two")
            answered = []
            for _ in range(2):
                batch = await rep.arecv_many()
                assert len(batch) == 1
                await rep.asend(batch[0] + b"!")
                answered.append(batch[0])
            assert sorted(answered) == [b"one", b"two"]
            assert await r1.arecv() == b"one!"
            assert await r2.arecv() == b"two!"

    alib.run(main)


def test_asend_many_error_part_way_says_how_many_went(alib, make_url):
    url = make_url("inproc")

    async def main():
        with sock(Push0, send_timeout=100) as lonely:
            with pytest.raises(Timeout) as info:
                await lonely.asend_many([b"a", b"b"])
            assert info.value.sent == 0
        with sock(Pull0, listen=url) as pull, sock(Push0, send_timeout=100) as push:
            push.dial(url, block=True)
            msgs = [b"%d" % i for i in range(20000)]
            with pytest.raises(Timeout) as info:
                await push.asend_many(msgs)
            sent = info.value.sent
            assert 0 < sent < len(msgs)
            got = []
            while len(got) < sent:
                got += pull.recv_many(block=False)
            assert got == msgs[:sent]
            with pytest.raises(pynng_core.TryAgain):
                pull.recv(block=False)

    alib.run(main)

"""surveyor/respondent semantics (wire.md section 3): answers from many
respondents, the survey deadline (Timeout, then BadState), late answers
dropped, a new survey cancelling the old one, survey ids on the wire."""

import threading
import time

import pytest

from pynng_core import BadState, Closed, Respondent0, Surveyor0, Timeout
from protocol_peers import BackgroundCall, RawPeer, sock, word, words

TRANSPORTS = ["tcp", "ipc", "inproc"]


def respond_loop(resp, name, stop):
    """Answer every survey with name + survey until stop is set."""
    def loop():
        resp.recv_timeout = 50
        while not stop.is_set():
            try:
                q = resp.recv()
            except Timeout:
                continue
            except Closed:
                return
            resp.send(name + b":" + q)
    return BackgroundCall(loop)


def survey_until_answered(surveyor, respondent, payload=b"ping", timeout=10.0):
    """Send surveys until ``respondent`` (a socket or context) gets one,
    which is returned; surveys sent while no connection was up are lost."""
    saved = respondent.recv_timeout
    respondent.recv_timeout = 50
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            surveyor.send(payload)
            try:
                return respondent.recv()
            except Timeout:
                continue
        raise AssertionError("no survey reached the respondent")
    finally:
        respondent.recv_timeout = saved


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_answers_from_three_respondents(transport, make_url):
    url = make_url(transport)
    stop = threading.Event()
    with sock(Surveyor0, listen=url, survey_time=500) as surveyor:
        resps = [sock(Respondent0, dial=url) for _ in range(3)]
        try:
            loops = [respond_loop(r, b"r%d" % i, stop) for i, r in enumerate(resps)]
            # Survey until all three are connected and answering.
            expected = {b"r0", b"r1", b"r2"}
            for n in range(50):
                q = b"survey %d" % n
                surveyor.send(q)
                answers = []
                try:
                    while True:
                        answers.append(surveyor.recv())
                except Timeout:
                    pass
                names = [a.partition(b":")[0] for a in answers]
                # Only answers to the current survey are delivered.
                assert all(a.endswith(b":" + q) for a in answers), answers
                assert len(names) == len(set(names)), answers
                if set(names) == expected:
                    break
            else:
                pytest.fail("never got answers from all 3 respondents")
            # The survey is over: recv is a state error now.
            with pytest.raises(BadState):
                surveyor.recv()
        finally:
            stop.set()
            for r in resps:
                r.close()
            for lp in loops:
                lp.join()


def test_deadline_timeout_then_badstate(make_url):
    url = make_url("tcp")
    with sock(Surveyor0, listen=url, survey_time=200) as surveyor:
        with pytest.raises(BadState):  # no survey yet
            surveyor.recv()
        surveyor.send(b"anyone?")  # no respondent: nothing comes back
        start = time.monotonic()
        with pytest.raises(Timeout):
            surveyor.recv()
        # The survey deadline (200 ms) ended it, not the 5 s recv timeout.
        assert time.monotonic() - start < 2.5
        with pytest.raises(BadState):
            surveyor.recv()


def test_late_answer_is_dropped(make_url):
    url = make_url("tcp")
    with sock(Surveyor0, listen=url, survey_time=200) as surveyor, \
            sock(Respondent0, dial=url) as resp:
        assert survey_until_answered(surveyor, resp, b"first") == b"first"
        with pytest.raises(Timeout):  # deadline passes unanswered
            surveyor.recv()
        resp.send(b"late answer")
        with pytest.raises(BadState):
            surveyor.recv()
        # A new survey gets its own answer, never the late one.
        surveyor.send(b"second")
        assert resp.recv() == b"second"
        resp.send(b"answer to second")
        assert surveyor.recv() == b"answer to second"


def test_new_survey_cancels_old(make_url):
    url = make_url("tcp")
    with sock(Surveyor0, listen=url, survey_time=1000) as surveyor, \
            sock(Respondent0, dial=url) as resp:
        old_ctx, new_ctx = resp.new_context(), resp.new_context()
        assert survey_until_answered(surveyor, old_ctx, b"old") == b"old"
        surveyor.send(b"new")
        assert new_ctx.recv() == b"new"
        old_ctx.send(b"answer to old")  # sent first: must not be delivered
        new_ctx.send(b"answer to new")
        assert surveyor.recv() == b"answer to new"
        surveyor.recv_timeout = 300
        with pytest.raises((Timeout, BadState)):
            surveyor.recv()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_survey_ids_have_top_bit_set(transport, make_url):
    url = make_url(transport)
    with sock(Surveyor0, listen=url, survey_time=2000) as surveyor:
        with RawPeer(url, "respondent0", expect_peer="surveyor0") as peer:
            ids = []
            for i in range(3):
                q = b"q%d" % i
                # Resend the survey until the connection is up; copies of
                # an earlier survey still in the stream are skipped.
                wire = b""
                for _ in range(100):
                    surveyor.send(q)
                    try:
                        while wire[4:] != q:
                            wire = peer.recv(timeout=0.1)
                        break
                    except OSError:
                        continue
                assert wire[4:] == q
                (survey_id,) = words(wire[:4])
                assert survey_id & 0x80000000, hex(survey_id)
                ids.append(survey_id)
                peer.send(wire[:4] + b"a%d" % i)
                assert surveyor.recv() == b"a%d" % i
            assert len(set(ids)) == 3


def test_respondent_ttl_max(make_url):
    """Respondent follows REP's backtrace rules: 9 header words dropped."""
    url = make_url("tcp")
    with sock(Respondent0, listen=url, recv_timeout=300) as resp:
        with RawPeer(url, "surveyor0", expect_peer="respondent0") as peer:
            hops = b"".join(word(h) for h in range(1, 9))
            peer.send(hops + word(0x80000009) + b"too far")
            with pytest.raises(Timeout):
                resp.recv()
            peer.send(hops[4:] + word(0x80000008) + b"fine")
            assert resp.recv() == b"fine"
            resp.send(b"ok")
            assert peer.recv() == hops[4:] + word(0x80000008) + b"ok"


def test_many_survey_deadlines_each_end_on_time():
    """Sixty contexts' surveys, armed in shuffled order with deadlines 240 to
    830 ms, a third of them ended early by a close and a third re-armed by
    a second survey: each survey still open ends at its own deadline, none
    before it, none lost, in the order of their deadlines (the core keeps
    its timers in a heap).  The soonest leaves the setup 240 ms: under wine
    on a loaded machine, a deadline of 40 ms had passed before its receive
    began, which then found no survey (BadState)."""
    import asyncio
    import random

    deadlines = [240 + 10 * i for i in range(60)]
    random.Random(20).shuffle(deadlines)

    async def main():
        with sock(Surveyor0) as surveyor:
            ctxs = [surveyor.new_context() for _ in deadlines]
            armed = {}
            for i, (ctx, ms) in enumerate(zip(ctxs, deadlines)):
                surveyor.survey_time = ms
                ctx.send(b"anyone?")
                armed[i] = time.monotonic() + ms / 1000
            for i in range(0, 60, 3):  # closed: their timers leave the heap
                ctxs[i].close()
                del armed[i]
            for i in range(1, 60, 3):  # a new survey re-arms the context's timer
                surveyor.survey_time = deadlines[i]
                ctxs[i].send(b"again?")
                armed[i] = time.monotonic() + deadlines[i] / 1000

            async def ended(i):
                with pytest.raises(Timeout):
                    await ctxs[i].arecv()
                return time.monotonic()

            ends = await asyncio.gather(*(ended(i) for i in armed))
            by_deadline = sorted(zip(armed.values(), ends))
            for deadline, end in by_deadline:
                assert deadline - 0.002 <= end < deadline + 2.0, (end - deadline)
            # The soonest first: a timer left behind a later one would end after it.
            in_order = [end for _, end in by_deadline]
            assert in_order == sorted(in_order), [round(e - d, 3) for d, e in by_deadline]

    asyncio.run(main())

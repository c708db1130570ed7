"""What a peer, or a slow consumer, can make the core hold is bounded.

The caps (csrc/): pre-connect verdicts pending per socket (1024), responses
queued per survey (1024 and 64 MiB), connections in their handshake per
listener (2048, the oldest dropped for a newcomer), a socket's dials under
way at once (256, the others waiting their turn).  Each test drives past
a cap and checks that the surplus is refused, dropped (and counted) or
made to wait, while what fits is served.
"""

import contextlib

try:
    import resource
except ImportError:  # Windows: no descriptor limit to raise
    resource = None
import socket
import threading
import time

import pytest

from pynng_core import Pull0, Push0, Surveyor0, Timeout
from peers import closed_by_peer, sp_header, wait_until
from protocol_peers import SP_ID, RawPeer, dial_url, listen_url, sock

HELD_MAX = 1024
RESPONSES_MAX = 1024
RESPONSE_BYTES_MAX = 64 << 20
HANDSHAKES_MAX = 2048
DIALS_AT_ONCE = 256
DIAL_STALLED_S = 1.0


def test_pre_connect_verdicts_pending_are_capped(make_url):
    """While the pre-connect callback does not return, at most HELD_MAX new
    pipes wait for it; more are refused.  Once it returns, those admitted."""
    url = make_url("inproc")
    pull = sock(Pull0, listen=url)
    push = sock(Push0, reconnect_time_min=60000, reconnect_time_max=60000)
    release = threading.Event()
    pull.add_pre_pipe_connect_cb(lambda pipe: release.wait(30))
    try:
        extra = 8
        for _ in range(HELD_MAX + extra):
            push.dial(url, block=False)
        # HELD_MAX wait (the one the callback holds among them); the rest
        # are refused (and their dialers wait to redial).
        wait_until(lambda: pull.stats["pipes_rejected"] >= extra)
        assert not pull.pipes
        release.set()
        wait_until(lambda: len(pull.pipes) >= HELD_MAX)
        push.send(b"through")
        assert pull.recv() == b"through"
    finally:
        release.set()
        push.close()
        pull.close()


def surveyor_and_respondent():
    surveyor = sock(Surveyor0, survey_time=5000)
    listener = surveyor.listen("tcp://127.0.0.1:0")
    respondent = RawPeer(dial_url(listener), "respondent0")
    wait_until(lambda: surveyor.pipes)
    surveyor.send(b"survey")
    survey_id = respondent.recv()[:4]
    return surveyor, respondent, survey_id


def collect(surveyor):
    got = []
    surveyor.recv_timeout = 500
    while True:
        try:
            got.append(surveyor.recv())
        except Timeout:
            return got


def test_responses_per_survey_are_capped_in_number():
    surveyor, respondent, survey_id = surveyor_and_respondent()
    try:
        extra = 100
        for i in range(RESPONSES_MAX + extra):
            respondent.send(survey_id + b"%d" % i)
        wait_until(lambda: surveyor.stats["dropped_queue_full"] == extra)
        got = collect(surveyor)
        assert got == [b"%d" % i for i in range(RESPONSES_MAX)]
    finally:
        respondent.close()
        surveyor.close()


def test_responses_per_survey_are_capped_in_bytes():
    surveyor, respondent, survey_id = surveyor_and_respondent()
    try:
        big = 1 << 20
        count = RESPONSE_BYTES_MAX // big + 6
        for i in range(count):
            respondent.send(survey_id + bytes([i]) * big)
        wait_until(lambda: surveyor.stats["dropped_queue_full"] == 6)
        got = collect(surveyor)
        assert [g[:1] for g in got] == [bytes([i]) for i in range(RESPONSE_BYTES_MAX // big)]
        assert all(len(g) == big for g in got)
    finally:
        respondent.close()
        surveyor.close()


@pytest.mark.timeout(120)
def test_connections_in_their_handshake_are_capped():
    """A peer that opens connections and never says a word holds a
    listener's handshake slots only until others come: past the cap the
    oldest silent one is dropped, and a real client still gets through."""
    with descriptors(2 * HANDSHAKES_MAX + 200):
        handshake_cap_holds()


@contextlib.contextmanager
def descriptors(need):
    """Raises the soft descriptor limit to `need` for the block (POSIX only:
    Windows has no such per-process limit on sockets)."""
    if resource is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip("needs %d descriptors, the hard limit is %d" % (need, hard))
    raise_it = soft != resource.RLIM_INFINITY and soft < need
    if raise_it:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    try:
        yield
    finally:
        if raise_it:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def handshake_cap_holds():
    pull = sock(Pull0)
    listener = pull.listen("tcp://127.0.0.1:0")
    silent = []
    try:
        for _ in range(HANDSHAKES_MAX + 10):
            silent.append(socket.create_connection(("127.0.0.1", listener.port)))
        # The oldest are dropped as the newest come in: EOF or reset.
        assert closed_by_peer(silent[0])
        assert closed_by_peer(silent[9])
        with RawPeer(dial_url(listener), "push0") as good:
            good.send(b"served")
            assert pull.recv() == b"served"
        assert pull.stats["pipes_rejected"] >= 10
    finally:
        for c in silent:
            c.close()
        pull.close()


def test_a_silent_listener_side_connection_does_not_outlive_its_listener():
    """Closing a listener drops its connections still in their handshake."""
    pull = sock(Pull0)
    listener = pull.listen("tcp://127.0.0.1:0")
    try:
        c = socket.create_connection(("127.0.0.1", listener.port), timeout=5)
        assert c.recv(8) == sp_header(SP_ID["pull0"])  # accepted, in its handshake
        listener.close()
        assert closed_by_peer(c)
        c.close()
    finally:
        pull.close()


@pytest.mark.timeout(60)
def test_dials_under_way_are_capped_and_a_stalled_one_gives_way():
    """A socket that dials 300 addresses at once connects 256 of them; the
    rest wait their turn, so a burst never overflows a listener's accept
    queue.  An attempt that stalls (a peer that never finishes the SP
    handshake) gives its place up after a second: a dial to a live peer
    waits no longer than that."""
    with descriptors(2 * DIALS_AT_ONCE + 400):
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(1024)
        silent.settimeout(0.05)
        push = sock(Push0, reconnect_time_min=60000, reconnect_time_max=60000)
        pull = sock(Pull0)
        accepted = []
        try:
            started = time.monotonic()
            for _ in range(300):
                push.dial("tcp://127.0.0.1:%d" % silent.getsockname()[1], block=False)
            accepted += accept_until(silent, started + 0.5 * DIAL_STALLED_S)
            assert len(accepted) == DIALS_AT_ONCE
            live = pull.listen("tcp://127.0.0.1:0")
            push.dial(dial_url(live), block=True)  # behind the other 44
            waited = time.monotonic() - started
            assert 0.5 * DIAL_STALLED_S < waited < DIAL_STALLED_S + 4, waited
            push.send(b"through")
            assert pull.recv() == b"through"
            accepted += accept_until(silent, time.monotonic() + 0.5)
            assert len(accepted) == 300  # the stalled gave way to the waiting
        finally:
            for c in accepted:
                c.close()
            push.close()
            pull.close()
            silent.close()


def accept_until(listening, deadline):
    """The connections accepted on ``listening`` until ``deadline``."""
    got = []
    while time.monotonic() < deadline:
        try:
            got.append(listening.accept()[0])
        except socket.timeout:
            pass
    return got


@pytest.mark.parametrize("senders", [1, 3])
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_a_receiver_that_stops_reading_holds_its_senders_back(transport, senders, poller,
                                                             make_url):
    """A socket nobody reads stops reading its pipes once its queue is full
    (they are paused, and a pipe that has more to give is then left to the
    kernel): the senders are held back, not taken in without end.  Read
    again, it has every message, in each sender's order, and the senders
    go on."""
    body = 1000
    with contextlib.ExitStack() as stack:
        pull = stack.enter_context(sock(Pull0, recv_buffer_size=4))
        url = dial_url(pull.listen(listen_url(transport, make_url)))
        pushes = [stack.enter_context(sock(Push0, send_timeout=100)) for _ in range(senders)]
        for push in pushes:
            push.dial(url, block=True)
        wait_until(lambda: len(pull.pipes) == senders)
        sent = [0] * senders
        for i, push in enumerate(pushes):
            with pytest.raises(Timeout):
                for k in range(100000):  # 100 MB: far past any socket's buffers
                    push.send(b"%d %d " % (i, k) + b"x" * body)
                    sent[i] += 1
        taken = pull.stats["msgs_in"]
        time.sleep(0.2)
        assert pull.stats["msgs_in"] == taken < sum(sent), (taken, sent)
        got = [[] for _ in range(senders)]
        for _ in range(sum(sent)):
            i, k, _ = pull.recv().split(b" ", 2)
            got[int(i)].append(int(k))
        assert got == [list(range(n)) for n in sent]
        for i, push in enumerate(pushes):
            push.send(b"after %d" % i)
        assert sorted(pull.recv() for _ in pushes) == [b"after %d" % i for i in range(senders)]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_a_sender_that_leaves_while_held_back_is_let_go_once_read(transport, poller, make_url):
    """Two senders held back by a receiver nobody reads (their pipes paused,
    and under epoll watched no more), then one leaves.  Read again, the
    receiver has what the leaver got through, in order, and every message
    of the other; the leaver's pipe is then let go, not kept open, and the
    other sender goes on."""
    body = 1000
    with contextlib.ExitStack() as stack:
        pull = stack.enter_context(sock(Pull0, recv_buffer_size=1))
        url = dial_url(pull.listen(listen_url(transport, make_url)))
        leaver, stayer = (stack.enter_context(sock(Push0, send_timeout=100)) for _ in range(2))
        for push in (leaver, stayer):
            push.dial(url, block=True)
        wait_until(lambda: len(pull.pipes) == 2)
        sent = [0, 0]
        for i, push in enumerate((leaver, stayer)):
            with pytest.raises(Timeout):
                for k in range(100000):
                    push.send(b"%d %d " % (i, k) + b"x" * body)
                    sent[i] += 1
        leaver.close()
        got = [[], []]
        with contextlib.suppress(Timeout):
            while len(got[1]) < sent[1] or len(pull.pipes) > 1:
                i, k, _ = pull.recv().split(b" ", 2)
                got[int(i)].append(int(k))
        assert got[1] == list(range(sent[1]))
        assert got[0] == list(range(len(got[0]))) and 0 < len(got[0]) <= sent[0]
        assert len(pull.pipes) == 1
        stayer.send(b"after")
        assert pull.recv() == b"after"

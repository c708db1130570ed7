"""req/rep semantics (wire.md section 3): round trips, state errors,
cancellation by a new request, ttl-max, request ids, load spreading, resend;
and contexts (many requests at once on one socket)."""

import collections
import threading
import time

import pytest

from pynng_core import (
    BadState, Canceled, Closed, ConnectionReset, Rep0, Req0, Sub0, Pub0, Timeout,
)
from peers import DEFAULT_TIMEOUT, SOCKET_TIMEOUT_MS, frame
from protocol_peers import (
    BackgroundCall, RawPeer, dial_url, listen_url, recv_all, send_until_received,
    settle, sock, word, words,
)

TRANSPORTS = ["tcp", "ipc", "inproc"]


def connected_pair(url, client_kwargs=None, server_kwargs=None):
    rep = sock(Rep0, **(server_kwargs or {}))
    req = sock(Req0, **(client_kwargs or {}))
    rep.listen(url)
    req.dial(url, block=True)
    return req, rep


def serve(rep, n, answer=lambda q: b"re:" + q):
    """Answer n requests on ``rep`` in a thread; returns the BackgroundCall."""
    def loop():
        got = []
        for _ in range(n):
            q = rep.recv()
            got.append(q)
            rep.send(answer(q))
        return got
    return BackgroundCall(loop)


# --------------------------------------------------------------------------
# round trips and state errors


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_round_trips(transport, make_url):
    req, rep = connected_pair(make_url(transport))
    with req, rep:
        server = serve(rep, 20)
        for i in range(20):
            req.send(b"q%d" % i)
            assert req.recv() == b"re:q%d" % i
        assert server.result() == [b"q%d" % i for i in range(20)]


def test_rep_send_without_request_is_badstate(make_url):
    req, rep = connected_pair(make_url("inproc"))
    with req, rep:
        with pytest.raises(BadState):
            rep.send(b"unsolicited")
        # After answering a request, a second send has no request either.
        req.send(b"q")
        assert rep.recv() == b"q"
        rep.send(b"r")
        assert req.recv() == b"r"
        with pytest.raises(BadState):
            rep.send(b"again")


def test_req_recv_without_request_is_badstate(make_url):
    req, rep = connected_pair(make_url("inproc"))
    with req, rep:
        with pytest.raises(BadState):
            req.recv()
        req.send(b"q")
        rep.recv()
        rep.send(b"r")
        assert req.recv() == b"r"
        with pytest.raises(BadState):  # the reply was consumed
            req.recv()


def test_new_request_cancels_pending_one(make_url):
    """A second send cancels the first request: a recv blocked on it gets
    Canceled, and the first request's late reply is dropped."""
    url = make_url("tcp")
    with sock(Rep0) as rep, sock(Req0) as req:
        rep.listen(url)
        req.dial(url, block=True)
        old_ctx, new_ctx = rep.new_context(), rep.new_context()

        req.send(b"first")
        assert old_ctx.recv() == b"first"
        blocked = BackgroundCall(req.recv)
        settle()  # let the thread block in recv (nothing to wait on)
        req.send(b"second")
        assert isinstance(blocked.error(), Canceled)

        assert new_ctx.recv() == b"second"
        old_ctx.send(b"late reply to first")  # sent first, must be dropped
        new_ctx.send(b"reply to second")
        assert req.recv() == b"reply to second"


def test_new_request_on_context_cancels_pending_one(make_url):
    url = make_url("ipc")
    with sock(Rep0) as rep, sock(Req0) as req:
        rep.listen(url)
        req.dial(url, block=True)
        ctx = req.new_context()
        other = req.new_context()
        server_old, server_new = rep.new_context(), rep.new_context()

        ctx.send(b"first")
        assert server_old.recv() == b"first"
        blocked = BackgroundCall(ctx.recv)
        settle()
        ctx.send(b"second")
        assert isinstance(blocked.error(), Canceled)
        assert server_new.recv() == b"second"
        server_old.send(b"late")
        server_new.send(b"fresh")
        assert ctx.recv() == b"fresh"
        # The other context was never involved.
        with pytest.raises(BadState):
            other.recv()


# --------------------------------------------------------------------------
# the wire: ttl-max and request ids, with hand-written peers


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_rep_ttl_max_drops_long_backtraces(transport, make_url):
    """REP moves header words up to the first with the top bit set; more than
    ttl-max (8) words -> dropped silently, the connection kept."""
    url = make_url(transport)
    with sock(Rep0, listen=url) as rep:
        assert rep.ttl_max == 8
        with RawPeer(url, "req0", expect_peer="rep0") as peer:

            def request(hops, req_id, body):
                backtrace = b"".join(word(0x100 + h) for h in range(hops)) + word(req_id)
                peer.send(backtrace + body)
                return backtrace

            # 8 words (7 hops + the id): answered with the whole backtrace.
            backtrace = request(7, 0x80000001, b"eight words")
            assert rep.recv() == b"eight words"
            rep.send(b"answer 1")
            assert peer.recv() == backtrace + b"answer 1"

            # 9 words: dropped silently.
            request(8, 0x80000002, b"nine words")
            rep.recv_timeout = 300
            with pytest.raises(Timeout):
                rep.recv()
            rep.recv_timeout = 5000

            # The connection still works; a 1-word request is answered.
            request(0, 0x80000003, b"one word")
            assert rep.recv() == b"one word"
            rep.send(b"answer 3")
            assert peer.recv() == word(0x80000003) + b"answer 3"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_request_ids_have_top_bit_set(transport, make_url):
    url = make_url(transport)
    with sock(Req0, listen=url) as req:
        with RawPeer(url, "rep0", expect_peer="req0") as peer:
            ids = []
            for i in range(5):
                req.send(b"q%d" % i)
                wire = peer.recv()
                assert wire[4:] == b"q%d" % i
                (req_id,) = words(wire[:4])
                assert req_id & 0x80000000, hex(req_id)
                ids.append(req_id)
                peer.send(wire[:4] + b"r%d" % i)
                assert req.recv() == b"r%d" % i
            assert len(set(ids)) == 5, ids


def test_reply_with_unknown_id_is_dropped(make_url):
    url = make_url("tcp")
    with sock(Req0, listen=url, recv_timeout=300) as req:
        with RawPeer(url, "rep0") as peer:
            req.send(b"q")
            wire = peer.recv()
            (req_id,) = words(wire[:4])
            peer.send(word(req_id ^ 1) + b"wrong id")
            peer.send(word(req_id) + b"right id")
            assert req.recv() == b"right id"


# --------------------------------------------------------------------------
# several REP peers: load spreading and resend


def name_server(rep, name, stop):
    """Answer every request with name + request until stop is set."""
    def loop():
        served = []
        rep.recv_timeout = 50
        while not stop.is_set():
            try:
                q = rep.recv()
            except Timeout:
                continue
            except Closed:
                break
            served.append(q)
            rep.send(name + b":" + q)
        return served
    return BackgroundCall(loop)


def test_requests_spread_over_three_reps(make_url):
    url = make_url("tcp")
    stop = threading.Event()
    with sock(Req0, listen=url) as req:
        reps = [sock(Rep0) for _ in range(3)]
        try:
            for rep in reps:
                rep.dial(url, block=True)
            servers = [name_server(rep, b"rep%d" % i, stop) for i, rep in enumerate(reps)]
            answers = []
            for i in range(60):
                req.send(b"q%d" % i)
                answer = req.recv()
                name, _, q = answer.partition(b":")
                assert q == b"q%d" % i
                answers.append(name)
            stop.set()
            counts = collections.Counter(answers)
            assert set(counts) == {b"rep0", b"rep1", b"rep2"}, counts
            assert sum(len(s.result()) for s in servers) == 60
        finally:
            stop.set()
            for rep in reps:
                rep.close()


def test_request_resent_when_carrying_rep_closes(make_url):
    """resend_time=200: a REP that takes the request and closes without
    replying; the same request is answered by another REP."""
    url = make_url("tcp")
    stop = threading.Event()
    with sock(Req0, listen=url, resend_time=200) as req:
        dead = sock(Rep0)
        live = [sock(Rep0) for _ in range(2)]
        try:
            dead.dial(url, block=True)
            req.send(b"the request")
            assert dead.recv() == b"the request"  # the dead one got it first
            for rep in live:
                rep.dial(url, block=True)
            servers = [name_server(rep, b"live%d" % i, stop) for i, rep in enumerate(live)]
            dead.close()
            answer = req.recv()
            assert answer in (b"live0:the request", b"live1:the request")
            stop.set()
            assert sum(s.result().count(b"the request") for s in servers) >= 1
        finally:
            stop.set()
            dead.close()
            for rep in live:
                rep.close()


def test_request_resent_after_resend_time(make_url):
    """An unanswered request is sent again (same payload) after resend_time."""
    url = make_url("tcp")
    with sock(Req0, listen=url, resend_time=200) as req, sock(Rep0) as rep:
        rep.dial(url, block=True)
        req.send(b"again please")
        assert rep.recv() == b"again please"   # not answered ...
        assert rep.recv() == b"again please"   # ... so it comes back
        rep.send(b"done")
        assert req.recv() == b"done"


def test_no_resend_and_carrying_rep_closes_is_connection_reset(make_url):
    """resend_time=-1 (never): losing the pipe that carried the request
    fails the pending recv with NNG_ECONNRESET (wire.md section 3)."""
    url = make_url("tcp")
    with sock(Req0, listen=url, resend_time=-1) as req:
        rep = sock(Rep0)
        try:
            rep.dial(url, block=True)
            req.send(b"q")
            assert rep.recv() == b"q"
            pending = BackgroundCall(req.recv)
            settle()
            rep.close()
            assert isinstance(pending.error(), ConnectionReset)
        finally:
            rep.close()


# --------------------------------------------------------------------------
# contexts


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_requests_that_arrive_together_each_wake_a_context(transport, poller, make_url):
    """Requests that one read brings at once (a raw requester's four, in one
    write) are each taken by a context thread blocked in recv: the woken one
    wakes the next, and none sleeps on while a request waits for it.  The
    threads are not the main one, so their waits end only when woken or at
    their deadline, which is twice the test's wait: a missing wake-up fails
    the test instead of costing a slice's delay."""
    n = 4
    ids = [0x80000000 | i for i in range(n)]
    with sock(Rep0, recv_timeout=2 * SOCKET_TIMEOUT_MS) as rep:
        url = dial_url(rep.listen(listen_url(transport, make_url)))
        taken, lock, all_taken = [], threading.Lock(), threading.Event()

        def answer(ctx):
            request = ctx.recv()
            with lock:
                taken.append(request)
                if len(taken) == n:
                    all_taken.set()
            all_taken.wait(DEFAULT_TIMEOUT)  # its request held until all are taken
            ctx.send(b"re " + request)

        with RawPeer(url, "req0") as peer:  # first: it may skip (Windows' ipc)
            threads = [threading.Thread(target=answer, args=(rep.new_context(),))
                       for _ in range(n)]
            for t in threads:
                t.start()
            time.sleep(0.2)  # all blocked in recv before the requests come
            peer.sock.sendall(b"".join(frame(transport, word(i) + b"q%d" % k)
                                       for k, i in enumerate(ids)))
            assert all_taken.wait(SOCKET_TIMEOUT_MS / 1000), "taken by the contexts: %r" % taken
            replies = sorted(peer.recv() for _ in ids)
            for t in threads:
                t.join(DEFAULT_TIMEOUT)
    assert sorted(taken) == [b"q%d" % i for i in range(n)]
    assert replies == [word(i) + b"re q%d" % k for k, i in enumerate(ids)]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_a_server_behind_its_full_queue_answers_every_client(transport, poller, make_url):
    """16 clients in closed loops against 4 context threads, the queue one
    request deep: every request the I/O thread reads fills the queue, so
    each pipe stops being read at each request and is read again once a
    context has taken one (under epoll it is watched one event at a time
    then, and must be watched again each time).  Each client's every reply
    matches its request; a pipe left unwatched would leave its client
    waiting until its recv timed out."""
    clients, rounds, contexts = 16, 200, 4
    with sock(Rep0, recv_buffer_size=1, recv_timeout=-1) as rep:
        url = dial_url(rep.listen(listen_url(transport, make_url)))

        def answer(ctx):
            try:
                while True:
                    ctx.send(b"re " + ctx.recv())
            except Closed:
                pass

        servers = [threading.Thread(target=answer, args=(rep.new_context(),), daemon=True)
                   for _ in range(contexts)]
        for t in servers:
            t.start()

        def client(i, req):
            with req:
                return [req.send(b"%d %d" % (i, k)) or req.recv() for k in range(rounds)]

        # Dialed one at a time: a burst of Windows pipe dials may find every
        # instance taken (under wine, for longer than a dial waits).
        requesters = [sock(Req0, recv_timeout=5000) for _ in range(clients)]
        for req in requesters:
            req.dial(url, block=True)
        calls = [BackgroundCall(client, i, req) for i, req in enumerate(requesters)]
        replies = [call.result(DEFAULT_TIMEOUT * 4) for call in calls]
        requests_in = rep.stats["msgs_in"]
    for t in servers:
        t.join(DEFAULT_TIMEOUT)
    assert replies == [[b"re %d %d" % (i, k) for k in range(rounds)] for i in range(clients)]
    assert requests_in == clients * rounds


def test_sixteen_concurrent_request_contexts(make_url):
    """16 Req0 contexts in 16 threads on one socket, served by 16 Rep0
    contexts that each take 20 ms per request: all replies match, and the
    whole batch takes far less than 16 x 20 ms (the requests overlap)."""
    n, delay = 16, 0.02
    url = make_url("tcp")
    with sock(Rep0, listen=url) as rep, sock(Req0) as req:
        req.dial(url, block=True)
        stop = threading.Event()

        def server():
            ctx = rep.new_context()
            ctx.recv_timeout = 100
            while not stop.is_set():
                try:
                    q = ctx.recv()
                except Timeout:
                    continue
                time.sleep(delay)
                ctx.send(b"reply:" + q)
            ctx.close()

        servers = [threading.Thread(target=server, daemon=True) for _ in range(n)]
        for t in servers:
            t.start()
        contexts = [req.new_context() for _ in range(n)]
        # Warm up: every server context is running and the connection is up.
        contexts[0].send(b"warm-up")
        assert contexts[0].recv() == b"reply:warm-up"

        results = [None] * n
        barrier = threading.Barrier(n + 1)

        def client(i):
            barrier.wait()
            contexts[i].send(b"request %d" % i)
            results[i] = contexts[i].recv()

        clients = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n)]
        for t in clients:
            t.start()
        barrier.wait()
        start = time.monotonic()
        for t in clients:
            t.join(DEFAULT_TIMEOUT)
        elapsed = time.monotonic() - start
        stop.set()
        for t in servers:
            t.join(DEFAULT_TIMEOUT)
        assert results == [b"reply:request %d" % i for i in range(n)]
        assert elapsed < 0.25, "16 requests took %.3fs: contexts did not overlap" % elapsed


def test_context_recv_timeout_is_per_context(make_url):
    url = make_url("tcp")
    with sock(Rep0, listen=url) as rep, sock(Req0, dial=url) as req:
        fast, slow = req.new_context(), req.new_context()
        fast.recv_timeout = 100
        assert fast.recv_timeout == 100
        fast.send(b"never answered")
        slow.send(b"answered")
        start = time.monotonic()
        with pytest.raises(Timeout):
            fast.recv()
        # The socket's 5 s timeout did not apply to this context.
        assert time.monotonic() - start < 2.5
        # The other context's request is still pending and gets its reply.
        server = rep.new_context()
        while True:
            q = server.recv()
            if q == b"answered":
                server.send(b"yes")
                break
        assert slow.recv() == b"yes"


@pytest.mark.parametrize("cls", [Rep0, Req0, Sub0])
def test_closing_context_wakes_blocked_recv(cls, make_url):
    url = make_url("inproc")
    with sock(cls, listen=url) as s, sock(Rep0, dial=url) as rep:
        ctx = s.new_context()
        if cls is Req0:
            ctx.send(b"pending")  # so recv has a request to wait for
            assert rep.recv() == b"pending"  # ... that is never answered
        blocked = BackgroundCall(ctx.recv)
        settle()
        assert not blocked.done()
        ctx.close()
        assert isinstance(blocked.error(), Closed)


def test_sub_contexts_have_their_own_subscriptions(make_url):
    url = make_url("tcp")
    with sock(Pub0, listen=url) as pub, sock(Sub0, dial=url) as sub:
        a, b = sub.new_context(), sub.new_context()
        a.subscribe(b"a")
        a.subscribe(b"sync")
        b.subscribe(b"b")
        send_until_received(pub, a, b"sync")
        for m in (b"a1", b"b1", b"c1", b"a2", b"b2"):
            pub.send(m)
        assert [m for m in recv_all(a) if not m.startswith(b"sync")] == [b"a1", b"a2"]
        assert recv_all(b) == [b"b1", b"b2"]
        # The socket itself has no subscription: it receives nothing.
        assert recv_all(sub) == []


def test_cancel_is_not_lost_while_recv_is_between_wait_slices(make_url):
    """The same cancellation, 30 times, with a thread keeping the GIL busy so
    the blocked recv often sits between two of its wait slices when the new
    request goes out.  Every time the blocked recv must end with Canceled
    (not go on waiting for the new request's reply until it times out)."""
    url = make_url("tcp")
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            pass

    burner = threading.Thread(target=busy, daemon=True)
    burner.start()
    outcomes = []
    try:
        with sock(Rep0, listen=url) as rep, sock(Req0, recv_timeout=1000) as req:
            req.dial(url, block=True)
            for i in range(30):
                server = rep.new_context()
                req.send(b"first %d" % i)
                assert server.recv() == b"first %d" % i
                blocked = BackgroundCall(req.recv)
                time.sleep(0.06 + 0.002 * i)  # > one 50 ms slice, varied phase
                req.send(b"second %d" % i)
                try:
                    outcome = blocked.result()
                except Exception as exc:
                    outcome = type(exc).__name__
                outcomes.append(outcome)
                server.close()
                # Serve "second" so the socket is idle again.
                assert rep.recv() == b"second %d" % i
                rep.send(b"ok")
                if outcome == "Canceled":
                    assert req.recv() == b"ok"
    finally:
        stop.set()
        burner.join(DEFAULT_TIMEOUT)
    lost = [(i, o) for i, o in enumerate(outcomes) if o != "Canceled"]
    assert not lost, "blocked recv not canceled in %d of 30 trials: %r" % (len(lost), lost)

"""bus mesh, raw mode headers, and device() (wire.md section 3)."""

import struct
import threading

import pytest

from pynng_core import (
    Bus0, Message, NNGException, Pair1, Pub0, Rep0, Req0, Respondent0, Sub0, Surveyor0, Timeout,
    device,
)
from peers import wait_until
from protocol_peers import (
    BackgroundCall, recv_all, recv_skipping, send_until_received, sock, words,
)

TRANSPORTS = ["tcp", "ipc", "inproc"]


def sync_all(senders, receivers):
    """Each sender's messages reach each receiver (connections are up)."""
    for s in senders:
        for r in receivers:
            if r is not s:
                send_until_received(s, r, b"sync")


def assert_bus_delivery(nodes):
    """Every node's message reaches every other node exactly once, never
    itself."""
    for i, sender in enumerate(nodes):
        sender.send(b"from %d" % i)
        for j, node in enumerate(nodes):
            if j != i:
                assert recv_skipping(node) == b"from %d" % i, (i, j)
    for j, node in enumerate(nodes):
        extra = [m for m in recv_all(node) if not m.startswith(b"sync")]
        assert extra == [], "node %d got %r (its own or duplicates)" % (j, extra)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bus_mesh_of_three(transport, make_url):
    u0, u1 = make_url(transport), make_url(transport)
    with sock(Bus0, listen=u0) as b0, sock(Bus0, listen=u1) as b1, sock(Bus0) as b2:
        b1.dial(u0, block=True)
        b2.dial(u0, block=True)
        b2.dial(u1, block=True)
        nodes = [b0, b1, b2]
        sync_all(nodes, nodes)
        assert_bus_delivery(nodes)


# --------------------------------------------------------------------------
# raw mode


def test_raw_rep_exposes_pipe_and_request_id(make_url):
    url = make_url("tcp")
    with sock(Rep0, raw=True, listen=url) as rep, sock(Req0, dial=url, recv_timeout=1000) as req:
        assert rep.raw and not req.raw
        req.send(b"question")
        msg = rep.recv_msg()
        assert msg.bytes == b"question"
        assert len(msg.header) == 8, msg.header
        pipe_id, request_id = words(msg.header)
        assert 0 < pipe_id < 0x80000000, hex(pipe_id)
        assert request_id & 0x80000000, hex(request_id)
        rep.send_msg(Message(b"answer", header=msg.header))
        assert req.recv() == b"answer"


def test_raw_req_sends_its_own_request_id(make_url):
    url = make_url("tcp")
    with sock(Req0, raw=True, listen=url) as req, \
            sock(Rep0, dial=url, recv_timeout=1000) as rep:
        request_id = struct.pack(">I", 0x80001234)
        req.send_msg(Message(b"question", header=request_id))
        assert rep.recv() == b"question"
        rep.send(b"answer")
        msg = req.recv_msg()
        assert msg.header == request_id
        assert msg.bytes == b"answer"


def test_raw_rep_reply_to_unknown_pipe_is_dropped(make_url):
    url = make_url("tcp")
    with sock(Rep0, raw=True, listen=url) as rep, sock(Req0, dial=url, recv_timeout=300) as req:
        req.send(b"q")
        msg = rep.recv_msg()
        pipe_id, request_id = words(msg.header)
        bogus = struct.pack(">II", pipe_id ^ 0x1000, request_id)
        rep.send_msg(Message(b"lost", header=bogus))  # succeeds, goes nowhere
        with pytest.raises(Timeout):
            req.recv()


# --------------------------------------------------------------------------
# device


def run_device(*sockets):
    return BackgroundCall(device, *sockets)


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_reqrep_through_device(transport, make_url):
    front, back = make_url(transport), make_url(transport)
    broker_front = sock(Rep0, raw=True, listen=front)
    broker_back = sock(Req0, raw=True, listen=back)
    worker = sock(Rep0, dial=back)
    client = sock(Req0, dial=front)
    try:
        running = run_device(broker_front, broker_back)

        def work():
            for _ in range(10):
                worker.send(b"worked:" + worker.recv())
        served = BackgroundCall(work)
        for i in range(10):
            client.send(b"job %d" % i)
            assert client.recv() == b"worked:job %d" % i
        served.result()
        assert not running.done()
        broker_front.close()
        running.result()  # returns (no error) once a socket closes
    finally:
        for s in (client, worker, broker_front, broker_back):
            s.close()


def test_device_with_two_clients_and_two_workers(make_url):
    front, back = make_url("tcp"), make_url("tcp")
    broker_front = sock(Rep0, raw=True, listen=front)
    broker_back = sock(Req0, raw=True, listen=back)
    workers = [sock(Rep0, dial=back) for _ in range(2)]
    clients = [sock(Req0, dial=front) for _ in range(2)]
    stop = threading.Event()
    try:
        running = run_device(broker_front, broker_back)

        def work(w, name):
            w.recv_timeout = 50
            while not stop.is_set():
                try:
                    q = w.recv()
                except Timeout:
                    continue
                w.send(name + b":" + q)

        loops = [BackgroundCall(work, w, b"w%d" % i) for i, w in enumerate(workers)]

        def client_loop(c, tag):
            got = []
            for i in range(20):
                c.send(b"%s-%d" % (tag, i))
                got.append(c.recv().partition(b":")[2])
            return got

        calls = [BackgroundCall(client_loop, c, b"c%d" % i) for i, c in enumerate(clients)]
        for i, call in enumerate(calls):
            assert call.result() == [b"c%d-%d" % (i, k) for k in range(20)]
        stop.set()
        for lp in loops:
            lp.result()
        broker_back.close()
        running.result()
    finally:
        stop.set()
        for s in clients + workers + [broker_front, broker_back]:
            s.close()


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_bus_reflector_device(transport, make_url):
    url = make_url(transport)
    hub = sock(Bus0, raw=True, listen=url)
    clients = [sock(Bus0, dial=url) for _ in range(3)]
    try:
        running = run_device(hub)
        sync_all(clients, clients)
        assert_bus_delivery(clients)
        hub.close()
        running.result()
    finally:
        for s in clients + [hub]:
            s.close()


def test_pair1_reflector_device(make_url):
    url = make_url("tcp")
    hub = sock(Pair1, raw=True, listen=url)
    client = sock(Pair1, dial=url)
    try:
        running = run_device(hub)
        client.send(b"echo me")
        assert client.recv() == b"echo me"
        client.close()
        hub.close()
        running.result()
    finally:
        client.close()
        hub.close()


@pytest.mark.parametrize("make_sockets,problem", [
    (lambda: (Rep0(), Req0()), "raw"),
    (lambda: (Rep0(raw=True), Req0()), "raw"),
    (lambda: (Bus0(),), "raw"),
    (lambda: (Rep0(raw=True), Pub0(raw=True)), "peer"),
    (lambda: (Sub0(raw=True), Req0(raw=True)), "peer"),
    (lambda: (Rep0(raw=True),), "peer"),  # not its own peer
])
def test_device_rejects_bad_sockets(make_sockets, problem):
    sockets = make_sockets()
    try:
        with pytest.raises(NNGException) as info:
            device(*sockets)
        assert problem in str(info.value), str(info.value)
    finally:
        for s in sockets:
            s.close()


@pytest.mark.parametrize("how", ["same message", "Message(pipe=)"])
def test_pair1_polyamorous_reply_goes_to_the_sender(how, make_url):
    """A received Message knows its pipe; sending it back (or a new Message
    with pipe= that pipe) goes to that peer only (wire.md: pair1 poly,
    nng_msg_set_pipe() picks the pipe).  The targets repeat, so plain
    round-robin delivery cannot pass by chance."""
    url = make_url("tcp")
    with sock(Pair1, polyamorous=True, listen=url) as hub:
        peers = [sock(Pair1, dial=url, recv_timeout=1000) for _ in range(3)]
        try:
            pipe_ids = []
            for i, p in enumerate(peers):
                p.send(b"hello %d" % i)
                msg = hub.recv_msg()
                assert msg.bytes == b"hello %d" % i
                assert msg.pipe_id != 0
                pipe_ids.append(msg.pipe_id)
            for n, target in enumerate([2, 2, 0, 0, 1, 1, 2, 0]):
                payload = b"to %d #%d" % (target, n)
                if how == "same message":
                    peers[target].send(payload)
                    hub.send_msg(hub.recv_msg())  # echo it back
                else:
                    hub.send_msg(Message(payload, pipe=pipe_ids[target]))
                assert recv_all(peers[target], 300) == [payload], \
                    "message %d for peer %d went elsewhere: %r" % (
                        n, target, [recv_all(p, 100) for p in peers])
        finally:
            for p in peers:
                p.close()



BROADCAST_RIGHT_AFTER_DIAL = """
import os, sys
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # before the I/O thread
from pynng_core import Bus0, Pub0, Respondent0, Sub0, Surveyor0
address = "inproc://broadcast-right-after-dial"
for i in range(int(sys.argv[1])):
    with Surveyor0(listen=address, survey_time=5000) as surveyor, \\
            Respondent0(dial=address, recv_timeout=5000) as respondent:
        surveyor.send(b"survey %d" % i)
        assert respondent.recv() == b"survey %d" % i
    with Pub0(listen=address) as pub, \\
            Sub0(dial=address, topics=b"", recv_timeout=5000) as sub:
        pub.send(b"publish %d" % i)
        assert sub.recv() == b"publish %d" % i
    with Bus0(listen=address, recv_timeout=5000) as listening, \\
            Bus0(dial=address) as dialing:
        dialing.send(b"bus %d" % i)
        assert listening.recv() == b"bus %d" % i
print("delivered", i + 1)
"""


@pytest.mark.timeout(120)
def test_inproc_broadcast_right_after_the_dial_arrives(poller):
    """Once an inproc dial is done, both sockets have their pipe: the
    listener's end joins first.  So a broadcast right after the dial, from
    either side (a survey or a publish from the listener, bus from the
    dialer), reaches the new peer, with no slow joiner.  Before, the
    listener's end joined a moment after the dial was done, and a survey
    or a publish then went to no one (38 and 40 of 2,000 with every thread
    on one CPU); earlier still, what the dialer sent in that moment was
    dropped.  Every thread on one CPU, as where it was seen: the dialing
    thread then runs before the I/O thread has finished the connection.
    Each round's sockets are new, on one address used again and again."""
    import subprocess
    import sys
    from peers import tree_env
    done = subprocess.run([sys.executable, "-c", BROADCAST_RIGHT_AFTER_DIAL, "1000"],
                          capture_output=True, text=True,
                          env=tree_env(PYNNG_CORE_POLLER=poller), timeout=100)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["delivered", "1000"]

"""Round trips per second on one req/rep pair while N idle tcp connections
sit on the same I/O thread: how a poller's cost grows with the connection
count (poll/WSAPoll scan every descriptor per wait; epoll/IOCP do not).

usage: python benchmarks/idle_connections.py [N ...]   (default 0 100 500 1000)
"""
import sys
import time

import pynng_core


def round_trips(idle, seconds=2.0):
    rep = pynng_core.Rep0(listen="tcp://127.0.0.1:0", recv_timeout=5000)
    port = rep.listeners[0].port
    url = "tcp://127.0.0.1:%d" % port
    sink = pynng_core.Pull0(listen="tcp://127.0.0.1:0")
    sink_url = "tcp://127.0.0.1:%d" % sink.listeners[0].port
    idlers = [pynng_core.Push0(dial=sink_url) for _ in range(idle)]
    req = pynng_core.Req0(dial=url, recv_timeout=5000)
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        req.send(b"x")
        rep.send(rep.recv())
        req.recv()
        n += 1
    for s in idlers + [req, rep, sink]:
        s.close()
    return n / seconds


if __name__ == "__main__":
    for idle in [int(a) for a in sys.argv[1:]] or [0, 100, 500, 1000]:
        print("%5d idle connections: %8.0f round trips/s (%s)" % (
            idle, round_trips(idle), pynng_core.poller.current()), flush=True)

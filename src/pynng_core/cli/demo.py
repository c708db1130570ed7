"""``pynng-core demo``: the library at work.  A requester and a responder
(pair0 sockets over tcp, in two threads) exchange numbered messages, and the
round-trip times are printed."""
from __future__ import annotations

import argparse
import statistics
import threading
import time
from urllib.parse import urlsplit

from ..endpoints import Listener
from ..protocols import Pair0
from .errors import at_least

# A listener's wildcard host, and the loopback address its own machine dials.
_LOOPBACK_FOR = {"": "127.0.0.1", "*": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "[::1]"}


def dial_address(url: str, listener: Listener) -> str:
    """Where a peer on this machine dials ``listener``, made for ``url``:
    a tcp URL's port 0 becomes the port bound, a wildcard host loopback."""
    if not url.split("://", 1)[0].startswith("tcp"):
        return url
    parts = urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0]
    return "%s://%s:%d" % (parts.scheme, _LOOPBACK_FOR.get(host, host), listener.port)


def demo(count: int = 10000, size: int = 64, url: str = "tcp://127.0.0.1:0") -> None:
    with Pair0(recv_timeout=5000) as server, Pair0(recv_timeout=5000) as client:
        listener = server.listen(url)
        address = dial_address(url, listener)
        client.dial(address, block=True)

        def respond() -> None:
            for _ in range(count):
                request = server.recv()
                server.send(b"reply to " + request[:16])

        responder = threading.Thread(target=respond, daemon=True)
        responder.start()
        print("pynng_core demo: %d request/reply round trips of %d bytes over %s"
              % (count, size, address))
        times = []
        payload = b"x" * size
        first_request = first_reply = b""
        for i in range(count):
            request = (b"req %d " % i + payload)[:size]
            start = time.perf_counter()
            client.send(request)
            reply = client.recv()
            times.append(time.perf_counter() - start)
            if i == 0:
                first_request, first_reply = request, reply
        responder.join()
    total = sum(times)
    print("  sent:     %r" % first_request[:24])
    print("  received: %r" % first_reply)
    print("  %d round trips in %.3f s: %.0f per second" % (count, total, count / total))
    print("  round trip: median %.1f us, 99th percentile %.1f us"
          % (statistics.median(times) * 1e6, sorted(times)[int(count * 0.99)] * 1e6))


def run(args: argparse.Namespace) -> int:
    demo(args.count, args.size, args.url)
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]
               ) -> argparse.ArgumentParser:
    parser = commands.add_parser("demo", help="request/reply round trips over tcp, timed")
    parser.add_argument("--count", type=at_least(1), default=10000,
                        help="round trips (default 10000)")
    parser.add_argument("--size", type=at_least(0), default=64,
                        help="bytes per request (default 64)")
    parser.add_argument("--url", default="tcp://127.0.0.1:0",
                        help="where the responder listens (default tcp://127.0.0.1:0: "
                             "a free port)")
    parser.set_defaults(run=run)
    return parser

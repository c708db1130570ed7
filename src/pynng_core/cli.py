"""The command line: ``python -m pynng_core demo`` (or ``pynng-core demo``).

The demo shows the library at work: a requester and a responder (pair0
sockets over tcp, in two threads) exchange numbered messages, and the
round-trip times are printed.
"""
import argparse
import errno
import os
import statistics
import sys
import threading
import time
from urllib.parse import urlsplit

from . import __version__
from .exceptions import NNGException
from .protocols import Pair0

# A listener's wildcard host, and the loopback address its own machine dials.
_LOOPBACK_FOR = {"": "127.0.0.1", "*": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "[::1]"}


def dial_address(url, listener):
    """Where a peer on this machine dials ``listener``, made for ``url``:
    a tcp URL's port 0 becomes the port bound, a wildcard host loopback."""
    if not url.split("://", 1)[0].startswith("tcp"):
        return url
    parts = urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0]
    return "%s://%s:%d" % (parts.scheme, _LOOPBACK_FOR.get(host, host), listener.port)


def demo(count=10000, size=64, url="tcp://127.0.0.1:0"):
    with Pair0(recv_timeout=5000) as server, Pair0(recv_timeout=5000) as client:
        listener = server.listen(url)
        address = dial_address(url, listener)
        client.dial(address, block=True)

        def respond():
            for _ in range(count):
                request = server.recv()
                server.send(b"reply to " + request[:16])

        responder = threading.Thread(target=respond)
        responder.start()
        print("pynng_core demo: %d request/reply round trips of %d bytes over %s"
              % (count, size, address))
        times = []
        payload = b"x" * size
        first_request = first_reply = None
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


def _at_least(low):
    def parse(text):
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError("must be %d or more, not %d" % (low, value))
        return value
    parse.__name__ = "integer"  # what argparse calls it in an error
    return parse


def main(argv=None):
    parser = argparse.ArgumentParser(prog="pynng-core", description=(
        "pynng_core: Scalability Protocols sockets (NNG and nanomsg wire)."))
    parser.add_argument("--version", action="version",
                        version="pynng_core %s" % __version__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("demo", help="request/reply round trips over tcp, timed")
    run.add_argument("--count", type=_at_least(1), default=10000,
                     help="round trips (default 10000)")
    run.add_argument("--size", type=_at_least(0), default=64,
                     help="bytes per request (default 64)")
    run.add_argument("--url", default="tcp://127.0.0.1:0",
                     help="where the responder listens (default tcp://127.0.0.1:0: "
                          "a free port)")
    args = parser.parse_args(argv)
    try:
        demo(args.count, args.size, args.url)
        sys.stdout.flush()  # a write that fails fails here, not at exit
    except NNGException as e:  # a URL it cannot use, a port taken...
        parser.exit(1, "pynng-core demo: %s\n" % e)
    except OSError as e:
        if e.errno not in _READER_GONE:
            raise
        # Its reader stopped reading (| head): not an error of ours.  What
        # is still buffered goes nowhere, so the flush at exit is quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


# How a write to stdout fails once its reader has gone: EPIPE on POSIX
# (BrokenPipeError); on Windows a pipe whose reader closed gives EINVAL.
_READER_GONE = (errno.EPIPE, errno.EINVAL) if sys.platform == "win32" else (errno.EPIPE,)


if __name__ == "__main__":
    sys.exit(main())

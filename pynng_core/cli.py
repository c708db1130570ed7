"""The command line: ``python -m pynng_core demo``.

The demo shows the library at work: a requester and a responder (pair0
sockets over tcp, in two threads) exchange numbered messages, and the
round-trip times are printed.
"""
import argparse
import statistics
import sys
import threading
import time

from .protocols import Pair0


def demo(count=10000, size=64, url="tcp://127.0.0.1:0"):
    with Pair0(recv_timeout=5000) as server, Pair0(recv_timeout=5000) as client:
        listener = server.listen(url)
        address = url.rsplit(":", 1)[0] + ":%d" % listener.port if url.startswith("tcp") else url
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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pynng_core")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("demo", help="request/reply round trips over tcp, timed")
    run.add_argument("--count", type=int, default=10000)
    run.add_argument("--size", type=int, default=64)
    run.add_argument("--url", default="tcp://127.0.0.1:0")
    args = parser.parse_args(argv)
    demo(args.count, args.size, args.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())

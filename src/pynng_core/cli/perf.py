"""``pynng-core perf``: NNG's perf programs (local_lat, remote_lat,
local_thr, remote_thr, inproc_lat, inproc_thr), with their arguments, their
output lines and their wire behaviour, so either side pairs with NNG's.

Which side reports what is NNG's: the latency client (remote_lat) times the
round trips and prints the average one-way latency, total / (2 * trips); the
latency server (local_lat) only echoes.  The throughput server (local_thr)
waits for an empty message that starts its clock, times ``count`` messages,
answers with an empty message that tells the client it is done, and prints
messages and megabits (2**20 bits) per second; the client (remote_thr)
sends the start message and then one message more than ``count``, as
NNG's does.  Both ends are pair1 sockets, with NNG's queue depths.  Every
failure, a bad argument too, exits with status 2, as NNG's perf does.
"""
from __future__ import annotations

import argparse
import math
import threading
import time
from typing import Callable, NamedTuple, Optional, Sequence, Type

from ..exceptions import NNGException, Timeout
from ..protocols import Bus0, Pair0, Pair1, Rep0, Req0
from ..socket import Socket
from .errors import USAGE, CommandError
from .progress import Progress

# NNG's perf pauses: a dialer lets its connection settle before timing; a
# server lets its last messages leave before it closes; the inproc modes
# give their server thread a head start.
SETTLE_SECONDS = 0.1
LATENCY_DRAIN_SECONDS = 0.1
THROUGHPUT_DRAIN_SECONDS = 0.2
SERVER_HEAD_START_SECONDS = 0.1

QUEUE_DEPTH = 128          # the throughput sockets' send and receive buffers
COMPLETION_WAIT_MS = 5000  # how long remote_thr waits to hear local_thr is done
LARGEST_NUMBER = 1000000000


class Pairing(NamedTuple):
    """The socket classes of a test's client and server."""
    client: Type[Socket]
    server: Type[Socket]


PAIRINGS = {"pair0": Pairing(Pair0, Pair0), "pair1": Pairing(Pair1, Pair1),
            "reqrep0": Pairing(Req0, Rep0), "bus0": Pairing(Bus0, Bus0)}
DEFAULT_PAIRING = PAIRINGS["pair1"]


def fail(message: str) -> CommandError:
    return CommandError(message, USAGE)


def number(text: str, what: str) -> int:
    """A count or size as NNG's perf reads it: a decimal from 0 to a billion."""
    try:
        value = int(text, 10)
    except ValueError:
        value = -1
    if not 0 <= value <= LARGEST_NUMBER:
        raise fail("Invalid %s" % what)
    return value


# --------------------------------------------------------------------------
# The four ends


def _check_size(body: bytes, size: int) -> None:
    """A message of the size both ends were given, or NNG's error."""
    if len(body) != size:
        raise fail("wrong message size: %d != %d" % (len(body), size))


def latency_server(url: str, size: int, trips: int, progress: Progress,
                   pairing: Pairing = DEFAULT_PAIRING) -> None:
    """Echo ``trips`` messages of ``size`` bytes back to the dialer."""
    with pairing.server() as sock:
        sock.listen(url)
        for _ in range(trips):
            body = sock.recv()
            _check_size(body, size)
            sock.send(body)
            progress.done += 1
        time.sleep(LATENCY_DRAIN_SECONDS)


def latency_client(url: str, size: int, trips: int, progress: Progress,
                   pairing: Pairing = DEFAULT_PAIRING) -> list[str]:
    """Time ``trips`` round trips; the report's lines."""
    with pairing.client() as sock:
        sock.dial(url, block=True)
        time.sleep(SETTLE_SECONDS)
        body = bytes(size)
        start = time.perf_counter()
        for _ in range(trips):
            sock.send(body)
            body = sock.recv()
            progress.done += 1
        total = time.perf_counter() - start
    latency_us = total * 1e6 / (trips * 2) if trips else math.nan
    return ["total time: %.3f [s]" % total,
            "message size: %d [B]" % size,
            "round trip count: %d" % trips,
            "average latency: %.3f [us]" % latency_us]


def throughput_server(url: str, size: int, count: int, progress: Progress,
                      pairing: Pairing = DEFAULT_PAIRING) -> list[str]:
    """Time the arrival of ``count`` messages; the report's lines."""
    with pairing.server(recv_buffer_size=QUEUE_DEPTH) as sock:
        sock.listen(url)
        sock.recv()  # the empty message that starts the clock
        start = time.perf_counter()
        for _ in range(count):
            body = sock.recv()
            _check_size(body, size)
            progress.done += 1
        total = time.perf_counter() - start
        sock.send(b"")  # tells the client it is done
        time.sleep(THROUGHPUT_DRAIN_SECONDS)
    per_second = count / total if total else math.inf
    return ["total time: %.3f [s]" % total,
            "message size: %d [B]" % size,
            "message count: %d" % count,
            "throughput: %.f [msg/s]" % per_second,
            "throughput: %.3f [Mb/s]" % (per_second * 8 * size / (1024 * 1024))]


def throughput_client(url: str, size: int, count: int, progress: Progress,
                      pairing: Pairing = DEFAULT_PAIRING) -> None:
    """Send the start message and the messages, then wait to hear they arrived."""
    with pairing.client(send_buffer_size=QUEUE_DEPTH, recv_timeout=COMPLETION_WAIT_MS) as sock:
        sock.dial(url, block=True)
        sock.send(b"")
        body = bytes(size)
        for _ in range(count + 1):  # one more than asked, as NNG's remote_thr
            sock.send(body)
            progress.done += 1
        try:
            sock.recv()
        except Timeout:  # NNG's client ends quietly without the answer too
            pass


# --------------------------------------------------------------------------
# The modes: their arguments, and which end runs where

Report = Optional[list[str]]
End = Callable[[str, int, int, Progress, Pairing], Report]

USAGES = {
    "local_lat": "local_lat <listen-addr> <msg-size> <roundtrips>",
    "remote_lat": "remote_lat <connect-to> <msg-size> <roundtrips>",
    "local_thr": "local_thr <listen-addr> <msg-size> <count>",
    "remote_thr": "remote_thr <connect-to> <msg-size> <count>",
    "inproc_lat": "inproc_lat <msg-size> <count>",
    "inproc_thr": "inproc_thr <msg-size> <count>",
}


class Mode(NamedTuple):
    end: End
    counted: str          # what the last argument counts (in NNG's "Invalid ..." error)
    progress_unit: str


REMOTE_MODES = {
    "local_lat": Mode(latency_server, "round-trips", "round trips"),
    "remote_lat": Mode(latency_client, "round-trips", "round trips"),
    "local_thr": Mode(throughput_server, "count", "messages"),
    "remote_thr": Mode(throughput_client, "count", "messages"),
}


class InprocMode(NamedTuple):
    server: End
    client: End
    default_url: str
    pairings: tuple[str, ...]  # the protocol options it takes
    progress_unit: str


INPROC_MODES = {
    "inproc_lat": InprocMode(latency_server, latency_client, "inproc://latency_test",
                             ("pair0", "pair1", "reqrep0", "bus0"), "round trips"),
    "inproc_thr": InprocMode(throughput_server, throughput_client, "inproc://throughput-test",
                             ("pair0", "pair1"), "messages"),
}


def _positionals(mode: str, arguments: Sequence[str], wanted: int) -> Sequence[str]:
    if len(arguments) != wanted:
        raise fail("Usage: " + USAGES[mode])
    return arguments


def run_remote(mode: str, arguments: Sequence[str], progress_forced: bool) -> Report:
    url, size_text, count_text = _positionals(mode, arguments, 3)
    chosen = REMOTE_MODES[mode]
    size = number(size_text, "message size")
    count = number(count_text, chosen.counted)
    with Progress(chosen.progress_unit, count, progress_forced) as progress:
        return chosen.end(url, size, count, progress, DEFAULT_PAIRING)


def _inproc_options(mode: str, arguments: Sequence[str]) -> tuple[str, Pairing, list[str]]:
    """NNG's inproc options (--url URL, a protocol: --pair1, ...) before the numbers."""
    chosen = INPROC_MODES[mode]
    url, pairing, rest = chosen.default_url, DEFAULT_PAIRING, list(arguments)
    while rest and rest[0].startswith("--"):
        option = rest.pop(0)[2:]
        if option == "url" and rest:
            url = rest.pop(0)
        elif option in chosen.pairings:
            pairing = PAIRINGS[option]
        else:
            raise fail("bad option: --%s" % option)
    return url, pairing, rest


def run_inproc(mode: str, arguments: Sequence[str], progress_forced: bool) -> Report:
    """Both ends in this process, the server on a thread and the client
    here; the report is the one that end of the test makes (NNG's rule)."""
    url, pairing, rest = _inproc_options(mode, arguments)
    size_text, count_text = _positionals(mode, rest, 2)
    size, count = number(size_text, "message size"), number(count_text, "count")
    chosen = INPROC_MODES[mode]
    outcome: list[Report] = []
    failures: list[BaseException] = []
    unseen = Progress("", None)  # only the client's progress is shown

    def serve() -> None:
        try:
            outcome.append(chosen.server(url, size, count, unseen, pairing))
        except BaseException as e:  # reported by the main thread
            failures.append(e)

    server = threading.Thread(target=serve, daemon=True)  # never keeps Ctrl-C waiting
    server.start()
    time.sleep(SERVER_HEAD_START_SECONDS)
    with Progress(chosen.progress_unit, count, progress_forced) as progress:
        report = chosen.client(url, size, count, progress, pairing)
    server.join()
    if failures:
        raise failures[0]
    return report or outcome[0]


def run(args: argparse.Namespace) -> int:
    mode: str = args.mode
    runner = run_remote if mode in REMOTE_MODES else run_inproc if mode in INPROC_MODES else None
    if runner is None:
        raise fail("pynng-core perf: unknown mode %r (one of %s)" % (mode, ", ".join(USAGES)))
    try:
        report = runner(mode, args.arguments, args.progress)
    except NNGException as e:  # a peer not there, an address taken...
        raise fail("pynng-core perf %s: %s" % (mode, e))
    if report:
        print("\n".join(report), flush=True)
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]
               ) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "perf", help="NNG's perf programs: latency and throughput",
        description="NNG's perf programs; pairs with NNG's own over tcp and ipc.",
        epilog="modes: " + "; ".join(USAGES.values()))
    parser.add_argument("--progress", action="store_true",
                        help="report progress on stderr every second (the default when "
                             "stderr is a terminal)")
    parser.add_argument("mode", help="one of " + ", ".join(USAGES))
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="the mode's arguments")
    parser.set_defaults(run=run)
    return parser

"""``pynng-core cat``: nngcat's command line on pynng_core's sockets.

The flags, their aliases and what each protocol does are NNG 1.5.2's
nngcat's: a pusher or publisher sends its data; a puller or subscriber
prints what it receives; a requester or surveyor sends and prints the
replies; a replier or respondent prints each request and answers it with
its data; pair and bus send their data (if given) and print what arrives.
A receive timeout or the end of a survey ends the printing with status 0.

Where nngcat and nanocat differ, this follows nngcat, except that durations
may be fractions of a second (nanocat's) and ``--bind-ipc PATH`` means
``ipc://PATH`` (nanocat's documented meaning; nngcat 1.5.2 makes it
``ipc:///PATH``).  Usage errors exit with status 2, failures with 1.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import BinaryIO, Callable, NamedTuple, Optional, Type

from .. import protocols
from ..exceptions import BadState, Timeout
from ..socket import Socket
from ..tls import TLSConfig
from .errors import USAGE, CommandError, at_least, seconds
from .formats import FORMATS, Encoder
from .progress import Progress

PROG = "pynng-core cat"

# nngcat's protocol flags, its short aliases after them.  --pair means pair1
# (pair0 under --compat); --sub is nngcat's alias that --subscribe does not
# shadow.
PROTOCOL_FLAGS = {
    "req0": ("--req0", "--req"), "rep0": ("--rep0", "--rep"),
    "pub0": ("--pub0", "--pub"), "sub0": ("--sub0", "--sub"),
    "push0": ("--push0", "--push"), "pull0": ("--pull0", "--pull"),
    "surveyor0": ("--surveyor0", "--surveyor"),
    "respondent0": ("--respondent0", "--respondent"),
    "bus0": ("--bus0", "--bus"), "pair0": ("--pair0",), "pair1": ("--pair1",),
    "pair": ("--pair",),
}

SOCKETS: dict[str, Type[Socket]] = {
    "req0": protocols.Req0, "rep0": protocols.Rep0, "pub0": protocols.Pub0,
    "sub0": protocols.Sub0, "push0": protocols.Push0, "pull0": protocols.Pull0,
    "surveyor0": protocols.Surveyor0, "respondent0": protocols.Respondent0,
    "bus0": protocols.Bus0, "pair0": protocols.Pair0, "pair1": protocols.Pair1,
}

SEND_ONLY = {"push0", "pub0"}
RECEIVE_ONLY = {"pull0", "sub0"}
ASKING = {"req0", "surveyor0"}
ANSWERING = {"rep0", "respondent0"}

# nngcat waits this long after its last send, so that queued messages leave
# before the socket closes.
DRAIN_SECONDS = 0.2


class Endpoint(NamedTuple):
    listens: bool
    url: str


def _endpoint(listens: bool, template: str = "{}") -> Callable[[str], Endpoint]:
    """An argparse type: an address flag's argument as the Endpoint it means."""
    def parse(text: str) -> Endpoint:
        return Endpoint(listens, template.format(text))
    parse.__name__ = "address"
    return parse


def _local_port(listens: bool) -> Callable[[str], Endpoint]:
    """An argparse type: --bind-local/--connect-local's port, a tcp loopback Endpoint."""
    def parse(text: str) -> Endpoint:
        port = int(text)
        if not 0 <= port <= 65535:
            raise argparse.ArgumentTypeError("no such tcp port: %d" % port)
        return Endpoint(listens, "tcp://127.0.0.1:%d" % port)
    parse.__name__ = "port"
    return parse


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]
               ) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "cat", help="nngcat: send and print messages from the command line",
        description="nngcat's command line on pynng_core sockets.")
    protocol = parser.add_mutually_exclusive_group()
    for name, flags in PROTOCOL_FLAGS.items():
        protocol.add_argument(*flags, dest="protocol", action="store_const", const=name,
                              help="a %s socket" % name if name != "pair" else
                              "pair1 (pair0 with --compat)")
    where = parser.add_argument_group("addresses (any number)")
    for flags, parse, meta in (
            (("--dial", "--connect"), _endpoint(False), "URL"),
            (("--listen", "--bind"), _endpoint(True), "URL"),
            (("--connect-local", "-l"), _local_port(False), "PORT"),
            (("--bind-local", "-L"), _local_port(True), "PORT"),
            (("--connect-ipc", "-x"), _endpoint(False, "ipc://{}"), "PATH"),
            (("--bind-ipc", "-X"), _endpoint(True, "ipc://{}"), "PATH")):
        where.add_argument(*flags, dest="endpoints", action="append", type=parse,
                           metavar=meta, default=[])
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--format", choices=sorted(FORMATS), help="how to print messages "
                        "(default: no, print nothing)")
    for flags, name in ((("--raw",), "raw"), (("--ascii", "-A"), "ascii"),
                        (("--quoted", "-Q"), "quoted"), (("--hex",), "hex"),
                        (("--msgpack",), "msgpack")):
        output.add_argument(*flags, dest="format", action="store_const", const=name,
                            help="--format %s" % name)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", "-D", help="the message to send")
    source.add_argument("--file", "-F", metavar="PATH",
                        help="send the file's contents (- for standard input)")
    parser.add_argument("--subscribe", action="append", metavar="TOPIC",
                        help="sub0: a topic prefix (default: everything)")
    chatter = parser.add_mutually_exclusive_group()
    chatter.add_argument("--verbose", "-v", action="store_true",
                         help="say where it listens and what it dialed")
    chatter.add_argument("--silent", "-q", action="store_true", help="say nothing extra")
    parser.add_argument("--count", "-C", type=at_least(0), default=0,
                        help="messages to send or receive (default: no limit)")
    parser.add_argument("--delay", "-d", type=seconds, default=0.0,
                        help="seconds to wait before the first send")
    parser.add_argument("--interval", "-i", type=seconds,
                        help="send again every SECS seconds")
    parser.add_argument("--recv-timeout", type=seconds, metavar="SECS",
                        help="stop receiving after SECS seconds of silence")
    parser.add_argument("--send-timeout", type=seconds, metavar="SECS",
                        help="fail a send blocked this long")
    parser.add_argument("--recv-maxsz", "-Z", type=at_least(0), metavar="BYTES",
                        help="largest message to accept (0: no limit)")
    parser.add_argument("--compat", action="store_true",
                        help="nanocat's ways: dial and listen in the background, --pair "
                             "is pair0")
    parser.add_argument("--async", dest="background", action="store_true",
                        help="dial and listen in the background")
    parser.add_argument("--insecure", "-k", action="store_true",
                        help="TLS: do not verify the peer's certificate")
    parser.add_argument("--cacert", metavar="PATH", help="TLS: the CA certificates (PEM)")
    parser.add_argument("--cert", "-E", metavar="PATH",
                        help="TLS: own certificate (PEM; with its key unless --key)")
    parser.add_argument("--key", metavar="PATH", help="TLS: own private key (PEM)")
    parser.add_argument("--progress", action="store_true",
                        help="report progress on stderr every second (the default "
                             "when stderr is a terminal)")
    parser.set_defaults(run=run, format="no")
    return parser


def usage_error(message: str) -> CommandError:
    return CommandError("%s: %s" % (PROG, message), USAGE)


def _protocol(args: argparse.Namespace) -> str:
    """The socket's protocol, once the flags were found to agree (nngcat's rules)."""
    if args.protocol is None:
        raise usage_error("no protocol given (--req0, --rep0, --pub0, ...; see --help)")
    if not args.endpoints:
        raise usage_error("no address given (--dial or --listen)")
    name: str = args.protocol
    if args.compat:
        if args.background:
            raise usage_error("options --async and --compat are incompatible")
        if args.count:
            raise usage_error("options --count and --compat are incompatible")
        if name == "pair1":
            raise usage_error("protocol pair1 does not support --compat")
    if name == "pair":
        name = "pair0" if args.compat else "pair1"
    has_data = args.data is not None or args.file is not None
    if args.subscribe and name != "sub0":
        raise usage_error("protocol %s does not support --subscribe" % name)
    if name in RECEIVE_ONLY and has_data:
        raise usage_error("protocol %s does not support --file or --data" % name)
    if name in RECEIVE_ONLY | ANSWERING and args.interval is not None:
        raise usage_error("protocol %s does not support --interval" % name)
    if name in SEND_ONLY and args.format != "no":
        raise usage_error("protocol %s does not support --format options" % name)
    if name in SEND_ONLY | ASKING and not has_data:
        raise usage_error("protocol %s requires either --file or --data" % name)
    if args.interval is not None and not has_data:
        raise usage_error("option --interval requires either --file or --data")
    return name


def _read(path: str) -> bytes:
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CommandError("%s: cannot read %s: %s" % (PROG, path, e.strerror))


def _tls_config(args: argparse.Namespace, mode: int) -> Optional[TLSConfig]:
    """The TLS setup the flags ask for, for a dialer (client) or listener (server)."""
    if not (args.cacert or args.cert or args.key or args.insecure):
        return None
    if args.key and not args.cert:
        raise usage_error("--key needs --cert")
    config = TLSConfig(mode)
    if args.insecure:
        config.set_auth_mode(TLSConfig.AUTH_MODE_NONE)
    if args.cert:
        certificate = _read(args.cert).decode()
        config.set_own_cert(certificate, _read(args.key).decode() if args.key else certificate)
    if args.cacert:
        config.set_ca_chain(_read(args.cacert).decode())
    return config


def _open(name: str, args: argparse.Namespace) -> Socket:
    sock = SOCKETS[name]()
    try:
        if isinstance(sock, protocols.Sub0):
            for topic in args.subscribe or [""]:
                sock.subscribe(topic)
        if args.send_timeout:  # 0, as nngcat has it, is no timeout
            sock.send_timeout = round(args.send_timeout * 1000)
        if args.recv_timeout:
            sock.recv_timeout = round(args.recv_timeout * 1000)
        if args.recv_maxsz is not None:
            sock.recv_max_size = args.recv_maxsz
        block = not (args.background or args.compat)
        for endpoint in args.endpoints:
            _start(sock, endpoint, block, args)
    except BaseException:
        sock.close()
        raise
    return sock


def _start(sock: Socket, endpoint: Endpoint, block: bool, args: argparse.Namespace) -> None:
    secure = endpoint.url.startswith(("tls+", "wss"))
    mode = TLSConfig.MODE_SERVER if endpoint.listens else TLSConfig.MODE_CLIENT
    tls = _tls_config(args, mode) if secure else None
    if endpoint.listens:
        sock.listen(endpoint.url, block=block, tls_config=tls)
    else:
        sock.dial(endpoint.url, block=block, tls_config=tls)
    if args.verbose:
        print("%s: %s" % ("Listening at" if endpoint.listens else "Connected to",
                          endpoint.url), flush=True)


class Cat:
    """One run: a socket, what it sends, how it prints, how long it goes on."""

    def __init__(self, sock: Socket, args: argparse.Namespace, data: Optional[bytes]) -> None:
        self.sock = sock
        self.data = data
        self.encode: Encoder = FORMATS[args.format]
        self.out: BinaryIO = sys.stdout.buffer
        self.count: int = args.count
        self.delay: float = args.delay
        self.interval: Optional[float] = args.interval
        self.recv_timeout_ms = round(args.recv_timeout * 1000) if args.recv_timeout else -1
        self.progress_forced: bool = args.progress

    def show(self, body: bytes) -> None:
        self.out.write(self.encode(body))
        self.out.flush()

    def receive(self, limit: int = 0, progress: Optional[Progress] = None) -> None:
        """Print messages until ``limit`` (0: no limit), a receive timeout or
        the end of a survey; nngcat counts the receive that ended it too."""
        received = 0
        while not limit or received < limit:
            received += 1
            try:
                body = self.sock.recv()
            except (Timeout, BadState):
                return
            self.show(body)
            if progress is not None:
                progress.done = received

    def receive_only(self) -> None:
        with Progress("received", self.count or None, self.progress_forced) as progress:
            self.receive(self.count, progress)

    def answer(self) -> None:
        """Print each request and answer it with the data."""
        assert self.data is not None
        with Progress("answered", self.count or None, self.progress_forced) as progress:
            while not self.count or progress.done < self.count:
                self.show(self.sock.recv())
                self.sock.send(self.data)
                progress.done += 1
        time.sleep(DRAIN_SECONDS)

    def _rounds(self) -> Optional[int]:
        """How many sends: --count's, else one unless --interval repeats them forever."""
        return self.count or (None if self.interval is not None else 1)

    def _pace(self, started: float) -> None:
        if self.interval is not None:
            time.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    def send(self, receive: bool) -> None:
        """Send the data, --count times or every --interval; with ``receive``,
        print what comes back after each send until the interval is over (or
        the receive timeout, a reply, the survey's end)."""
        assert self.data is not None
        time.sleep(self.delay)
        rounds = self._rounds()
        with Progress("sent", rounds, self.progress_forced) as progress:
            while True:
                started = time.monotonic()
                self.sock.send(self.data)
                if receive:
                    self.sock.recv_timeout = self._round_timeout_ms(started)
                    self.receive()
                progress.done += 1
                if progress.done == rounds:
                    break
                self._pace(started)
        if not receive:
            time.sleep(DRAIN_SECONDS)

    def _round_timeout_ms(self, started: float) -> int:
        if self.interval is None:
            return self.recv_timeout_ms
        left = max(0, round((self.interval - (time.monotonic() - started)) * 1000))
        return left if self.recv_timeout_ms < 0 else min(left, self.recv_timeout_ms)


def run(args: argparse.Namespace) -> int:
    name = _protocol(args)
    data = args.data.encode() if args.data is not None else (
        _read(args.file) if args.file is not None else None)
    with _open(name, args) as sock:
        cat = Cat(sock, args, data)
        if name in SEND_ONLY:
            cat.send(receive=False)
        elif name in RECEIVE_ONLY or data is None:
            cat.receive_only()
        elif name in ANSWERING:
            cat.answer()
        else:
            cat.send(receive=True)
    return 0

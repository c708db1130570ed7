"""Interop with the real C peers: nngcat (nng 1.5.2) and nanocat (nanomsg 1.1.5).

Each test runs the CLI tool as a subprocess (listening or dialing), over tcp,
ipc and ws, and for nngcat tls+tcp and wss too (nanocat has no TLS), and
checks the exact payloads that cross in each direction the protocol allows.
The tools print what they receive with --hex, one message per line, and
read what they send from a file, so payloads are binary-safe.  Over TLS the
listener serves the session's server certificate (nngcat: --cert/--key) and
the dialer verifies it (nngcat: --cacert, dialing `localhost`).
"""

import contextlib

import pytest

import pynng_core
from peers import SOCKET_TIMEOUT_MS, start_cli, wait_for_listener
from tls_certs import side_config

pytestmark = pytest.mark.core_only

TRANSPORTS = {"nngcat": ["tcp", "ipc", "ws", "tls", "wss"], "nanocat": ["tcp", "ipc", "ws"]}
CLI_MODES = ["listen", "dial"]  # what the CLI peer does; we do the other

# Every byte value, plus the characters the text formats would escape.
BINARY = bytes(range(256)) + b'\n"\\\r\t end'
LARGE = bytes(range(256)) * 1024  # 256 KiB

SOCKET_CLASSES = {
    "pair0": pynng_core.Pair0,
    "pair1": pynng_core.Pair1,
    "push0": pynng_core.Push0,
    "pull0": pynng_core.Pull0,
}


def with_transports(cases):
    """Each (tool, ...) case once per transport that tool speaks."""
    return [case + (transport,) for case in cases for transport in TRANSPORTS[case[0]]]


TOOL_TRANSPORTS = with_transports([("nngcat",), ("nanocat",)])


def our_socket(proto, url, cli_mode, certs):
    """Our side of the connection: listen if the CLI dials, else dial it."""
    sock = SOCKET_CLASSES[proto](recv_timeout=SOCKET_TIMEOUT_MS,
                                 send_timeout=SOCKET_TIMEOUT_MS,
                                 tls_config=side_config(pynng_core, certs, cli_mode == "dial"))
    try:
        if cli_mode == "dial":
            sock.listen(url)
        else:
            wait_for_listener(url)
            sock.dial(url, block=True)
    except BaseException:
        sock.close()
        raise
    return sock


def numbered(prefix, n):
    return [prefix + b"#%04d" % i for i in range(n)]


@pytest.fixture
def connected(make_url, tls_for):
    """connected(tool, cli_proto, our_proto, transport, cli_mode, **cli_options):
    a context giving our socket and the running CLI (a CliPeer), on a fresh
    URL of that transport, the listening side started first."""
    @contextlib.contextmanager
    def connected(tool, cli_proto, our_proto, transport, cli_mode, **cli_options):
        url = make_url(transport)
        certs = tls_for(transport)
        with contextlib.ExitStack() as stack:
            def ours():
                return stack.enter_context(our_socket(our_proto, url, cli_mode, certs))

            def cli():
                return stack.enter_context(start_cli(tool, cli_proto, cli_mode, url, make_url,
                                                     certs=certs, **cli_options))
            if cli_mode == "dial":  # so that the CLI's first connect succeeds
                sock = ours()
                yield sock, cli()
            else:
                peer = cli()
                yield ours(), peer
    return connected


def run_cli_push_to_us(connected, tool, transport, cli_mode, payload, count):
    with connected(tool, "push0", "pull0", transport, cli_mode,
                   payload=payload, count=count) as (pull, cli):
        got = [pull.recv() for _ in range(count)]
        assert got == [payload] * count, cli.describe()


def run_us_push_to_cli(connected, tool, transport, cli_mode, messages):
    with connected(tool, "pull0", "push0", transport, cli_mode) as (push, cli):
        for m in messages:
            push.send(m)
        assert cli.wait_messages(len(messages)) == messages


@pytest.mark.parametrize("cli_mode", CLI_MODES)
@pytest.mark.parametrize("tool,transport", TOOL_TRANSPORTS)
def test_cli_push_to_our_pull(tool, transport, cli_mode, connected):
    run_cli_push_to_us(connected, tool, transport, cli_mode, BINARY, count=5)


@pytest.mark.parametrize("cli_mode", CLI_MODES)
@pytest.mark.parametrize("tool,transport", TOOL_TRANSPORTS)
def test_our_push_to_cli_pull(tool, transport, cli_mode, connected):
    run_us_push_to_cli(connected, tool, transport, cli_mode, numbered(BINARY, 50))


@pytest.mark.parametrize("tool,transport", TOOL_TRANSPORTS)
def test_large_message_both_directions(tool, transport, connected):
    run_cli_push_to_us(connected, tool, transport, "dial", LARGE, count=1)
    run_us_push_to_cli(connected, tool, transport, "dial", [LARGE + b"a", LARGE + b"b"])


@pytest.mark.parametrize("cli_mode", CLI_MODES)
@pytest.mark.parametrize("tool,proto,transport", with_transports(
    [("nngcat", "pair0"), ("nngcat", "pair1"), ("nanocat", "pair0")]))
def test_pair_exchange(tool, proto, transport, cli_mode, connected):
    """The CLI sends one message then prints all it receives; we answer with
    numbered messages.  Both directions over one connection."""
    replies = numbered(b"reply:" + BINARY, 30)
    # recv_timeout only bounds how long an orphaned CLI lingers; we kill it.
    with connected(tool, proto, proto, transport, cli_mode,
                   payload=BINARY, recv_timeout=30) as (sock, cli):
        assert sock.recv() == BINARY, cli.describe()
        for m in replies:
            sock.send(m)
        assert cli.wait_messages(len(replies)) == replies

"""Interop with the real C peers: nngcat (nng 1.5.2) and nanocat (nanomsg 1.1.5).

Each test runs the CLI tool as a subprocess (listening or dialing), over tcp
and ipc, and checks the exact payloads that cross in each direction the
protocol allows.  The tools print what they receive with --hex, one message
per line, and read what they send from a file, so payloads are binary-safe.
"""

import pytest

import pynng_core
from peers import SOCKET_TIMEOUT_MS, start_cli, wait_for_listener

TRANSPORTS = ["tcp", "ipc", "ws"]
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


def our_socket(proto, url, cli_mode):
    """Our side of the connection: listen if the CLI dials, else dial it."""
    sock = SOCKET_CLASSES[proto](recv_timeout=SOCKET_TIMEOUT_MS,
                                 send_timeout=SOCKET_TIMEOUT_MS)
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


def run_cli_push_to_us(tool, transport, cli_mode, make_url, payload, count):
    url = make_url(transport)
    if cli_mode == "dial":
        # Listen first so the CLI's first connect succeeds.
        with our_socket("pull0", url, cli_mode) as pull:
            with start_cli(tool, "push0", "dial", url, make_url, payload=payload, count=count) as cli:
                got = [pull.recv() for _ in range(count)]
                assert got == [payload] * count, cli.describe()
    else:
        with start_cli(tool, "push0", "listen", url, make_url, payload=payload, count=count) as cli:
            with our_socket("pull0", url, cli_mode) as pull:
                got = [pull.recv() for _ in range(count)]
                assert got == [payload] * count, cli.describe()


def run_us_push_to_cli(tool, transport, cli_mode, make_url, messages):
    url = make_url(transport)
    if cli_mode == "dial":
        with our_socket("push0", url, cli_mode) as push:
            with start_cli(tool, "pull0", "dial", url, make_url) as cli:
                for m in messages:
                    push.send(m)
                assert cli.wait_messages(len(messages)) == messages
    else:
        with start_cli(tool, "pull0", "listen", url, make_url) as cli:
            with our_socket("push0", url, cli_mode) as push:
                for m in messages:
                    push.send(m)
                assert cli.wait_messages(len(messages)) == messages


@pytest.mark.parametrize("cli_mode", CLI_MODES)
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("tool", ["nngcat", "nanocat"])
def test_cli_push_to_our_pull(tool, transport, cli_mode, make_url):
    run_cli_push_to_us(tool, transport, cli_mode, make_url, BINARY, count=5)


@pytest.mark.parametrize("cli_mode", CLI_MODES)
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("tool", ["nngcat", "nanocat"])
def test_our_push_to_cli_pull(tool, transport, cli_mode, make_url):
    run_us_push_to_cli(tool, transport, cli_mode, make_url, numbered(BINARY, 50))


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("tool", ["nngcat", "nanocat"])
def test_large_message_both_directions(tool, transport, make_url):
    run_cli_push_to_us(tool, transport, "dial", make_url, LARGE, count=1)
    run_us_push_to_cli(tool, transport, "dial", make_url, [LARGE + b"a", LARGE + b"b"])


@pytest.mark.parametrize("cli_mode", CLI_MODES)
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("tool,proto", [("nngcat", "pair0"), ("nngcat", "pair1"), ("nanocat", "pair0")])
def test_pair_exchange(tool, proto, transport, cli_mode, make_url):
    """The CLI sends one message then prints all it receives; we answer with
    numbered messages.  Both directions over one connection."""
    url = make_url(transport)
    replies = numbered(b"reply:" + BINARY, 30)

    def exchange(sock, cli):
        assert sock.recv() == BINARY, cli.describe()
        for m in replies:
            sock.send(m)
        assert cli.wait_messages(len(replies)) == replies

    # recv_timeout only bounds how long an orphaned CLI lingers; we kill it.
    if cli_mode == "dial":
        with our_socket(proto, url, cli_mode) as sock:
            with start_cli(tool, proto, "dial", url, make_url, payload=BINARY, recv_timeout=30) as cli:
                exchange(sock, cli)
    else:
        with start_cli(tool, proto, "listen", url, make_url, payload=BINARY, recv_timeout=30) as cli:
            with our_socket(proto, url, cli_mode) as sock:
                exchange(sock, cli)

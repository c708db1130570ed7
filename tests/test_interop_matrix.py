"""The interop matrix: every protocol pair x {tcp, ipc, ws, and for nngcat
tls+tcp and wss} x {pynng_core plays role A, plays role B} x {role A
listens, role B listens}, against nngcat (nng 1.5.2 with mbedTLS, all 7
protocols) and nanocat (nanomsg 1.1.5, no pair1, no TLS).

Role A is the side that speaks first: req, pub, push, surveyor, and for the
symmetric protocols (pair0, pair1, bus) the side that sends the first
message.  Each case checks real payloads in every direction the protocol
allows with that role split:

  * pynng_core as B of pair/bus: the CLI sends (--data), we receive it and
    answer, the CLI prints the answer (both directions);
  * pynng_core as A of pair/bus: we send, the CLI (no --data) prints it;
  * req/rep, surveyor/respondent: request and reply both checked;
  * pub/sub, push/pull: the one direction.

One pytest case per (tool, protocol) runs its 8 combinations concurrently
and names every failing combination.  ``python tests/test_interop_matrix.py``
prints the whole table.
"""

import concurrent.futures
import time
import traceback

import pytest

import pynng_core
from pynng_core import Timeout
from peers import CliPeer, UrlFactory, cli_tls, is_listening, require_tool, wait_until
from protocol_peers import cat_argv, sock, tool_speaks
from tls_certs import TLS_TRANSPORTS, make_certs, side_config

pytestmark = pytest.mark.core_only

# name -> (role A, role B)
PROTOCOLS = {
    "pair0": ("pair0", "pair0"),
    "pair1": ("pair1", "pair1"),
    "reqrep": ("req0", "rep0"),
    "pubsub": ("pub0", "sub0"),
    "pipeline": ("push0", "pull0"),
    "survey": ("surveyor0", "respondent0"),
    "bus": ("bus0", "bus0"),
}
CLASSES = {
    "pair0": pynng_core.Pair0, "pair1": pynng_core.Pair1, "req0": pynng_core.Req0,
    "rep0": pynng_core.Rep0, "pub0": pynng_core.Pub0, "sub0": pynng_core.Sub0,
    "push0": pynng_core.Push0, "pull0": pynng_core.Pull0,
    "surveyor0": pynng_core.Surveyor0, "respondent0": pynng_core.Respondent0,
    "bus0": pynng_core.Bus0,
}
TOOLS = ["nngcat", "nanocat"]
TRANSPORTS = {"nngcat": ["tcp", "ipc", "ws", "tls", "wss"], "nanocat": ["tcp", "ipc", "ws"]}
# Transports whose listener takes port 0 and tells the port it got.
PORT_URLS = {"tcp": "tcp://127.0.0.1:%d", "ws": "ws://127.0.0.1:%d",
             "tls": "tls+tcp://127.0.0.1:%d", "wss": "wss://127.0.0.1:%d"}


def combos(tool):
    return [(t, core, lst) for t in TRANSPORTS[tool] for core in "AB" for lst in "AB"]

# Protocols that drop what is sent while no connection is up: a CLI that
# speaks first must then repeat (nngcat: every 1 s, its smallest interval).
LOSSY_FIRST = {"pub0", "surveyor0", "bus0"}
CASE_TIMEOUT = 10.0  # seconds for one case's waits

# --data is a C string from argv (binary payloads: test_interop_cli.py).
FROM_CLI = 'cli-says: "quoted" \\ tab\t end'
FROM_CORE = b"core-says:\x01\x02\x80\xfe"


def case_id(tool, proto, transport, core_role, listener):
    a, b = PROTOCOLS[proto]
    core = a if core_role == "A" else b
    return "%s-%s-%s-core=%s(%s)-listen=%s" % (tool, proto, transport, core_role, core, listener)


def cli_payload():
    return FROM_CLI.encode()


def printed(cli, n=1, timeout=CASE_TIMEOUT):
    return cli.wait_messages(n, timeout)


def send_until_printed(core, cli, payload, timeout=CASE_TIMEOUT):
    """Send until the CLI prints something (lossy protocols), then check
    that everything it printed is the payload."""
    deadline = time.monotonic() + timeout
    while True:
        core.send(payload)
        try:
            wait_until(lambda: cli.messages, timeout=0.1, interval=0.01)
            break
        except AssertionError:
            cli.assert_alive()
            if time.monotonic() > deadline:
                raise AssertionError("CLI printed nothing: %s" % cli.describe())
    got = printed(cli)
    assert got == [payload], cli.describe()


def surveyor_until_answered(core, cli, survey, timeout=CASE_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        core.send(survey)
        try:
            return core.recv()
        except Timeout:
            cli.assert_alive()
            if time.monotonic() > deadline:
                raise AssertionError("no answer: %s" % cli.describe())


def respond_until_printed(core, cli, timeout=CASE_TIMEOUT):
    """Answer surveys until the CLI prints an answer (a repeating CLI
    surveyor drops answers that miss its current survey)."""
    deadline = time.monotonic() + timeout
    while True:
        assert core.recv() == cli_payload(), cli.describe()
        core.send(FROM_CORE)
        try:
            wait_until(lambda: cli.messages, timeout=0.5, interval=0.01)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise AssertionError("CLI printed no answer: %s" % cli.describe())
    assert printed(cli) == [FROM_CORE]


# --------------------------------------------------------------------------
# What the CLI runs, and what pynng_core does, per (protocol role we play)


def cli_options(tool, cli_proto, cli_listens):
    """Keyword arguments for cat_argv for the CLI's side."""
    data = FROM_CLI
    repeat = 1.0 if tool == "nngcat" else 0.05
    if cli_proto == "surveyor0" and tool == "nanocat":
        repeat = 0.3  # each new survey cancels the last: leave time to answer
    if cli_proto in ("sub0", "pull0"):
        return {}
    if cli_proto in ("rep0", "respondent0"):
        return {"data": data}
    if cli_proto in ("pair0", "pair1", "bus0"):
        # As A the CLI sends first; as B (decided by the caller) no data.
        opts = {"data": data}
        if cli_proto in LOSSY_FIRST and (cli_listens or tool == "nanocat"):
            opts["interval"] = repeat
        return opts
    if cli_proto == "surveyor0":
        return {"data": data, "interval": repeat if (cli_listens or tool == "nanocat") else None}
    if cli_proto == "pub0":
        return {"data": data, "interval": repeat}
    if cli_proto in ("push0", "req0"):
        return {"data": data, "interval": repeat if cli_proto == "push0" else None}
    raise ValueError(cli_proto)


def exchange(proto, core_role, core, cli):
    """Drive pynng_core's side and check the payloads both ways."""
    a, b = PROTOCOLS[proto]
    mine = a if core_role == "A" else b
    if mine in ("pair0", "pair1", "bus0"):
        if core_role == "A":  # we speak first; the CLI only prints
            send_until_printed(core, cli, FROM_CORE)
        else:  # the CLI spoke first; we answer; it prints the answer
            assert core.recv() == cli_payload(), cli.describe()
            if mine == "bus0":
                send_until_printed(core, cli, FROM_CORE)
            else:
                core.send(FROM_CORE)
                assert printed(cli) == [FROM_CORE]
    elif mine == "req0":
        core.send(FROM_CORE)
        assert core.recv() == cli_payload(), cli.describe()
        assert printed(cli) == [FROM_CORE]
    elif mine == "rep0":
        assert core.recv() == cli_payload(), cli.describe()
        core.send(FROM_CORE)
        assert printed(cli) == [FROM_CORE]
    elif mine == "surveyor0":
        assert surveyor_until_answered(core, cli, FROM_CORE) == cli_payload()
        assert printed(cli)[0] == FROM_CORE
    elif mine == "respondent0":
        respond_until_printed(core, cli)
    elif mine == "pub0":
        send_until_printed(core, cli, FROM_CORE)
    elif mine == "sub0":
        assert core.recv() == cli_payload(), cli.describe()
    elif mine == "push0":
        core.send(FROM_CORE)
        assert printed(cli) == [FROM_CORE]
    elif mine == "pull0":
        assert core.recv() == cli_payload(), cli.describe()
    else:
        raise ValueError(mine)


def open_core(proto_name, tls_config):
    kwargs = {"recv_timeout": int(CASE_TIMEOUT * 1000), "send_timeout": int(CASE_TIMEOUT * 1000),
              "tls_config": tls_config}
    if proto_name == "sub0":
        kwargs["topics"] = b""
    if proto_name == "surveyor0":
        kwargs["survey_time"] = 250
    return sock(CLASSES[proto_name], **kwargs)


def start_listening_cli(tool, theirs, transport, urls, opts, certs):
    """The CLI listening on a fresh URL, and that URL.  A tcp port picked in
    advance can be taken before the CLI binds it (as the source port of a
    concurrent case's connection): a CLI that exits without listening is
    tried again on another port."""
    for _ in range(3):
        url, tls_args = cli_tls(urls, certs, "listen", urls(transport))
        cli = CliPeer(cat_argv(tool, theirs, "listen", url, **opts) + tls_args)
        try:
            wait_until(lambda: cli.proc.poll() is not None or is_listening(url),
                       CASE_TIMEOUT, interval=0.01,
                       message="nothing listening on %s after %.0fs" % (url, CASE_TIMEOUT))
        except BaseException:
            cli.stop()
            raise
        if cli.proc.poll() is None:
            return cli, url
        cli.stop()
    raise AssertionError("%s never listened (3 ports tried): %s" % (tool, cli.stderr.strip()))


def run_case(tool, proto, transport, core_role, listener, urls, certs):
    """One combination; certs (tls_certs.make_certs) for a TLS transport."""
    a, b = PROTOCOLS[proto]
    mine, theirs = (a, b) if core_role == "A" else (b, a)
    core_listens = listener == core_role
    certs = certs if transport in TLS_TRANSPORTS else None
    opts = cli_options(tool, theirs, cli_listens=not core_listens)
    if theirs in ("pair0", "pair1", "bus0") and core_role == "A":
        opts = {}  # the CLI is the B side: it only receives and prints
    with open_core(mine, side_config(pynng_core, certs, core_listens)) as core:
        if not core_listens:
            cli, url = start_listening_cli(tool, theirs, transport, urls, opts, certs)
        else:
            if transport in PORT_URLS:
                # Port 0: a port picked in advance could meanwhile become the
                # source port of a concurrent case's connection.
                pattern = PORT_URLS[transport]
                url = pattern % core.listen(pattern % 0).port
            else:
                url = urls(transport)
                core.listen(url)
            dial_url, tls_args = cli_tls(urls, certs, "dial", url)
            cli = CliPeer(cat_argv(tool, theirs, "dial", dial_url, **opts) + tls_args)
        try:
            if not core_listens:
                core.dial(url, block=True)
            exchange(proto, core_role, core, cli)
        finally:
            cli.stop()


def run_matrix(tool, proto, certs, workers=8):
    """Run the combinations concurrently; returns {case id: None or error}."""
    urls = UrlFactory()
    results = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            futures = {
                pool.submit(run_case, tool, proto, t, core, lst, urls, certs):
                    case_id(tool, proto, t, core, lst)
                for t, core, lst in combos(tool)
            }
            for fut, cid in futures.items():
                try:
                    fut.result()
                    results[cid] = None
                except BaseException as exc:  # noqa: BLE001 (reported per case)
                    results[cid] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    finally:
        urls.cleanup()
    return results


MATRIX = [(tool, proto) for tool in TOOLS for proto in PROTOCOLS
          if tool_speaks(tool, PROTOCOLS[proto][0])]  # nanocat: no pair1


@pytest.mark.timeout(120)
@pytest.mark.parametrize("tool,proto", MATRIX)
def test_interop_matrix(tool, proto, tls_for):
    require_tool(tool)  # here, not in the cases' threads, so a missing peer skips or fails once
    results = run_matrix(tool, proto, tls_for("tls") if "tls" in TRANSPORTS[tool] else None)
    failed = {cid: err for cid, err in results.items() if err}
    assert not failed, "%d of %d cases failed:\n%s" % (
        len(failed), len(results), "\n".join("%s: %s" % kv for kv in sorted(failed.items())))


if __name__ == "__main__":  # print the whole table
    import sys
    certs = make_certs()
    for tool, proto in MATRIX:
        if True:
            start = time.monotonic()
            res = run_matrix(tool, proto, certs)
            for cid, err in sorted(res.items()):
                print("%-60s %s" % (cid, "PASS" if err is None else "FAIL " + err.splitlines()[0][:150]))
            print("  (%.1fs)" % (time.monotonic() - start))
            sys.stdout.flush()

"""``pynng-core cat`` against the real nngcat and nanocat: every protocol
pair, each program in each role, the payloads printed compared byte for
byte; each output format compared with nngcat's own output for the same
messages; TLS with nngcat; usage errors and failures; Ctrl-C; progress.

The interop exchanges are slow one by one (a process start, a connection,
a publisher's pause), so they all run at once in the module's first test
that needs them (``exchanges``) and each case then checks its own."""
import concurrent.futures
import select
import signal
import subprocess
import sys
import threading
import time
from typing import NamedTuple

import pytest

from platform_probes import sigint_missing, skip_unless
from peers import (DEFAULT_TIMEOUT, UrlFactory, cli_tls, parse_hex_line,
                   require_tool, tree_env, wait_for_listener, wait_until)
from pynng_core import Push0

pytestmark = pytest.mark.one_poller  # the sockets under test live in subprocesses

OURS = [sys.executable, "-m", "pynng_core", "cat"]
# Bytes a shell could not pass in an argument: every value, so printing is
# checked for all of them.
PAYLOAD = bytes(range(256)) + b" pynng_core\n"
REPLY = b"\x00reply\xff\"\\"


class Role(NamedTuple):
    protocol: str        # nngcat's name; nanocat drops the 0
    sends: bytes | None = None  # the data it is given, if any
    extra: tuple = ()    # its other flags


class Pattern(NamedTuple):
    """Two roles: the listener starts first, the dialer once it listens; what
    each must print; and which of them ends the exchange by exiting."""
    listener: Role
    dialer: Role
    listener_prints: list
    dialer_prints: list
    listener_finishes: bool


# The dialer of a pub/sub or bus exchange sends once its connection
# is surely up: messages sent before are dropped (nngcat pauses in whole
# seconds).
PAUSE = ("--delay", "1")
# A surveyor that listens sends its survey a pause after its own start; the
# dialer, started once the listener listens, must have connected by then.
# Ours is a Python process, slower to start under a sanitizer and beside
# the other exchanges (under ASan in CI, once, it connected too late for 1 s).
LISTENER_PAUSE = ("--delay", "3")

PATTERNS = {
    "push/pull": Pattern(Role("pull0"), Role("push0", PAYLOAD), [PAYLOAD], [], True),
    "pub/sub": Pattern(Role("sub0"), Role("pub0", PAYLOAD, PAUSE), [PAYLOAD], [], True),
    "req/rep": Pattern(Role("rep0", REPLY), Role("req0", PAYLOAD), [PAYLOAD], [REPLY], False),
    "surveyor/respondent": Pattern(Role("surveyor0", PAYLOAD, LISTENER_PAUSE),
                                   Role("respondent0", REPLY), [REPLY], [PAYLOAD], True),
    "pair0": Pattern(Role("pair0"), Role("pair0", PAYLOAD), [PAYLOAD], [], True),
    "pair1": Pattern(Role("pair1"), Role("pair1", PAYLOAD), [PAYLOAD], [], True),
    "bus": Pattern(Role("bus0"), Role("bus0", PAYLOAD, PAUSE), [PAYLOAD], [], True),
}

# Roles that print until told to stop: given --count 1 where the program
# has it, else a receive timeout (nanocat has no --count).
COUNTED = {"pull0", "sub0", "pair0", "pair1", "bus0", "rep0", "respondent0"}


def argv(program, role, listens, url, payload_file):
    """The command line of one role, for ours, nngcat or nanocat.  Ours
    speaks nanocat's spellings (--bind, --req) and --compat opposite
    nanocat, so its aliases and nanocat's ways are exercised too."""
    nanocat_style = program == "nanocat" or program == "ours-as-nanocat"
    protocol = role.protocol[:-1] if nanocat_style and role.protocol != "pair1" else role.protocol
    where = ("--bind" if listens else "--connect") if nanocat_style else \
        ("--listen" if listens else "--dial")
    command = OURS if program.startswith("ours") else [require_tool(program)]
    line = command + ["--" + protocol, where, url, "--hex"]
    if role.protocol in ("push0", "pub0"):
        line.remove("--hex")  # nngcat: these print nothing, and say so
    if role.sends is not None:
        line += ["--file", payload_file]
    if program == "ours-as-nanocat":
        line.append("--compat")  # --pair is pair0, as nanocat's; no --count
    # nngcat, given --count without --interval, sets its receive timeout to
    # -1 minus the milliseconds its send took: EINVAL ("Cannot set recv
    # timeout: Invalid argument", exit 1) once a send takes a millisecond,
    # as under ASan in CI.  Its senders here (pair, bus) never end the
    # exchange, so they go without: send once, then read until killed.
    if role.protocol in COUNTED and not (program == "nngcat" and role.sends is not None):
        # Long enough for its peer to start (ours, a Python process, takes
        # over a second under ASan beside the other exchanges) and pause;
        # a respondent first waits out the surveyor's LISTENER_PAUSE.
        wait = "6" if role.protocol == "respondent0" else "4"
        line += ["--recv-timeout", wait] if nanocat_style else ["--count", "1"]
    return line + list(role.extra)


class Case(NamedTuple):
    peer: str          # nngcat or nanocat
    pattern: str
    ours_listens: bool

    def __str__(self):
        return "%s-%s-ours-%s" % (self.peer, self.pattern.replace("/", "-"),
                                  "listening" if self.ours_listens else "dialing")


CASES = [Case(peer, pattern, ours_listens)
         for peer in ("nngcat", "nanocat") for pattern in PATTERNS
         if not (peer == "nanocat" and pattern == "pair1")
         for ours_listens in (True, False)]


def printed(stdout):
    return [parse_hex_line(line) for line in stdout.decode("ascii", "replace").splitlines()]


def run_exchange(case, urls):
    """Run one exchange; returns (listener's payloads, dialer's payloads, log)."""
    pattern = PATTERNS[case.pattern]
    ours = "ours-as-nanocat" if case.peer == "nanocat" else "ours"
    listener_program, dialer_program = (ours, case.peer) if case.ours_listens else (case.peer, ours)
    url = urls("tcp")
    files = {role: urls.file("%s-%s" % (case, n), role.sends)
             for n, role in enumerate((pattern.listener, pattern.dialer)) if role.sends}
    procs = []
    try:
        for program, role, listens in ((listener_program, pattern.listener, True),
                                       (dialer_program, pattern.dialer, False)):
            procs.append(subprocess.Popen(argv(program, role, listens, url, files.get(role)),
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          stdin=subprocess.DEVNULL, env=tree_env()))
            if listens:
                wait_for_listener(url)
        finisher = procs[0] if pattern.listener_finishes else procs[1]
        try:
            finisher.wait(DEFAULT_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass  # reported by its exit status: killed
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    outputs = [proc.communicate() for proc in procs]
    log = "; ".join("%s: exit %s, stderr %r" % (" ".join(map(str, p.args[:4])), p.returncode,
                                                  err[-300:])
                    for p, (_, err) in zip(procs, outputs))
    return printed(outputs[0][0]), printed(outputs[1][0]), finisher.returncode, log


@pytest.fixture(scope="module")
def exchanges():
    """Every case's outcome, the exchanges run side by side."""
    for tool in ("nngcat", "nanocat"):
        require_tool(tool)
    urls = UrlFactory()
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = {case: pool.submit(run_exchange, case, urls) for case in CASES}
            yield {case: future.result() for case, future in futures.items()}
    finally:
        urls.cleanup()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_interop(exchanges, case):
    pattern = PATTERNS[case.pattern]
    listener_got, dialer_got, finisher_status, log = exchanges[case]
    assert listener_got == pattern.listener_prints, log
    assert dialer_got == pattern.dialer_prints, log
    assert finisher_status == 0, log


def test_shorthand_addresses_count_and_interval(make_url):
    """-L/-l (tcp on loopback) and -X/-x (ipc) name the addresses nngcat's
    do; --count with --interval repeats a request, each reply printed."""
    nngcat = require_tool("nngcat")
    ipc = make_url("ipc")
    port = make_url("tcp").rpartition(":")[2]
    tcp = "tcp://127.0.0.1:" + port
    # nngcat repeats only in whole seconds (and without --interval its
    # rounds' timeout can come out negative: it then fails), so it asks twice.
    cases = [  # (listener, its url, dialer, how many requests)
        ([nngcat, "--rep0", "--listen", tcp, "-D", "pong", "--count", "3"], tcp,
         OURS + ["--req", "-l", port, "-D", "ping", "-C", "3", "-i", "0.05", "-Q"], 3),
        (OURS + ["--rep", "-X", ipc[len("ipc://"):], "-D", "pong", "-C", "2"], ipc,
         [nngcat, "--req0", "--dial", ipc, "-D", "ping", "-C", "2", "-i", "1", "-Q"], 2),
    ]
    for listener_argv, url, dialer_argv, requests in cases:
        listener = subprocess.Popen(listener_argv, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=tree_env())
        try:
            wait_for_listener(url)
            dialer = subprocess.run(dialer_argv, capture_output=True, timeout=DEFAULT_TIMEOUT,
                                    env=tree_env())
            listener.communicate(timeout=DEFAULT_TIMEOUT)
        finally:
            listener.kill()
        assert dialer.returncode == listener.returncode == 0, dialer.stderr
        assert dialer.stdout == b'"pong"\n' * requests


# --------------------------------------------------------------------------
# Output formats, against nngcat's output for the same messages

MESSAGES = [PAYLOAD, b"", b'say "hi"\\\t\r\n\x7f\x80', bytes(range(256)) * 300]


@pytest.mark.parametrize("fmt", [["--raw"], ["--ascii"], ["-A"], ["--quoted"], ["-Q"],
                                 ["--hex"], ["--msgpack"], ["--format", "no"],
                                 ["--format", "quoted"], []], ids=" ".join)
def test_format_is_nngcats(make_url, fmt):
    nngcat = require_tool("nngcat")
    outputs = {}
    receivers = {}
    for name, program in (("nngcat", [nngcat, "--pull0"]), ("ours", OURS + ["--pull"])):
        url = make_url("tcp")
        receivers[name] = subprocess.Popen(
            program + ["--listen", url, "--count", str(len(MESSAGES))] + fmt,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=tree_env())
        wait_for_listener(url)
        with Push0(dial=url) as push:
            for message in MESSAGES:
                push.send(message)
            outputs[name] = receivers[name].communicate(timeout=DEFAULT_TIMEOUT)
    assert outputs["ours"] == outputs["nngcat"]
    assert receivers["ours"].returncode == receivers["nngcat"].returncode == 0


# --------------------------------------------------------------------------
# TLS with nngcat


def test_tls_both_ways_with_nngcat(make_url, certs):
    """Ours (req) dials nngcat's TLS listener verifying it by --cacert, then
    nngcat (req) dials ours (rep) serving --cert and --key.  Each prints
    what the other sent."""
    nngcat = require_tool("nngcat")
    for ours_listens in (False, True):
        url = make_url("tls")
        roles = {"ours": ("rep0", "listen") if ours_listens else ("req0", "dial"),
                 "nngcat": ("req0", "dial") if ours_listens else ("rep0", "listen")}
        lines = {}
        for name, head in (("ours", OURS), ("nngcat", [nngcat])):
            protocol, mode = roles[name]
            where, tls = cli_tls(make_url, certs, mode, url)
            lines[name] = head + ["--" + protocol, "--" + mode, where, "--quoted",
                                  "--data", "from " + name] + tls
            if protocol == "rep0":
                lines[name] += ["--count", "1"]
        listener, dialer = ("ours", "nngcat") if ours_listens else ("nngcat", "ours")
        first = subprocess.Popen(lines[listener], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=tree_env())
        try:
            wait_for_listener(url)
            second = subprocess.run(lines[dialer], capture_output=True,
                                    timeout=DEFAULT_TIMEOUT, env=tree_env())
            out, err = first.communicate(timeout=DEFAULT_TIMEOUT)
        finally:
            first.kill()
        printed_by = {listener: out, dialer: second.stdout}
        log = (lines, err, second.stderr)
        assert printed_by["ours"] == b'"from nngcat"\n', log
        assert printed_by["nngcat"] == b'"from ours"\n', log


# --------------------------------------------------------------------------
# Errors: one line naming the bad thing, no traceback


def run_ours(*args, timeout=DEFAULT_TIMEOUT):
    return subprocess.run(OURS + list(args), capture_output=True, text=True,
                          timeout=timeout, env=tree_env())


@pytest.mark.parametrize("args, status, says", [
    (["--req0", "--dial", "bogus://nowhere", "--data", "x"], 1, "bogus://nowhere"),
    (["--req0", "--dial", "tcp://127.0.0.1:1", "--data", "x"], 1, "Connection refused"),
    (["--req0", "--dial", "tcp://127.0.0.1:1", "--data", "x", "--frobnicate"], 2,
     "--frobnicate"),
    (["--dial", "tcp://127.0.0.1:1"], 2, "no protocol given"),
    (["--req0", "--data", "x"], 2, "no address given"),
    (["--req0", "--pull0", "--dial", "tcp://127.0.0.1:1"], 2, "--pull0"),
    (["--push0", "--dial", "tcp://127.0.0.1:1"], 2, "requires either --file or --data"),
    (["--pull0", "--dial", "tcp://127.0.0.1:1", "--data", "x"], 2,
     "does not support --file or --data"),
    (["--push0", "--dial", "tcp://127.0.0.1:1", "--data", "x", "--hex"], 2,
     "does not support --format"),
    (["--pull0", "--dial", "tcp://127.0.0.1:1", "--format", "fancy"], 2, "fancy"),
    (["--pull0", "--dial", "tcp://127.0.0.1:1", "--hex", "--raw"], 2, "--raw"),
    (["--pull0", "--dial", "tcp://127.0.0.1:1", "--subscribe", "a"], 2, "--subscribe"),
    (["--pair1", "--compat", "--dial", "tcp://127.0.0.1:1"], 2, "--compat"),
    (["--pair", "--compat", "--count", "2", "--dial", "tcp://127.0.0.1:1"], 2, "--count"),
    (["--req0", "--dial", "tcp://127.0.0.1:1", "--file", "/no/such/file"], 1,
     "/no/such/file"),
    (["--pull0", "--dial", "tcp://127.0.0.1:1", "--recv-timeout", "-1"], 2,
     "--recv-timeout"),
])
def test_errors_are_one_line(args, status, says):
    result = run_ours(*args)
    assert result.returncode == status, result
    assert says in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_receive_timeout_ends_with_status_0_as_nngcats(make_url):
    """nngcat ends printing at a receive timeout, successfully; a replier
    that times out waiting to answer has failed (status 1)."""
    nngcat = require_tool("nngcat")
    runs = [(program + args + ["--listen", make_url("tcp")], status)
            for args, status in ((["--pull0", "--recv-timeout", "1"], 0),
                                 (["--rep0", "--data", "x", "--recv-timeout", "1"], 1))
            for program in ([nngcat], OURS)]
    procs = [(subprocess.Popen(line, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=tree_env()), status) for line, status in runs]
    for proc, status in procs:
        out, err = proc.communicate(timeout=DEFAULT_TIMEOUT)
        assert proc.returncode == status, (proc.args, err)
        assert b"Traceback" not in err, err


# --------------------------------------------------------------------------
# Ctrl-C and progress


def assert_interrupted(proc):
    """SIGINT to a running ``proc``: it exits 130 at once, in one line."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=5)
    assert proc.returncode == 130, (proc.returncode, err)
    assert b"interrupted" in err and b"Traceback" not in err, err
    return out


def start_ours(children, *args):
    return children(OURS + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    env=tree_env())


def test_ctrl_c_while_blocked_in_recv(children, make_url):
    skip_unless(sigint_missing())
    url = make_url("tcp")
    proc = start_ours(children, "--pull0", "--listen", url, "--hex")
    wait_for_listener(url)
    time.sleep(0.2)  # into its recv
    assert_interrupted(proc)


def test_ctrl_c_mid_stream(children, make_url):
    """A stream of messages being printed: what was printed is whole lines."""
    skip_unless(sigint_missing())
    url = make_url("tcp")
    proc = start_ours(children, "--pull0", "--listen", url, "--hex")
    wait_for_listener(url)
    stop = threading.Event()

    def push():
        with Push0(dial=url, send_timeout=1000) as sock:
            while not stop.is_set():
                try:
                    sock.send(PAYLOAD)
                except Exception:
                    return

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    try:
        # Printing has begun (select, not a read: communicate() reads the fd
        # itself, past anything a buffered read kept).
        wait_until(lambda: select.select([proc.stdout], [], [], 0)[0])
        out = assert_interrupted(proc)
    finally:
        stop.set()
        pusher.join(5)
    assert out.endswith(b"\n")
    lines = out.decode().splitlines()
    assert [parse_hex_line(line) for line in lines] == [PAYLOAD] * len(lines), lines[-2:]


def test_progress_on_stderr_stdout_untouched(children, make_url):
    url = make_url("tcp")
    proc = start_ours(children, "--pull0", "--listen", url, "--hex", "--count", "2", "--progress")
    wait_for_listener(url)
    with Push0(dial=url) as push:
        push.send(b"one")
        line = proc.stderr.readline()  # within a second
        assert line.startswith(b"received: 1/2 in "), line
        push.send(b"two")
        out, _ = proc.communicate(timeout=DEFAULT_TIMEOUT)
    assert proc.returncode == 0
    assert out == b'"\\x6f\\x6e\\x65"\n"\\x74\\x77\\x6f"\n'

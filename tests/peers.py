"""Helpers shared by the test modules.

* ``wait_until``: poll a predicate with a deadline (no fixed sleeps).
* URL helpers: a free TCP port, short ipc paths in a private temp dir,
  unique inproc names (see ``UrlFactory``, exposed as the ``make_url`` fixture).
* ``wait_for_listener``: poll until something accepts connections on a URL.
* ``CliPeer`` / ``start_cli``: run the real peers ``nngcat`` (nng-utils) and
  ``nanocat`` (nanomsg-utils) as listener or dialer, sending a payload or
  collecting received payloads; the subprocess is always killed on exit.
* Raw SP wire helpers for hand-written peers (handshake and framing).
"""

import itertools
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import pynng_core

# The folder holding the pynng_core these tests import (src/ of a tree, or
# site-packages): a subprocess given it on PYTHONPATH imports the same one.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(pynng_core.__file__)))


def tree_env(**extra):
    """Environment for a subprocess that must import the pynng_core under test."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_PARENT + (os.pathsep + env["PYTHONPATH"]
                                          if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env

import pytest

from platform_probes import cli_missing, ipc_missing, skip_unless, unix_sockets_missing

# Generous bound for anything that should happen "soon"; a bug shows up as a
# failed wait, never as a hang.
DEFAULT_TIMEOUT = 10.0
# recv/send timeout (ms) put on every socket the tests create.
SOCKET_TIMEOUT_MS = 5000


def _sigint_as_default():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interruptible_popen(argv, **kwargs):
    """Popen for a child that a test interrupts with SIGINT: its SIGINT is
    the default one even where this process was started with it ignored (a
    shell's background job is), so Python there raises KeyboardInterrupt."""
    if sys.platform != "win32":
        kwargs["preexec_fn"] = _sigint_as_default
    return subprocess.Popen(argv, **kwargs)


def wait_until(predicate, timeout=DEFAULT_TIMEOUT, interval=0.005, message=None):
    """Call ``predicate`` until it returns a true value (which is returned).

    Raises AssertionError after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(
                message or "condition not met within %.1fs: %r" % (timeout, predicate)
            )
        time.sleep(interval)


# Sizes on both sides of the stream transports' copy of small frames into
# chunks (up to 512 B, into 4000-byte chunks): the small frames of a burst
# that joins a write queue are copied, split across chunks and queued
# between whole messages.
BURST_SIZES = [0, 1, 63, 64, 500, 503, 504, 505, 900, 3990, 5000, 70000]
# Ahead of every 600 of them: more than the kernel takes at once, so the
# burst joins a write queue that has something in it.
BURST_BLOCKERS = 64
BURST_BLOCKER = 64 << 10


def wakeups_of(native_id):
    """How many times thread ``native_id`` of this process has gone to sleep
    and been woken (Linux: its voluntary context switches, in /proc)."""
    with open("/proc/self/task/%d/status" % native_id) as f:
        return int(f.read().split("voluntary_ctxt_switches:")[1].split()[0])


def mixed_burst(count):
    """count messages of BURST_SIZES in turn, each but the empty ones
    starting with its number, and BURST_BLOCKERS larger ones before every
    600."""
    out = []
    for i in range(count):
        if i % 600 == 0:
            out += [bytes([(i + k) % 251]) * BURST_BLOCKER for k in range(BURST_BLOCKERS)]
        size = BURST_SIZES[i % len(BURST_SIZES)]
        out.append((b"%06d" % i * (size // 6 + 1))[:size])
    return out


def transfer(sender, receiver, messages):
    """Send all messages while a thread receives them (so flow control
    cannot stall the sender); returns what was received, in order."""
    received = []
    errors = []

    def receive():
        try:
            for _ in messages:
                received.append(receiver.recv())
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    try:
        for msg in messages:
            sender.send(msg)
    finally:
        thread.join(DEFAULT_TIMEOUT * 3)
    assert not thread.is_alive(), "receiver still blocked"
    assert not errors, "receiver failed after %d messages: %r" % (len(received), errors[0])
    return received


# --------------------------------------------------------------------------
# URLs


# Ports handed out are picked below every OS's ephemeral range (Linux
# 32768-60999, Windows and macOS 49152-65535): a port the kernel gave for
# the asking (bind to 0) can meanwhile become some connection's source port
# before the test listens on it (seen under wine as AddressInUse).
_PORTS = range(10000, 32768)
_handed_out = set()


def free_tcp_port(host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(200):
        port = random.choice(_PORTS)
        if port in _handed_out:
            continue
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise AssertionError("no free tcp port on %s in %d-%d" % (host, _PORTS[0], _PORTS[-1]))


def tcp_url(host="127.0.0.1", port=None):
    if port is None:
        port = free_tcp_port(host)
    shown = "[%s]" % host if ":" in host else host
    return "tcp://%s:%d" % (shown, port)


def ipc_path(url):
    assert url.startswith("ipc://"), url
    return url[len("ipc://"):]


def abstract_name(url):
    """The bytes of an abstract:// URL's name (percent-decoded)."""
    assert url.startswith("abstract://"), url
    return urllib.parse.unquote_to_bytes(url[len("abstract://"):])


_inproc_counter = itertools.count()


class UrlFactory:
    """Makes fresh URLs for one test; ipc socket files live in a short private
    temp dir (AF_UNIX paths are limited to ~107 bytes) removed by cleanup()."""

    def __init__(self):
        self._dir = None
        self._n = itertools.count()
        self.tag = os.urandom(4).hex()  # pipe names are one namespace per host

    @property
    def dir(self):
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="pnc-", dir="/tmp")
        return self._dir

    def __call__(self, transport):
        if transport == "tcp":
            return tcp_url()
        if transport in ("ws", "wss"):  # no path: nanocat binds none
            return transport + tcp_url()[3:]
        if transport == "tls":
            return "tls+" + tcp_url()
        if transport == "ipc":
            skip_unless(ipc_missing())
            if sys.platform == "win32":  # a pipe name, \\.\pipe\<name>: no folder
                return "ipc://pnc-test-%d-%s-%d" % (os.getpid(), self.tag, next(self._n))
            return "ipc://%s/s%d" % (self.dir, next(self._n))
        if transport == "inproc":
            return "inproc://pnc-test-%d-%d" % (os.getpid(), next(_inproc_counter))
        if transport == "abstract":  # one namespace per host: the pid keeps it ours
            return "abstract://pnc-test-%d-%d" % (os.getpid(), next(_inproc_counter))
        raise ValueError("unknown transport %r" % transport)

    def file(self, name, data):
        """Write ``data`` to a file in the private dir and return its path."""
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def cleanup(self):
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


def _as_tcp(url):
    """A ws://, wss:// or tls+tcp:// URL's host and port as a tcp:// URL (the
    path dropped)."""
    scheme, _, rest = url.partition("://")
    if scheme in ("ws", "wss", "tls+tcp"):
        return "tcp://" + rest.partition("/")[0]
    return url


def _raw_connect(url, timeout=2.0):
    """Plain stream connection to a tcp://, ws://, ipc:// or abstract:// URL
    (no SP handshake, no WebSocket upgrade)."""
    url = _as_tcp(url)
    if url.startswith("tcp://"):
        rest = url[len("tcp://"):]
        host, _, port = rest.rpartition(":")
        host = host.strip("[]")
        return socket.create_connection((host, int(port)), timeout=timeout)
    if url.startswith(("ipc://", "abstract://")):
        skip_unless(unix_sockets_missing())  # Windows' ipc is a named pipe
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(ipc_path(url) if url.startswith("ipc://") else b"\0" + abstract_name(url))
        except BaseException:
            s.close()
            raise
        return s
    raise ValueError("cannot open a raw connection to %r" % url)


def raw_connect(url, timeout=DEFAULT_TIMEOUT):
    """Connect a plain socket to ``url``, retrying until something listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = _raw_connect(url)
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
        else:
            s.settimeout(timeout)
            return s


def _proc_listening(url):
    """Look the URL up in /proc/net (Linux) without connecting to it.

    Returns True/False, or None when /proc/net is unavailable.  A probe
    connection would be seen by the peer as a failed handshake, which some
    peers (nng 1.5.2 ipc) handle badly, so this is preferred.
    """
    url = _as_tcp(url)
    try:
        if url.startswith("tcp://"):
            port = int(url.rpartition(":")[2])
            for name in ("/proc/net/tcp", "/proc/net/tcp6"):
                with open(name, errors="replace") as f:
                    next(f)
                    for line in f:
                        fields = line.split()
                        local, state = fields[1], fields[3]
                        if state == "0A" and int(local.rpartition(":")[2], 16) == port:
                            return True
            return False
        if url.startswith(("ipc://", "abstract://")):
            # /proc shows an abstract name with '@' for its NULs, the leading one too.
            path = ipc_path(url) if url.startswith("ipc://") else \
                (b"\0" + abstract_name(url)).replace(b"\0", b"@").decode(errors="replace")
            with open("/proc/net/unix", errors="replace") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    # Flags has __SO_ACCEPTCON (0x10000) on listening sockets.
                    if len(fields) >= 8 and fields[7] == path and int(fields[3], 16) & 0x10000:
                        return True
            return False
    except OSError:
        return None
    raise ValueError("cannot check listening state of %r" % url)


def is_listening(url):
    """True if something listens on the tcp:// or ipc:// URL."""
    state = _proc_listening(url)
    if state is not None:
        return state
    try:
        _raw_connect(url, timeout=1.0).close()
    except OSError:
        return False
    return True


def wait_for_listener(url, timeout=DEFAULT_TIMEOUT):
    """Wait until something listens on ``url`` (tcp or ipc)."""
    wait_until(lambda: is_listening(url), timeout, interval=0.01,
               message="nothing listening on %s after %.0fs" % (url, timeout))


# --------------------------------------------------------------------------
# Raw SP wire (wire.md section 2)

PROTO_ID = {
    "pair0": 0x10,
    "pair1": 0x11,
    "pub0": 0x20,
    "sub0": 0x21,
    "push0": 0x50,
    "pull0": 0x51,
}


def sp_header(proto_id):
    """The 8-byte SP handshake: 00 'S' 'P' 00, protocol id (BE u16), 00 00."""
    return b"\x00SP\x00" + struct.pack(">H", proto_id) + b"\x00\x00"


def frame(transport, payload, length=None):
    """One message on a stream transport; ``length`` overrides the u64 prefix."""
    if length is None:
        length = len(payload)
    prefix = struct.pack(">Q", length)
    if transport == "ipc":
        prefix = b"\x01" + prefix
    elif transport != "tcp":
        raise ValueError(transport)
    return prefix + payload


def recv_exactly(sock, n):
    """Read exactly n bytes from a plain socket (its timeout applies)."""
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise EOFError("connection closed with %d bytes still expected" % n)
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def prefix_size(transport):
    """Bytes before a stream transport's payload: ipc's type byte, the u64."""
    return 9 if transport == "ipc" else 8


def frame_length(prefix, transport):
    """The payload length that a frame's prefix announces."""
    if transport == "ipc":
        assert prefix[:1] == b"\x01", "ipc message type byte %r, expected 0x01" % prefix[:1]
        prefix = prefix[1:]
    (length,) = struct.unpack(">Q", prefix)
    assert length < 1 << 30, "absurd frame length %d" % length
    return length


def read_frame(sock, transport):
    """Read one framed message from a plain socket; returns the payload."""
    return recv_exactly(sock, frame_length(recv_exactly(sock, prefix_size(transport)), transport))


def split_frames(data, transport):
    """The payloads of the whole frames that ``data`` holds back to back."""
    payloads, at, size = [], 0, prefix_size(transport)
    while at < len(data):
        assert len(data) - at >= size, "a frame prefix cut short"
        length = frame_length(bytes(data[at:at + size]), transport)
        at += size
        assert len(data) - at >= length, "a payload cut short: %d of %d bytes" % (
            len(data) - at, length)
        payloads.append(bytes(data[at:at + length]))
        at += length
    return payloads


def closed_by_peer(sock, timeout=DEFAULT_TIMEOUT):
    """True once the other end closes ``sock`` (EOF or reset) within timeout.

    Any bytes the peer sends first (e.g. its handshake) are read and ignored.
    """
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        if not data:
            return True


# --------------------------------------------------------------------------
# Real peers: nngcat and nanocat

CLI_PATHS = {"nngcat": "/usr/bin/nngcat", "nanocat": "/usr/bin/nanocat"}

_NNGCAT_PROTO = {"pair0": "--pair0", "pair1": "--pair1", "push0": "--push0", "pull0": "--pull0"}
_NANOCAT_PROTO = {"pair0": "--pair", "push0": "--push", "pull0": "--pull"}


# Set where the CLI peers cannot be had (cibuildwheel's build images, the
# macOS and Windows CI runners): their tests then skip, saying so.
NO_CLI_PEERS = "PYNNG_CORE_NO_CLI_PEERS"


def require_tool(tool):
    """Path of nngcat/nanocat.  Skips where they cannot run (Windows) or
    where the environment sets PYNNG_CORE_NO_CLI_PEERS=1 and they are not
    installed; otherwise a missing peer fails."""
    skip_unless(cli_missing())
    path = CLI_PATHS[tool]
    if not os.access(path, os.X_OK):
        found = shutil.which(tool)
        if not found and os.environ.get(NO_CLI_PEERS) == "1":
            pytest.skip("%s not installed, and %s=1 says it need not be" % (tool, NO_CLI_PEERS))
        if not found:
            pytest.fail(
                "%s not found (expected at %s): install the real peers with "
                "`apt-get install nng-utils nanomsg-utils`" % (tool, path),
                pytrace=False,
            )
        path = found
    return path


_HEX_LINE = re.compile(r'^"((?:\\x[0-9a-f]{2})*)"$')


def parse_hex_line(line):
    """Parse one line of nngcat/nanocat --hex output: "\\x61\\x62" -> b"ab"."""
    m = _HEX_LINE.match(line)
    if m is None:
        return None
    return bytes.fromhex(m.group(1).replace("\\x", ""))


class CliPeer:
    """A running nngcat/nanocat; received messages (printed with --hex) are
    collected by a reader thread into ``self.messages``."""

    def __init__(self, argv):
        self.argv = argv
        self.messages = []
        self.unparsed = []
        self._stderr = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode("ascii", "replace").rstrip("\r\n")
            payload = parse_hex_line(line)
            with self._lock:
                if payload is None:
                    self.unparsed.append(line)
                else:
                    self.messages.append(payload)

    def _read_stderr(self):
        for raw in self.proc.stderr:
            with self._lock:
                self._stderr.append(raw.decode("utf-8", "replace"))

    @property
    def stderr(self):
        with self._lock:
            return "".join(self._stderr)

    def describe(self):
        with self._lock:
            got = len(self.messages)
        return "%s (exit status %s, %d messages so far, stderr: %r, unparsed stdout: %r)" % (
            " ".join(self.argv), self.proc.poll(), got, self.stderr, self.unparsed[:5])

    def wait_messages(self, n, timeout=DEFAULT_TIMEOUT):
        """Wait until at least n messages were printed; returns the first n."""
        def enough():
            with self._lock:
                return len(self.messages) >= n
        try:
            wait_until(enough, timeout, interval=0.01)
        except AssertionError:
            raise AssertionError("expected %d messages from %s" % (n, self.describe())) from None
        with self._lock:
            assert not self.unparsed, "unexpected output from %s" % self.describe()
            return list(self.messages[:n])

    def wait_exit(self, timeout=DEFAULT_TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s did not exit within %.0fs" % (self.describe(), timeout)) from None

    def assert_alive(self):
        assert self.proc.poll() is None, "peer died: %s" % self.describe()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(5)
        finally:
            for t in self._threads:
                t.join(5)
            self.proc.stdout.close()
            self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def cli_argv(tool, proto, mode, url, *, payload_file=None, count=None,
             recv_timeout=None):
    """Build the command line for nngcat/nanocat.

    proto: pair0 / pair1 / push0 / pull0 (pair1: nngcat only);
    mode: "listen" or "dial"; payload_file: data to send (binary-safe, read
    with --file); count: for nngcat senders, how many times to send it
    (--count; a nanocat pusher resends every 10 ms until killed); recv_timeout: seconds
    of silence after which a receiver exits.  Received messages are printed
    with --hex, one line each, which is unambiguous to parse.
    """
    exe = require_tool(tool)
    table = _NNGCAT_PROTO if tool == "nngcat" else _NANOCAT_PROTO
    if proto not in table:
        raise ValueError("%s does not speak %s" % (tool, proto))
    if tool == "nngcat":
        where = {"listen": "--listen", "dial": "--dial"}[mode]
    else:
        where = {"listen": "--bind", "dial": "--connect"}[mode]
    argv = [exe, table[proto], where, url]
    if proto != "push0":
        argv.append("--hex")
    if payload_file is not None:
        argv += ["--file", payload_file]
        if tool == "nngcat":
            if count is not None and count > 1:
                argv += ["--count", str(count), "--interval", "0"]
        elif proto == "push0":
            # nanocat exits right after a one-shot send, and nanomsg 1.1.5
            # has no linger: a large message may never leave.  So a nanocat
            # pusher resends every 10 ms until it is killed; the test reads
            # as many copies as it needs.
            argv += ["--interval", "0.01"]
    if recv_timeout is not None:
        argv += ["--recv-timeout", str(recv_timeout)]
    return argv


def cli_tls(urls, certs, mode, url):
    """nngcat's side of a tls+tcp:// or wss:// connection (certs from
    tls_certs.make_certs; None for a plain transport): the URL it uses and
    its TLS options.  A listener serves the server certificate; a dialer
    verifies it by the CA and dials `localhost`, as its mbedTLS matches no
    IP address SAN.  The PEM files go in the test's folder."""
    if certs is None:
        return url, []
    n = next(_inproc_counter)  # concurrent cases share the folder
    if mode == "listen":
        cert, key = certs["server"]
        return url, ["--cert", urls.file("server-%d.pem" % n, cert.encode()),
                     "--key", urls.file("server-key-%d.pem" % n, key.encode())]
    return (url.replace("://127.0.0.1:", "://localhost:"),
            ["--cacert", urls.file("ca-%d.pem" % n, certs["ca"].encode())])


def start_cli(tool, proto, mode, url, urls, *, payload=None, count=None,
              recv_timeout=None, certs=None):
    """Start nngcat/nanocat; ``urls`` is the test's UrlFactory (holds the
    payload file); ``certs`` (tls_certs.make_certs) for a tls+tcp:// or
    wss:// url.  Returns a CliPeer; use it as a context manager."""
    payload_file = None
    if payload is not None:
        payload_file = urls.file("payload-%d" % next(_inproc_counter), payload)
    url, tls_args = cli_tls(urls, certs, mode, url)
    return CliPeer(cli_argv(tool, proto, mode, url, payload_file=payload_file,
                            count=count, recv_timeout=recv_timeout) + tls_args)

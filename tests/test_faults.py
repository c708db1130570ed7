"""Faults: dead and restarted peers, a lossy link, peers killed mid-message,
and a bounded multi-thread stress run.

* A dialer whose listener dies redials with a growing backoff (never beyond
  reconnect_time_max) and delivers once a listener is back.
* Req/rep with resend_time survives its server being SIGKILLed with
  requests outstanding and restarted on the same address: every request
  gets its own reply.
* Push/pull across two network namespaces joined by a link that loses,
  delays and reorders packets delivers thousands of numbered messages, all
  of them, in order.
* A peer killed mid-message (a raw socket, and a pynng_core process
  SIGKILLed inside a large send) delivers no part of it; the receiver keeps
  serving its other peers and their messages stay whole.
* tests/stress.py: many threads opening, using and closing everything at
  once end with no crash, no hang and no leaked descriptor.

Subprocesses import the pynng_core of this tree (PYTHONPATH), never an
installed copy.
"""
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import pynng_core
from pynng_core import Pull0, Push0, Req0
from platform_probes import skip_unless, unix_sockets_missing
from peers import (
    frame, free_tcp_port, ipc_path, raw_connect, recv_exactly, sp_header, tree_env,
    wait_until,
)

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSPORTS = ["tcp", "ipc"]


def listen_url(transport, make_url):
    return "tcp://127.0.0.1:%d" % free_tcp_port() if transport == "tcp" else make_url("ipc")


# --------------------------------------------------------------------------
# 1. Backoff while the listener is gone


class DeadServer:
    """What is left on an address when its server is dead but the address
    still answers: a plain socket that accepts each connection and drops it
    at once.  Records when each connection (a redial) came."""

    def __init__(self, url):
        if url.startswith("tcp://"):
            host, port = url[len("tcp://"):].rsplit(":", 1)
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host, int(port)))
        else:
            skip_unless(unix_sockets_missing())  # a raw ipc server: AF_UNIX
            self.path = ipc_path(url)
            if os.path.exists(self.path):
                os.unlink(self.path)
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(self.path)
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.times = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.times.append(time.monotonic())
            conn.close()

    def close(self):
        self._stop = True
        self._thread.join(5)
        self.sock.close()
        if getattr(self, "path", None) and os.path.exists(self.path):
            os.unlink(self.path)


BACKOFF_MIN = 40    # ms
BACKOFF_MAX = 640   # ms
ATTEMPTS = 12       # redials to record: the waits reach the max after 4


@pytest.mark.core_only
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dialer_backs_off_while_listener_is_dead_then_delivers(transport, make_url):
    url = listen_url(transport, make_url)
    # The dead server holds the address before the first dial, so every
    # attempt reaches it and the backoff is known from the start: the waits
    # are random in [0, 40), [0, 80), [0, 160), [0, 320), then [0, 640).
    # (Killing a live listener first would leave a window in which redials
    # are refused and double the backoff an unknown number of times.)
    dead = DeadServer(url)
    push = Push0(reconnect_time_min=BACKOFF_MIN, reconnect_time_max=BACKOFF_MAX,
                 send_timeout=15000)
    pull = None
    try:
        push.dial(url, block=False)
        wait_until(lambda: len(dead.times) >= ATTEMPTS, timeout=30,
                   message="the dialer stopped redialing: %d attempts" % len(dead.times))
        times = list(dead.times[:ATTEMPTS])
        gaps = [(b - a) * 1000 for a, b in zip(times, times[1:])]
        shown = "redial gaps (ms): %s" % ", ".join("%.0f" % g for g in gaps)
        # No wait much beyond the max (generous slack for a loaded machine) ...
        assert max(gaps) < BACKOFF_MAX + 1500, shown
        # ... the waits grew: the first two average 30 ms expected, the last
        # six (each in [0, 640)) 320 ms; by chance otherwise about once in
        # 10^6 runs ...
        first, last = gaps[:2], gaps[-6:]
        assert sum(last) / len(last) > sum(first) / len(first), shown
        # ... and they went well beyond the minimum (towards the max).
        assert max(last) > 2 * BACKOFF_MIN, shown
        # Nothing of the dead connections became a pipe.
        assert push.stats["pipes_opened"] == 0

        dead.close()
        dead = None
        pull = Pull0(listen=url, recv_timeout=15000)
        t0 = time.monotonic()
        push.send(b"after")  # waits for the redial to the live listener
        assert pull.recv() == b"after"
        # It came back within one maximal wait (plus slack), not later.
        assert time.monotonic() - t0 < (BACKOFF_MAX + 5000) / 1000
        assert push.stats["pipes_opened"] == 1

        pull.close()  # the listener dies, and its connection with it
        # What is sent before the dialer has seen its connection go is
        # lost with it, as over any stream (nng's too): wait for that.
        wait_until(lambda: not push.pipes, timeout=10)
        pull = Pull0(listen=url, recv_timeout=15000)
        push.send(b"again")  # the lost pipe is redialed
        assert pull.recv() == b"again"
        assert push.stats["pipes_opened"] == 2
    finally:
        if dead is not None:
            dead.close()
        push.close()
        if pull is not None:
            pull.close()


# --------------------------------------------------------------------------
# 2. Req/rep across a server restart (SIGKILL with requests outstanding)

REP_SERVER = textwrap.dedent("""
    import sys
    import pynng_core
    url, hold_after = sys.argv[1], int(sys.argv[2])
    rep = pynng_core.Rep0(listen=url)
    print("ready", flush=True)
    served = 0
    while True:
        req = rep.recv()
        if hold_after and served >= hold_after:
            # Stop answering: requests stay outstanding at the client.
            print("held " + req.decode(), flush=True)
            continue
        rep.send(b"reply:" + req)
        served += 1
        print("served " + req.decode(), flush=True)
""")


class ServerProcess:
    def __init__(self, url, hold_after):
        self.lines = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", REP_SERVER, url, str(hold_after)], env=tree_env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        wait_until(lambda: "ready" in self.snapshot() or self.proc.poll() is not None,
                   timeout=20)
        assert self.proc.poll() is None, "server died: %s" % self.proc.stderr.read()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def with_prefix(self, prefix):
        return {line[len(prefix):] for line in self.snapshot() if line.startswith(prefix)}

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()  # SIGKILL; TerminateProcess on Windows
        self.proc.wait(10)
        self.reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()


CLIENT_THREADS = 8
REQUESTS_EACH = 6


@pytest.mark.core_only
@pytest.mark.one_poller
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_req_rep_resend_survives_server_restart(transport, make_url):
    url = listen_url(transport, make_url)
    # The first server answers some requests, then holds every later one.
    first = ServerProcess(url, hold_after=CLIENT_THREADS * 2)
    second = None
    req = Req0(resend_time=300, reconnect_time_min=20, reconnect_time_max=200,
               recv_timeout=30000, send_timeout=30000)
    results = {}
    errors = []
    current = {}  # client -> the request it waits for (None: finished)

    def client(k):
        ctx = req.new_context()
        try:
            for i in range(REQUESTS_EACH):
                body = "c%d-r%d" % (k, i)
                current[k] = body
                ctx.send(body.encode())
                results[body] = ctx.recv()
        except Exception as exc:
            errors.append((k, repr(exc)))
        finally:
            current[k] = None
            ctx.close()

    def all_held():
        held = first.with_prefix("held ")
        waiting = [current.get(k, "not started") for k in range(CLIENT_THREADS)]
        return all(w is None or w in held for w in waiting) and len(held) >= 4

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENT_THREADS)]
    try:
        req.dial(url, block=True)
        for t in threads:
            t.start()
        # Every client still at work ends up waiting for a request that the
        # first server holds (it answers 16 of the 48, then none).
        wait_until(all_held, timeout=30,
                   message="the clients never all waited on held requests")
        held = first.with_prefix("held ")
        first.kill()
        second = ServerProcess(url, hold_after=0)
        for t in threads:
            t.join(40)
        assert not any(t.is_alive() for t in threads), "a client is still waiting"
        assert not errors, errors
        expected = {"c%d-r%d" % (k, i) for k in range(CLIENT_THREADS)
                    for i in range(REQUESTS_EACH)}
        assert set(results) == expected
        for body, reply in results.items():
            assert reply == b"reply:" + body.encode(), (body, reply)
        # The requests the killed server held were resent to the new one.
        assert held <= second.with_prefix("served "), (held, second.snapshot())
    finally:
        req.close()
        for t in threads:
            t.join(5)
        first.kill()
        if second is not None:
            second.kill()


# --------------------------------------------------------------------------
# 3. Push/pull over a lossy, slow, reordering link between namespaces

NETEM = "delay 20ms 10ms loss 5% reorder 25% 50%"
LINK_MESSAGES = 2500


def _run(cmd, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def _refused(what, result):
    return "%s: `%s` refused by the kernel: %s" % (
        what, " ".join(result.args), (result.stderr or result.stdout).strip())


class Namespaces:
    """A network namespace joined to this one by a lossy link; always torn
    down.  kind "netem": a veth pair with netem on both ends; kind "tun": a
    pair of TUN devices with tests/linkemu.py carrying the packets between
    them with the same impairments (for kernels without netem)."""

    def __init__(self, kind):
        self.kind = kind
        tag = "%d%03d" % (os.getpid() % 100000, random.randrange(1000))
        self.ns = "pnc-ns-" + tag
        self.dev_a, self.dev_b = "pnca" + tag, "pncb" + tag
        self.emu = None
        self.made_ns = False
        used = _run(["ip", "-o", "addr"], check=False).stdout
        while True:
            net = "10.%d.%d" % (random.randrange(200, 250), random.randrange(256))
            if net + "." not in used:
                break
        self.addr_a, self.addr_b = net + ".1", net + ".2"

    def skip_unless(self, result, what):
        if result.returncode != 0:
            self.close()
            pytest.skip(_refused(what, result))

    def open(self):
        if os.geteuid() != 0:
            pytest.skip("network namespaces need root (euid %d)" % os.geteuid())
        self.skip_unless(_run(["ip", "netns", "add", self.ns], check=False),
                         "network namespace")
        self.made_ns = True
        _run(["ip", "-n", self.ns, "link", "set", "lo", "up"])
        if self.kind == "netem":
            self.skip_unless(_run(["ip", "link", "add", self.dev_a, "type", "veth", "peer",
                                   "name", self.dev_b], check=False), "veth pair")
            _run(["ip", "link", "set", self.dev_b, "netns", self.ns])
            for ns_args, dev in (([], self.dev_a), (["-n", self.ns], self.dev_b)):
                self.skip_unless(_run(["tc"] + ns_args + ["qdisc", "add", "dev", dev, "root",
                                                          "netem"] + NETEM.split(),
                                      check=False), "netem")
            _run(["ip", "addr", "add", self.addr_a + "/30", "dev", self.dev_a])
            _run(["ip", "-n", self.ns, "addr", "add", self.addr_b + "/30", "dev", self.dev_b])
        else:
            sys.path.insert(0, HERE)
            import linkemu
            try:
                fd = linkemu.open_tun(self.dev_a)
            except OSError as exc:
                self.close()
                pytest.skip("TUN device: opening /dev/net/tun refused: %s" % exc)
            try:
                delay, jitter, loss, reorder, corr = re.findall(r"[\d.]+", NETEM)
                self.emu = subprocess.Popen(
                    ["ip", "netns", "exec", self.ns, sys.executable,
                     os.path.join(HERE, "linkemu.py"), "--fd-a", str(fd), "--dev-b",
                     self.dev_b, "--delay", delay, "--jitter", jitter, "--loss", loss,
                     "--reorder", reorder, "--corr", corr],
                    pass_fds=(fd,), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            finally:
                os.close(fd)  # the emulator holds it now
            line = self.emu.stdout.readline().strip()
            if line != "ready":
                err = self.emu.stderr.read()
                self.close()
                pytest.skip("TUN device in the namespace refused: %s %s" % (line, err))
            _run(["ip", "addr", "add", self.addr_a, "peer", self.addr_b, "dev", self.dev_a])
            _run(["ip", "-n", self.ns, "addr", "add", self.addr_b, "peer", self.addr_a,
                  "dev", self.dev_b])
        _run(["ip", "link", "set", self.dev_a, "up"])
        _run(["ip", "-n", self.ns, "link", "set", self.dev_b, "up"])
        return self

    def link_counts(self):
        """What the link did to the packets: dropped and reordered counts."""
        if self.kind == "tun":
            self.emu.terminate()
            out, _ = self.emu.communicate(timeout=10)
            self.emu = None
            return json.loads(out.strip().splitlines()[-1])
        dropped = 0
        for ns_args, dev in (([], self.dev_a), (["-n", self.ns], self.dev_b)):
            out = _run(["tc", "-s"] + ns_args + ["qdisc", "show", "dev", dev]).stdout
            dropped += sum(int(n) for n in re.findall(r"dropped (\d+)", out))
        return {"dropped": dropped}

    def close(self):
        if self.emu is not None:
            self.emu.kill()
            self.emu.communicate(timeout=10)
            self.emu = None
        if self.made_ns:
            _run(["ip", "netns", "del", self.ns], check=False)
            self.made_ns = False
        _run(["ip", "link", "del", self.dev_a], check=False)  # gone already, normally
        names = _run(["ip", "netns", "list"], check=False).stdout
        assert self.ns not in names, "namespace %s left behind" % self.ns


@pytest.fixture(params=["netem", "tun"])
def lossy_link(request):
    if not sys.platform.startswith("linux"):
        pytest.skip("needs Linux network namespaces (ip netns, veth, netem, TUN); "
                    "this is %s" % sys.platform)
    link = Namespaces(request.param)
    try:
        yield link.open()
    finally:
        link.close()


PULL_SIDE = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {here!r})
    import pynng_core
    from stress import check_payload
    url, count = sys.argv[1], int(sys.argv[2])
    pull = pynng_core.Pull0(listen=url, recv_timeout=60000)
    print("ready", flush=True)
    bad = []
    for i in range(count):
        data = pull.recv()
        try:
            tag, seq = check_payload(data, b"link")
        except ValueError as e:
            bad.append(str(e))
            continue
        if seq != i:
            bad.append("message %d arrived as number %d" % (seq, i))
    print(json.dumps({{"received": count, "bad": bad[:10], "stats": pull.stats}}), flush=True)
""")


@pytest.mark.core_only
@pytest.mark.one_poller
@pytest.mark.timeout(120)
def test_push_pull_in_order_over_lossy_reordering_link(lossy_link):
    sys.path.insert(0, HERE)
    from stress import payload
    link = lossy_link
    port = 15000 + random.randrange(20000)
    url = "tcp://%s:%d" % (link.addr_b, port)
    proc = subprocess.Popen(
        ["ip", "netns", "exec", link.ns, sys.executable, "-c",
         PULL_SIDE.format(here=HERE), url, str(LINK_MESSAGES)],
        env=tree_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    push = Push0(send_timeout=60000, reconnect_time_min=50, reconnect_time_max=500)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        push.dial(url, block=False)
        # Sizes from a few bytes to several segments (one in 50 is 20 KB).
        for i in range(LINK_MESSAGES):
            push.send(payload(b"link", i, 20000 if i % 50 == 7 else (i * 37) % 700))
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        result = json.loads(out.strip().splitlines()[-1])
        assert result["bad"] == [], result["bad"]
        assert result["received"] == LINK_MESSAGES
        counts = link.link_counts()
        # The link did lose and reorder packets on the way.
        assert counts["dropped"] > 0, counts
        if "reordered" in counts:
            assert counts["reordered"] > 0, counts
    finally:
        push.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


# --------------------------------------------------------------------------
# 4. A peer killed in the middle of a message

BIG = 1 << 20


def good_msg(i):
    return b"good-%06d-" % i + bytes((i + j) & 0xFF for j in range(200))


def assert_good(data, i):
    assert data == good_msg(i), "message %d damaged or out of order: %r" % (i, data[:40])


def pipe_count(s):
    return len(s.pipes)


@pytest.mark.parametrize("ending", ["close", "reset"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_raw_peer_dying_mid_frame_delivers_nothing(transport, ending, make_url):
    url = make_url(transport) if transport == "ipc" else "tcp://127.0.0.1:%d" % free_tcp_port()
    target = Pull0(listen=url, recv_timeout=10000, recv_max_size=4 * BIG)
    good = Push0(dial=url, send_timeout=10000)
    try:
        wait_until(lambda: pipe_count(target) == 1)
        n = 0
        for _ in range(5):
            good.send(good_msg(n))
            assert_good(target.recv(), n)
            n += 1
        raw = raw_connect(url)
        raw.sendall(sp_header(0x50))  # a push peer
        assert recv_exactly(raw, 8) == sp_header(0x51)
        wait_until(lambda: pipe_count(target) == 2)
        # A 1 MiB frame of which 600 KB come, interleaved with whole
        # messages of the good peer ...
        prefix = frame(transport, b"", length=BIG)
        raw.sendall(prefix)
        for _ in range(6):
            raw.sendall(b"H" * 100000)
            good.send(good_msg(n))
            assert_good(target.recv(), n)
            n += 1
        # ... then the peer dies.
        if ending == "reset":
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()
        wait_until(lambda: pipe_count(target) == 1,
                   message="the dead peer's pipe is still open")
        for _ in range(20):
            good.send(good_msg(n))
            assert_good(target.recv(), n)
            n += 1
        with pytest.raises(pynng_core.TryAgain):
            target.recv(block=False)
        assert target.stats["msgs_in"] == n  # the half message was never counted in
    finally:
        good.close()
        target.close()


PUSH_PROCESS = textwrap.dedent("""
    import sys
    import pynng_core
    url = sys.argv[1]
    push = pynng_core.Push0(dial=url, send_timeout=60000)
    for i in range(int(sys.argv[2])):
        push.send(b"small-%d" % i)
    big = b"K" * int(sys.argv[3])
    print("big", flush=True)
    push.send(big)
    print("sent", flush=True)
    import time
    time.sleep(60)
""")


def kernel_queued(url):
    """Bytes waiting in the kernel to be read on the accepted side of
    connections to ``url`` (tcp or ipc), from `ss`."""
    if url.startswith("tcp://"):
        port = url.rsplit(":", 1)[1]
        out = _run(["ss", "-Htn", "state", "established", "( sport = :%s )" % port]).stdout
        return sum(int(line.split()[0]) for line in out.splitlines() if line.strip())
    path = ipc_path(url)
    out = _run(["ss", "-Hxn"]).stdout
    total = 0
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[4] == path and fields[1] == "ESTAB":
            total += int(fields[2])
    return total


SMALL = 50
BIG_MAX = 512 << 20


def unsendable_size(transport):
    """A frame the kernel cannot take whole while nobody reads it: twice
    the most a tcp connection's two ends may buffer, as this
    machine's sysctls allow (unix sockets buffer far less), and at least
    64 MiB."""
    held = 0
    if transport == "tcp":
        for name in ("tcp_wmem", "tcp_rmem"):
            with open("/proc/sys/net/ipv4/" + name) as f:
                held += int(f.read().split()[2])
    return max(64 << 20, 2 * held)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_process_killed_inside_large_send_delivers_nothing(transport, make_url):
    if shutil.which("ss") is None or not os.path.isdir("/proc/sys/net/ipv4"):
        # Seen under wine: /proc is there (the Linux file system), ss is not.
        pytest.skip("watches the kernel's tcp queues with iproute2's ss and sizes the frame "
                    "from /proc/sys/net/ipv4: not on %s" % sys.platform)
    url = make_url(transport) if transport == "ipc" else "tcp://127.0.0.1:%d" % free_tcp_port()
    big = unsendable_size(transport)
    if big > BIG_MAX:
        pytest.skip("net.ipv4.tcp_wmem/tcp_rmem would need a %d MiB frame" % (big >> 20))
    # The target keeps one message queued: while nobody receives, the
    # connection stops being read, so `big` cannot all reach it; the killed
    # sender has then certainly written part of it and not all (its send
    # may have returned: what the kernel did not take waits in its queue).
    target = Pull0(listen=url, recv_timeout=10000, recv_buffer_size=1,
                   recv_max_size=2 * big)
    good = Push0(dial=url, send_timeout=20000)
    proc = subprocess.Popen([sys.executable, "-c", PUSH_PROCESS, url, str(SMALL), str(big)],
                            env=tree_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "big", proc.stderr.read()
        # Part of the big frame is stuck in the kernel on our side.
        wait_until(lambda: kernel_queued(url) > 64 * 1024, timeout=20,
                   message="the big frame never started to come")
        # Where the bytes were, should the send have finished: in the
        # kernel's queues (Recv-Q, Send-Q) or read by the target.
        queues = _run(["ss", "-Hn", "state", "established"]).stdout
        proc.kill()  # SIGKILL; TerminateProcess on Windows
        proc.wait(10)
        # The sender's send may have returned before the kill ("sent"): it
        # returns once the message is queued (stream_write_lent_locked), and
        # the bytes were still on their way, stuck in the kernel as `queues`
        # shows.  What counts is what the target gets.
        said = proc.stdout.read().split()
        got_small = []
        while len(got_small) < SMALL:
            got_small.append(target.recv())
        assert got_small == [b"small-%d" % i for i in range(SMALL)]
        wait_until(lambda: pipe_count(target) == 1,
                   message="the killed peer's pipe is still open")
        for i in range(50):
            good.send(good_msg(i))
            assert_good(target.recv(), i)
        with pytest.raises(pynng_core.TryAgain):
            target.recv(block=False)
        assert target.stats["msgs_in"] == SMALL + 50, (
            "the sender said %s; connections at the kill:\n%s" % (said, queues))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
        good.close()
        target.close()


# --------------------------------------------------------------------------
# 5. Thread stress (tests/stress.py, in a process of its own)

STRESS_SECONDS = float(os.environ.get("PNC_STRESS_SECONDS", "10"))
STRESS_WORKLOADS = ["pair0", "pair1", "pull", "push0", "rep0", "req0", "pub", "sub0",
                    "surveyor0", "respondent0", "bus0", "churn0", "async"]


@pytest.mark.timeout(STRESS_SECONDS + 120)
def test_thread_stress(poller):
    """Runs in a process of its own: a crash there is a failed test with the
    signal and the stacks, not the end of the test session.  (A crash on the
    core's I/O thread leaves no Python stack: that thread blocks signals,
    so faulthandler cannot run on it.)"""
    cmd = [sys.executable, "-X", "faulthandler", os.path.join(HERE, "stress.py"),
           "--seconds", str(STRESS_SECONDS), "--poller", poller, "--json"]
    try:
        proc = subprocess.run(cmd, env=tree_env(), capture_output=True, text=True,
                              timeout=STRESS_SECONDS + 100)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("stress run hung; stderr:\n%s" % (exc.stderr,)) from None
    if proc.returncode < 0:
        raise AssertionError("stress run died of signal %d (%s); stderr:\n%s" % (
            -proc.returncode, signal.Signals(-proc.returncode).name, proc.stderr[-6000:]))
    lines = proc.stdout.strip().splitlines()
    assert lines, "no report (rc %d); stderr:\n%s" % (proc.returncode, proc.stderr[-6000:])
    report = json.loads(lines[-1])
    assert not report["hung"], "threads did not finish:\n%s" % "\n".join(
        "%s:\n%s" % tuple(h) for h in report["hung"])
    assert not report["failures"], "\n\n".join("%s:\n%s" % tuple(f)
                                              for f in report["failures"])
    idle = [w for w in STRESS_WORKLOADS if not report["ops"].get(w)]
    assert not idle, "workloads that got nothing done: %s (%s)" % (idle, report["ops"])
    if sys.platform.startswith("linux"):  # elsewhere stress.py cannot count them
        assert report["fds_before"] is not None, report
    if report["fds_before"] is not None:
        assert report["fds_after"] <= report["fds_before"], report
    assert proc.returncode == 0, proc.stderr[-3000:]

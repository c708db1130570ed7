"""Process lifecycle: interpreter exit with everything still open, fork,
and descriptors given back on close.

Each scenario runs in a fresh interpreter (this tree's pynng_core, the
test's I/O poller) with a time limit: it must exit by itself with status 0
and print neither a traceback nor "Fatal Python error" / "Exception
ignored".  pynng's users' most reported crash is a hang or crash at
interpreter exit (pynng issue 108); the core never calls into Python, so
exit has nothing to trip over, and these scenarios keep it so.
"""
import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

import pynng_core
from pynng_core import Pull0, Push0
from peers import PACKAGE_PARENT, tree_env, wait_until
from platform_probes import fork_missing, ipc_missing, skip_unless, trio_missing

HERE = os.path.dirname(os.path.abspath(__file__))
EXIT_LIMIT = 20  # seconds a scenario may take

PROLOGUE = textwrap.dedent("""
    import asyncio, gc, os, sys, threading, time
    import pynng_core
    from pynng_core import *
    assert pynng_core.__file__.startswith({root!r}), pynng_core.__file__
    TMP = {tmp!r}
    _n = [0]
    def url(kind):
        _n[0] += 1
        if kind == "tcp":
            return "tcp://127.0.0.1:0"
        if kind == "ipc":  # the pid too: forked children count from the same _n
            return "ipc://%s/s%d-%d" % (TMP, os.getpid(), _n[0])
        return "inproc://lifecycle-%d-%d" % (os.getpid(), _n[0])
    def dial_url(listener):
        u = listener.url
        return "tcp://127.0.0.1:%d" % listener.port if u.startswith("tcp") else u
    def pair(cls_a, cls_b, kind, **kw):
        a = cls_a(recv_timeout=5000, send_timeout=5000, **kw)
        b = cls_b(recv_timeout=5000, send_timeout=5000)
        b.dial(dial_url(a.listen(url(kind))), block=True)
        return a, b
""")


def run_script(body, poller, tmp, timeout=EXIT_LIMIT, allow=()):
    """Runs PROLOGUE + body; returns (stdout, stderr) after checking that it
    exited by itself, with status 0 and nothing alarming on stderr."""
    script = PROLOGUE.format(root=PACKAGE_PARENT, tmp=str(tmp)) + textwrap.dedent(body)
    env = tree_env(PYNNG_CORE_POLLER=poller)
    try:
        proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", script],
                              capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=str(tmp))
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the interpreter did not exit within %d s (a hang); stdout: "
                             "%r; stderr: %r" % (timeout, exc.stdout, exc.stderr)) from None
    stderr = proc.stderr
    for pattern in allow:
        stderr = re.sub(pattern, "", stderr, flags=re.S)
    assert proc.returncode == 0, "exit status %d; stderr:\n%s" % (proc.returncode, proc.stderr)
    for bad in ("Fatal Python error", "Segmentation fault", "Traceback", "Exception ignored"):
        assert bad not in stderr, "%r on stderr:\n%s" % (bad, proc.stderr)
    return proc.stdout, proc.stderr


# asyncio's own warning about a program that leaves a task pending when it
# ends: it names the user's task, it is not a failure of the library.
PENDING_TASK = r"Task was destroyed but it is pending!\ntask: <Task pending [^\n]*>\n?"


# --------------------------------------------------------------------------
# Interpreter exit

EVERYTHING_OPEN = """
    # Every kind of object left open: sockets of each protocol on each
    # transport, contexts, dialers and listeners, pipes with callbacks, a
    # received Message and a recv_many batch still held, a device forwarding.
    keep = []
    for kind in KINDS:
        for a_cls, b_cls in ((Pair0, Pair0), (Pair1, Pair1), (Pull0, Push0), (Rep0, Req0),
                             (Pub0, Sub0), (Respondent0, Surveyor0), (Bus0, Bus0)):
            a, b = pair(a_cls, b_cls, kind)
            keep += [a, b]
            for s in (a, b):
                s.add_pre_pipe_connect_cb(lambda p: None)
                s.add_post_pipe_connect_cb(lambda p: None)
                s.add_post_pipe_remove_cb(lambda p: None)
        r, q = pair(Rep0, Req0, kind)
        ctxs = [q.new_context() for _ in range(4)] + [r.new_context() for _ in range(4)]
        ctxs[0].send(b"question")
        keep += [r, q, ctxs, r.recv_msg(), [p for p in r.pipes]]
        a, b = pair(Pull0, Push0, kind)
        b.send_many([b"x" * 100] * 10)
        keep += [a, b, a.recv_many(), a.pipes]
    front = Rep0(raw=True, listen=url("tcp"))
    back = Req0(raw=True, listen=url("inproc"))
    threading.Thread(target=device, args=(front, back), daemon=True).start()
    client = Req0(dial=dial_url(front.listeners[0]), recv_timeout=5000)
    worker = Rep0(dial=back.listeners[0].url, recv_timeout=5000)
    client.send(b"through the device")
    worker.send(worker.recv())
    assert client.recv() == b"through the device"
    keep += [front, back, client, worker]
    print("exiting with everything open")
"""

SCENARIOS = {
    "everything_open": (EVERYTHING_OPEN, ()),

    "blocking_recv_in_daemon_threads": ("""
        socks = [pair(Pull0, Push0, kind)[0] for kind in KINDS]
        for s in socks:
            s.recv_timeout = -1
            for _ in range(2):
                threading.Thread(target=s.recv, daemon=True).start()
                threading.Thread(target=s.recv_msg, daemon=True).start()
        r, q = pair(Rep0, Req0, "tcp")
        c = q.new_context(); c.recv_timeout = -1; c.send(b"never answered")
        threading.Thread(target=c.recv, daemon=True).start()
        time.sleep(0.2)  # let them block: a blocked recv is not observable
        print("exiting while daemon threads wait in recv")
    """, ()),

    "blocking_recv_in_non_daemon_thread": ("""
        # The main thread ends while a non-daemon thread waits in recv (no
        # timeout): Python waits for that thread, which gets its message
        # from a daemon thread after main is gone, and the process exits.
        a, b = pair(Pull0, Push0, "tcp")
        a.recv_timeout = -1
        c, d = pair(Pull0, Push0, IPC)
        c.recv_timeout = 300
        out = []
        def receiver():
            out.append(a.recv())
            print("non-daemon receiver got", out[-1], flush=True)
        def timed_out():
            try:
                c.recv()
            except Timeout:
                print("non-daemon receiver timed out", flush=True)
        def late_sender():
            time.sleep(0.5)
            b.send(b"late")
        threading.Thread(target=receiver).start()
        threading.Thread(target=timed_out).start()
        threading.Thread(target=late_sender, daemon=True).start()
        print("main thread done")
    """, ()),

    "sys_exit_from_pipe_callbacks": ("""
        # sys.exit() in a pipe callback ends no program (it is not the main
        # thread); the events thread must live on, or every later pipe would
        # wait for admission forever.
        import logging
        logging.basicConfig(level=logging.ERROR, format="LOGGED %(message)s")
        server = Pull0(listen=url("tcp"), recv_timeout=5000)
        calls = []
        def pre(pipe):
            calls.append("pre")
            sys.exit(3)
        def post(pipe):
            calls.append("post")
            raise SystemExit(4)
        server.add_pre_pipe_connect_cb(pre)
        server.add_post_pipe_connect_cb(post)
        clients = [Push0(dial=dial_url(server.listeners[0]), send_timeout=5000)
                   for _ in range(3)]
        deadline = time.monotonic() + 10
        while len(server.pipes) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # admitted: the callbacks ran and raised
        for i, c in enumerate(clients):
            c.send(b"client %d" % i)
        got = sorted(server.recv() for _ in clients)
        assert got == [b"client 0", b"client 1", b"client 2"], got
        print("served", len(got), "callbacks", sorted(set(calls)))
    """, (r"LOGGED [^\n]*\nTraceback.*?SystemExit: [34]\n",)),

    "exit_while_threads_send": ("""
        # A daemon thread blocked in send (no peer reads), daemon threads
        # streaming large messages, and a non-daemon thread finishing a burst.
        lonely = Push0(listen=url("tcp")); lonely.send_timeout = -1
        threading.Thread(target=lonely.send, args=(b"never taken",), daemon=True).start()
        big = b"B" * (1 << 20)
        for kind in KINDS:
            a, b = pair(Pull0, Push0, kind)
            def stream(b=b):
                while True:
                    b.send(big)
            def drain(a=a):
                while True:
                    a.recv()
            threading.Thread(target=stream, daemon=True).start()
            threading.Thread(target=drain, daemon=True).start()
        x, y = pair(Pull0, Push0, IPC)
        def burst():
            for i in range(2000):
                y.send(b"%d" % i)
        threading.Thread(target=burst).start()
        threading.Thread(target=lambda: [x.recv() for _ in range(2000)], daemon=True).start()
        time.sleep(0.3)
        print("exiting while threads send")
    """, ()),

    "gc_of_unclosed_sockets_at_exit": ("""
        # Nothing is closed; every object is only reachable through reference
        # cycles and the collector is off, so they are all finalized by the
        # interpreter's last collections, in no particular order, while the
        # I/O thread still has their pipes.
        gc.disable()
        for kind in KINDS:
            for _ in range(10):
                a, b = pair(Pull0, Push0, kind)
                b.send(b"x" * 5000)
                m = a.recv_msg()
                r, q = pair(Rep0, Req0, kind)
                ctx = q.new_context()
                ctx.send(b"q")
                loop = [a, b, m, m.pipe, r, q, ctx, r.recv_msg(), q.dialers, r.listeners]
                loop.append(loop)
                a.cycle = loop
        del a, b, m, r, q, ctx, loop
        print("exiting with cycles of unclosed sockets")
    """, ()),

    "device_running_at_exit": ("""
        for kind in ("tcp", "inproc"):
            front = Rep0(raw=True, listen=url(kind))
            back = Req0(raw=True, listen=url(kind))
            # one device in a daemon thread, left running ...
            threading.Thread(target=device, args=(front, back), daemon=True).start()
            client = Req0(dial=dial_url(front.listeners[0]), recv_timeout=5000)
            worker = Rep0(dial=dial_url(back.listeners[0]), recv_timeout=5000)
            for i in range(20):
                client.send(b"%d" % i)
                worker.send(worker.recv())
                assert client.recv() == b"%d" % i
        # ... and one in a non-daemon thread that ends when its sockets are
        # closed by a daemon thread after the main thread is gone.
        f = Pair1(raw=True, listen=url("tcp"))
        threading.Thread(target=device, args=(f,)).start()
        threading.Thread(target=lambda: (time.sleep(0.3), f.close()), daemon=True).start()
        print("exiting with devices running")
    """, ()),

    "asyncio_pending_arecv_not_cancelled": ("""
        # A loop left with arecv/arecv_msg/asend tasks pending, never closed
        # nor cancelled, only reachable through a cycle (finalized last).
        gc.disable()
        socks = [pair(Pull0, Push0, kind)[0] for kind in KINDS]
        r, q = pair(Rep0, Req0, "tcp")
        ctx = q.new_context()
        lonely = Push0(listen=url("tcp"))
        loop = asyncio.new_event_loop()
        async def main():
            await ctx.asend(b"unanswered")
            tasks = [loop.create_task(s.arecv()) for s in socks]
            tasks += [loop.create_task(s.arecv_msg()) for s in socks]
            tasks += [loop.create_task(ctx.arecv())]
            tasks += [loop.create_task(lonely.asend(b"x")) for _ in range(3)]
            await asyncio.sleep(0.1)
            return tasks
        tasks = loop.run_until_complete(main())
        assert not any(t.done() for t in tasks)
        cycle = [loop, tasks, socks, ctx]
        cycle.append(cycle)
        del loop, tasks, cycle
        print("exiting with asyncio tasks pending")
    """, (PENDING_TASK,)),

    "asyncio_loop_running_in_daemon_thread": ("""
        socks = [pair(Pull0, Push0, kind)[0] for kind in KINDS]
        started = threading.Event()
        def run():
            loop = asyncio.new_event_loop()
            for s in socks:
                loop.create_task(s.arecv())
            loop.call_soon(started.set)
            loop.run_forever()
        threading.Thread(target=run, daemon=True).start()
        started.wait(10)
        time.sleep(0.1)
        print("exiting while a loop runs in a daemon thread")
    """, (PENDING_TASK,)),

    "trio_pending_arecv_in_daemon_thread": ("""
        import trio
        socks = [pair(Pull0, Push0, kind)[0] for kind in KINDS]
        r, q = pair(Rep0, Req0, "inproc")
        started = threading.Event()
        async def main():
            async with trio.open_nursery() as n:
                for s in socks + [r]:
                    n.start_soon(s.arecv)
                    n.start_soon(s.arecv_msg)
                started.set()
        threading.Thread(target=trio.run, args=(main,), daemon=True).start()
        started.wait(10)
        time.sleep(0.1)
        print("exiting while trio tasks wait in arecv")
    """, ()),

    "exit_during_connection_churn": ("""
        # Dialers redialing a listener that refuses every other pipe, pipes
        # being closed from a thread, callbacks running: then main returns.
        server = Pull0(listen=url("tcp"))
        seen = [0]
        def pre(pipe):
            seen[0] += 1
            if seen[0] % 2:
                pipe.close()
        server.add_pre_pipe_connect_cb(pre)
        server.add_post_pipe_remove_cb(lambda pipe: time.sleep(0.001))
        clients = [Push0(dial=dial_url(server.listeners[0]), block_on_dial=False,
                         reconnect_time_min=1, reconnect_time_max=5) for _ in range(8)]
        def churn():
            while True:
                for p in server.pipes:
                    try:
                        p.close()
                    except Exception:
                        pass
                time.sleep(0.001)
        threading.Thread(target=churn, daemon=True).start()
        time.sleep(0.5)
        assert seen[0] > 4, seen
        print("exiting during churn")
    """, ()),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_interpreter_exit(scenario, poller, tmp_path):
    if scenario.startswith("trio"):
        skip_unless(trio_missing())
    body, allow = SCENARIOS[scenario]
    # Each scenario opens every transport (KINDS), and ipc where it says IPC;
    # where ipc is missing they run over tcp and inproc,
    # and IPC is tcp, the other transport with a real connection.
    if ipc_missing():
        body = 'KINDS = ("tcp", "inproc"); IPC = "tcp"\n' + textwrap.dedent(body)
    else:
        body = 'KINDS = ("tcp", "ipc", "inproc"); IPC = "ipc"\n' + textwrap.dedent(body)
    out, err = run_script(body, poller, tmp_path, allow=allow)
    assert "exiting" in out or "served" in out or "main thread done" in out, out
    if scenario == "blocking_recv_in_non_daemon_thread":
        assert "non-daemon receiver got b'late'" in out, out
        assert "non-daemon receiver timed out" in out, out
    if scenario == "sys_exit_from_pipe_callbacks":
        assert "served 3 callbacks ['post', 'pre']" in out, out
        assert "SystemExit: 3" in err and "SystemExit: 4" in err, err  # logged, not lost


# --------------------------------------------------------------------------
# fork

FORK_HELPERS = """
    def wait_child(pid, limit=10.0):
        # The child's exit status, or "HANG" (it is killed) after limit seconds.
        deadline = time.monotonic() + limit
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                return "HANG"
            time.sleep(0.01)

    def child_talks():
        # New sockets of its own, on every transport, both ways.
        for kind in ("tcp", "ipc", "inproc"):
            a, b = pair(Pair0, Pair0, kind)
            for i in range(20):
                b.send(b"ping %d" % i)
                assert a.recv() == b"ping %d" % i
                a.send(b"pong %d" % i)
                assert b.recv() == b"pong %d" % i
            a.close(); b.close()
            r, q = pair(Rep0, Req0, kind)
            ctxs = [q.new_context() for _ in range(3)]
            for c in ctxs:
                c.send(b"req")
            for _ in ctxs:
                r.send(r.recv() + b"!")
            assert [c.recv() for c in ctxs] == [b"req!"] * 3
            r.close(); q.close()

    def in_child(fn):
        # Runs fn in a forked child; returns its exit status (0: fn returned).
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                fn()
                code = 0
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                os._exit(code)
        return wait_child(pid)

    class Traffic:
        # Parent threads sending and receiving checked messages all along.
        def __init__(self):
            self.stop = threading.Event()
            self.count = {}
            self.errors = []
            self.threads = []
            for kind in ("tcp", "ipc", "inproc"):
                a, b = pair(Pull0, Push0, kind)
                self.count[kind] = 0
                self.threads.append(threading.Thread(target=self.send, args=(b,)))
                self.threads.append(threading.Thread(target=self.recv, args=(a, kind)))
            for t in self.threads:
                t.start()
        def send(self, s):
            s.send_timeout = 200  # so that a stop is seen soon, receiver gone or not
            i = 0
            while not self.stop.is_set():
                try:
                    s.send(b"m%d" % i)
                    i += 1
                except Timeout:
                    pass
        def recv(self, s, kind):
            s.recv_timeout = 100
            expect = None
            while not self.stop.is_set():
                try:
                    m = s.recv()
                except Timeout:
                    continue
                n = int(m[1:])
                if expect is not None and n != expect:
                    self.errors.append((kind, n, expect))
                expect = n + 1
                self.count[kind] += 1
        def snapshot(self):
            return dict(self.count)
        def finish(self):
            self.stop.set()
            for t in self.threads:
                t.join(10)
            assert not any(t.is_alive() for t in self.threads), "a parent thread hung"
            assert not self.errors, self.errors[:5]
"""

FORK_SCENARIOS = {
    "child_talks_while_parent_works": """
        traffic = Traffic()
        try:
            time.sleep(0.1)
            before = traffic.snapshot()
            statuses = [in_child(child_talks) for _ in range(3)]
            time.sleep(0.2)
            after = traffic.snapshot()
        finally:
            traffic.finish()
        assert statuses == [0, 0, 0], statuses
        assert all(after[k] > before[k] for k in after), (before, after)
        print("ok", statuses)
    """,

    "fork_from_a_thread_while_others_send": """
        traffic = Traffic()
        statuses = []
        def forker():
            for _ in range(5):
                statuses.append(in_child(child_talks))
                time.sleep(0.02)
        try:
            f = threading.Thread(target=forker)
            f.start()
            f.join(60)
            before = traffic.snapshot()
            time.sleep(0.2)
            after = traffic.snapshot()
        finally:
            traffic.finish()
        assert statuses == [0] * 5, statuses
        assert all(after[k] > before[k] for k in after), (before, after)
        print("ok", statuses)
    """,

    "multiprocessing_fork_children": """
        import multiprocessing
        mp = multiprocessing.get_context("fork")
        traffic = Traffic()
        # A listener of the parent, made before the fork: children dial it
        # with sockets of their own.
        inbox = Pull0(listen=url("ipc"), recv_timeout=10000)
        inbox_url = inbox.listeners[0].url
        def child(i):
            child_talks()
            with Push0(dial=inbox_url, send_timeout=5000) as out:
                out.send(b"from child %d" % i)
                time.sleep(0.2)  # no linger in the core: let it go out
        procs = [mp.Process(target=child, args=(i,)) for i in range(3)]
        try:
            for p in procs:
                p.start()
            for p in procs:
                p.join(15)
            codes = [p.exitcode for p in procs]
            got = sorted(inbox.recv() for _ in procs if codes == [0, 0, 0])
        finally:
            traffic.finish()
        assert codes == [0, 0, 0], codes
        assert got == [b"from child %d" % i for i in range(3)], got
        print("ok", codes)
    """,

    "child_leaves_inherited_sockets_alone": """
        # What a child inherited belongs to the parent.  The child may close
        # it (a no-op), finalize it at a normal exit (no hang), or try to use
        # it (Closed, naming why); the parent's listeners and connections,
        # ipc socket files included, are untouched.
        a, b = pair(Pull0, Push0, "ipc")
        path = a.listeners[0].url[len("ipc://"):]
        r, q = pair(Rep0, Req0, "tcp")
        ctx = q.new_context()
        a.add_post_pipe_connect_cb(lambda p: None)
        b.send(b"before"); assert a.recv() == b"before"
        def closes():
            for obj in (ctx, b, a, r, q) + tuple(a.listeners) + tuple(b.dialers):
                obj.close()
        def uses():
            calls = {"send": lambda: b.send(b"x"), "recv": a.recv,
                     "recv_msg": a.recv_msg, "ctx.send": lambda: ctx.send(b"x"),
                     "listen": lambda: a.listen(url("inproc")),
                     "dial": lambda: b.dial(url("inproc"), block=False),
                     "option": lambda: a.recv_timeout, "new_context": q.new_context,
                     "listener option": lambda: a.listeners[0].recv_max_size}
            for name, call in calls.items():
                try:
                    call()
                except Closed as e:
                    assert "forked" in str(e), (name, e)
                else:
                    raise AssertionError("%s worked on an inherited socket" % name)
            assert a.pipes == [] and isinstance(a, Pull0)
        def normal_exit():
            # A child that exits the normal way: finalizers and all.
            pid = os.fork()
            if pid == 0:
                sys.exit(0)
            return wait_child(pid)
        statuses = [in_child(closes), in_child(uses), normal_exit()]
        assert statuses == [0, 0, 0], statuses
        assert os.path.exists(path), "a child removed the parent's ipc socket file"
        b.send(b"after"); assert a.recv() == b"after"
        c = Push0(dial="ipc://" + path, send_timeout=5000)
        c.send(b"new peer"); assert a.recv() == b"new peer"
        ctx.send(b"q"); r.send(r.recv() + b"!"); assert ctx.recv() == b"q!"
        print("ok", statuses)
    """,

    "ctrl_c_in_a_child_forked_by_a_thread": """
        # The thread that forked is the child's main thread, where Python
        # handles signals: its blocking calls are the ones that come back
        # in slices to look for them, so Ctrl-C interrupts its recv.
        import signal
        def child():
            s = Pull0(listen=url("tcp"), recv_timeout=30000)
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
            try:
                s.recv()
            except KeyboardInterrupt:
                return
            raise AssertionError("recv returned")
        status = []
        forker = threading.Thread(target=lambda: status.append(in_child(child)))
        forker.start()
        forker.join()
        assert status == [0], status  # "HANG": the interrupt waited for the timeout
        print("ok")
    """,

    "child_callbacks_and_asyncio": """
        # The child's own sockets get pipe callbacks (the events thread did
        # not come along: a new one starts) and async calls (a new loop).
        parent = Pull0(listen=url("tcp"))
        parent.add_post_pipe_connect_cb(lambda p: None)
        def child():
            seen = []
            s = Pull0(listen=url("tcp"))
            s.add_post_pipe_connect_cb(lambda p: seen.append(p.id))
            c = Push0(dial=dial_url(s.listeners[0]))
            deadline = time.monotonic() + 5
            while not seen and time.monotonic() < deadline:
                time.sleep(0.01)
            assert seen, "no pipe callback in the child"
            async def main():
                await c.asend(b"async in the child")
                return await s.arecv()
            assert asyncio.run(main()) == b"async in the child"
        assert in_child(child) == 0
        print("ok")
    """,
}


@pytest.mark.parametrize("scenario", sorted(FORK_SCENARIOS))
@pytest.mark.timeout(90)
@pytest.mark.skipif(os.environ.get("PNC_SANITIZER") == "address",
                    reason="AddressSanitizer's allocator is not fork-safe while other threads "
                           "allocate: a forked child can hang in malloc on a lock a parent "
                           "thread held (the plain build runs these)")
def test_fork(scenario, poller, tmp_path):
    skip_unless(fork_missing())
    body = textwrap.dedent(FORK_HELPERS) + textwrap.dedent(FORK_SCENARIOS[scenario])
    out, _ = run_script(body, poller, tmp_path, timeout=60)
    assert out.startswith("ok"), out


# --------------------------------------------------------------------------
# Descriptors


def fd_count():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_close_gives_back_every_descriptor(transport, make_url):
    """close() lets go of a socket's descriptors at once, whether or not its
    Python object is still referenced (a program may keep closed sockets in
    a list), including those a receive that read its pipe itself made."""
    warm_a, warm_b = Pull0(listen=make_url("inproc")), Push0()
    warm_b.dial(warm_a.listeners[0].url)
    warm_b.close()
    warm_a.close()  # the I/O thread exists now
    before = fd_count()
    kept = []
    for i in range(5):
        url = "tcp://127.0.0.1:0" if transport == "tcp" else make_url(transport)
        a = Pull0(recv_timeout=50)
        listener = a.listen(url)
        b = Push0(send_timeout=5000)
        b.dial("tcp://127.0.0.1:%d" % listener.port if transport == "tcp" else url,
               block=True)
        b.send(b"x")
        assert a.recv() == b"x"
        with pytest.raises(pynng_core.Timeout):
            a.recv()  # waits on its one pipe
        a.close()
        b.close()
        kept += [a, b]
    wait_until(lambda: fd_count() <= before, timeout=3,
               message="%d descriptors more after closing every socket"
               % (fd_count() - before))


# --------------------------------------------------------------------------
# A pipe's life begins with admission


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_message_sent_while_pipe_awaits_admission_is_delivered(transport, make_url):
    """A peer may send as soon as its side of the connection is up, while
    our pre-connect callback still decides (here it takes 200 ms).  Once
    the pipe is admitted, that message is delivered (as libnng does: it
    reads nothing from a pipe before the callback returns)."""
    server = Pull0(recv_timeout=2000)
    listener = server.listen("tcp://127.0.0.1:0" if transport == "tcp" else make_url(transport))
    admitted = []

    def slow_admission(pipe):
        time.sleep(0.2)
        admitted.append(pipe.id)

    server.add_pre_pipe_connect_cb(slow_admission)
    client = Push0(send_timeout=5000)
    try:
        client.dial("tcp://127.0.0.1:%d" % listener.port if transport == "tcp"
                    else listener.url, block=True)
        client.send(b"sent before admission")
        client.send(b"and one more")
        assert server.recv() == b"sent before admission", server.stats
        assert server.recv() == b"and one more"
        assert len(admitted) == 1
    finally:
        client.close()
        server.close()

"""tcp between this (Linux) build and the Windows build under wine, both ways.

.ci/windows.py runs this file on Linux with PNC_WINE_PYTHON naming the wine
CPython (and PNC_WINE_PYTHONPATH the tree holding the Windows build); the
Windows side is a child process that dials or listens as told.  Each side
checks what it got: a request, and a 1 MiB reply that takes many partial
writes and reads on either side.
"""
import os
import subprocess
import sys
import textwrap

import pytest

from peers import tcp_url

WINE_PYTHON = os.environ.get("PNC_WINE_PYTHON")

pytestmark = [
    pytest.mark.one_poller,
    pytest.mark.skipif(sys.platform == "win32" or not WINE_PYTHON,
                       reason="starts the Windows build under wine from Linux: "
                              "run by .ci/windows.py, which sets PNC_WINE_PYTHON"),
]

BIG = bytes(range(256)) * 4096  # 1 MiB

# The Windows side: a Rep0 that answers one request with BIG, or a Req0 that
# sends one and checks BIG comes back.
WINDOWS_SIDE = textwrap.dedent("""
    import sys, pynng_core
    role, url = sys.argv[1], sys.argv[2]
    big = bytes(range(256)) * 4096
    if role == "rep":
        with pynng_core.Rep0(listen=url, recv_timeout=30000) as s:
            print("listening", flush=True)
            assert s.recv() == b"from linux"
            s.send(big)
            s.recv_timeout = 2000
            try:  # wait for the peer to hang up: the reply must not be cut
                s.recv()
            except (pynng_core.Timeout, pynng_core.Closed):
                pass
    else:
        with pynng_core.Req0(dial=url, recv_timeout=30000) as s:
            s.send(b"from windows " + sys.platform.encode())
            assert s.recv() == big
    print("ok", sys.platform, flush=True)
""")


def windows_side(role, url):
    env = dict(os.environ, PYTHONPATH=os.environ.get("PNC_WINE_PYTHONPATH", ""))
    # Python under wine needs pipes on stdin, stdout and stderr.
    return subprocess.Popen(["wine", WINE_PYTHON, "-c", WINDOWS_SIDE, role, url], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(proc):
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "ok win32" in out, out


def test_linux_listens_windows_dials():
    import pynng_core

    url = tcp_url()
    with pynng_core.Rep0(listen=url, recv_timeout=30000) as rep:
        proc = windows_side("req", url)
        try:
            assert rep.recv() == b"from windows win32"
            rep.send(BIG)
            finish(proc)
        finally:
            proc.kill()


def test_windows_listens_linux_dials():
    import pynng_core

    url = tcp_url()
    proc = windows_side("rep", url)
    try:
        assert proc.stdout.readline().strip() == "listening"
        with pynng_core.Req0(dial=url, recv_timeout=30000) as req:
            req.send(b"from linux")
            assert req.recv() == BIG
        finish(proc)
    finally:
        proc.kill()

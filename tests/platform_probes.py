"""What this platform can run, probed at run time.

Each probe returns None when the platform can do it, or the reason a test
that needs it skips.  On Linux every probe answers None: nothing skips
there.  Under wine (.ci/windows.py) and on Windows they name what is
missing, and each answer is computed, not assumed, so a layer that starts
working makes its tests run.
"""
import functools
import os
import subprocess
import sys
import tempfile

import pytest


def skip_unless(reason):
    """Skips the calling test when a probe gave a reason."""
    if reason:
        pytest.skip(reason)


@functools.lru_cache(maxsize=None)
def ipc_missing():
    """ipc:// itself: unix sockets on POSIX, named pipes on Windows."""
    import pynng_core

    if sys.platform == "win32":  # the pipe \\.\pipe\<name>, as NNG
        url = "ipc://pnc-probe-%d-%s" % (os.getpid(), os.urandom(4).hex())
    else:
        url = "ipc://" + os.path.join(tempfile.mkdtemp(prefix="pnc-probe-"), "s")
    try:
        with pynng_core.Pair0(listen=url):
            return None
    except pynng_core.NotSupported:
        return "ipc:// is not implemented on %s" % sys.platform


def unix_sockets_missing():
    """AF_UNIX sockets (raw ipc peers, abstract://); wine 8 has none."""
    import socket

    if not hasattr(socket, "AF_UNIX") or sys.platform == "win32":
        return "no AF_UNIX sockets here: ipc:// is a named pipe on %s" % sys.platform
    return None


def posix_signals_missing():
    """SIGINT sent to a process (os.kill), as POSIX has it; Windows has none."""
    if sys.platform == "win32":
        return "os.kill(pid, SIGINT) is no signal on Windows: it ends the process"
    return None


_TRIO_PROBE = """
import socket, trio
a, b = socket.socketpair()
async def main():
    with trio.fail_after(5):
        b.send(b"x")
        await trio.lowlevel.wait_readable(a)
trio.run(main)
print("trio ok")
"""


@functools.lru_cache(maxsize=None)
def trio_missing():
    """trio's I/O on this platform (it does not start under wine 8)."""
    if sys.platform != "win32":
        return None
    try:
        r = subprocess.run([sys.executable, "-c", _TRIO_PROBE], stdin=subprocess.PIPE,
                           capture_output=True, text=True, timeout=30)
        ok = "trio ok" in r.stdout
    except subprocess.TimeoutExpired:
        ok = False
    return None if ok else "trio's Windows I/O does not start here (wine 8 lacks what it needs)"


@functools.lru_cache(maxsize=None)
def fork_missing():
    if not hasattr(os, "fork"):
        return "os.fork does not exist on %s" % sys.platform
    return None


def cli_missing():
    """nngcat and nanocat are installed here as Linux programs only."""
    if sys.platform == "win32":
        return "nngcat and nanocat are Linux programs on this machine, not Windows peers"
    return None


def sigint_missing():
    """Why a test cannot interrupt a child process with SIGINT, or None."""
    if sys.platform == "win32":
        return ("Windows cannot send a child SIGINT (only a console's Ctrl-C event, "
                "to a whole process group)")
    return None


def browser_missing():
    """Chromium, the browser peer of test_browser.py: a Linux program here."""
    if sys.platform == "win32":
        return "Chromium is installed on this machine as a Linux program, not a Windows one"
    return None

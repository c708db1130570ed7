"""The command line: ``python -m pynng_core`` and the ``pynng-core`` script
(--version, the demo on its default and on wildcard, ipc and inproc
addresses, and clear errors for what it cannot use)."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from platform_probes import ipc_missing, skip_unless

import pynng_core

pytestmark = pytest.mark.one_poller  # each runs the demo in a process of its own

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, script=False):
    argv = ([shutil.which("pynng-core")] if script else [sys.executable, "-m", "pynng_core"])
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


def assert_demo_ran(result, count, address_pattern, first_request="req 0 "):
    assert result.returncode == 0, result.stderr
    head = re.search(r"(\d+) request/reply round trips of (\d+) bytes over (\S+)",
                     result.stdout)
    assert head and int(head.group(1)) == count, result.stdout
    assert re.fullmatch(address_pattern, head.group(3)), head.group(3)
    assert re.search(r"%d round trips in [\d.]+ s: \d+ per second" % count, result.stdout)
    assert "received: b'reply to %s" % first_request in result.stdout, result.stdout


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == "pynng_core %s" % pynng_core.__version__


@pytest.mark.skipif(shutil.which("pynng-core") is None, reason="the package's script is not "
                    "on PATH (installed without its scripts)")
def test_console_script_runs_the_demo():
    assert_demo_ran(run("demo", "--count", "20", script=True), 20,
                    r"tcp://127\.0\.0\.1:\d+")


@pytest.mark.parametrize("url, dialed", [
    ("tcp://*:0", r"tcp://127\.0\.0\.1:\d+"),
    ("tcp://0.0.0.0:0", r"tcp://127\.0\.0\.1:\d+"),
    ("tcp://:0", r"tcp://127\.0\.0\.1:\d+"),
    ("inproc://cli-demo", r"inproc://cli-demo"),
])
def test_demo_on_other_addresses(url, dialed):
    assert_demo_ran(run("demo", "--count", "10", "--url", url), 10, dialed)


def test_demo_over_ipc(tmp_path):
    skip_unless(ipc_missing())
    url = "ipc://%s" % (tmp_path / "demo.sock")
    assert_demo_ran(run("demo", "--count", "10", "--url", url), 10, re.escape(url))


def test_demo_of_empty_messages():
    result = run("demo", "--count", "3", "--size", "0")
    assert_demo_ran(result, 3, r"tcp://.*", first_request="'")


@pytest.mark.parametrize("args, says", [
    (["--count", "0"], "argument --count: must be 1 or more, not 0"),
    (["--count", "-5"], "argument --count: must be 1 or more, not -5"),
    (["--count", "many"], "argument --count: invalid integer value: 'many'"),
    (["--size", "-1"], "argument --size: must be 0 or more, not -1"),
])
def test_bad_arguments_are_usage_errors(args, says):
    result = run("demo", *args)
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_an_address_it_cannot_use_is_a_clear_error():
    result = run("demo", "--url", "bogus://nowhere")
    assert result.returncode == 1
    assert "bogus://nowhere" in result.stderr
    assert "Traceback" not in result.stderr


def test_output_cut_short_is_no_traceback():
    """``pynng-core demo | head -1``: the reader goes, the demo ends quietly."""
    proc = subprocess.Popen([sys.executable, "-m", "pynng_core", "demo", "--count", "50"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.readline()
    proc.stdout.close()
    # Not communicate(): on Windows it reads the closed stdout from a thread.
    proc.wait(timeout=60)  # stderr holds a traceback at most: the pipe never fills
    err = proc.stderr.read()
    proc.stderr.close()
    assert b"Traceback" not in err, err

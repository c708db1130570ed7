"""Every program in examples/ runs, by itself, and prints what it should.

The examples are found by glob, so a new one is run too, and fails here
until EXPECTED says what its output must show.  Each runs in a subprocess
against the pynng_core this test imports, under the test's I/O poller.
"""
import glob
import os
import re
import subprocess
import sys

import pytest

import pynng_core
from platform_probes import skip_unless, trio_missing

EXAMPLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
EXAMPLES = sorted(glob.glob(os.path.join(EXAMPLES_DIR, "*.py")))


def check_reqrep_contexts(out):
    replies = re.findall(r"^REQUEST (\d) FROM CLIENT (\d) \(worker \d\)$", out, re.M)
    assert sorted(replies) == sorted((str(n), str(c)) for c in range(4) for n in range(3))
    assert "12 replies" in out


def check_pubsub_topics(out):
    got = re.findall(r"^(\w+) got (.*)$", out, re.M)
    assert sorted(got) == sorted([
        ("weather", "weather/paris rain"), ("weather", "weather/oslo snow"),
        ("news", "weather/paris rain"), ("news", "news/local fair on sunday"),
        ("news", "news/world calm")])


def check_pipeline(out):
    assert "sum of squares: %d" % sum(n * n for n in range(30)) in out
    per_worker = re.search(r"tasks done per worker: \[(.*)\]", out).group(1)
    counts = [int(n) for n in per_worker.split(",")]
    assert sum(counts) == 30 and all(counts), counts  # every worker had a share


def check_survey(out):
    assert re.findall(r"^(\w+): yes$", out, re.M) == ["alpha", "bravo", "charlie"]
    assert "3 of 3 answered" in out


def check_bus_mesh(out):
    names = ["north", "east", "south", "west"]
    for name in names:
        heard = ", ".join("hello from " + other for other in sorted(names) if other != name)
        assert "%s heard: %s\n" % (name, heard) in out


def check_async_server(out):
    assert re.search(r"^50 replies in [\d.]+ s", out, re.M)
    elapsed = float(re.search(r"^50 replies in ([\d.]+) s", out, re.M).group(1))
    assert elapsed < 0.5  # served concurrently, not one 10 ms request at a time


def check_asyncio_server(out):
    assert "first replies: ['000 tseuqer', '100 tseuqer', '200 tseuqer']" in out
    check_async_server(out)


def check_trio_server(out):
    assert "first replies: ['REQUEST 000', 'REQUEST 001', 'REQUEST 002']" in out
    check_async_server(out)


def check_device_broker(out):
    replies = re.findall(r"^client (\d) request (\d) -> served by worker [01]$", out, re.M)
    assert replies == [(str(c), str(n)) for c in range(3) for n in range(2)]
    assert "6 replies through the broker" in out


def check_recv_into(out):
    assert " 5 bytes: b'short'\n" in out
    assert "16 bytes: b'exactly 16 bytes'\n" in out
    assert "32 bytes: b'a message longer' (truncated: 16 bytes lost)\n" in out


def check_pair(out):
    assert out.splitlines() == ["right got b'ping'", "left got b'pong'",
                                "ann got b'hello ann'", "bob got b'hello bob'"]


EXPECTED = {
    "reqrep_contexts.py": check_reqrep_contexts,
    "pubsub_topics.py": check_pubsub_topics,
    "pipeline.py": check_pipeline,
    "survey.py": check_survey,
    "bus_mesh.py": check_bus_mesh,
    "asyncio_server.py": check_asyncio_server,
    "trio_server.py": check_trio_server,
    "device_broker.py": check_device_broker,
    "recv_into.py": check_recv_into,
    "pair.py": check_pair,
}


def test_every_example_is_checked():
    names = {os.path.basename(path) for path in EXAMPLES}
    assert names == set(EXPECTED), "examples/ and EXPECTED differ"


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_example(path, poller):
    name = os.path.basename(path)
    if name not in EXPECTED:
        pytest.fail("%s has no entry in EXPECTED: say what its output must show" % name)
    if name == "trio_server.py":
        pytest.importorskip("trio")
        skip_unless(trio_missing())
    env = dict(os.environ, PYNNG_CORE_POLLER=poller)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(pynng_core.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent,
                                                      env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True,
                          timeout=20)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    EXPECTED[name](done.stdout)

"""``pynng-core perf`` against NNG's own perf program (NNG 1.5.2, built from
Debian's source by .ci/nng_perf.py): each of ours with each of NNG's, both
latency and throughput, over tcp and ipc, the report lines parsed and
checked; the inproc modes; NNG's usage errors, exit status 2; Ctrl-C."""
import concurrent.futures
import os
import re
import signal
import subprocess
import sys

import pytest

from peers import (DEFAULT_TIMEOUT, NO_CLI_PEERS, UrlFactory, tree_env, wait_for_listener)
from platform_probes import cli_missing, sigint_missing, skip_unless

pytestmark = pytest.mark.one_poller  # the sockets under test live in subprocesses

OURS = [sys.executable, "-m", "pynng_core", "perf"]
NNG_PERF_ENV = "PYNNG_CORE_NNG_PERF"
NNG_PERF_CACHED = os.path.join(
    os.environ.get("PNC_NNG_PERF_CACHE", os.path.expanduser("~/.cache/pynng_core/nng-perf")),
    "nng_perf")

LATENCY_REPORT = re.compile(r"total time: (\d+\.\d{3}) \[s\]\n"
                            r"message size: (\d+) \[B\]\n"
                            r"round trip count: (\d+)\n"
                            r"average latency: (\d+\.\d{3}) \[us\]\n")
THROUGHPUT_REPORT = re.compile(r"total time: (\d+\.\d{3}) \[s\]\n"
                               r"message size: (\d+) \[B\]\n"
                               r"message count: (\d+)\n"
                               r"throughput: (\d+) \[msg/s\]\n"
                               r"throughput: (\d+\.\d{3}) \[Mb/s\]\n")


def nng_perf():
    """NNG's perf program: where PYNNG_CORE_NNG_PERF says, or where
    .ci/nng_perf.py builds it.  Missing, it fails saying how to build it
    (or skips where PYNNG_CORE_NO_CLI_PEERS=1 says the peers need not be)."""
    skip_unless(cli_missing())
    path = os.environ.get(NNG_PERF_ENV, NNG_PERF_CACHED)
    if os.access(path, os.X_OK):
        return [path, "-m"]
    if os.environ.get(NO_CLI_PEERS) == "1":
        pytest.skip("NNG's perf is not built, and %s=1 says it need not be" % NO_CLI_PEERS)
    pytest.fail("NNG's perf program is not at %s: build it with `python3 .ci/nng_perf.py` "
                "(needs libnng-dev), or name it in %s" % (path, NNG_PERF_ENV), pytrace=False)


def check_latency(report, size, trips):
    match = LATENCY_REPORT.fullmatch(report)
    assert match, report
    total, shown_size, shown_trips, latency = match.groups()
    assert (int(shown_size), int(shown_trips)) == (size, trips)
    # total / (2 trips), both as printed: equal up to the rounding of total
    assert abs(float(latency) - float(total) * 1e6 / (2 * trips)) <= 0.0005 * 1e6 / (2 * trips) + 0.001
    assert float(latency) > 0


def check_throughput(report, size, count):
    match = THROUGHPUT_REPORT.fullmatch(report)
    assert match, report
    total, shown_size, shown_count, per_second, mbps = match.groups()
    assert (int(shown_size), int(shown_count)) == (size, count)
    assert int(per_second) > 0
    # Mb/s is msg/s * 8 bits * size over 2**20, msg/s printed rounded
    assert abs(float(mbps) - int(per_second) * 8 * size / 2 ** 20) <= 8 * size / 2 ** 20 + 0.001


# kind -> (the listening mode, the dialing mode, which of them reports, check, size, count)
KINDS = {
    "lat": ("local_lat", "remote_lat", 1, check_latency, 64, 300),
    "thr": ("local_thr", "remote_thr", 0, check_throughput, 512, 3000),
}
PAIRINGS = [(kind, transport, ours_listens) for kind in KINDS for transport in ("tcp", "ipc")
            for ours_listens in (True, False)]


def pairing_id(pairing):
    kind, transport, ours_listens = pairing
    return "%s-%s-ours-%s" % (kind, transport, "local" if ours_listens else "remote")


def run_pairing(pairing, urls, theirs):
    kind, transport, ours_listens = pairing
    listen_mode, dial_mode, reporter, _, size, count = KINDS[kind]
    url = urls(transport)
    programs = (OURS, theirs) if ours_listens else (theirs, OURS)
    numbers = [str(size), str(count)]
    local = subprocess.Popen(programs[0] + [listen_mode, url] + numbers, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=tree_env())
    try:
        wait_for_listener(url)
        remote = subprocess.run(programs[1] + [dial_mode, url] + numbers, capture_output=True,
                                text=True, timeout=DEFAULT_TIMEOUT, env=tree_env())
        local_out, local_err = local.communicate(timeout=DEFAULT_TIMEOUT)
    finally:
        local.kill()
    results = [(local.returncode, local_out, local_err),
               (remote.returncode, remote.stdout, remote.stderr)]
    return results[reporter], results[1 - reporter]


@pytest.fixture(scope="module")
def pairings():
    """Every pairing's (reporter, other side) as (status, stdout, stderr),
    the pairings run side by side."""
    theirs = nng_perf()
    urls = UrlFactory()
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = {p: pool.submit(run_pairing, p, urls, theirs) for p in PAIRINGS}
            yield {p: future.result() for p, future in futures.items()}
    finally:
        urls.cleanup()


@pytest.mark.parametrize("pairing", PAIRINGS, ids=pairing_id)
def test_pairs_with_nngs_perf(pairings, pairing):
    reporter, other = pairings[pairing]
    kind = pairing[0]
    _, _, _, check, size, count = KINDS[kind]
    assert reporter[0] == 0 and other[0] == 0, (reporter, other)
    assert other[1] == "", other  # only one side reports
    check(reporter[1], size, count)


@pytest.mark.parametrize("mode, check, options", [
    ("inproc_lat", check_latency, []),
    ("inproc_lat", check_latency, ["--reqrep0"]),
    ("inproc_lat", check_latency, ["--bus0", "--url", "inproc://perf-bus"]),
    ("inproc_thr", check_throughput, []),
    ("inproc_thr", check_throughput, ["--pair0"]),
])
def test_inproc(mode, check, options):
    result = subprocess.run(OURS + [mode] + options + ["100", "2000"], capture_output=True,
                            text=True, timeout=DEFAULT_TIMEOUT, env=tree_env())
    assert result.returncode == 0, result.stderr
    check(result.stdout, 100, 2000)


@pytest.mark.parametrize("args", [
    ["local_lat"], ["remote_lat", "tcp://127.0.0.1:1", "1"], ["local_thr", "a", "b", "c", "d"],
    ["remote_thr"], ["inproc_lat", "1"], ["inproc_thr"],
    ["local_lat", "tcp://127.0.0.1:0", "big", "1"], ["remote_thr", "tcp://127.0.0.1:1", "8", "-1"],
    ["inproc_lat", "8", "2000000000"], ["local_thr", "tcp://127.0.0.1:0", "1", "x"],
])
def test_bad_arguments_are_nngs_errors(args):
    """The same line on stderr as NNG's perf, status 2."""
    theirs = subprocess.run(nng_perf() + args, capture_output=True, text=True)
    ours = subprocess.run(OURS + args, capture_output=True, text=True, env=tree_env())
    assert theirs.returncode == ours.returncode == 2
    assert ours.stderr == theirs.stderr
    assert ours.stdout == theirs.stdout == ""


def test_failures_exit_2_in_one_line():
    for args, says in ((["remote_lat", "tcp://127.0.0.1:1", "8", "1"], "Connection refused"),
                       (["local_lat", "bogus://x", "8", "1"], "bogus://x"),
                       (["fastest", "1", "2"], "fastest")):
        result = subprocess.run(OURS + args, capture_output=True, text=True, env=tree_env())
        assert result.returncode == 2, result
        assert says in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_ctrl_c_mid_run(children):
    """A run far too long to finish, interrupted once it is under way."""
    skip_unless(sigint_missing())
    proc = children(OURS + ["--progress", "inproc_lat", "8", "1000000000"],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=tree_env())
    line = proc.stderr.readline()  # its first progress report, a second in
    assert line.startswith(b"round trips: "), line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=5)
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err, err
    assert out == b""

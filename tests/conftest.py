import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pynng_core.poller  # noqa: E402
from peers import UrlFactory, interruptible_popen  # noqa: E402
from protocol_peers import sock  # noqa: E402
from platform_probes import skip_unless  # noqa: E402
from tls_certs import TLS_TRANSPORTS, engine_missing, make_certs  # noqa: E402

# The core's I/O pollers: the whole suite runs under each, unless
# PYNNG_CORE_TEST_ONE_POLLER says otherwise:
#   "1": every test under the first only (.ci/pythons.sh: what differs
#        between Python versions is above the C core, whose pollers the other
#        runs cover);
#   "unless_core_only": the tests marked core_only under each, the others
#        under the first (.ci/sanitize.py address: the core's paths that
#        differ by poller are those tests' subject, and the run's time goes
#        to the Python layer's tests, which the plain run covers under both).
POLLERS = (["epoll", "poll"] if sys.platform.startswith("linux")
           else ["iocp", "poll"] if sys.platform == "win32" else ["poll"])
ONE_POLLER = os.environ.get("PYNNG_CORE_TEST_ONE_POLLER", "")
if ONE_POLLER not in ("", "1", "unless_core_only"):
    raise ValueError("PYNNG_CORE_TEST_ONE_POLLER=%r: expected 1 or unless_core_only" % ONE_POLLER)


def _retry_internal_error_spawns():
    """Under wine a CreateProcess now and then fails with ERROR_INTERNAL_ERROR
    (1359) when the machine is busy: the fault of the emulator, not of the
    program started.  Every spawn in the suite (subprocess, multiprocessing)
    calls _winapi.CreateProcess, so a retry there covers them all; a retry
    higher up would reuse pipe handles that subprocess has already closed."""
    import _winapi
    import time

    create = _winapi.CreateProcess

    def retrying(*args):
        for attempt in range(3):
            try:
                return create(*args)
            except OSError as e:
                if getattr(e, "winerror", None) != 1359 or attempt == 2:
                    raise
                time.sleep(0.2)

    _winapi.CreateProcess = retrying


if sys.platform == "win32":
    _retry_internal_error_spawns()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "one_poller: run under the first I/O poller only (an expensive test that "
        "does not depend on the poller, such as one that builds network "
        "namespaces or restarts a peer process)")
    config.addinivalue_line(
        "markers",
        "core_only: its subject is the C core alone (a wire, a hostile peer, "
        "interop with a peer's binary), not anything that differs between "
        "Python versions: .ci/pythons.sh leaves it to the steps that cover the core")


def pytest_generate_tests(metafunc):
    # The poller is parametrized here rather than on the fixture, so that a
    # test marked one_poller simply has one parameter instead of a skip.
    if "poller" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker
        one = (marked("one_poller") is not None or ONE_POLLER == "1"
               or (ONE_POLLER == "unless_core_only" and marked("core_only") is None))
        metafunc.parametrize("poller", POLLERS[:1] if one else POLLERS, indirect=True)


def pytest_collection_modifyitems(config, items):
    # Per-test timeout (pytest-timeout): a hang is a failure, never a stuck CI.
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(60))


@pytest.fixture(autouse=True)
def poller(request):
    """Every test runs once per I/O poller (live connections move along);
    a test marked one_poller runs under the first one only."""
    pynng_core.poller.use(request.param)
    assert pynng_core.poller.current() == request.param
    return request.param


@pytest.fixture
def socks():
    """Collects sockets and closes them at the end of the test."""
    opened = []

    def make(cls, **kwargs):
        s = sock(cls, **kwargs)
        opened.append(s)
        return s

    yield make
    for s in reversed(opened):
        s.close()


@pytest.fixture
def children():
    """children(argv, **popen_args) starts a child process (SIGINT reaches
    it: peers.interruptible_popen); any still running when the test ends,
    passed or failed, is killed."""
    started = []

    def start(argv, **kwargs):
        proc = interruptible_popen(argv, **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def make_url():
    """make_url("tcp" | "ipc" | "inproc") -> a fresh URL for this test."""
    urls = UrlFactory()
    yield urls
    urls.cleanup()


@pytest.fixture(scope="session")
def certs():
    """The test certificates (tls_certs.make_certs), made once for the run."""
    skip_unless(engine_missing())
    pytest.importorskip("cryptography")
    return make_certs()


@pytest.fixture
def tls_for(request):
    """tls_for(transport) -> the certificates for "tls" and "wss", None for a
    plain transport, whose tests then need no TLS engine nor `cryptography`."""
    return lambda transport: (request.getfixturevalue("certs")
                              if transport in TLS_TRANSPORTS else None)

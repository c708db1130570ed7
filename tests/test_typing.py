"""The package's types: the stub of the compiled module matches it, what is
declared for type checkers matches what runs, the typed user script runs,
and mypy --strict accepts the package and that script and rejects
typing_errors.py where it says (those two need mypy: skipped without it)."""
import ast
import importlib.util
import inspect
import os
import re
import subprocess
import sys

import pytest

import pynng_core
from pynng_core import exceptions, openers
from pynng_core.socket import Socket, SocketKeywords

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
HAVE_MYPY = importlib.util.find_spec("mypy") is not None
NO_MYPY = "mypy is not installed (pip install .[typecheck])"


def test_core_stub_matches_the_compiled_module():
    sys.path.insert(0, TESTS)
    try:
        import core_stub
    finally:
        sys.path.remove(TESTS)
    stub = os.path.join(os.path.dirname(pynng_core.__file__), "_core.pyi")
    with open(stub) as f:
        current = f.read()
        assert current == core_stub.regenerated(current), \
            "_core.pyi is out of date: run PYTHONPATH=src python3 tests/core_stub.py"


def _type_checking_block(module):
    """The body of ``module``'s top-level ``if TYPE_CHECKING:``s, parsed."""
    with open(module.__file__) as f:
        tree = ast.parse(f.read())
    return [node for block in tree.body
            if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
            for node in block.body]


def test_declared_exceptions_are_the_table():
    declared = {node.name: [ast.unparse(base) for base in node.bases]
                for node in _type_checking_block(exceptions) if isinstance(node, ast.ClassDef)}
    made = {name: ["NNGException"] + [b.__name__ for b in builtins]
            for name, _, builtins, _ in exceptions._TABLE}
    assert declared == made
    static_all = next(node.value for node in _type_checking_block(exceptions)
                      if isinstance(node, ast.Assign))
    assert ast.literal_eval(static_all) == exceptions.__all__


def test_declared_openers_are_the_made_ones():
    declared = next(node for node in _type_checking_block(openers)
                    if isinstance(node, ast.ClassDef))
    names = [node.target.id for node in declared.body if isinstance(node, ast.AnnAssign)]
    assert names == list(vars(openers.lib))


def test_socket_keywords_are_sockets():
    keywords = list(inspect.signature(Socket.__init__).parameters)[1:]
    assert list(SocketKeywords.__annotations__) == keywords


def test_typed_usage_runs():
    done = subprocess.run([sys.executable, os.path.join(TESTS, "typed_usage.py")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every call ran" in done.stdout


def _mypy(*args):
    """mypy's report lines, run from the repository root (its [tool.mypy]),
    on the installed package where the sources are not there."""
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout.splitlines()


@pytest.mark.skipif(not HAVE_MYPY, reason=NO_MYPY)
def test_mypy_accepts_the_package_and_the_typed_usage():
    if os.path.isdir(os.path.join(ROOT, "src", "pynng_core")):
        rc, lines = _mypy()  # the files [tool.mypy] names
    else:  # an installed package (a wheel's test run): its py.typed and stub
        rc, lines = _mypy(os.path.join("tests", "typed_usage.py"))
    assert rc == 0, "\n".join(lines)


@pytest.mark.skipif(not HAVE_MYPY, reason=NO_MYPY)
def test_mypy_rejects_each_deliberate_error():
    path = os.path.join("tests", "typing_errors.py")
    with open(os.path.join(ROOT, path)) as f:
        expected = {(number, m.group(1)) for number, line in enumerate(f, 1)
                    for m in [re.search(r"# error: ([\w-]+)$", line)] if m}
    rc, lines = _mypy(path)
    reported = {(int(m.group(1)), m.group(2)) for line in lines
                for m in [re.match(r".*typing_errors\.py:(\d+): error: .*\[([\w-]+)\]$", line)]
                if m}
    assert rc == 1
    assert reported == expected, "\n".join(lines)

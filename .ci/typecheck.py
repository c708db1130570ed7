#!/usr/bin/env python3
"""mypy --strict on the package, tests/typed_usage.py
and examples/; then tests/test_typing.py, whose mypy
checks the suite skips where mypy is not installed (typing_errors.py must
fail exactly where it says).  In a venv of its own with the typecheck
extra's packages (pyproject.toml) and what the test needs (pytest, cffi):
mypy reads the sources through [tool.mypy]'s mypy_path, and the test runs
the package from src/ with the extension built in place (built here if it
is not there yet).

usage: .ci/typecheck.py [--venv DIR]   (default $TMPDIR/pnc-typecheck-venv)
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def typecheck_requirements():
    """The typecheck extra's requirements, as pyproject.toml lists them."""
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        match = re.search(r"^typecheck = \[(.*?)\]", f.read(), re.M | re.S)
    return re.findall(r'"([^"]+)"', match.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", default=os.path.join(tempfile.gettempdir(),
                                                       "pnc-typecheck-venv"))
    venv = parser.parse_args().venv
    python = os.path.join(venv, "Scripts" if os.name == "nt" else "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "pytest", "pytest-timeout", "cffi",
                    *typecheck_requirements()], check=True)

    start = time.monotonic()  # the files are [tool.mypy]'s in pyproject.toml
    subprocess.run([python, "-m", "mypy", "--strict"], cwd=ROOT, check=True)
    print("mypy --strict: %.1f s" % (time.monotonic() - start))

    built = [path for path in glob.glob(os.path.join(ROOT, "src", "pynng_core", "_core.*"))
             if path.endswith((".so", ".pyd"))]
    if not built:
        subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"],
                       cwd=ROOT, check=True)
    subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "tests/test_typing.py"], cwd=ROOT, check=True,
                   env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src")))


if __name__ == "__main__":
    main()

"""Builds pynng_core's extension the way pip does and puts it beside the
sources, as `setup.py build_ext --inplace` would.

pip builds in an isolated environment with pyproject.toml's build
requirements (setuptools>=77, which reads the PEP 639 license field that an
older setuptools, such as a venv's bundled 65, rejects), so the .ci scripts
never run setup.py under the running Python's own setuptools.
"""
import os
import re
import shutil
import subprocess
import sys
import zipfile


def build_inplace(root, env=None):
    """Builds the wheel of the tree at `root` and extracts its compiled
    pynng_core._core into root/src/pynng_core.  build/ goes first: its
    objects may be from another build's flags, which setuptools would keep."""
    wheels = os.path.join(root, ".inplace-wheel")
    for stale in (wheels, os.path.join(root, "build")):
        shutil.rmtree(stale, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, "."],
                   cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    [wheel] = [os.path.join(wheels, f) for f in os.listdir(wheels) if f.endswith(".whl")]
    with zipfile.ZipFile(wheel) as z:
        modules = [n for n in z.namelist() if re.match(r"pynng_core/_core\.[^/]+$", n)]
        if not modules:
            raise SystemExit("no compiled pynng_core._core in %s" % wheel)
        for name in modules:
            # Beside it, then renamed over it: a process running the old
            # one keeps its mapping (written in place, it crashed).
            target = os.path.join(root, "src", name)
            with z.open(name) as src, open(target + ".new", "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (z.getinfo(name).external_attr >> 16) & 0o777
            os.chmod(target + ".new", mode or 0o644)  # the wheel's: the .pyi is no program
            os.replace(target + ".new", target)
    shutil.rmtree(wheels)

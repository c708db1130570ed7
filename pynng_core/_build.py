"""The cffi builder: compiles csrc/ into pynng_core._core.

setup.py names this file in `cffi_modules`; `pip install .` runs it.  The C
API is read from csrc/include/pnc.h, keeping only what cffi understands
(declarations and integer #defines).  _hotpath.c, the per-message send and
recv made without cffi's per-call cost, is compiled into the same module.
"""
import os
import re
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(os.path.dirname(HERE), "csrc")
PLATFORM = "windows" if sys.platform == "win32" else "posix"


def sources():
    found = []
    for sub in ("core", "protocol", "transport", os.path.join("platform", PLATFORM)):
        folder = os.path.join(CSRC, sub)
        found += sorted(os.path.join("csrc", sub, f) for f in os.listdir(folder) if f.endswith(".c"))
    return found


def cdef_text():
    with open(os.path.join(CSRC, "include", "pnc.h")) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    keep = []
    for line in text.splitlines():
        if line.startswith("#"):
            if not re.match(r"#define\s+\w+\s+-?\d+\s*$", line):
                continue
        keep.append(line)
    return "\n".join(keep)


def hotpath_source():
    with open(os.path.join(HERE, "_hotpath.c")) as f:
        return f.read()


ffibuilder = FFI()
ffibuilder.cdef(cdef_text())
ffibuilder.cdef("int pnc_hotpath_install(void);")
ffibuilder.set_source(
    "pynng_core._core",
    '#include "pnc.h"\n' + hotpath_source(),
    sources=sources(),
    include_dirs=[os.path.join("csrc", "include")],
    extra_compile_args=[] if sys.platform == "win32" else
    ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-fvisibility=hidden"],
    libraries=[] if sys.platform == "win32" else ["pthread"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)

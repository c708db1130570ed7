"""The cffi builder: compiles csrc/ into pynng_core._core.

setup.py names this file in `cffi_modules`; `pip install .` runs it.  The C
API is read from csrc/include/pnc.h, keeping only what cffi understands
(declarations and integer #defines).  _hotpath.c, the per-message send and
recv made without cffi's per-call cost, is compiled into the same module.

Switches, read from the environment at build time:

* ``PNC_SANITIZE=address,undefined`` (or ``thread``, or ``undefined``)
  builds the core with those sanitizers (-O1 -g, frame pointers kept) and
  without the message block pools, so AddressSanitizer sees every free.
  Python itself is not instrumented: run it with the sanitizer's runtime
  in ``LD_PRELOAD`` (``.ci/sanitize.py`` does all of it).
* ``PNC_POOLS=0`` turns the block pools off alone (``-DPNC_NO_POOLS``).
* ``PYNNG_CORE_NO_TLS=1`` builds without a TLS engine even where OpenSSL is
  there: tls+tcp:// then says NotSupported, as where OpenSSL is missing.
* ``PYNNG_CORE_OPENSSL_DIR=PREFIX`` (or ``OPENSSL_DIR``, the name other
  builds read): the OpenSSL to build against, its headers in PREFIX/include
  and its libraries in PREFIX/lib (libssl and libcrypto; on Windows the
  import libraries libssl.lib and libcrypto.lib, as vcpkg and the Shining
  Light installers lay them out).  The wheels' builds set it where OpenSSL
  is not in the compiler's own paths (pyproject.toml's [tool.cibuildwheel]).

The TLS engine (csrc/tls/tls_openssl.c) is OpenSSL 1.1.1 or 3.x, found by
compiling and linking a program against it with the compiler setuptools
uses for the extension (CC where that is set; MSVC on Windows): with the
prefix above when given, else with pkg-config's flags when pkg-config knows
openssl, else with the compiler's own paths.  If that fails the build goes
on without TLS, saying why (PNC_HAVE_OPENSSL defined is what tells the C).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(os.path.dirname(os.path.dirname(HERE)), "csrc")  # beside src/
PLATFORM = "windows" if sys.platform == "win32" else "posix"


def sources(platform: str = PLATFORM) -> list[str]:
    """The C files to compile for `platform` ("posix" or "windows"; a cross
    build, such as .ci/windows.py's, asks for the one it targets), with
    platform/common, which every OS compiles."""
    found = []
    for sub in ("core", "protocol", "transport", "tls", os.path.join("platform", "common"),
                os.path.join("platform", platform)):
        folder = os.path.join(CSRC, sub)
        found += sorted(os.path.join("csrc", sub, f) for f in os.listdir(folder) if f.endswith(".c"))
    return found


def cdef_text() -> str:
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


def hotpath_source() -> str:
    with open(os.path.join(HERE, "_hotpath.c")) as f:
        return f.read()


def sanitizer_flags() -> tuple[list[str], list[str]]:
    """(compile args, link args) for the PNC_SANITIZE / PNC_POOLS switches."""
    sanitize = os.environ.get("PNC_SANITIZE", "").replace(" ", "")
    compile_args: list[str] = []
    link_args: list[str] = []
    if sanitize:
        known = {"address", "undefined", "thread"}
        asked = set(sanitize.split(","))
        if not asked <= known or {"address", "thread"} <= asked:
            raise SystemExit("PNC_SANITIZE=%r: give address, thread or undefined, "
                             "comma-separated (address and thread exclude each other)"
                             % sanitize)
        flag = "-fsanitize=" + sanitize
        compile_args += [flag, "-fno-omit-frame-pointer", "-g", "-O1"]
        link_args.append(flag)
    if sanitize or os.environ.get("PNC_POOLS", "1") == "0":
        compile_args.append("-DPNC_NO_POOLS")
    return compile_args, link_args


SANITIZE_COMPILE, SANITIZE_LINK = sanitizer_flags() if sys.platform != "win32" else ([], [])

OPENSSL_PROBE = r"""
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#if OPENSSL_VERSION_NUMBER < 0x10101000L
#error "OpenSSL 1.1.1 or newer is needed"
#endif
int main(void) { SSL_CTX *c = SSL_CTX_new(TLS_method()); SSL_CTX_free(c); return 0; }
"""


def openssl_candidate() -> dict[str, Any]:
    """Where to look for OpenSSL: a dict of include_dirs, library_dirs,
    libraries and extra_compile_args (what set_source takes), from
    PYNNG_CORE_OPENSSL_DIR or OPENSSL_DIR when set, else pkg-config's flags,
    else the compiler's own paths."""
    unix = sys.platform != "win32"
    found: dict[str, Any] = {"include_dirs": [], "library_dirs": [], "extra_compile_args": [],
             "libraries": ["ssl", "crypto"] if unix else ["libssl", "libcrypto"]}
    prefix = os.environ.get("PYNNG_CORE_OPENSSL_DIR") or os.environ.get("OPENSSL_DIR")
    if prefix:
        found["include_dirs"].append(os.path.join(prefix, "include"))
        found["library_dirs"].append(os.path.join(prefix, "lib"))
    elif unix and shutil.which("pkg-config"):
        done = subprocess.run(["pkg-config", "--cflags", "--libs", "openssl"],
                              capture_output=True, text=True)
        if done.returncode == 0:
            words = done.stdout.split()
            found["include_dirs"] = [w[2:] for w in words if w.startswith("-I")]
            found["library_dirs"] = [w[2:] for w in words if w.startswith("-L")]
            found["libraries"] = [w[2:] for w in words if w.startswith("-l")] or found["libraries"]
            found["extra_compile_args"] = [w for w in words if not w.startswith(("-I", "-L", "-l"))]
    return found


def openssl_settings() -> dict[str, Any] | None:
    """The set_source arguments for the TLS engine, or None when this build
    has none (PYNNG_CORE_NO_TLS=1, or no OpenSSL 1.1.1+ that the compiler
    setuptools would use can compile and link against).  Why goes to stderr."""
    if os.environ.get("PYNNG_CORE_NO_TLS", "") not in ("", "0"):
        print("pynng_core: PYNNG_CORE_NO_TLS set: building without TLS", file=sys.stderr)
        return None
    import setuptools  # noqa: F401  (distutils below is setuptools' own)
    from distutils.ccompiler import new_compiler
    from distutils.errors import CCompilerError, DistutilsError
    from distutils.sysconfig import customize_compiler

    found = openssl_candidate()
    compiler = new_compiler()
    customize_compiler(compiler)  # CC and the like, as the extension's build honours them
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(OPENSSL_PROBE)
        try:
            objects = compiler.compile([src], output_dir=tmp, include_dirs=found["include_dirs"],
                                       extra_postargs=found["extra_compile_args"])
            compiler.link_executable(objects, "probe", output_dir=tmp,
                                     libraries=found["libraries"],
                                     library_dirs=found["library_dirs"])
        except (CCompilerError, DistutilsError, OSError):
            print("pynng_core: OpenSSL 1.1.1 or newer not found: a program using it did not "
                  "compile and link (the compiler's words are above; PYNNG_CORE_OPENSSL_DIR "
                  "names where OpenSSL is): building without TLS", file=sys.stderr)
            return None
    found["define_macros"] = [("PNC_HAVE_OPENSSL", None)]
    return found


TLS = openssl_settings() or {}
# The stable ABI of the wheel's tag (cp310-abi3), not cffi's default (3.2):
# _hotpath.c's calls take their arguments as fast calls (METH_FASTCALL).
# The cross builds of .ci/ compile with it too.
LIMITED_API = ("Py_LIMITED_API", "0x030A0000")

ffibuilder = FFI()
ffibuilder.cdef(cdef_text())
ffibuilder.cdef("int pnc_hotpath_install(void);")
ffibuilder.set_source(
    "pynng_core._core",
    '#include "pnc.h"\n' + hotpath_source(),
    sources=sources(),
    include_dirs=[os.path.join("csrc", "include")] + TLS.get("include_dirs", []),
    define_macros=[LIMITED_API] + TLS.get("define_macros", []),
    # MSVC there (what cibuildwheel uses): C11 (alignment: pnc_atomic.h); Winsock's library.
    extra_compile_args=(["/std:c11", "/O2"] if sys.platform == "win32" else
                        ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-fvisibility=hidden"] +
                        SANITIZE_COMPILE) + TLS.get("extra_compile_args", []),
    extra_link_args=SANITIZE_LINK,
    library_dirs=TLS.get("library_dirs", []),
    libraries=(["ws2_32"] if sys.platform == "win32" else ["pthread"]) + TLS.get("libraries", []),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)

"""Writes the lib part of src/pynng_core/_core.pyi, the type stub of the
compiled module, from the module itself: every function and integer
constant of its cffi ``lib`` (what _build.py's cdef declared), with the
types cffi converts them to and from.  ``--check`` only says whether the stub is up to date
(test_typing.py runs it, so the stub cannot drift from the cdef).

    PYTHONPATH=src python3 tests/core_stub.py [--check]
"""
import os
import sys

STUB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "src", "pynng_core", "_core.pyi")

# The stub's lib part, from this line on, is generated; what comes before
# it (cffi's ffi as this package uses it, what _hotpath.c adds) is written
# by hand in the stub and kept as it is.
LIB_PART = "class Lib:\n"


def python_type(ctype, argument):
    """The Python type cffi takes (an argument) or gives for a C type."""
    if ctype.kind == "void":
        return "None"
    if ctype.kind == "primitive":
        return "int"  # the cdef has integer types only
    if not argument:
        return "CData"
    # cffi passes None as NULL, and bytes as a char or void pointer.
    if ctype.cname in ("char *", "void *"):
        return "bytes | CData | None"
    return "CData | None"


def stub_text(hand_written):
    """The stub: ``hand_written`` (what comes before its lib part), then the
    lib part made from the module."""
    from pynng_core._core import ffi, lib

    constants, functions = [], []
    for name in sorted(dir(lib)):
        value = getattr(lib, name)
        if isinstance(value, int):
            constants.append("    %s: int" % name)
            continue
        ctype = ffi.typeof(value)
        params = ", ".join(["self"] + ["a%d: %s" % (i, python_type(arg, True))
                                       for i, arg in enumerate(ctype.args)] + ["/"])
        functions.append("    def %s(%s) -> %s: ..." % (name, params,
                                                        python_type(ctype.result, False)))
    return (hand_written + LIB_PART +
            '    """The cdef\'s functions and integer constants (cffi\'s lib)."""\n\n'
            + "\n".join(constants + functions) + "\n\nlib: Lib\n")


def regenerated(current):
    """The stub ``current`` with its lib part made again from the module."""
    return stub_text(current[:current.index(LIB_PART)])


def main():
    with open(STUB) as f:
        current = f.read()
    text = regenerated(current)
    if "--check" in sys.argv[1:]:
        if current != text:
            sys.exit("%s is out of date: run tests/core_stub.py" % STUB)
        return
    with open(STUB, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()

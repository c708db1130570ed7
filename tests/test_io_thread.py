"""The core's I/O thread on the scheduler: it asks for a short slice, so a
message it has to hand on is not held up behind busy threads' turns on
the CPU (csrc/platform/posix/posix_thread.c, pnc_thread_prefer_prompt_wakeups)."""

import ast
import platform
import subprocess
import sys

import pytest

PROMPT_SLICE_NS = 100000

SLICES = r"""
import os, pynng_core
s = pynng_core.Pair0()
s.listen("inproc://io-thread-slice")  # the I/O thread is up and has run
slices = {}
for tid in os.listdir("/proc/self/task"):
    with open("/proc/self/task/%s/sched" % tid) as f:
        for line in f:
            if line.startswith("se.slice"):
                slices[int(tid)] = int(line.split(":")[1])
print(os.getpid(), slices)
"""


def kernel_has_custom_slices():
    """Linux 6.12 and later take a SCHED_OTHER thread's slice from sched_setattr."""
    version = tuple(int(x) for x in platform.release().split("-")[0].split(".")[:2])
    return version >= (6, 12)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's scheduler only")
def test_the_io_thread_asks_for_a_short_slice_and_leaves_the_others_alone():
    if not kernel_has_custom_slices():
        pytest.skip("this kernel (%s) has no per-thread slice" % platform.release())
    out = subprocess.run([sys.executable, "-c", SLICES], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split(None, 1)
    main, slices = int(out[0]), ast.literal_eval(out[1])
    if not slices:
        pytest.skip("/proc does not show the threads' slices here")
    short = [tid for tid, ns in slices.items() if ns == PROMPT_SLICE_NS]
    assert len(short) == 1 and short[0] != main, slices  # the I/O thread, and it alone

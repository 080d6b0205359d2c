"""Freed arrays of a fit stay in the heap for reuse instead of going back to the system."""

import platform
import subprocess
import sys

import pytest

# A 40 MB array allocated and freed; prints (glibc's mallinfo2) the bytes in mapped blocks
# while it lives and the heap's size after it is freed.
PROBE = """
import ctypes, sys
import numpy as np
from galfit_unc.fitter.allocator import keep_freed_memory

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Info
print(keep_freed_memory() if sys.argv[1] == "keep" else "plain")
a = np.ones(5 << 20)
print(mallinfo2().hblkhd)
del a
print(mallinfo2().arena)
"""
SIZE = 40 << 20


def probe(mode):
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True).stdout.split()
    return out[0], int(out[1]), int(out[2])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the thresholds are glibc's; other C libraries are left alone")
def test_freed_blocks_stay_in_the_heap():
    flag, mapped, heap = probe("plain")
    assert flag == "plain" and mapped >= SIZE and heap < SIZE  # glibc's default: mapped, then unmapped
    flag, mapped, heap = probe("keep")
    assert flag == "True"
    assert mapped < SIZE  # served from the heap ...
    assert heap >= SIZE  # ... and kept there once freed

"""``humanparse.malloc.tune_malloc``: fewer page faults when large buffers are freed and allocated again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import json, resource, sys
import numpy as np
from humanparse.malloc import tune_malloc
applied = tune_malloc()
assert tune_malloc() is applied  # idempotent
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):  # warm-up: the first buffers fault in any case
    a = np.ones(4 << 20, np.float32); del a
f0 = faults()
for _ in range(20):  # 16 MiB buffers, as a network's activations
    a = np.ones(4 << 20, np.float32)
    b = a * 2
    del a, b
print(json.dumps({"applied": applied, "faults": faults() - f0}))
"""


def _probe(tuning: str) -> dict:
    env = {**os.environ, "HUMANPARSE_MALLOC_TUNING": tuning}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_tuning_keeps_freed_buffers_for_reuse():
    off, on = _probe("0"), _probe("1")
    assert off["applied"] is False and on["applied"] is True
    # 40 buffers of 16 MiB (4096 pages each): with glibc's defaults the heap top is trimmed after each
    # free and the pages fault again (measured ~19,600 faults here); tuned, the freed buffers stay
    # in the heap and are reused (~500)
    assert off["faults"] > 4096
    assert on["faults"] < off["faults"] / 10

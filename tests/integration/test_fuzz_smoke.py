"""Smoke run of every libFuzzer target (fuzz/fuzz-*.c) under ASan+UBSan.

Each target is built with clang in build-fuzz/ (as `make fuzz` does), given
its seed corpus made from ../shared/vectors by fuzz/make-corpus, and run for
2000 mutated inputs after the seeds. A crash, a sanitizer report, a leak or
a failed property check fails the test; the reproducer is left in
build-fuzz/artifacts/<target>/. Long runs: `make fuzz SECONDS=N`.
"""
import glob
import os
import re
import subprocess

import pytest

from owctlrun import ROOT, SHARED

# builds its own libFuzzer+ASan binaries: with the first build only
pytestmark = pytest.mark.once

RUNS = 2000
TARGETS = sorted(os.path.basename(f)[len("fuzz-"):-2]
                 for f in glob.glob(os.path.join(ROOT, "fuzz", "fuzz-*.c")))


def test_there_are_targets():
    assert {"configxml", "loadfmt", "export", "pyjson", "shlex",
            "nginx", "caches"} <= set(TARGETS)


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_smoke(target):
    env = dict(os.environ, SHARED_DIR=SHARED)
    env.pop("ASAN_OPTIONS", None)
    p = subprocess.run([os.path.join(ROOT, "fuzz", "run"), "-r", str(RUNS),
                        target], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=900)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    m = re.search(r"^%s\s+(\d+) execs .* ok$" % re.escape(target), p.stdout,
                  re.M)
    assert m, out
    build = os.environ.get("FUZZ_BUILD", "build-fuzz")
    seeds = os.listdir(os.path.join(ROOT, build, "corpus", target))
    assert seeds, "no seeds for %s" % target
    # -runs counts every input run, the seeds included
    assert int(m.group(1)) >= RUNS, out

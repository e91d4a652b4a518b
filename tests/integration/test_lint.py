"""Static analysis in CI: scripts/lint (cppcheck with .cppcheck, clang-tidy
with .clang-tidy) over the C files of lib/ and src/ that the meson build
compiles must report nothing. A clean result is cached per tree content,
so the second pass of `make test` is free."""
import os
import subprocess

import pytest

from owctlrun import ROOT

# independent of the build under test: with the first build only
pytestmark = pytest.mark.once


def test_lint_is_clean():
    p = subprocess.run([os.path.join(ROOT, "scripts", "lint")], cwd=ROOT,
                       capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "clean" in p.stdout, p.stdout


def test_lint_configs_are_checked_in():
    for f in (".cppcheck", ".clang-tidy"):
        assert os.path.isfile(os.path.join(ROOT, f)), f

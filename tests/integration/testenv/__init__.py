# Helpers for owctl's integration tests: start REAL servers (gunicorn with
# the stand-in OMERO.web, redis-server, nginx) on free loopback ports inside
# temp dirs, and stop them by PID.  See conftest.py for the pytest fixtures.
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
BUILD_WHEELS = FIXTURES / "build-wheels.sh"
SHARED_DIR = Path(os.environ.get("SHARED_DIR", REPO_ROOT.parent / "shared"))

# Debian's interpreter: the python3 first on PATH may be another one that
# cannot see Debian's python3-* packages.
SYSTEM_PYTHON = os.environ.get("OWCTL_TEST_PYTHON", "/usr/bin/python3")

STANDIN_VERSIONS = ("5.30.1", "5.31.0")

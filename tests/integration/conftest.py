# pytest fixtures for owctl's integration tests.  They start REAL servers
# (gunicorn + the stand-in OMERO.web, redis-server, nginx) on free loopback
# ports in pytest temp dirs and stop them by PID; finalizers make sure no
# process outlives its test, even one that daemonised itself.
import os
import signal
import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from testenv import procs  # noqa: E402
from testenv.gunicorn import start_gunicorn  # noqa: E402
from testenv.nginx import start_nginx  # noqa: E402
from testenv.ports import free_port as _free_port  # noqa: E402


def pytest_configure(config):
    # scripts/run-tests runs the suite once per build (normal, ASan); tests
    # marked `once` check the packaging or drive whole tools around owctl
    # and run with the first build only (-m 'not once' for the others).
    config.addinivalue_line("markers", "once: run with the first build only")
from testenv.redis import start_redis  # noqa: E402
from testenv.venv import build_wheels, make_venv  # noqa: E402


def _sigterm_to_interrupt(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


# A killed test run still runs its finalizers (and atexit: procs.stop_all).
if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _sigterm_to_interrupt)


def pytest_sessionfinish(session, exitstatus):
    left = procs.stop_all()
    if left:
        sys.stderr.write("\nowctl testenv: stopped leftover servers: %s\n"
                         % ", ".join(left))


@pytest.fixture(scope="session", autouse=True)
def _owctl_session_reaper(tmp_path_factory):
    """Session finalizer: stop every tracked server and any process still
    tied to this run's basetemp (daemons started by owctl included)."""
    base = tmp_path_factory.getbasetemp()
    yield
    left = procs.stop_all()
    killed = procs.reap_strays(base)
    if left or killed:
        sys.stderr.write("\nowctl testenv: cleaned up at session end: %s\n"
                         % "; ".join(left + killed))


@pytest.fixture(autouse=True)
def _owctl_test_reaper(tmp_path):
    """Per-test finalizer: kill processes whose cwd, argv or environment
    points into this test's tmp_path (e.g. `gunicorn -D` run by owctl)."""
    yield
    killed = procs.reap_strays(tmp_path)
    if killed:
        warnings.warn("killed processes left by the test: %s"
                      % "; ".join(killed))


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory):
    """Dir with all fixture wheels (built once per session).

    OWCTL_WHEELHOUSE=DIR reuses DIR across runs (rebuilt only when the
    fixture sources change).
    """
    env = os.environ.get("OWCTL_WHEELHOUSE")
    path = Path(env) if env else tmp_path_factory.mktemp("wheelhouse")
    return build_wheels(path)


@pytest.fixture(scope="session")
def venv_factory(tmp_path_factory, wheelhouse):
    """make(omero_web="5.31.0", plugins=(), with_pip="shim", name=None) -> Venv.

    A new venv with omero-web==OMERO_WEB (None: nothing) and PLUGINS
    (requirement strings, e.g. "omero-figure==2.0.0") from the wheelhouse.
    """
    def make(omero_web="5.31.0", plugins=(), *, with_pip="shim", name=None):
        reqs = ["omero-web==%s" % omero_web] if omero_web else []
        reqs += list(plugins)
        d = tmp_path_factory.mktemp(name or "venv-%s" % (omero_web or "none"))
        return make_venv(d / "venv", wheelhouse, *reqs, with_pip=with_pip)
    return make


@pytest.fixture(scope="session")
def venv_530(venv_factory):
    """Shared venv with omero-web 5.30.1 only; do not modify it."""
    return venv_factory("5.30.1")


@pytest.fixture(scope="session")
def venv_531(venv_factory):
    """Shared venv with omero-web 5.31.0 only; do not modify it."""
    return venv_factory("5.31.0")


@pytest.fixture
def omerodir(tmp_path):
    """A fresh OMERODIR (tmp_path/OMERO.web) with etc/grid, no config.xml."""
    d = tmp_path / "OMERO.web"
    (d / "etc" / "grid").mkdir(parents=True)
    return d


@pytest.fixture
def free_port():
    """The ports.free_port function."""
    return _free_port


@pytest.fixture
def redis_factory(tmp_path):
    """start(password=None, unixsocket=False, port=None) -> RedisServer."""
    servers = []

    def start(**kw):
        srv = start_redis(tmp_path / ("redis%d" % len(servers)), **kw)
        servers.append(srv)
        return srv
    yield start
    for srv in servers:
        srv.stop()


@pytest.fixture
def redis_server(redis_factory):
    """A redis-server without password on a free loopback port."""
    return redis_factory()


@pytest.fixture
def gunicorn_app(tmp_path):
    """start(venv, omerodir, **kw) -> Gunicorn (see testenv.gunicorn.start_gunicorn).

    Every Gunicorn started is stopped at teardown, whatever happened.
    """
    apps = []

    def start(venv, omerodir, **kw):
        kw.setdefault("workdir", tmp_path / ("gunicorn%d" % len(apps)))
        g = start_gunicorn(venv, omerodir, **kw)
        apps.append(g)
        return g
    yield start
    for g in apps:
        g.stop()


@pytest.fixture
def nginx(tmp_path):
    """start(server_conf, port, **kw) -> Nginx (server_conf: path or text in
    http context; it must listen on PORT).  Stopped at teardown."""
    servers = []

    def start(server_conf, port, **kw):
        ng = start_nginx(tmp_path / ("nginx%d" % len(servers)), server_conf,
                         port=port, **kw)
        servers.append(ng)
        return ng
    yield start
    for ng in servers:
        ng.stop()

# Run the stand-in OMERO.web under Gunicorn the way `omero web start` does:
# `VENV/bin/python -m gunicorn ... omeroweb.wsgi:application` with cwd = the
# installed omeroweb package, OMERODIR/TMPDIR/SCRIPT_NAME in the env,
# PYTHONPATH += $OMERODIR/var/lib; in the foreground, managed by PID.
import http.client
import os
import time
from pathlib import Path

from testenv import client, procs
from testenv.ports import free_port
from testenv.venv import clean_env


class GunicornError(RuntimeError):
    """Gunicorn did not come up (or not healthy); message has the log tail."""


def gunicorn_argv(venv, *, bind, workers=1, threads=1, timeout=60,
                  max_requests=0, pidfile=None, extra=()):
    """argv of `omero web start --foreground` for VENV (sync workers)."""
    argv = [str(venv.python), "-m", "gunicorn"]
    if pidfile is not None:
        argv += ["-p", str(pidfile)]
    argv += ["--bind", bind, "--workers", str(workers), "--threads",
             str(threads), "--timeout", str(timeout), "--max-requests",
             str(max_requests)]
    argv += [str(a) for a in extra]
    argv.append("omeroweb.wsgi:application")
    return argv


def gunicorn_env(omerodir, *, venv=None, tmpdir=None, script_name=None,
                 extra=None):
    """Environment for a Gunicorn serving OMERODIR (like ctx._env())."""
    env = clean_env()
    env["OMERODIR"] = str(omerodir)
    env["PYTHONPATH"] = os.path.join(str(omerodir), "var", "lib")
    if venv is not None:
        env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":" + str(venv.bin)
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    if script_name:
        env["SCRIPT_NAME"] = script_name
    env.update(extra or {})
    return env


class Gunicorn:
    """A running Gunicorn; URL is the base including the script name."""

    def __init__(self, proc, *, venv, omerodir, host, port, tmpdir, log,
                 workdir, script_name, pidfile):
        self.proc = proc
        self.pid = proc.pid
        self.venv = venv
        self.omerodir = Path(omerodir)
        self.host = host
        self.port = port
        self.tmpdir = Path(tmpdir)
        self.log = Path(log)
        self.workdir = Path(workdir)
        self.script_name = (script_name or "").rstrip("/")
        self.pidfile = pidfile
        self.url = "http://%s:%d%s" % (host, port, self.script_name)

    def __repr__(self):
        return "<Gunicorn pid %d %s>" % (self.pid, self.url)

    def request(self, path, **kw):
        """HTTP request to URL + PATH (PATH relative, e.g. "/version")."""
        return client.request(self.url + path, **kw)

    def get(self, path, **kw):
        return client.get(self.url + path, **kw)

    def post(self, path, data=None, **kw):
        return client.post(self.url + path, data=data, **kw)

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def wait_ready(self, timeout=30.0, expect_healthy=True):
        """Wait for an HTTP answer on /health; with EXPECT_HEALTHY it must be 200.

        Raises GunicornError (the process is left as it is).
        """
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise GunicornError(
                    "gunicorn exited with %s before answering:\n%s"
                    % (self.proc.returncode, self.log_text()[-4000:]))
            try:
                r = self.get("/health", timeout=max(1.0, deadline - time.monotonic()))
            except (OSError, http.client.HTTPException) as e:
                last = e
                time.sleep(0.05)
                continue
            if expect_healthy and r.status != 200:
                raise GunicornError("GET %s/health: %d %s\n%s" % (
                    self.url, r.status, r.text[:500], self.log_text()[-4000:]))
            return r
        raise GunicornError("gunicorn not answering after %.1fs (%s):\n%s"
                            % (timeout, last, self.log_text()[-4000:]))

    def wait_exit(self, timeout=30.0):
        """Wait for the master to exit on its own; return its exit status."""
        try:
            return self.proc.wait(timeout=timeout)
        except Exception:
            return None

    def stop(self, timeout=10.0):
        """SIGTERM the master's process group, SIGKILL after TIMEOUT."""
        return procs.stop(self.proc, timeout=timeout)


def start_gunicorn(venv, omerodir, *, workdir=None, host="127.0.0.1",
                   port=None, tmpdir=None, workers=1, threads=1, timeout=60,
                   max_requests=0, script_name=None, env=None, extra_args=(),
                   pidfile=None, wait=True, expect_healthy=True,
                   startup_timeout=30.0):
    """Start Gunicorn for VENV's stand-in with OMERODIR; return a Gunicorn.

    WORKDIR (default: a new dir next to OMERODIR) holds gunicorn.log and the
    default TMPDIR ("tmp", where file sessions go).  PORT None picks a free
    one (retried on EADDRINUSE).  SCRIPT_NAME = omero.web.prefix.
    With WAIT the call returns only once /health answers (200 if
    EXPECT_HEALTHY); on failure the process is stopped and GunicornError
    raised with the log.
    """
    omerodir = Path(omerodir)
    if workdir is None:
        workdir = omerodir.parent / ("gunicorn-%d" % time.monotonic_ns())
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if tmpdir is None:
        tmpdir = workdir / "tmp"
    Path(tmpdir).mkdir(parents=True, exist_ok=True)
    log = workdir / "gunicorn.log"
    cwd = venv.omeroweb_dir()
    attempts = 3 if port is None else 1
    for attempt in range(attempts):
        p = port if port is not None else free_port(host)
        argv = gunicorn_argv(venv, bind="%s:%d" % (host, p), workers=workers,
                             threads=threads, timeout=timeout,
                             max_requests=max_requests, pidfile=pidfile,
                             extra=extra_args)
        e = gunicorn_env(omerodir, venv=venv, tmpdir=tmpdir,
                         script_name=script_name, extra=env)
        start = log.stat().st_size if log.exists() else 0
        proc = procs.spawn(argv, name="gunicorn %s" % omerodir, log=log,
                           cwd=cwd, env=e)
        g = Gunicorn(proc, venv=venv, omerodir=omerodir, host=host, port=p,
                     tmpdir=tmpdir, log=log, workdir=workdir,
                     script_name=script_name, pidfile=pidfile)
        if not wait:
            return g
        try:
            g.wait_ready(startup_timeout, expect_healthy=expect_healthy)
            return g
        except GunicornError:
            g.stop()
            text = log.read_text(errors="replace")[start:]
            if "Address already in use" in text and attempt + 1 < attempts:
                continue
            raise
    raise GunicornError("could not bind a free port")

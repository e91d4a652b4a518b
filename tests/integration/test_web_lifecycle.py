# owctl web start/stop/status/restart/reload against real Debian gunicorn
# serving the stand-in OMERO.web: readiness, failures that must leave
# nothing running, stale and reused PIDs, and a bounded loopback load during
# reload and restarts (zero failed requests except for plain restart, whose
# failures are counted).  Every process a test starts is stopped by PID.
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from owctlrun import base_env, owctl_path
from testenv import procs
from testenv.configxml import write_config

APP = "omeroweb.wsgi:application"


class Load:
    """Threads doing GET PATH on loopback in a loop until stop()."""

    def __init__(self, port, path="/version", threads=2, max_seconds=90,
                 pause=0.002):
        self.port = port
        self.path = path
        self.n = threads
        self.max_seconds = max_seconds
        self.pause = pause
        self.ok = 0
        self.failed = 0
        self.errors = {}
        self.latencies = []
        self.pids = set()
        self.first_fail = self.last_fail = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = []

    def _one(self):
        t0 = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            c.request("GET", self.path, headers={"Connection": "close"})
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status != 200:
                raise RuntimeError("HTTP %d" % r.status)
            pid = json.loads(body).get("pid")
            with self._lock:
                self.ok += 1
                self.latencies.append(time.monotonic() - t0)
                self.pids.add(pid)
            return True
        except Exception as e:  # noqa: BLE001 - every failure counts
            now = time.monotonic()
            with self._lock:
                self.failed += 1
                key = type(e).__name__ + ": " + str(e)[:60]
                self.errors[key] = self.errors.get(key, 0) + 1
                self.first_fail = self.first_fail or now
                self.last_fail = now
            return False

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            time.sleep(self.pause if self._one() else 0.01)

    def __enter__(self):
        for _ in range(self.n):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self._threads.append(t)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        time.sleep(0.3)
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def report(self):
        lat = sorted(self.latencies) or [0]
        return ("%d ok, %d failed, p50 %.0f ms, max %.0f ms, errors %s"
                % (self.ok, self.failed, lat[len(lat) // 2] * 1000,
                   lat[-1] * 1000, self.errors))


class Site:
    """An OMERODIR with a stand-in config, driven through owctl."""

    def __init__(self, omerodir, venv, port, tmp):
        self.omerodir = Path(omerodir)
        self.venv = venv
        self.port = port
        self.tmp = Path(tmp)
        self.pidfile = self.omerodir / "var" / "django.pid"
        (self.tmp / "sessions").mkdir(exist_ok=True)
        self.props = {"omero.web.application_server.port": str(port),
                      "omero.web.wsgi_workers": "2"}
        self.write()

    def write(self, **extra):
        self.props.update({k.replace("__", "."): v for k, v in extra.items()})
        write_config(self.omerodir, {k: v for k, v in self.props.items()
                                     if v is not None})

    def env(self, **extra):
        e = base_env(OMERODIR=str(self.omerodir),
                     TMPDIR=str(self.tmp / "sessions"))
        e.pop("VIRTUAL_ENV", None)
        e.update(extra)
        return e

    def owctl(self, *args, venv=True, env=None, timeout=120):
        argv = [owctl_path(), "web"]
        if venv:
            argv += ["--venv", str(self.venv.path)]
        r = subprocess.run(argv + list(args), capture_output=True, text=True,
                           env=env or self.env(), timeout=timeout)
        return r

    def pid(self):
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def url(self, path="/version"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def get(self, path="/version"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body

    def leftovers(self):
        return [p for p in procs.processes_under(self.omerodir)
                if procs.alive(p)]

    def cleanup(self):
        self.owctl("stop", "--timeout", "10", venv=False)
        pid = self.pid()
        if pid:
            procs.stop_pidfile(self.pidfile, expect=APP)
        for p in self.leftovers():
            procs.track_pid(p, "leftover", expect=str(self.omerodir))
            procs.stop(p, timeout=5)


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid and fields[0] != "Z":
                    out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return sorted(out)


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return [a.decode() for a in f.read().split(b"\0")[:-1]]


@pytest.fixture
def site(tmp_path, omerodir, venv_531, free_port):
    s = Site(omerodir, venv_531, free_port(), tmp_path)
    procs.track_pidfile(s.pidfile, name="gunicorn (owctl web)", expect=APP)
    yield s
    s.cleanup()
    assert s.leftovers() == []


def start(site, *extra, keep=True):
    args = ["start", "--timeout", "40"] + (["--keep-sessions"] if keep else [])
    r = site.owctl(*args, *extra)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


# ---- start / status / stop -------------------------------------------------

def test_web_start_status_stop_cycle(site):
    r = start(site, keep=False)
    assert "OMERO.web virtualenv: %s (from --venv), omero-web 5.31.0" % \
        site.venv.path in r.stdout
    assert "Clearing expired sessions. This may take some time... [OK]" in r.stdout
    assert "static files copied" in r.stdout
    assert "Starting OMERO.web... [OK]" in r.stdout
    pid = site.pid()
    assert pid and procs.alive(pid)
    # [OK] means it answers now, no waiting
    status, body = site.get()
    assert status == 200 and json.loads(body)["omero_web"] == "5.31.0"
    # exactly omero-web's argv (minus -D), run by the venv's Python
    argv = cmdline(pid)
    assert argv[:3] == [str(site.venv.python), "-m", "gunicorn"]
    assert argv[3:] == ["-p", str(site.pidfile), "--bind",
                        "127.0.0.1:%d" % site.port, "--workers", "2",
                        "--threads", "1", "--timeout", "60",
                        "--max-requests", "0", APP]
    assert (site.omerodir / "var" / "static" / "webclient").is_dir()

    r = site.owctl("status", "--json", venv=False)
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert st["state"] == "running" and st["pid"] == pid
    assert sorted(st["workers"]) == children(pid) and len(st["workers"]) == 2
    assert st["bind"] == "127.0.0.1:%d" % site.port
    assert st["health"]["http_status"] == 302
    assert st["health"]["latency_ms"] > 0 and st["uptime"] >= 0
    assert st["venv"] == str(site.venv.path)
    r = site.owctl("status", venv=False)
    assert r.returncode == 0 and "[RUNNING] (PID %d)" % pid in r.stdout

    r = site.owctl("start", "--keep-sessions")
    assert r.returncode == 94, r.stderr
    assert ("[FAILED] OMERO.web already started. %s exists (PID: %d)! "
            "Use 'web stop or restart' first." % (site.pidfile, pid)) in r.stderr
    assert site.pid() == pid and procs.alive(pid)

    workers = children(pid)
    r = site.owctl("stop", venv=False)
    assert r.returncode == 0, r.stderr
    assert "Stopping OMERO.web... [OK]" in r.stdout
    assert "OMERO.web WSGI workers (PID %d) killed." % pid in r.stdout
    assert "port free" in r.stdout
    # stop returned only once everything exited and the port is free
    assert not procs.alive(pid)
    assert not [w for w in workers if procs.alive(w)]
    assert not port_open(site.port)
    assert not site.pidfile.exists()

    r = site.owctl("status", venv=False)
    assert r.returncode == 3 and "[NOT STARTED]" in r.stderr
    r = site.owctl("stop", venv=False)
    assert r.returncode == 0 and "[NOT STARTED]" in r.stdout


def test_web_start_dry_run_and_quoted_wsgi_args(site):
    site.write(omero__web__wsgi_args="--log-level=DEBUG "
               "--error-logfile='%s/my dir/err.log'" % site.tmp,
               omero__web__prefix="/omero")
    r = site.owctl("start", "--dry-run")
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    # shell words: the quoted path with a space stays one argument
    assert "'--error-logfile=%s/my dir/err.log'" % site.tmp in last
    assert "SCRIPT_NAME=/omero" in last
    assert last.endswith(" " + APP)
    assert not site.pidfile.exists() and site.leftovers() == []

    # for real: gunicorn gets the path with the space as one word
    (site.tmp / "my dir").mkdir()
    start(site, "--health-path", "/health")
    argv = cmdline(site.pid())
    assert "--error-logfile=%s/my dir/err.log" % site.tmp in argv
    assert site.get("/omero/health")[0] == 200
    assert (site.tmp / "my dir" / "err.log").stat().st_size > 0


def test_web_start_refuses_invalid_config(site):
    site.write(omero__web__application_server__port="80x")
    r = site.owctl("start", "--keep-sessions")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "refusing to start" in r.stderr
    assert "omero.web.application_server.port" in r.stderr
    site.write(omero__web__application_server__port=str(site.port),
               omero__web__wsgi_worker_class="eventlet")
    r = site.owctl("start", "--keep-sessions")
    assert r.returncode in (1, 97), r.stderr
    assert not site.pidfile.exists() and site.leftovers() == []


# ---- failures leave nothing running ----------------------------------------

def test_web_start_port_taken(site):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", site.port))
    s.listen()
    try:
        t0 = time.monotonic()
        r = site.owctl("start", "--keep-sessions")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "[FAILED]" in r.stdout
        assert "127.0.0.1:%d is already in use by PID %d" % (
            site.port, os.getpid()) in r.stderr
        assert time.monotonic() - t0 < 15
        assert not site.pidfile.exists() and site.leftovers() == []
    finally:
        s.close()


@pytest.mark.parametrize("mode,needle", [
    ("boot", "broken on purpose (omero.web.standin.break=boot)"),
    ("500", "answered HTTP 500"),
])
def test_web_start_broken_app(site, mode, needle):
    # one worker: gunicorn 20.1 loses a SIGTERM sent to a worker it has
    # just forked, and its halt then waits graceful_timeout (30 s)
    site.write(omero__web__standin__break=mode, omero__web__wsgi_workers="1")
    r = site.owctl("start", "--keep-sessions", "--timeout", "30")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Starting OMERO.web... [FAILED]" in r.stdout
    assert needle in r.stderr
    assert "--- last lines of %s/var/log/gunicorn.log ---" % site.omerodir \
        in r.stderr
    assert not site.pidfile.exists()
    assert not port_open(site.port)
    assert site.leftovers() == []


# ---- stale and reused PIDs ---------------------------------------------------

def test_web_stale_pid_file(site):
    # a PID that is surely free: a child that has exited and been reaped
    p = subprocess.Popen(["true"])
    p.wait()
    site.pidfile.parent.mkdir(parents=True, exist_ok=True)
    site.pidfile.write_text("%d\n" % p.pid)
    r = site.owctl("status", venv=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "no process has PID %d" % p.pid in r.stderr
    r = start(site)
    assert "WARNING: Removed stale %s" % site.pidfile in r.stderr
    assert site.pid() != p.pid and procs.alive(site.pid())
    site.pidfile.write_text("not a pid\n")
    r = site.owctl("status", "--json", venv=False)
    assert r.returncode == 1 and json.loads(r.stdout)["state"] == "dead"


def test_web_reused_pid_is_never_signalled(site, tmp_path):
    site.pidfile.parent.mkdir(parents=True, exist_ok=True)
    # an unrelated program
    other = subprocess.Popen(["sleep", "60"])
    # a look-alike: gunicorn-like command line for this very pid file, but
    # started after the pid file was written (what PID reuse looks like)
    site.pidfile.write_text("0\n")
    os.utime(site.pidfile, (time.time() - 600, time.time() - 600))
    look = subprocess.Popen(["/usr/bin/python3", "-c",
                             "import time; time.sleep(60)", "gunicorn", "-p",
                             str(site.pidfile), APP])
    try:
        for pid, needle in ((other.pid, "'sleep 60', not the gunicorn"),
                            (look.pid, "started after the pid file was "
                             "written (PID reused)")):
            site.pidfile.write_text("%d\n" % pid)
            os.utime(site.pidfile, (time.time() - 600, time.time() - 600))
            r = site.owctl("status", venv=False)
            assert r.returncode == 1, r.stdout + r.stderr
            assert needle in r.stderr
            r = site.owctl("stop", venv=False)
            assert r.returncode == 0
            assert "not signalled" in r.stderr
            assert procs.alive(pid), "stop killed an unrelated process"
            assert not site.pidfile.exists()
        # start goes ahead once the stale file is out of the way
        site.pidfile.write_text("%d\n" % other.pid)
        r = start(site)
        assert "Removed stale" in r.stderr and procs.alive(other.pid)
    finally:
        for p in (other, look):
            procs.stop(p.pid, timeout=5)
            p.wait(5)


# ---- reload and restarts under load -------------------------------------------

def test_web_reload_under_load(site):
    start(site)
    pid = site.pid()
    old = children(pid)
    with Load(site.port) as load:
        r = site.owctl("reload", "--timeout", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Reloading OMERO.web... [OK]" in r.stdout
    print("reload:", load.report())
    assert load.failed == 0, load.report()
    assert load.ok > 10
    new = children(pid)
    assert site.pid() == pid and len(new) == 2 and not set(new) & set(old)
    # the new workers served requests before reload returned
    assert set(new) & load.pids


def test_web_reload_picks_up_settings_and_fails_loudly(site):
    start(site)
    pid = site.pid()
    # a change the app reads: a broken app is caught before HUP
    site.write(omero__web__standin__break="boot")
    r = site.owctl("reload")
    assert r.returncode == 170, r.stdout + r.stderr
    assert "running workers are kept" in r.stderr
    assert site.get()[0] == 200 and site.pid() == pid
    # one that imports but answers 500: the reload reports it, status says so
    site.write(omero__web__standin__break="500")
    r = site.owctl("reload", "--timeout", "30")
    assert r.returncode == 1 and "answered HTTP 500" in r.stderr
    r = site.owctl("status", venv=False)
    assert r.returncode == 4 and "[NOT ANSWERING]" in r.stdout
    site.write(omero__web__standin__break=None)
    r = site.owctl("reload")
    assert r.returncode == 0, r.stderr
    assert site.owctl("status", venv=False).returncode == 0


def test_web_zero_downtime_restart_under_load(site):
    start(site)
    old = site.pid()
    old_workers = children(old)
    with Load(site.port) as load:
        r = site.owctl("restart", "--zero-downtime", "--keep-sessions",
                       "--timeout", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    print("zero-downtime:", load.report())
    assert "Restarting OMERO.web without downtime... [OK]" in r.stdout
    assert load.failed == 0, load.report()
    new = site.pid()
    assert new and new != old and not procs.alive(old)
    assert not [w for w in old_workers if procs.alive(w)]
    assert set(children(new)) & load.pids
    assert not (site.omerodir / "var" / "django.pid.2").exists()
    st = json.loads(site.owctl("status", "--json", venv=False).stdout)
    assert st["pid"] == new and st["started_by_owctl"]
    # a second one works from the promoted master too
    r = site.owctl("restart", "--zero-downtime", "--keep-sessions")
    assert r.returncode == 0, r.stderr
    assert site.pid() not in (old, new)


def test_web_zero_downtime_failure_keeps_old_master(site):
    start(site)
    old = site.pid()
    # the new workers cannot be ready in time: the new master is dropped
    # (owctl's import check waits the 3 s out; the timeout is for the
    # new workers, which need 3 s too)
    site.write(omero__web__standin__boot_delay="3")
    with Load(site.port, path="/version") as load:
        r = site.owctl("restart", "--zero-downtime", "--keep-sessions",
                       "--timeout", "2")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "the old master %d keeps serving" % old in r.stderr
    assert load.failed == 0, load.report()
    assert site.pid() == old and procs.alive(old)
    assert children(old) and all("gunicorn" in " ".join(cmdline(c))
                                 for c in children(old))
    assert len(children(old)) == 2
    assert not (site.omerodir / "var" / "django.pid.2").exists()
    # a changed command line cannot be applied by USR2: refused up front
    site.write(omero__web__standin__boot_delay=None, omero__web__wsgi_workers="3")
    r = site.owctl("restart", "--zero-downtime", "--keep-sessions")
    assert r.returncode == 1 and "command line changed" in r.stderr
    assert site.pid() == old


def test_web_start_clears_expired_sessions(site):
    start(site)
    sessions = site.tmp / "sessions"
    keys = [json.loads(site.get("/login?user=%s" % u)[1])["session_key"]
            for u in ("old", "new")]
    old = sessions / ("sessionid" + keys[0])
    assert old.exists() and (sessions / ("sessionid" + keys[1])).exists()
    past = time.time() - 3 * 86400     # older than the cookie age
    os.utime(old, (past, past))
    r = site.owctl("restart", "--timeout", "40")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Clearing expired sessions. This may take some time... [OK]" \
        in r.stdout
    assert not old.exists()
    assert (sessions / ("sessionid" + keys[1])).exists()


def test_web_plain_restart_failures_are_counted(site):
    start(site)
    old = site.pid()
    with Load(site.port) as load:
        r = site.owctl("restart", "--keep-sessions", "--timeout", "60")
    assert r.returncode == 0, r.stdout + r.stderr
    print("plain restart:", load.report(),
          "outage %.2f s" % ((load.last_fail or 0) - (load.first_fail or 0)))
    assert "Stopping OMERO.web... [OK]" in r.stdout
    assert "Starting OMERO.web... [OK]" in r.stdout
    assert site.pid() != old
    # stop + start leaves a gap: requests fail (connection refused)
    assert load.failed > 0
    assert any("Refused" in k for k in load.errors), load.errors


# ---- foreground, venv discovery, systemd, usage ---------------------------------

def test_web_foreground_passes_readiness_to_systemd(site, tmp_path):
    sock_path = str(tmp_path / "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(sock_path)
    ns.settimeout(60)
    p = subprocess.Popen([owctl_path(), "web", "--venv", str(site.venv.path),
                          "start", "--foreground", "--keep-sessions"],
                         env=site.env(NOTIFY_SOCKET=sock_path),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    procs.track_pid(p.pid, "owctl web start --foreground")
    try:
        msg = ns.recv(4096).decode()
        assert msg.startswith("READY=1\n"), msg
        # readiness is passed on only once the app answers
        assert site.get("/health")[0] == 200
        gpid = site.pid()
        assert "gunicorn PID %d" % gpid in msg
        # owctl is gunicorn's parent and passes signals on
        assert gpid in children(p.pid)
        old = children(gpid)
        os.kill(p.pid, signal.SIGHUP)       # reload through owctl
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # new workers answer
            new = children(gpid)
            if len(new) == 2 and not set(new) & set(old):
                status, body = site.get("/version")
                if status == 200 and json.loads(body)["pid"] in new:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("HUP passed on by owctl did not replace the workers")
        assert procs.alive(gpid)
        os.kill(p.pid, signal.SIGTERM)
        out, err = p.communicate(timeout=40)
        assert p.returncode == 0, out + err
        assert "Starting OMERO.web... [OK]" in out
        assert not procs.alive(gpid) and not port_open(site.port)
        assert not site.pidfile.exists()
    finally:
        if p.poll() is None:
            procs.stop(p.pid)
        ns.close()


def test_web_venv_discovery(site, tmp_path):
    env = site.env(VIRTUAL_ENV=str(site.venv.path))
    r = site.owctl("start", "--dry-run", venv=False, env=env)
    assert r.returncode == 0, r.stderr
    assert "(from $VIRTUAL_ENV)" in r.stdout
    # an `omero` script on PATH, installed in the venv (symlinked elsewhere)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = site.tmp / "omero-script"
    script.write_text("#!%s\n" % site.venv.python)
    script.chmod(0o755)
    (bindir / "omero").symlink_to(script)
    env = site.env(PATH="%s:/usr/bin:/bin" % bindir)
    r = site.owctl("start", "--dry-run", venv=False, env=env)
    assert r.returncode == 0, r.stderr
    assert "(from omero on PATH '%s/omero')" % bindir in r.stdout
    env = site.env(PATH="/usr/bin:/bin")
    r = site.owctl("start", "--dry-run", venv=False, env=env)
    assert r.returncode == 178, r.stdout + r.stderr
    assert "no OMERO.web virtualenv found" in r.stderr
    assert "'/usr/bin/gunicorn' is not in a virtualenv" in r.stderr
    r = site.owctl("start", "--dry-run", "--venv", str(tmp_path))
    assert r.returncode == 178 and "is not a virtualenv" in r.stderr


def test_web_systemd_unit(site, tmp_path):
    r = site.owctl("systemd-unit", "--user", "omero-web")
    assert r.returncode == 0, r.stderr
    assert "Type=notify" in r.stdout and "User=omero-web" in r.stdout
    assert "ExecStart=%s web --venv %s start --foreground" % (
        os.path.realpath(owctl_path()), site.venv.path) in r.stdout
    assert "Environment=OMERODIR=%s" % site.omerodir in r.stdout
    assert "OnCalendar=" in r.stdout
    assert "ExecStart=%s web --venv %s clearsessions" % (
        os.path.realpath(owctl_path()), site.venv.path) in r.stdout
    out = tmp_path / "units"
    out.mkdir()
    r = site.owctl("systemd-unit", "--output-dir", str(out), "--name", "ow")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "ow-clearsessions.service", "ow-clearsessions.timer", "ow.service"]
    if subprocess.run(["which", "systemd-analyze"],
                      capture_output=True).returncode == 0:
        v = subprocess.run(["systemd-analyze", "verify", str(out / "ow.service")],
                           capture_output=True, text=True)
        assert "Unknown key" not in v.stderr, v.stderr


def test_web_usage_errors(site):
    for args, status in ((["start", "--bogus"], 2), (["nosuch"], 2),
                         (["stop", "extra"], 2), (["stop", "--timeout", "x"], 2),
                         (["restart", "--zero-downtime", "--foreground"], 2)):
        r = site.owctl(*args)
        assert r.returncode == status, (args, r.stderr)
        assert "usage: owctl web" in r.stderr
    r = subprocess.run([owctl_path(), "web", "status"], capture_output=True,
                       text=True, env=base_env())
    assert r.returncode == 4 and "ERROR: OMERODIR not set" in r.stderr
    r = subprocess.run([owctl_path(), "web", "stop"], capture_output=True,
                       text=True, env=base_env())
    assert r.returncode == 101

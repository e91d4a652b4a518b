# owctl upgrade plan/run/resume/rollback/status against a real venv holding
# the stand-in omero-web 5.30.1 (and the omero-figure plugin), upgraded
# offline to 5.31.0 from the fixture wheelhouse, with a real gunicorn
# started by `owctl web start`.  Failures (a target wheel whose app cannot
# boot, a wheel missing from the wheelhouse) must roll back so that 5.30.1
# answers again with config.xml byte-identical; kill -9 of owctl in the
# middle must be recoverable with `resume`.
import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from owctlrun import base_env, owctl_path
from testenv import procs
from testenv.configxml import write_config

APP = "omeroweb.wsgi:application"


class Site:
    def __init__(self, tmp, venv, port, wheelhouse):
        self.tmp = Path(tmp)
        self.venv = venv
        self.port = port
        self.wheelhouse = Path(wheelhouse)
        self.omerodir = self.tmp / "OMERO.web"
        (self.omerodir / "etc" / "grid").mkdir(parents=True, exist_ok=True)
        (self.omerodir / "var").mkdir(exist_ok=True)
        self.sessions = self.tmp / "sessions"
        self.sessions.mkdir(exist_ok=True)
        self.props = {
            "omero.web.application_server": "wsgi-tcp",
            "omero.web.application_server.host": "127.0.0.1",
            "omero.web.application_server.port": str(port),
            "omero.web.wsgi_workers": "2",
            "omero.web.apps": '["omero_figure"]',
        }
        write_config(self.omerodir, self.props)
        self.config = self.omerodir / "etc" / "grid" / "config.xml"
        self.pidfile = self.omerodir / "var" / "django.pid"
        procs.track_pidfile(self.pidfile, name="gunicorn (owctl)", expect=APP)

    def env(self):
        e = base_env(OMERODIR=str(self.omerodir), TMPDIR=str(self.sessions))
        e.pop("VIRTUAL_ENV", None)
        return e

    def owctl(self, *args, timeout=180):
        return subprocess.run([owctl_path()] + [str(a) for a in args],
                              capture_output=True, text=True, env=self.env(),
                              timeout=timeout)

    def upgrade(self, sub, *extra, wheelhouse=None):
        args = ["upgrade", sub]
        if sub in ("plan", "run"):
            args += ["--to", "5.31.0", "--venv", self.venv.path,
                     "--find-links", wheelhouse or self.wheelhouse,
                     "--plugins", "upgrade", "--timeout", "40"]
        if sub == "run":
            args.append("--yes")
        return self.owctl(*args, *extra)

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body

    def version(self):
        st, body = self.get("/version")
        assert st == 200, body
        return json.loads(body)["omero_web"]

    def login(self, user):
        st, body = self.get("/login?user=%s" % user)
        assert st == 200, body
        return json.loads(body)["session_key"]

    def session_files(self):
        return sorted(p.name for p in self.sessions.iterdir()
                      if p.name.startswith("sessionid"))

    def state(self):
        """What `plan` must not change: config, venv, OMERODIR/var."""
        out = {"config": self.config.read_bytes()}
        sp = self.venv.site_packages()
        out["dists"] = sorted(p.name for p in sp.iterdir())
        out["var"] = sorted(str(p.relative_to(self.omerodir))
                            for p in (self.omerodir / "var").rglob("*")
                            if "log" not in p.parts)
        out["sessions"] = self.session_files()
        return out

    def cleanup(self):
        self.owctl("web", "stop", "--timeout", "10")
        if self.pidfile.exists():
            procs.stop_pidfile(self.pidfile, expect=APP)


@pytest.fixture
def site(tmp_path, venv_factory, wheelhouse, free_port):
    venv = venv_factory("5.30.1", plugins=["omero-figure==1.0.0"],
                        name="venv-upgrade")
    s = Site(tmp_path, venv, free_port(), wheelhouse)
    r = s.owctl("web", "--venv", venv.path, "start", "--timeout", "40")
    assert r.returncode == 0, r.stderr
    yield s
    s.cleanup()


def journal_records(site):
    d = sorted((site.omerodir / "var" / "owctl" / "upgrades").iterdir())[-1]
    recs = []
    for line in (d / "journal.jsonl").read_text().splitlines():
        try:
            recs.append(json.loads(line))
        except ValueError:
            pass
    return recs


def test_upgrade_plan_changes_nothing_and_flags_pickle(site):
    site.login("alice")
    site.props["omero.web.session_serializer"] = (
        "django.contrib.sessions.serializers.PickleSerializer")
    write_config(site.omerodir, site.props)
    before = site.state()
    r = site.upgrade("plan", "--json")
    assert r.returncode == 86, r.stderr
    plan = json.loads(r.stdout)
    errors = [c for c in plan["checks"] if c["status"] == "error"]
    assert [c["name"] for c in errors] == ["config"], errors
    assert "PickleSerializer" in errors[0]["message"]
    assert plan["from"] == "5.30.1" and plan["to"] == "5.31.0"
    assert plan["clear_sessions"] is True
    assert "5.31.0" in plan["clear_reason"]
    assert plan["sessions"]["count"] == 1
    # run refuses on the same grounds, before touching anything
    r = site.upgrade("run")
    assert r.returncode == 86, r.stderr
    assert site.state() == before
    assert site.version() == "5.30.1"

    # fixed: the plan passes, still without changing anything
    del site.props["omero.web.session_serializer"]
    write_config(site.omerodir, site.props)
    before = site.state()
    r = site.upgrade("plan")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "omero-figure 1.0.0 does not fit omero-web 5.31.0; 2.0.0" \
        in r.stdout
    assert site.state() == before

    # keeping the old plugin is refused
    r = site.owctl("upgrade", "plan", "--to", "5.31.0", "--venv",
                   site.venv.path, "--find-links", site.wheelhouse)
    assert r.returncode == 86
    assert "omero-figure 1.0.0 does not fit" in r.stdout


def test_upgrade_run_then_rollback(site):
    keys = [site.login("u%d" % i) for i in range(3)]
    assert len(site.session_files()) == 3
    config_before = site.config.read_bytes()
    r = site.upgrade("run", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "upgraded"
    assert [s["step"] for s in rep["steps"]] == [
        "backup", "install", "config", "nginx", "stop", "sessions", "start",
        "verify"]
    assert rep["unavailable_seconds"] > 0
    assert site.version() == "5.31.0"
    assert site.venv.version("omero-web") == "5.31.0"
    assert site.venv.version("omero-figure") == "2.0.0"
    # every old session is gone (5.31.0 requires clearing them)
    assert site.session_files() == []
    sess = [s for s in rep["steps"] if s["step"] == "sessions"][0]
    assert sess["data"]["removed"] == 3, sess
    st, body = site.get("/figure/")
    assert st == 200 and json.loads(body)["version"] == "2.0.0"
    backup = Path(rep["backup"])
    assert oct(backup.stat().st_mode & 0o777) == "0o700"
    assert (backup / "pip-freeze.txt").exists()
    assert keys  # logged in before the upgrade

    r = site.owctl("upgrade", "status", "--json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["state"] == "done"

    r = site.owctl("upgrade", "rollback", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["result"] == "rolled-back"
    assert site.version() == "5.30.1"
    assert site.venv.version("omero-web") == "5.30.1"
    assert site.venv.version("omero-figure") == "1.0.0"
    assert site.config.read_bytes() == config_before
    # a second rollback has nothing to do
    r = site.owctl("upgrade", "rollback")
    assert r.returncode == 89, r.stderr


def broken_wheelhouse(src, dst):
    """A wheelhouse whose omero-web 5.31.0 installs but cannot boot."""
    dst.mkdir()
    for w in src.glob("*.whl"):
        if not w.name.startswith("omero_web-5.31.0"):
            shutil.copy(w, dst / w.name)
    good = src / "omero_web-5.31.0-py3-none-any.whl"
    bad = dst / good.name
    with zipfile.ZipFile(good) as zin, \
            zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "omeroweb/wsgi.py":
                data = b"raise RuntimeError('broken on purpose')\n" + data
                wsgi = data
            zout.writestr(item, data)
    # RECORD must match, or a strict installer would refuse it
    with zipfile.ZipFile(bad) as z:
        names = z.namelist()
    record = [n for n in names if n.endswith(".dist-info/RECORD")][0]
    digest = base64.urlsafe_b64encode(
        hashlib.sha256(wsgi).digest()).rstrip(b"=").decode()
    tmp = dst / "x.whl"
    with zipfile.ZipFile(bad) as zin, \
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == record:
                lines = [
                    "omeroweb/wsgi.py,sha256=%s,%d" % (digest, len(wsgi))
                    if ln.startswith("omeroweb/wsgi.py,") else ln
                    for ln in data.decode().splitlines()]
                data = ("\n".join(lines) + "\n").encode()
            zout.writestr(item, data)
    tmp.replace(bad)
    return dst


def test_upgrade_failing_start_rolls_back(site, tmp_path):
    wh = broken_wheelhouse(site.wheelhouse, tmp_path / "broken")
    site.login("bob")
    config_before = site.config.read_bytes()
    r = site.upgrade("run", "--json", wheelhouse=wh)
    assert r.returncode == 87, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "rolled-back"
    assert rep["failed_step"] == "start"
    assert "rolled back: omero-web 5.30.1 answers again" in r.stderr
    assert site.version() == "5.30.1"
    assert site.venv.version("omero-web") == "5.30.1"
    assert site.venv.version("omero-figure") == "1.0.0"
    assert site.config.read_bytes() == config_before
    states = [(x["step"], x["state"]) for x in journal_records(site)]
    assert ("start", "failed") in states
    assert states[-1] == ("upgrade", "rolled-back")


def test_upgrade_pip_failure_rolls_back(site, tmp_path):
    # A wheel missing from the wheelhouse: the preflight says so first.
    wh = tmp_path / "incomplete"
    wh.mkdir()
    for w in site.wheelhouse.glob("*.whl"):
        if not w.name.startswith("omero_web-5.31.0"):
            shutil.copy(w, wh / w.name)
    config_before = site.config.read_bytes()
    r = site.upgrade("run", wheelhouse=wh)
    assert r.returncode == 86, r.stdout + r.stderr
    assert "omero-web 5.31.0 is not in the index" in r.stdout
    assert not (site.omerodir / "var" / "owctl" / "upgrades").exists()

    # A wheel pip refuses (no WHEEL file): install fails, rollback.
    good = site.wheelhouse / "omero_web-5.31.0-py3-none-any.whl"
    with zipfile.ZipFile(good) as zin, \
            zipfile.ZipFile(wh / good.name, "w") as zout:
        for item in zin.infolist():
            if not item.filename.endswith(".dist-info/WHEEL"):
                zout.writestr(item, zin.read(item.filename))
    r = site.upgrade("run", wheelhouse=wh)
    assert r.returncode == 87, r.stdout + r.stderr
    assert "upgrade failed at step 'install'" in r.stderr
    assert "omero-web 5.30.1 answers again" in r.stderr
    assert site.version() == "5.30.1"
    assert site.venv.version("omero-web") == "5.30.1"
    assert site.venv.version("omero-figure") == "1.0.0"
    assert site.config.read_bytes() == config_before


def test_upgrade_kill9_then_resume(site):
    p = subprocess.Popen(
        [owctl_path(), "upgrade", "run", "--to", "5.31.0", "--venv",
         str(site.venv.path), "--find-links", str(site.wheelhouse),
         "--plugins", "upgrade", "--yes"],
        env=site.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    up = site.omerodir / "var" / "owctl" / "upgrades"
    deadline = time.time() + 60
    killed_in = None
    while time.time() < deadline and p.poll() is None:
        if up.exists() and any(up.iterdir()):
            recs = journal_records(site)
            if recs and (recs[-1]["step"], recs[-1]["state"]) == (
                    "install", "started"):
                killed_in = "install"
                os.kill(p.pid, signal.SIGKILL)
                break
        time.sleep(0.02)
    p.wait(timeout=30)
    assert killed_in == "install", "owctl finished before it was killed"
    # pip, orphaned, may still run: let it end
    time.sleep(3)
    r = site.owctl("upgrade", "status")
    assert "running or interrupted" in r.stdout, r.stdout
    r = site.owctl("upgrade", "resume", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "upgraded"
    assert rep["steps"][0]["step"] == "install"    # backup was not redone
    assert site.version() == "5.31.0"
    r = site.owctl("upgrade", "resume")
    assert r.returncode == 89

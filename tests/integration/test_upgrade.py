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


# --- a new venv, zero downtime, another OMERODIR -----------------------------

class Load:
    """GET /version in a loop (2 threads, Connection: close) until stopped;
    counts answers by version and every failure (no answer or not 200)."""

    def __init__(self, url):
        import threading
        self.url = url
        self.versions = {}
        self.failures = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True)
                        for _ in range(2)]

    def one(self):
        u = self.url.split("/", 3)
        host, port = u[2].split(":")
        try:
            c = http.client.HTTPConnection(host, int(port), timeout=20)
            c.request("GET", "/" + u[3], headers={"Connection": "close"})
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status != 200:
                raise RuntimeError("HTTP %d" % r.status)
            v = json.loads(body)["omero_web"]
            with self.lock:
                self.versions[v] = self.versions.get(v, 0) + 1
        except Exception as ex:  # noqa: BLE001
            with self.lock:
                self.failures.append("%.3f %r" % (time.time(), ex))

    def run(self):
        while not self.stop.is_set():
            self.one()
            time.sleep(0.005)

    def __enter__(self):
        for t in self.threads:
            t.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *a):
        time.sleep(0.5)
        self.stop.set()
        for t in self.threads:
            t.join(30)

    @property
    def answered(self):
        return sum(self.versions.values())


class Front:
    """A real nginx in front of the site, its server file installed by
    `owctl web nginx install` (so that the upgrade can regenerate it)."""

    def __init__(self, site, tmp, port):
        from testenv.nginx import main_conf, start_nginx
        self.site = site
        self.port = port
        self.prefix = tmp / "nginx"
        (self.prefix / "logs").mkdir(parents=True)
        (self.prefix / "temp").mkdir()
        confd = tmp / "conf.d"
        confd.mkdir()
        self.live = confd / "omero-web.conf"
        self.main = self.prefix / "nginx.conf"
        self.main.write_text(main_conf(self.prefix, [self.live]))
        r = site.owctl("web", "nginx", "install", self.live, "--http", port,
                       "--servername", "127.0.0.1", "--nginx-conf",
                       self.main)
        assert r.returncode == 0, r.stdout + r.stderr
        self.nginx = start_nginx(self.prefix, self.live, port=port)
        self.url = "http://127.0.0.1:%d/version" % port

    def version(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", "/version")
        r = c.getresponse()
        body = r.read()
        assert r.status == 200, body
        return json.loads(body)["omero_web"]

    def args(self):
        return ["--nginx-file", self.live, "--verify-url", self.url]


@pytest.fixture
def front(site, tmp_path, free_port):
    f = Front(site, tmp_path, free_port())
    yield f
    f.nginx.stop()


def master_pid(site):
    return int(site.pidfile.read_text().split()[0])


def venv_record(site):
    p = site.omerodir / "var" / "owctl" / "venv"
    return p.read_text().strip() if p.exists() else None


def test_upgrade_new_venv_then_rollback(site, tmp_path):
    from testenv.venv import Venv
    nv = tmp_path / "venv-5.31.0"
    config_before = site.config.read_bytes()
    old_pid = master_pid(site)
    r = site.upgrade("run", "--new-venv", nv, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "upgraded" and rep["mode"] == "new-venv"
    assert [s["step"] for s in rep["steps"]] == [
        "backup", "install", "config", "nginx", "stop", "sessions", "start",
        "verify"]
    assert rep["new_venv"] == str(nv)
    assert site.version() == "5.31.0"
    new = Venv(nv)
    assert new.version("omero-web") == "5.31.0"
    assert new.version("omero-figure") == "2.0.0"      # --plugins upgrade
    # the old venv was not touched: that is what the rollback relies on
    assert site.venv.version("omero-web") == "5.30.1"
    assert site.venv.version("omero-figure") == "1.0.0"
    assert venv_record(site) == str(nv)
    st = json.loads(site.owctl("web", "status", "--json").stdout)
    assert st["venv"] == str(nv), st
    assert site.config.read_bytes() == config_before
    assert master_pid(site) != old_pid
    # a later plan without --venv starts from the recorded venv
    r = site.owctl("upgrade", "plan", "--to", "5.31.0", "--find-links",
                   site.wheelhouse, "--json")
    assert json.loads(r.stdout)["venv"] == str(nv), r.stdout + r.stderr

    r = site.owctl("upgrade", "rollback", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    rb = json.loads(r.stdout)
    assert rb["result"] == "rolled-back"
    steps = {s["step"]: s["state"] for s in rb["steps"]}
    assert steps["rollback-start"] == "done"       # the new one served
    assert site.version() == "5.30.1"
    assert venv_record(site) is None
    assert site.config.read_bytes() == config_before
    assert site.venv.version("omero-web") == "5.30.1"
    st = json.loads(site.owctl("web", "status", "--json").stdout)
    assert st["venv"] == str(site.venv.path), st


def test_upgrade_zero_downtime_under_load(site, front):
    config_before = site.config.read_bytes()
    nginx_before = front.live.read_bytes()
    old_pid = master_pid(site)
    assert front.version() == "5.30.1"
    with Load(front.url) as load:
        r = site.upgrade("run", "--zero-downtime", "--json", *front.args())
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "upgraded" and rep["mode"] == "zero-downtime"
    assert [s["step"] for s in rep["steps"]] == [
        "backup", "install", "config", "handover", "sessions", "start",
        "nginx", "retire", "verify"]
    print("zero-downtime: answered %s, failed %d" % (load.versions,
                                                     len(load.failures)))
    assert load.failures == [], load.failures[:5]
    # both versions answered through nginx while the loop ran
    assert load.versions.get("5.30.1", 0) > 0, load.versions
    assert load.versions.get("5.31.0", 0) > 0, load.versions
    assert load.answered > 50, load.versions
    nv = str(site.venv.path) + "-5.31.0"            # the default new venv
    assert rep["new_venv"] == nv and venv_record(site) == nv
    assert front.version() == "5.31.0" and site.version() == "5.31.0"
    assert not procs.alive(old_pid)
    assert not (site.omerodir / "var" / "owctl" / "spare.pid").exists()
    hand = [s for s in rep["steps"] if s["step"] == "handover"][0]["data"]
    assert hand["spare_port"] != site.port
    assert hand["nginx"]["reloaded"] is True
    # back on the configured port: config and nginx file as before
    assert site.config.read_bytes() == config_before
    assert front.live.read_bytes() == nginx_before
    assert site.venv.version("omero-web") == "5.30.1"

    r = site.owctl("upgrade", "rollback", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert front.version() == "5.30.1" and site.version() == "5.30.1"
    assert venv_record(site) is None
    assert site.config.read_bytes() == config_before
    assert front.live.read_bytes() == nginx_before


def test_upgrade_zero_downtime_broken_wheel_keeps_old_serving(
        site, front, tmp_path):
    wh = broken_wheelhouse(site.wheelhouse, tmp_path / "broken")
    config_before = site.config.read_bytes()
    nginx_before = front.live.read_bytes()
    old_pid = master_pid(site)
    with Load(front.url) as load:
        r = site.upgrade("run", "--zero-downtime", "--json", *front.args(),
                         wheelhouse=wh)
    assert r.returncode == 87, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "rolled-back"
    assert rep["failed_step"] == "handover"
    # the error ends with gunicorn's log tail: with two workers the
    # master's own traceback can push the app's exception out of it
    assert "broken on purpose" in rep["error"] or \
        "Worker failed to boot" in rep["error"], rep["error"]
    assert load.failures == [], load.failures[:5]
    assert set(load.versions) == {"5.30.1"}, load.versions
    # the old gunicorn was never stopped
    assert master_pid(site) == old_pid and procs.alive(old_pid)
    states = {(x["step"], x["state"]) for x in journal_records(site)}
    assert ("rollback-start", "skipped") in states
    assert front.version() == "5.30.1"
    assert site.config.read_bytes() == config_before
    assert front.live.read_bytes() == nginx_before
    assert venv_record(site) is None
    assert not (site.omerodir / "var" / "owctl" / "spare.pid").exists()


def test_upgrade_from_omerodir_then_rollback(site, tmp_path):
    old = tmp_path / "OLD.web"
    (old / "etc" / "grid").mkdir(parents=True)
    (old / "var" / "owctl" / "nginx").mkdir(parents=True)
    props = dict(site.props)
    props["omero.web.ui.center_plugins"] = '[["Tab", "x/y.html", "tab"]]'
    props["omero.web.login_logo"] = "/static/logo  with\ttab.png "
    write_config(old, props)
    (old / "var" / "django_secret_key").write_text("k" * 50)
    (old / "var" / "owctl" / "nginx" / "etc%2Fnginx%2Fx.conf.base").write_text(
        "server {}\n")
    config_before = site.config.read_bytes()
    key = site.omerodir / "var" / "django_secret_key"
    key_before = key.read_bytes() if key.exists() else None
    r = site.upgrade("run", "--from-omerodir", old, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert [s["step"] for s in rep["steps"]][:3] == [
        "backup", "carry", "install"]
    assert site.version() == "5.31.0"
    for k, v in props.items():
        g = site.owctl("config", "get", k)
        assert g.returncode == 0 and g.stdout == v + "\n", (k, g.stdout)
    assert key.read_text() == "k" * 50
    carried = (site.omerodir / "var" / "owctl" / "nginx" /
               "etc%2Fnginx%2Fx.conf.base")
    assert carried.read_text() == "server {}\n"

    r = site.owctl("upgrade", "rollback", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert site.version() == "5.30.1"
    assert site.config.read_bytes() == config_before
    assert (key.read_bytes() if key.exists() else None) == key_before
    assert not carried.exists()


def test_upgrade_from_omerodir_validates_the_carried_config(site, tmp_path):
    old = tmp_path / "OLD.web"
    (old / "etc" / "grid").mkdir(parents=True)
    props = dict(site.props)
    props["omero.web.session_serializer"] = (
        "django.contrib.sessions.serializers.PickleSerializer")
    write_config(old, props)
    before = site.state()
    r = site.upgrade("plan", "--from-omerodir", old, "--json")
    assert r.returncode == 86, r.stdout + r.stderr
    errors = [c for c in json.loads(r.stdout)["checks"]
              if c["status"] == "error"]
    assert [c["name"] for c in errors] == ["config"], errors
    assert "PickleSerializer" in errors[0]["message"]
    # run refuses before carrying anything
    r = site.upgrade("run", "--from-omerodir", old)
    assert r.returncode == 86, r.stdout + r.stderr
    assert site.state() == before
    assert site.version() == "5.30.1"


def test_upgrade_new_options_usage(site):
    r = site.owctl("upgrade", "run", "--to", "5.31.0", "--from-omerodir",
                   site.omerodir)
    assert r.returncode == 2 and "OMERODIR itself" in r.stderr
    # zero downtime switches nginx: without its file the plan refuses
    r = site.upgrade("plan", "--zero-downtime", "--json")
    assert r.returncode == 86, r.stdout + r.stderr
    plan = json.loads(r.stdout)
    assert plan["mode"] == "zero-downtime"
    assert plan["new_venv"]["dir"] == str(site.venv.path) + "-5.31.0"
    assert [c["name"] for c in plan["checks"]
            if c["status"] == "error"] == ["zero-downtime"]


def test_upgrade_zero_downtime_kill9_in_handover_then_resume(site, front):
    """owctl killed once nginx already serves the spare (the old gunicorn
    not yet retired): `resume` puts nginx back on the old one before it
    stops the spare, and no request fails at any point."""
    config_before = site.config.read_bytes()
    nginx_before = front.live.read_bytes()
    with Load(front.url) as load:
        p = subprocess.Popen(
            [owctl_path(), "upgrade", "run", "--to", "5.31.0", "--venv",
             str(site.venv.path), "--find-links", str(site.wheelhouse),
             "--plugins", "upgrade", "--yes", "--zero-downtime"] +
            [str(a) for a in front.args()],
            env=site.env(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        killed = False
        while time.time() < deadline and p.poll() is None:
            if load.versions.get("5.31.0"):
                os.kill(p.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.01)
        out = p.communicate(timeout=30)[0].decode()
        assert killed, "owctl ended before nginx served the new version:\n" \
            + out
        recs = journal_records(site)
        assert recs[-1]["step"] == "handover", recs[-1]
        r = site.owctl("upgrade", "resume", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "upgraded"
    assert rep["steps"][0]["step"] == "handover"
    hand = rep["steps"][0]["data"]
    # either nginx was pointed back at the old gunicorn (which still
    # served) before the spare stopped, or the old one was already gone
    # and the spare kept serving
    assert hand.get("action") == "updated" or hand.get("resumed"), hand
    print("kill -9 + resume: answered %s, failed %d" % (
        load.versions, len(load.failures)))
    assert load.failures == [], load.failures[:5]
    assert front.version() == "5.31.0" and site.version() == "5.31.0"
    assert not (site.omerodir / "var" / "owctl" / "spare.pid").exists()
    assert site.config.read_bytes() == config_before
    assert front.live.read_bytes() == nginx_before


def test_upgrade_new_venv_failing_start_switches_back(site, tmp_path):
    wh = broken_wheelhouse(site.wheelhouse, tmp_path / "broken")
    nv = tmp_path / "venv-new"
    config_before = site.config.read_bytes()
    r = site.upgrade("run", "--new-venv", nv, "--json", wheelhouse=wh)
    assert r.returncode == 87, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "rolled-back" and rep["failed_step"] == "start"
    steps = {s["step"]: s["state"] for s in rep["steps"]}
    # the old venv was never changed: no reinstall, just a switch back
    assert "rollback-packages" not in steps
    assert steps["rollback-start"] == "done"
    assert site.version() == "5.30.1"
    assert site.venv.version("omero-web") == "5.30.1"
    assert site.venv.version("omero-figure") == "1.0.0"
    assert venv_record(site) is None
    assert site.config.read_bytes() == config_before
    st = json.loads(site.owctl("web", "status", "--json").stdout)
    assert st["venv"] == str(site.venv.path), st


# --- Redis sessions and fault injection at the remaining steps ---------------
#
# The matrix (doc/README-upgrade.md): install fails -> pip failure test;
# start fails -> failing start tests; kill -9 -> resume tests; and here:
# a plugin that does not fit the target (preflight, nothing changes), nginx
# -t failing at the nginx step, and the health check failing after the
# restart.  Each time the old version must answer again (directly and,
# with nginx in front, through nginx) with config.xml byte-identical.

def upgrades_dir(site):
    return site.omerodir / "var" / "owctl" / "upgrades"


def journal_states(site):
    return [(x["step"], x["state"]) for x in journal_records(site)]


SESSION_PREFIX = b":1:django.contrib.sessions.cache"
OTHER_KEYS = {b":1:views.decorators.cache.page": b"x",
              b":2:django.contrib.sessions.cache" + b"k" * 32: b"v2",
              b"omero:celery-task": b"t"}


class RedisSessions:
    """The site switched to the cache session engine on a real Redis
    (database 2), restarted, N users logged in, and keys the upgrade must
    leave alone: other keys of the same database (with and without TTL)
    and a session-like key in database 0."""

    def __init__(self, site, srv, n=4):
        site.props["omero.web.session_engine"] = (
            "django.contrib.sessions.backends.cache")
        site.props["omero.web.caches"] = json.dumps({"default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": srv.url(db=2)}})
        write_config(site.omerodir, site.props)
        r = site.owctl("web", "restart", "--timeout", "40")
        assert r.returncode == 0, r.stdout + r.stderr
        st, body = site.get("/standin/settings")
        assert json.loads(body)["SESSION_ENGINE"].endswith(".cache"), body
        self.site = site
        self.db = srv.client(db=2)
        self.db0 = srv.client(db=0)
        self.keys = [site.login("r%d" % i) for i in range(n)]
        assert all(self.has(k) for k in self.keys), self.db.keys()
        assert site.session_files() == []   # really in Redis, not files
        for k, v in OTHER_KEYS.items():
            self.db.set(k, v)
        self.db.expire(b"omero:celery-task", 3600)
        self.db0.set(SESSION_PREFIX + b"z" * 32, b"db0 session-like key")

    def has(self, key):
        return bool(self.db.exists(SESSION_PREFIX + key.encode()))

    def check_others(self):
        for k, v in OTHER_KEYS.items():
            assert self.db.get(k) == v, k
        assert 0 < self.db.ttl(b"omero:celery-task") <= 3600
        assert self.db.ttl(b":1:views.decorators.cache.page") == -1
        assert self.db0.get(SESSION_PREFIX + b"z" * 32) == \
            b"db0 session-like key"


def test_upgrade_redis_sessions_cleared_other_keys_kept(site, redis_factory):
    rs = RedisSessions(site, redis_factory())
    keys = rs.keys
    config_before = site.config.read_bytes()

    r = site.upgrade("plan", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    plan = json.loads(r.stdout)
    assert plan["clear_sessions"] is True and "5.31.0" in plan["clear_reason"]
    assert plan["sessions"]["count"] == 4, plan["sessions"]

    r = site.upgrade("run", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "upgraded"
    sess = [s for s in rep["steps"] if s["step"] == "sessions"][0]
    assert sess["data"]["engine"] == "cache", sess
    assert sess["data"]["removed"] == 4, sess
    assert site.version() == "5.31.0"
    assert not any(rs.has(k) for k in keys)
    rs.check_others()
    # the new version keeps its sessions in the same Redis
    assert rs.has(site.login("after"))
    assert site.config.read_bytes() == config_before
    # and the rollback leaves Redis alone (cleared sessions stay cleared)
    r = site.owctl("upgrade", "rollback", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert site.version() == "5.30.1"
    assert site.config.read_bytes() == config_before
    rs.check_others()
    assert rs.has(site.login("back"))


def test_upgrade_incompatible_plugin_kept_is_refused(site):
    site.login("carol")
    before = site.state()
    args = ["--to", "5.31.0", "--venv", site.venv.path, "--find-links",
            site.wheelhouse, "--plugins", "keep"]
    r = site.owctl("upgrade", "plan", *args, "--json")
    assert r.returncode == 86, r.stdout + r.stderr
    plan = json.loads(r.stdout)
    errors = [c for c in plan["checks"] if c["status"] == "error"]
    assert errors and all("omero-figure" in c["message"] for c in errors), \
        errors
    r = site.owctl("upgrade", "run", *args, "--yes")
    assert r.returncode == 86, r.stdout + r.stderr
    assert "omero-figure 1.0.0 does not fit" in r.stdout
    # nothing changed: config, venv, sessions, no upgrade directory
    assert site.state() == before
    assert not upgrades_dir(site).exists()
    assert site.version() == "5.30.1"
    assert site.venv.version("omero-figure") == "1.0.0"


def test_upgrade_nginx_test_fails_rolls_back(site, front):
    """The admin put a directive into the installed nginx file by hand and,
    meaning to make it permanent, into omero.web.nginx_server_extra_config
    as well.  Each file alone is valid (nginx serves); the upgrade's nginx
    step regenerates the file, the three-way merge keeps the local line
    next to the rendered one, and `nginx -t` fails on the duplicate."""
    text = front.live.read_text()
    i = text.index("server {") + len("server {\n")
    front.live.write_text(text[:i] + "    client_body_timeout 300s;\n" +
                          text[i:])
    front.nginx.reload()            # nginx serves the edited file
    site.props["omero.web.nginx_server_extra_config"] = (
        '["client_body_timeout 300s;"]')
    write_config(site.omerodir, site.props)
    config_before = site.config.read_bytes()
    nginx_before = front.live.read_bytes()
    assert front.version() == "5.30.1"
    r = site.upgrade("run", "--json", *front.args())
    assert r.returncode == 87, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "rolled-back"
    assert rep["failed_step"] == "nginx"
    assert "nginx -t failed" in rep["error"], rep["error"]
    assert "omero-web 5.30.1 answers again" in r.stderr
    assert front.version() == "5.30.1" and site.version() == "5.30.1"
    assert site.venv.version("omero-web") == "5.30.1"
    assert site.venv.version("omero-figure") == "1.0.0"
    assert site.config.read_bytes() == config_before
    assert front.live.read_bytes() == nginx_before
    states = journal_states(site)
    assert ("nginx", "failed") in states, states
    assert ("rollback-packages", "done") in states, states
    assert ("rollback-nginx", "skipped") in states, states
    assert ("rollback-verify", "done") in states, states
    assert states[-1] == ("upgrade", "rolled-back")


@pytest.mark.parametrize("sessions", ["file", "redis"])
def test_upgrade_health_fails_after_restart_rolls_back(
        site, front, redis_factory, sessions):
    """The new version installs and its gunicorn starts, but every request
    (/health too) answers 500: the start step's health check fails.  The
    nginx step had regenerated the nginx file (a property set since it was
    installed), so the rollback restores it and reloads nginx, after the
    old version serves again."""
    marker = site.omerodir / "var" / "standin-break-5.31.0"
    marker.write_text("500\n")
    rs = RedisSessions(site, redis_factory()) if sessions == "redis" \
        else None
    site.login("dave")
    site.props["omero.web.nginx_server_extra_config"] = (
        '["client_body_timeout 300s;"]')
    write_config(site.omerodir, site.props)
    config_before = site.config.read_bytes()
    nginx_before = front.live.read_bytes()
    assert front.version() == "5.30.1"      # the marker is for 5.31.0 only
    r = site.upgrade("run", "--json", "--timeout", "15", *front.args())
    assert r.returncode == 87, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "rolled-back"
    assert rep["failed_step"] == "start"
    assert "500" in rep["error"] or "health" in rep["error"], rep["error"]
    assert "omero-web 5.30.1 answers again" in r.stderr
    assert front.version() == "5.30.1" and site.version() == "5.30.1"
    assert site.venv.version("omero-web") == "5.30.1"
    assert site.venv.version("omero-figure") == "1.0.0"
    assert site.config.read_bytes() == config_before
    assert front.live.read_bytes() == nginx_before
    states = journal_states(site)
    assert ("start", "failed") in states, states
    assert ("verify", "started") not in states, states
    ng = [s for s in rep["steps"] if s["step"] == "nginx"][0]
    assert ng["data"]["action"] != "unchanged", ng
    rb = [s for s in rep["steps"] if s["step"] == "rollback-nginx"][0]
    assert rb["state"] == "done" and rb["data"]["nginx_reloaded"], rb
    assert states.index(("rollback-start", "done")) < \
        states.index(("rollback-nginx", "done")), states
    assert ("rollback-verify", "done") in states, states
    assert states[-1] == ("upgrade", "rolled-back")
    sess = [s for s in rep["steps"] if s["step"] == "sessions"][0]
    assert sess["data"]["engine"] == sessions.replace("redis", "cache")
    if rs:
        assert sess["data"]["removed"] == len(rs.keys) + 1, sess
        assert not any(rs.has(k) for k in rs.keys)
        rs.check_others()
        assert rs.has(site.login("again"))  # the old version, on Redis
    else:
        assert sess["data"]["removed"] == 1, sess


def test_upgrade_nginx_test_fails_elsewhere_rolls_back(site, front, tmp_path):
    """`nginx -t` fails at the nginx step because of ANOTHER file nginx
    includes (a colleague's half-written vhost; the running nginx still
    serves its old configuration).  The rollback cannot reload nginx then,
    but it must not leave the site down: the old version starts again and
    answers through the nginx that never stopped."""
    other = tmp_path / "conf.d" / "colleague.conf"
    other.write_text("server {\n    listen 127.0.0.1:%d;\n    locaton / {}\n"
                     "}\n" % front.port)
    front.main.write_text(main_conf_with(front, [front.live, other]))
    site.props["omero.web.nginx_server_extra_config"] = (
        '["client_body_timeout 300s;"]')
    write_config(site.omerodir, site.props)
    config_before = site.config.read_bytes()
    nginx_before = front.live.read_bytes()
    assert front.version() == "5.30.1"
    r = site.upgrade("run", "--json", *front.args())
    assert r.returncode == 87, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "rolled-back", rep.get("error")
    assert rep["failed_step"] == "nginx"
    assert "fails without the new file too" in rep["error"], rep["error"]
    assert front.version() == "5.30.1" and site.version() == "5.30.1"
    assert site.venv.version("omero-web") == "5.30.1"
    assert site.config.read_bytes() == config_before
    assert front.live.read_bytes() == nginx_before
    states = journal_states(site)
    assert ("nginx", "failed") in states, states
    # the nginx step had put its file back: nothing to reload
    assert ("rollback-nginx", "skipped") in states, states
    assert ("rollback-start", "done") in states, states
    assert ("rollback-verify", "done") in states, states
    assert states[-1] == ("upgrade", "rolled-back")


def main_conf_with(front, includes):
    from testenv.nginx import main_conf
    return main_conf(front.prefix, includes)


def test_upgrade_redis_down_at_sessions_step_rolls_back(site, redis_factory):
    """Redis answers for the preflight, then goes away while the old
    gunicorn stops (here: once the config step is done): clearing the
    sessions fails, the rollback brings the
    old version back (it boots without Redis; sessions need it only when
    a request touches one)."""
    srv = redis_factory()
    rs = RedisSessions(site, srv, n=2)
    config_before = site.config.read_bytes()
    p = subprocess.Popen(
        [owctl_path(), "upgrade", "run", "--to", "5.31.0", "--venv",
         str(site.venv.path), "--find-links", str(site.wheelhouse),
         "--plugins", "upgrade", "--yes", "--json", "--timeout", "40"],
        env=site.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    up = upgrades_dir(site)
    deadline = time.time() + 120
    stopped = False
    while time.time() < deadline and p.poll() is None:
        if up.exists() and any(up.iterdir()):
            if ("config", "done") in journal_states(site):
                srv.stop()
                stopped = True
                break
        time.sleep(0.01)
    out, err = p.communicate(timeout=180)
    assert stopped, "owctl ended before Redis was stopped: %s" % out
    assert p.returncode == 87, out.decode() + err.decode()
    rep = json.loads(out)
    assert rep["result"] == "rolled-back"
    assert rep["failed_step"] == "sessions", rep["error"]
    assert site.version() == "5.30.1"
    assert site.venv.version("omero-web") == "5.30.1"
    assert site.venv.version("omero-figure") == "1.0.0"
    assert site.config.read_bytes() == config_before
    states = journal_states(site)
    assert ("sessions", "failed") in states, states
    assert ("start", "started") not in states, states
    assert ("rollback-start", "done") in states, states
    assert ("rollback-verify", "done") in states, states
    assert states[-1] == ("upgrade", "rolled-back")
    assert rs.keys

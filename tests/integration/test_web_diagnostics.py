# `owctl web diagnostics` against real components: the stand-in OMERO.web
# under gunicorn (started by `owctl web start`), redis-server with a
# password, nginx -t on a file installed by `owctl web nginx install`.
# Checks omero-web's banner and lines, the JSON schema, the bundle
# (listing, modes, members, reproducibility), bad input, and that no
# planted secret leaks into the text, the JSON or any member of the bundle.
import gzip
import io
import json
import os
import stat
import subprocess
import tarfile
import urllib.request
from pathlib import Path

import pytest

from owctlrun import base_env, owctl_path
from testenv import procs
from testenv.configxml import write_config
from testenv.nginx import NGINX, main_conf
from testenv.ports import free_port

APP = "omeroweb.wsgi:application"
BANNER = ("\n" + "=" * 80 + "\nOMERO Diagnostics (web)\n" + "=" * 80 +
          "\n        \n")
TOP = "owctl-diagnostics/"


class Site:
    """An OMERODIR and the environment owctl runs in (private TMPDIR)."""

    def __init__(self, omerodir, venv, tmp):
        self.omerodir = Path(omerodir)
        self.venv = venv
        self.tmp = Path(tmp)
        self.port = free_port()
        self.sessions = self.tmp / "sessions"
        self.sessions.mkdir(exist_ok=True)
        self.pidfile = self.omerodir / "var" / "django.pid"
        self.props = {"omero.web.application_server.port": str(self.port),
                      "omero.web.wsgi_workers": "2"}
        self.write()

    def write(self, **extra):
        self.props.update(extra)
        write_config(self.omerodir, self.props)

    def env(self):
        path = os.environ.get("PATH", "/usr/bin:/bin")
        e = base_env(OMERODIR=str(self.omerodir), TMPDIR=str(self.sessions),
                     PATH=path + ":" + os.path.dirname(NGINX))
        e.pop("VIRTUAL_ENV", None)
        return e

    def owctl(self, *args, timeout=120):
        return subprocess.run(
            [owctl_path(), "web", "--venv", str(self.venv.path)] +
            [str(a) for a in args], capture_output=True, env=self.env(),
            timeout=timeout)

    def diag(self, *args):
        r = self.owctl("diagnostics", *args)
        assert r.returncode == 0, r.stderr.decode()
        return r

    def get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (
                self.port, path), timeout=10) as resp:
            return resp.read()

    def cleanup(self):
        self.owctl("stop", "--timeout", "10")
        if self.pidfile.exists():
            procs.stop_pidfile(self.pidfile, expect=APP)


@pytest.fixture
def site(tmp_path, omerodir, venv_531):
    s = Site(omerodir, venv_531, tmp_path)
    procs.track_pidfile(s.pidfile, name="gunicorn (owctl web)", expect=APP)
    yield s
    s.cleanup()


def facts(venv):
    """What the venv's own Python says (the oracle for dist-info reads)."""
    code = r"""
import importlib.metadata as md, json, platform, re
def v(n):
    try:
        return md.version(n)
    except md.PackageNotFoundError:
        return None
seen, freeze = set(), []
for d in md.distributions():
    n = d.metadata["Name"]
    k = re.sub(r"[-_.]+", "-", n).lower() if n else None
    if k and k not in seen:
        seen.add(k)
        freeze.append("%s==%s" % (n, d.version))
import django
print(json.dumps({"python": platform.python_version(),
  "omero_web": v("omero-web"), "omero_py": v("omero-py"),
  "django": v("django"), "django_get_version": django.get_version(),
  "gunicorn": v("gunicorn"), "freeze": sorted(freeze, key=str.lower)}))
"""
    r = venv.run("-c", code, check=True)
    return json.loads(r.stdout)


def nginx_version():
    r = subprocess.run([NGINX, "-v"], capture_output=True, text=True)
    return r.stderr.strip().split("nginx/", 1)[1].split()[0]


def bundle_members(path):
    with tarfile.open(path, "r:gz") as t:
        return {m.name: (m, t.extractfile(m).read()) for m in t.getmembers()}


# ---- service running and stopped, file sessions ---------------------------

def test_running_then_stopped_file_sessions(site):
    f = facts(site.venv)
    r = site.owctl("start", "--timeout", "40", "--keep-sessions")
    assert r.returncode == 0, r.stderr
    pid = int(site.pidfile.read_text())
    for i in range(3):
        site.get("/login?user=u%d" % i)
    log = site.omerodir / "var" / "log" / "OMEROweb.log"
    with open(log, "a") as fh:
        fh.write("2026-11-25 10:00:00,123 ERROR [x] planted failure one\n"
                 "2026-11-25 10:00:01,000 WARNI [x] planted warning\n"
                 "2026-11-25 10:00:02,000 ERROR [x] planted failure two\n")

    r = site.diag()
    out = r.stdout.decode()
    assert out.startswith(BANNER + "OMERO.web status... [RUNNING] (PID %d)\n"
                          "Django version: %s\n\n" % (
                              pid, f["django_get_version"]))
    logdir = str(site.omerodir / "var" / "log")
    assert "Log dir:    %-30s exists\n" % logdir in out
    size = log.stat().st_size
    # omero-py's _exists(): size text, errors=%-4s warnings=%-4s
    text = "%d B" % size if size < 1000 else "%.1f KB" % (size / 1000)
    lines = log.read_text().splitlines(True)
    errs = sum(1 for x in lines if " error " in x.lower())
    assert errs >= 2
    assert ("Log file :  %-30s %-12s  errors=%-4d warnings=%-4d\n" % (
        "OMEROweb.log", text, errs, 1)) in out
    assert "planted failure two" in out.split("Recent errors")[1]
    assert "  state       running, PID %d, 2 worker(s)" % pid in out
    assert "  omero-web   5.31.0\n" in out
    assert "  nginx       %s\n" % nginx_version() in out

    j = json.loads(site.diag("--json").stdout)
    assert j["schema"] == "owctl.web.diagnostics/1"
    assert set(j) >= {"owctl_version", "omerodir", "status", "config",
                      "versions", "venv", "validate", "sessions", "nginx",
                      "upgrades", "logs", "recent_errors"}
    v = j["versions"]
    for k in ("python", "omero_web", "omero_py", "django", "gunicorn"):
        assert v[k] == f[k], k
    assert v["nginx"] == nginx_version() and v["redis"] is None
    st = j["status"]
    assert st["state"] == "running" and st["pid"] == pid
    assert st["workers"] == 2 and st["bind"] == "127.0.0.1:%d" % site.port
    assert st["health"]["http_status"] == 302
    assert j["venv"]["path"] == str(site.venv.path)
    s = j["sessions"]
    assert s["engine"] == "file" and s["store"] == str(site.sessions)
    assert s["sessions"] == 3 and s["bytes"] > 0 and s["error"] is None
    assert j["validate"]["errors"] == 0 and j["validate"]["error"] is None
    files = {x["name"]: x for x in j["logs"]["files"]}
    assert files["OMEROweb.log"]["errors"] == errs
    assert files["gunicorn.log"]["state"] in ("ok", "empty")
    assert [x["line"] for x in j["recent_errors"]
            if "planted" in x["line"]] == [
        "2026-11-25 10:00:00,123 ERROR [x] planted failure one",
        "2026-11-25 10:00:02,000 ERROR [x] planted failure two"]

    r = site.owctl("stop")
    assert r.returncode == 0, r.stderr
    r = site.diag()
    out = r.stdout.decode()
    assert out.startswith(BANNER + "OMERO.web status... [NOT STARTED]\n"
                          "Django version: ")
    assert "  state       not running\n" in out
    j = json.loads(site.diag("--json").stdout)
    assert j["status"]["state"] == "stopped" and j["status"]["pid"] is None
    assert j["sessions"]["sessions"] == 3
    # --no-logs: no log section, no recent errors
    r = site.diag("--no-logs")
    assert "Log dir:" not in r.stdout.decode()
    assert b"Recent errors" not in r.stdout
    j = json.loads(site.diag("--no-logs", "--json").stdout)
    assert j["logs"] is None and j["recent_errors"] is None


def test_without_venv_or_logs_nothing_is_fatal(omerodir, tmp_path):
    env = base_env(OMERODIR=str(omerodir), TMPDIR=str(tmp_path),
                   PATH="/usr/bin:/bin")
    env.pop("VIRTUAL_ENV", None)
    r = subprocess.run([owctl_path(), "web", "diagnostics"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(BANNER + "OMERO.web status... [NOT STARTED]\n"
                               "Django not installed!\n\nLog dir:")
    assert "\nNo logs available\n" in r.stdout
    assert "  virtualenv  not found: " in r.stdout
    # without OMERODIR: what omero web diagnostics says, status 0
    env.pop("OMERODIR")
    r = subprocess.run([owctl_path(), "web", "diagnostics", "--json"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["omerodir"] is None and j["status"]["line"] == \
        "OMERO.web not installed!"


# ---- Redis sessions ---------------------------------------------------------

def test_redis_sessions_and_version(site, redis_factory, gunicorn_app):
    srv = redis_factory(password="Redis-pw-4711")
    site.write(**{
        "omero.web.session_engine": "django.contrib.sessions.backends.cache",
        "omero.web.caches": json.dumps({"default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": srv.url(db=2)}})})
    g = gunicorn_app(site.venv, site.omerodir, port=site.port)
    for i in range(4):
        g.get("/login?user=r%d" % i)
    info = srv.client().info("server")
    j = json.loads(site.diag("--json").stdout)
    assert j["versions"]["redis"] == info["redis_version"]
    s = j["sessions"]
    assert s["engine"] == "cache" and s["error"] is None
    assert s["sessions"] == 4
    assert s["store"] == "redis://:***@127.0.0.1:%d/2" % srv.port
    out = site.diag().stdout.decode()
    assert "  Redis       %s\n" % info["redis_version"] in out
    assert "Redis-pw-4711" not in out
    # Redis down: reported, not fatal
    srv.stop()
    j = json.loads(site.diag("--json").stdout)
    assert j["versions"]["redis"] is None
    assert "cannot connect" in j["sessions"]["error"]


# ---- nginx and upgrade journals ------------------------------------------------

def test_installed_nginx_file_and_journals(site, tmp_path):
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    (prefix / "temp").mkdir()
    confd = tmp_path / "conf.d"
    confd.mkdir()
    live = confd / "omero-web.conf"
    main = prefix / "nginx.conf"
    main.write_text(main_conf(prefix, [live]))
    r = site.owctl("nginx", "install", live, "--http", free_port(),
                   "--servername", "127.0.0.1", "--nginx-conf", main)
    assert r.returncode == 0, r.stderr
    jdir = site.omerodir / "var" / "owctl" / "upgrades" / "20261101T100000Z"
    jdir.mkdir(parents=True)
    (jdir / "journal.jsonl").write_text(
        '{"time": "2026-11-01T10:00:00Z", "step": "plan", "state": "done"}\n'
        '{"time": "2026-11-01T10:00:05Z", "step": "venv", "state": '
        '"failed"}\n')

    r = site.diag()
    out = r.stdout.decode()
    assert "  file        %s\n  nginx -t    ok, nginx reads the file\n" % (
        live) in out
    assert "  20261101T100000Z 2 record(s), last: venv failed\n" in out
    j = json.loads(site.diag("--json").stdout)
    (f,) = j["nginx"]["files"]
    assert f["path"] == str(live) and f["test"] == "ok" and f["included"]
    assert j["upgrades"] == [{"id": "20261101T100000Z", "records": 2,
                              "last_step": "venv", "last_state": "failed",
                              "last_time": "2026-11-01T10:00:05Z"}]
    # a broken file: nginx -t fails, reported, exit status still 0
    live.write_text(live.read_text() + "\nbroken directive;\n")
    j = json.loads(site.diag("--json").stdout)
    (f,) = j["nginx"]["files"]
    assert f["test"] == "failed" and "broken" in f["message"]

    bundle = tmp_path / "b.tar.gz"
    site.diag("--bundle", bundle)
    m = bundle_members(bundle)
    assert m[TOP + "nginx" + str(live)][1] == live.read_bytes()
    assert m[TOP + "upgrades/20261101T100000Z/journal.jsonl"][1] == \
        (jdir / "journal.jsonl").read_bytes()


# ---- the bundle ------------------------------------------------------------------

def test_bundle_contents_modes_and_reproducibility(site, tmp_path):
    f = facts(site.venv)
    site.write(**{"omero.web.prefix": "/omero"})
    log = site.omerodir / "var" / "log"
    log.mkdir(parents=True)
    (log / "OMEROweb.log").write_text(
        "".join("2026-11-25 10:00:%02d,000 INFO [x] line %d\n" % (i % 60, i)
                for i in range(300)))
    (log / "gunicorn.log").write_text("[2026-11-25 10:00:00 +0000] [1] "
                                      "[ERROR] planted gunicorn error\n")
    (log / "ünïcode.log").write_text("x\n")
    b1, b2 = tmp_path / "one.tar.gz", tmp_path / "two.tar.gz"
    old = os.umask(0o022)
    try:
        r1 = site.diag("--bundle", b1)
        r2 = site.diag("--bundle", b2)
    finally:
        os.umask(old)
    assert b"wrote '%s' (" % str(b1).encode() in r1.stderr
    # 0600 whatever the umask; reproducible byte for byte
    assert stat.S_IMODE(b1.stat().st_mode) == 0o600
    assert b1.read_bytes() == b2.read_bytes()
    raw = b1.read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"

    listing = subprocess.run(["tar", "-tzvf", str(b1)], capture_output=True,
                             text=True, check=True).stdout.splitlines()
    names = [ln.split()[-1] for ln in listing]
    assert names == sorted(names)
    assert all(ln.startswith("-rw------- root/root ") for ln in listing)
    assert all(" 1970-01-01 00:00 " in ln for ln in listing)
    m = bundle_members(b1)
    assert sorted(m) == sorted(TOP + n for n in [
        "report.txt", "report.json", "config.export", "pip-freeze.txt",
        "logs/OMEROweb.log", "logs/gunicorn.log", "logs/ünïcode.log"])
    for name, (info, _) in m.items():
        assert info.isfile() and info.mode == 0o600, name
        assert (info.uid, info.gid, info.uname, info.gname, info.mtime) == \
            (0, 0, "root", "root", 0), name
    # report.txt is what was printed; report.json is the --json output
    assert m[TOP + "report.txt"][1] == r1.stdout
    rj = json.loads(m[TOP + "report.json"][1])
    assert rj["schema"] == "owctl.web.diagnostics/1"
    assert rj == json.loads(site.diag("--json").stdout)
    # pip freeze from dist-info == what importlib.metadata lists
    assert m[TOP + "pip-freeze.txt"][1].decode().splitlines() == f["freeze"]
    assert "omero-web==5.31.0" in f["freeze"]
    # log tails: the last 200 lines
    tail = m[TOP + "logs/OMEROweb.log"][1].decode().splitlines()
    assert len(tail) == 200 and tail[-1].endswith("line 299")
    exp = m[TOP + "config.export"][1].decode()
    assert "omero.web.prefix=/omero\n" in exp and exp.startswith(
        "# owctl config export 1\n")
    # SOURCE_DATE_EPOCH sets the member times
    env = site.env()
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    b3 = tmp_path / "three.tar.gz"
    subprocess.run([owctl_path(), "web", "--venv", str(site.venv.path),
                    "diagnostics", "--bundle", str(b3)], env=env, check=True,
                   capture_output=True)
    assert {i.mtime for i, _ in bundle_members(b3).values()} == {1700000000}


def test_bundle_bad_paths(site, tmp_path):
    b = tmp_path / "exists.tar.gz"
    b.write_bytes(b"keep me")
    r = site.owctl("diagnostics", "--bundle", b)
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr == b"owctl: '%s' exists (use --force to replace it)\n" % (
        str(b).encode())
    assert b.read_bytes() == b"keep me"
    r = site.owctl("diagnostics", "--bundle", b, "--force")
    assert r.returncode == 0, r.stderr
    assert tarfile.is_tarfile(b) and stat.S_IMODE(b.stat().st_mode) == 0o600
    # a directory that does not exist: one line, status 74, nothing left
    missing = tmp_path / "nodir" / "b.tar.gz"
    before = sorted(os.listdir(tmp_path))
    r = site.owctl("diagnostics", "--bundle", missing)
    assert r.returncode == 74 and r.stdout == b""
    assert r.stderr.count(b"\n") == 1 and b"nodir" in r.stderr
    assert sorted(os.listdir(tmp_path)) == before
    # a directory nobody can create files in, root included
    r = site.owctl("diagnostics", "--bundle", "/proc/owctl-diag.tar.gz")
    assert r.returncode == 74 and r.stdout == b""
    assert r.stderr.count(b"\n") == 1 and b"/proc/owctl-diag" in r.stderr
    # a directory that cannot be written (as a non-root user)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() != 0:
        r = site.owctl("diagnostics", "--bundle", ro / "b.tar.gz")
        assert r.returncode == 74 and r.stderr.count(b"\n") == 1
        assert os.listdir(ro) == []
    # usage errors: status 2, the usage line
    for args in (["--force"], ["--errors", "0"], ["--bundle", ""],
                 ["extra"], ["--bogus"]):
        r = site.owctl("diagnostics", *args)
        assert r.returncode == 2, args
        assert b"usage: owctl web diagnostics [--no-logs]" in r.stderr


# ---- THE SECRET TEST ---------------------------------------------------------------

SECRETS = {
    "secret_key": "Sk-7f3b1c9e-secret-key-value",
    "mail": "Mail-pw-0c2d8e41",
    "public": "Public-pw-5a6b7c8d",
    "email_host": "EmailHost-pw-93e1",
    "redis": "Redis-pw-b1e2c3d4",
    "db": "Db-pw-e5f6a7b8",
    "fallback": "Fallback-key-1a2b3c4d",
    "plugin": "Plugin-pw-77aa88bb",
    "file": "File-secret-key-5e6f7a8b!#",
}


def test_no_secret_leaks(site, redis_factory, tmp_path):
    srv = redis_factory(password=SECRETS["redis"])
    site.write(**{
        # every property the schema marks secret
        "omero.web.secret_key": SECRETS["secret_key"],
        "omero.mail.password": SECRETS["mail"],
        "omero.web.public.password": SECRETS["public"],
        "omero.web.email_host_password": SECRETS["email_host"],
        # passwords inside JSON values
        "omero.web.session_engine": "django.contrib.sessions.backends.cache",
        "omero.web.caches": json.dumps({"default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": srv.url(db=1)}}),
        "omero.web.databases": json.dumps({"default": {
            "ENGINE": "django.db.backends.postgresql", "NAME": "omero",
            "USER": "omero", "PASSWORD": SECRETS["db"],
            "HOST": "127.0.0.1"}}),
        "omero.web.django_additional_settings": json.dumps(
            [["SECRET_KEY_FALLBACKS", [SECRETS["fallback"]]]]),
        # a plugin's property owctl does not know, named like a password
        "omero.web.myplugin.api_password": SECRETS["plugin"],
    })
    var = site.omerodir / "var"
    (var / "log").mkdir(parents=True)
    (var / "django_secret_key").write_text(SECRETS["file"])
    (var / "django_secret_key").chmod(0o600)
    # secrets that reached a log file are scrubbed from the tails too
    (var / "log" / "OMEROweb.log").write_text(
        "2026-11-25 10:00:00,000 ERROR [x] connect failed: %s\n"
        "2026-11-25 10:00:01,000 INFO [x] key %s\n" % (
            srv.url(db=1), SECRETS["secret_key"]))
    jdir = var / "owctl" / "upgrades" / "20261101T100000Z"
    jdir.mkdir(parents=True)
    (jdir / "journal.jsonl").write_text(json.dumps(
        {"time": "t", "step": "config", "state": "done",
         "note": SECRETS["db"]}) + "\n")

    text = site.diag().stdout
    js = site.diag("--json").stdout
    bundle = tmp_path / "secret.tar.gz"
    site.diag("--bundle", bundle)
    # the report found what it was meant to find
    j = json.loads(js)
    assert j["sessions"]["error"] is None, j["sessions"]
    assert j["versions"]["redis"]
    blobs = {"text": text, "json": js}
    for name, (_, data) in bundle_members(bundle).items():
        blobs[name] = data
    blobs["whole archive"] = gzip.decompress(bundle.read_bytes())
    assert TOP + "config.export" in blobs and TOP + "logs/OMEROweb.log" in \
        blobs and TOP + "upgrades/20261101T100000Z/journal.jsonl" in blobs
    for what, data in blobs.items():
        for which, secret in SECRETS.items():
            assert secret.encode() not in data, (which, what)
    # masked, not dropped
    exp = blobs[TOP + "config.export"].decode()
    assert "omero.web.secret_key=********\n" in exp
    assert "omero.web.myplugin.api_password=********\n" in exp
    assert '"LOCATION": "redis://:********@127.0.0.1:%d/1"' % srv.port in exp
    assert '"PASSWORD": "********"' in exp
    assert b"********" in blobs[TOP + "logs/OMEROweb.log"]
    # the config itself is untouched
    r = subprocess.run([owctl_path(), "config", "get", "--show-password",
                        "omero.web.secret_key"], env=site.env(),
                       capture_output=True, text=True, check=True)
    assert r.stdout.strip() == SECRETS["secret_key"]

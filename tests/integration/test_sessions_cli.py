"""owctl sessions / owctl web clearsessions against sessions written by REAL
Django: the stand-in OMERO.web under gunicorn (logins), plus sessions made
by Django's own SessionStore (set_expiry variants) and hand-made entries
(corrupt, another secret key, Django's temp files, unrelated files,
symlinks, non-ASCII content, files of another user).

File engine: the set owctl's purge-expired removes equals the set Django's
`manage.py clearsessions` removes on an identical copy (minus symlinks,
which owctl never follows and reports; minus files on which Django would
crash, which owctl keeps and reports).  The directory is found the way the
service uses it: the running gunicorn's TMPDIR, also inside its own mount
namespace (what systemd's PrivateTmp does).

Redis (cache engine): clear removes exactly the session keys of the
configured prefix/version/db and no other key, while a concurrent client
measures its worst PING latency (recorded, not asserted).

db engine (SQLite): purge-expired deletes exactly the rows Django's
clearsessions deletes.  With OWCTL_DJANGO_PATHS (scripts/run-tests), the
Django 4.2 and 5.2 rules are compared the same way.

db and cached_db engines on PostgreSQL (a throw-away cluster, see
testenv/postgres.py; cached_db with Redis): the same comparison on a
`CREATE DATABASE ... TEMPLATE` copy, and how owctl connects (socket, TCP,
TLS, OPTIONS, assume_role) checked against Django's own connection.
"""
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from owctlrun import base_env, run
from testenv import procs
from testenv.configxml import write_config
from testenv.gunicorn import Gunicorn, gunicorn_argv, gunicorn_env
from testenv.ports import free_port
from testenv.postgres import SESSION_SCHEMA

PREFIX = "owsid"
AGE = 600
OLD = AGE + 3000          # seconds: well past the cookie age
KEYCHARS = "abcdefghijklmnopqrstuvwxyz0123456789"

# Run inside the venv with the stand-in's settings: real Django sessions.
MAKE_SESSIONS = r'''
import datetime, json, os, sys
import django
django.setup()
from django.conf import settings
from django.contrib.sessions.backends.file import SessionStore
from django.core import signing
out = {}
def mk(name, expiry=None):
    s = SessionStore()
    s["user"] = name
    if expiry is not None:
        s.set_expiry(expiry)
    s.save()
    out[name] = s.session_key
mk("plain")
mk("int300", 300)
mk("zero", 0)
mk("neg", -5)
if django.VERSION >= (4, 0):
    mk("iso_past", datetime.timedelta(seconds=-3600))
    mk("iso_future", datetime.timedelta(days=3))
# signed with another secret key: Django falls back to the mtime rule
s = SessionStore()
s.create()
bad = signing.dumps({"user": "x", "_session_expiry": 999999},
                    key="another-secret-key-0123456789",
                    salt="django.contrib.sessions.SessionStore",
                    compress=True)
with open(os.path.join(settings.SESSION_FILE_PATH,
                       settings.SESSION_COOKIE_NAME + s.session_key), "w") as f:
    f.write(bad)
out["otherkey"] = s.session_key
print(json.dumps({"keys": out, "dir": settings.SESSION_FILE_PATH,
                  "django": django.get_version()}))
'''


def owctl(omerodir, *args, env=None, stdin=None):
    e = base_env(OMERODIR=str(omerodir))
    e.update(env or {})
    return run(list(args), env=e, stdin=stdin)


def key(n, seed):
    import random
    rnd = random.Random(seed)
    return "".join(rnd.choice(KEYCHARS) for _ in range(n))


def age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t), follow_symlinks=False)


def make_django_sessions(venv, omerodir, tmpdir, env=None):
    e = {"OMERODIR": str(omerodir), "TMPDIR": str(tmpdir),
         "DJANGO_SETTINGS_MODULE": "omeroweb.settings"}
    e.update(env or {})
    r = venv.run("-c", MAKE_SESSIONS, env=e, cwd=venv.omeroweb_dir())
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["dir"] == str(tmpdir)
    return out


def populate(d, keys, target_dir, old_names):
    """Hand-made entries next to Django's; returns the crash file names."""
    d = Path(d)
    (d / (PREFIX + key(32, 1))).write_text("garbage, not a payload")
    (d / (PREFIX + key(32, 2) + "_out_x7f2k")).write_text("temp")   # mkstemp
    (d / (PREFIX + key(32, 3).upper())).write_text("upper")
    (d / (PREFIX + "short1")).write_text("short")
    (d / "unrelated-file").write_text("x")
    (d / ("sessionid" + key(32, 4))).write_text("other prefix")
    (d / (PREFIX + key(32, 5) + "dir")).mkdir()
    empty = d / (PREFIX + key(32, 6))
    empty.write_text("")
    # a symlink to an expired session elsewhere: Django follows it
    target = Path(target_dir) / "link-target"
    shutil.copy(d / (PREFIX + keys["plain"]), target)
    age(target, OLD)
    link = d / (PREFIX + key(32, 7))
    link.symlink_to(target)
    # another user's expired session (Django as root removes it too)
    other = d / (PREFIX + key(32, 8))
    shutil.copy(d / (PREFIX + keys["plain"]), other)
    os.chown(other, 65534, 65534)
    crash = d / (PREFIX + key(32, 9))
    crash.write_bytes(b"\xff\xfe not ascii")
    for n in old_names + [PREFIX + key(32, 1), empty.name, other.name,
                          crash.name, PREFIX + key(32, 2) + "_out_x7f2k",
                          PREFIX + key(32, 3).upper(), PREFIX + "short1"]:
        age(d / n, OLD)
    age(link, OLD)
    return {"crash": [crash.name], "symlink": link.name}


def snapshot(d):
    return set(os.listdir(d))


def copy_dir(src, dst, skip=()):
    dst.mkdir()
    for n in os.listdir(src):
        if n in skip:
            continue
        s = Path(src) / n
        if s.is_symlink():
            (dst / n).symlink_to(os.readlink(s))
            st = s.lstat()
            os.utime(dst / n, ns=(st.st_atime_ns, st.st_mtime_ns),
                     follow_symlinks=False)
        elif s.is_dir():
            shutil.copytree(s, dst / n)
        else:
            shutil.copy2(s, dst / n)
            st = s.stat()
            os.chown(dst / n, st.st_uid, st.st_gid)


def start_gunicorn_in_namespace(venv, omerodir, workdir, tmpdir):
    """gunicorn in its own mount namespace with a private tmpfs on TMPDIR:
    what systemd's PrivateTmp does (outside, TMPDIR stays empty)."""
    port = free_port("127.0.0.1")
    pidfile = Path(omerodir) / "var" / "django.pid"
    argv = gunicorn_argv(venv, bind="127.0.0.1:%d" % port, pidfile=pidfile)
    inner = "mount -t tmpfs owctl-private %s && exec \"$@\"" % tmpdir
    full = ["unshare", "-m", "--propagation", "private", "sh", "-c", inner,
            "sh"] + [str(a) for a in argv]
    log = Path(workdir) / "gunicorn.log"
    proc = procs.spawn(full, name="gunicorn (private tmp)", log=log,
                       cwd=venv.omeroweb_dir(),
                       env=gunicorn_env(omerodir, venv=venv, tmpdir=tmpdir))
    g = Gunicorn(proc, venv=venv, omerodir=omerodir, host="127.0.0.1",
                 port=port, tmpdir=tmpdir, log=log, workdir=workdir,
                 script_name=None, pidfile=pidfile)
    try:
        g.wait_ready(30)
    except Exception:
        g.stop()
        raise
    return g


# --- file engine --------------------------------------------------------------

def test_file_purge_matches_django_clearsessions(venv_531, omerodir,
                                                 gunicorn_app, tmp_path):
    write_config(omerodir, {"omero.web.session_cookie_name": PREFIX,
                            "omero.web.session_cookie_age": str(AGE)})
    (omerodir / "var").mkdir(exist_ok=True)
    g = gunicorn_app(venv_531, omerodir,
                     pidfile=omerodir / "var" / "django.pid")
    d = g.tmpdir
    logins = [g.get("/login?user=u%d" % i).json()["session_key"]
              for i in range(10)]
    made = make_django_sessions(venv_531, omerodir, d)
    keys = made["keys"]
    old = [PREFIX + k for k in logins[:5]]
    old += [PREFIX + keys[n] for n in ("int300", "zero", "neg", "otherkey")]
    special = populate(d, keys, tmp_path, old)

    # Django's clearsessions on an identical copy without the crash file
    # (it would abort the whole run there).
    dj = tmp_path / "django-copy"
    copy_dir(d, dj, skip=special["crash"])
    before_dj = snapshot(dj)
    r = venv_531.manage(omerodir, "clearsessions", tmpdir=dj)
    assert r.returncode == 0, r.stderr
    removed_django = before_dj - snapshot(dj)

    # owctl finds the directory through the running gunicorn (TMPDIR of
    # owctl itself points elsewhere).
    before = snapshot(d)
    r = owctl(omerodir, "sessions", "info", "--json",
              env={"TMPDIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["directory"]["path"] == str(d)
    assert "running OMERO.web (PID %d)" % g.pid in info["directory"]["how"]
    assert info["django"]["from"] == "venv"
    assert info["django"]["version"] == made["django"]
    assert info["django"]["rules"] == made["django"][:3]
    assert info["prefix"] == PREFIX
    assert info["expired"] == len(removed_django) - 1    # minus the symlink
    assert info["crash"] == 1

    r = owctl(omerodir, "sessions", "purge-expired", "--dry-run",
              env={"TMPDIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert snapshot(d) == before

    r = owctl(omerodir, "sessions", "purge-expired",
              env={"TMPDIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    removed = before - snapshot(d)
    assert removed == removed_django - {special["symlink"]}
    # what the comparison covers
    assert {PREFIX + k for k in logins[:5]} <= removed
    assert not {PREFIX + k for k in logins[5:]} & removed
    assert PREFIX + keys["neg"] in removed and PREFIX + keys["zero"] in removed
    assert PREFIX + keys["otherkey"] in removed
    assert PREFIX + keys["int300"] not in removed       # int expiry quirk
    assert special["symlink"] in removed_django
    assert (d / special["symlink"]).is_symlink()
    assert (tmp_path / "link-target").exists()
    err = r.stderr.decode()
    assert "non-ASCII content" in err and "symlink" in err
    assert special["crash"][0][:len(PREFIX) + 8] in err
    assert special["crash"][0] not in err             # never the full key
    out = r.stdout.decode()
    assert "removed %d expired sessions" % len(removed) in out

    # the sessions Django kept still work
    me = g.get("/whoami", cookies={PREFIX: logins[7]})
    assert me.status == 200 and me.json()["user"] == "u7"
    assert g.get("/whoami", cookies={PREFIX: logins[0]}).status == 401

    # clear: every session file and the link itself, nothing else
    r = owctl(omerodir, "sessions", "clear", stdin=b"")
    assert r.returncode == 1 and b"--yes" in r.stderr
    left = snapshot(d)
    r = owctl(omerodir, "sessions", "clear", "--yes")
    assert r.returncode == 0, r.stderr
    remaining = snapshot(d)
    assert remaining == {n for n in left
                         if not (n.startswith(PREFIX) and len(n) >= len(PREFIX) + 8
                                 and all(c in KEYCHARS for c in n[len(PREFIX):])
                                 and not (d / n).is_dir())}
    assert "unrelated-file" in remaining and (tmp_path / "link-target").exists()
    assert g.get("/whoami", cookies={PREFIX: logins[7]}).status == 401


def test_file_dir_in_private_mount_namespace(venv_531, omerodir, tmp_path):
    write_config(omerodir, {"omero.web.session_cookie_age": str(AGE)})
    (omerodir / "var").mkdir(exist_ok=True)
    tmpdir = tmp_path / "private-tmp"
    tmpdir.mkdir()
    g = start_gunicorn_in_namespace(venv_531, omerodir, tmp_path, tmpdir)
    try:
        keys = [g.get("/login?user=p%d" % i).json()["session_key"]
                for i in range(4)]
        assert os.listdir(tmpdir) == []          # invisible from outside
        seen = Path("/proc/%d/root" % g.pid) / str(tmpdir).lstrip("/")
        assert sorted(os.listdir(seen)) == sorted("sessionid" + k for k in keys)
        for k in keys[:2]:
            age(seen / ("sessionid" + k), OLD)
        r = owctl(omerodir, "sessions", "info", "--json")
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        assert info["directory"]["path"] == str(tmpdir)
        assert info["directory"]["private_tmp"] is True
        assert info["directory"]["opened"] == str(seen)
        assert info["sessions"] == 4 and info["expired"] == 2
        r = owctl(omerodir, "web", "clearsessions")
        assert r.returncode == 0, r.stderr
        assert r.stdout == (b"Clearing expired sessions. This may take some "
                            b"time... [OK]\n")
        assert sorted(os.listdir(seen)) == sorted("sessionid" + k
                                                  for k in keys[2:])
    finally:
        g.stop()


def test_web_clearsessions_without_gunicorn(venv_531, omerodir, tmp_path):
    write_config(omerodir, {"omero.web.session_cookie_age": str(AGE)})
    (omerodir / "var").mkdir(exist_ok=True)
    (omerodir / "var" / "django_secret_key").write_text("k" * 50)
    d = tmp_path / "tmp"
    d.mkdir()
    made = make_django_sessions(venv_531, omerodir, d)
    age(d / ("sessionid" + made["keys"]["plain"]), OLD)
    r = owctl(omerodir, "web", "clearsessions", env={"TMPDIR": str(d)})
    assert r.returncode == 0, r.stderr
    assert r.stdout == (b"Clearing expired sessions. This may take some "
                        b"time... [OK]\n")
    assert not (d / ("sessionid" + made["keys"]["plain"])).exists()
    assert (d / ("sessionid" + made["keys"]["int300"])).exists()
    r = owctl(omerodir, "sessions", "info", "--json", env={"TMPDIR": str(d)})
    info = json.loads(r.stdout)
    assert info["directory"]["path"] == str(d)
    assert "not running" in info["directory"]["how"]


def test_other_users_files_are_left_alone(omerodir):
    """Run as 'nobody' on a sticky shared directory: its own expired
    session goes, root's expired session is reported, not an error."""
    base = Path(tempfile.mkdtemp(prefix="owctl-sess-"))
    try:
        os.chmod(base, 0o755)
        od = base / "OMERO.web"
        (od / "etc" / "grid").mkdir(parents=True)
        write_config(od, {"omero.web.secret_key": "s" * 50})
        for p in (od, od / "etc", od / "etc" / "grid"):
            os.chmod(p, 0o755)
        os.chmod(od / "etc" / "grid" / "config.xml", 0o644)
        shared = base / "tmp"
        shared.mkdir()
        os.chmod(shared, 0o1777)
        mine = shared / ("sessionid" + key(32, 11))
        theirs = shared / ("sessionid" + key(32, 12))
        for f in (mine, theirs):
            f.write_text("not signed: mtime rule")
            os.chmod(f, 0o644)
            age(f, 30 * 86400)
        os.chown(mine, 65534, 65534)
        e = base_env(OMERODIR=str(od))
        r = run(["sessions", "purge-expired", "--session-dir", str(shared)],
                env=e, user="nobody", cwd="/")
        assert r.returncode == 0, r.stderr
        assert not mine.exists() and theirs.exists()
        assert b"another user" in r.stderr
    finally:
        shutil.rmtree(base)


# --- Django 4.2 / 5.2 rules ---------------------------------------------------

def django_paths():
    out = []
    for item in filter(None, os.environ.get("OWCTL_DJANGO_PATHS", "").split(":")):
        ver, _, path = item.partition("=")
        out.append((ver, path))
    return out


@pytest.mark.parametrize("ver,path", django_paths() or [("4.2/5.2", None)])
def test_file_rules_of_newer_django(venv_531, omerodir, tmp_path, ver, path):
    if path is None:
        pytest.fail("OWCTL_DJANGO_PATHS not set (scripts/run-tests sets it "
                    "from scripts/fetch-django)")
    write_config(omerodir, {"omero.web.session_cookie_age": str(AGE)})
    (omerodir / "var").mkdir(exist_ok=True)
    (omerodir / "var" / "django_secret_key").write_text("n" * 50)
    env = {"PYTHONPATH": path}
    d = tmp_path / "tmp"
    d.mkdir()
    made = make_django_sessions(venv_531, omerodir, d, env=env)
    assert made["django"].startswith(ver)
    keys = made["keys"]
    for n in ("plain", "int300", "zero", "iso_future", "otherkey"):
        age(d / ("sessionid" + keys[n]), OLD)
    dj = tmp_path / "django-copy"
    copy_dir(d, dj)
    before = snapshot(dj)
    r = venv_531.manage(omerodir, "clearsessions", tmpdir=dj, env=env)
    assert r.returncode == 0, r.stderr
    removed_django = before - snapshot(dj)
    r = owctl(omerodir, "sessions", "purge-expired", "--django-version", ver,
              "--session-dir", str(d))
    assert r.returncode == 0, r.stderr
    assert before - snapshot(d) == removed_django
    assert "sessionid" + keys["iso_past"] in removed_django
    assert "sessionid" + keys["iso_future"] not in removed_django
    assert "sessionid" + keys["plain"] in removed_django


# --- Redis --------------------------------------------------------------------

SESSION = "omero:2:django.contrib.sessions.cache"
FAKE_SESSIONS = 20000
OTHER_KEYS = 20000


def fill(client, names, ttl=3600):
    p = client.pipeline(transaction=False)
    for i, n in enumerate(names):
        p.set(n, b"x" * 100, ex=ttl)
        if i % 5000 == 4999:
            p.execute()
    p.execute()


class Pinger(threading.Thread):
    """A concurrent client: PING in a loop, worst latency in ms."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.c = srv.client()
        self.stop = threading.Event()
        self.worst = 0.0
        self.count = 0
        self.errors = 0

    def run(self):
        while not self.stop.is_set():
            t = time.perf_counter()
            try:
                self.c.ping()
            except Exception:
                self.errors += 1
            self.worst = max(self.worst, (time.perf_counter() - t) * 1000)
            self.count += 1


@pytest.mark.parametrize("backend", [
    "django_redis.cache.RedisCache",
    "django.core.cache.backends.redis.RedisCache",
])
def test_redis_clear_removes_exactly_the_session_keys(
        venv_531, omerodir, redis_factory, gunicorn_app, backend,
        record_property):
    srv = redis_factory(password="s3cret", unixsocket=True)
    write_config(omerodir, {
        "omero.web.session_engine": "django.contrib.sessions.backends.cache",
        "omero.web.caches": json.dumps({"default": {
            "BACKEND": backend, "LOCATION": srv.url(db=3),
            "KEY_PREFIX": "omero", "VERSION": 2}}),
    })
    g = gunicorn_app(venv_531, omerodir)
    logins = [g.get("/login?user=r%d" % i).json()["session_key"]
              for i in range(5)]
    db = srv.client(db=3)
    assert all(db.exists(SESSION + k) for k in logins)
    fake = [SESSION + key(32, 1000 + i) for i in range(FAKE_SESSIONS)]
    other = []
    for i in range(OTHER_KEYS // 5):
        k = key(32, 50000 + i)
        other += ["omero:1:django.contrib.sessions.cache" + k,
                  ":2:django.contrib.sessions.cache" + k,
                  "omero:2:django.contrib.sessions.cached_db" + k,
                  "omero:2:unrelated:" + k,
                  SESSION + k.upper()]
    other += [SESSION + "short", SESSION + "[glob]" + "a" * 32, "plain"]
    fill(db, fake)
    fill(db, other)
    db.set("no-ttl-key", b"1")
    db0 = srv.client(db=0)
    fill(db0, fake[:1000])               # same names, another database
    sessions = {SESSION + k for k in logins} | set(fake)
    before = set(db.keys("*"))

    r = owctl(omerodir, "sessions", "info", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["sessions"] == len(sessions)
    assert info["cache"]["keys"] == SESSION + "*"
    assert "s3cret" not in r.stdout.decode() and "***" in r.stdout.decode()

    r = owctl(omerodir, "sessions", "purge-expired")
    assert r.returncode == 0 and b"nothing to do" in r.stdout
    assert set(db.keys("*")) == before

    r = owctl(omerodir, "sessions", "list", "--json")
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)["sessions"]
    assert len(listed) == len(sessions)
    assert all(len(x["key"]) == len(SESSION) + 8 + 3 for x in listed)
    assert all(0 < x["expires_in"] <= 86400 for x in listed)

    pinger = Pinger(srv)
    pinger.start()
    t = time.perf_counter()
    r = owctl(omerodir, "sessions", "clear", "--yes")
    wall = time.perf_counter() - t
    pinger.stop.set()
    pinger.join()
    assert r.returncode == 0, r.stderr
    after = set(db.keys("*"))
    assert before - after == {k.encode() for k in sessions}
    assert after == before - {k.encode() for k in sessions}
    assert db0.dbsize() == 1000
    assert pinger.errors == 0 and pinger.count > 0
    record_property("clear_wall_s", round(wall, 3))
    record_property("worst_ping_ms", round(pinger.worst, 2))
    print("redis clear of %d session keys among %d: %.3f s, worst PING "
          "%.2f ms over %d PINGs" % (len(sessions), len(before), wall,
                                     pinger.worst, pinger.count))
    assert g.get("/whoami", cookies={"sessionid": logins[0]}).status == 401


def test_redis_unix_socket_and_errors(omerodir, redis_factory):
    srv = redis_factory(password="pw", unixsocket=True)
    db = srv.client(db=4)
    db.set(":1:django.contrib.sessions.cache" + key(32, 1), b"x", ex=60)
    db.set(":1:django.contrib.sessions.cached_db" + key(32, 2), b"x", ex=60)
    write_config(omerodir, {
        "omero.web.session_engine": "django.contrib.sessions.backends.cache",
        "omero.web.caches": json.dumps({"default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": srv.unix_url(db=4)}})})
    r = owctl(omerodir, "sessions", "info", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["sessions"] == 1
    write_config(omerodir, {
        "omero.web.session_engine": "django.contrib.sessions.backends.cache",
        "omero.web.caches": json.dumps({"default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:%d/4" % srv.port,
            "OPTIONS": {"PASSWORD": "wrong"}}})})
    r = owctl(omerodir, "sessions", "clear", "--yes")
    assert r.returncode == 69
    assert b"refused the password" in r.stderr and b"wrong" not in r.stderr
    assert db.dbsize() == 2
    write_config(omerodir, {
        "omero.web.session_engine": "django.contrib.sessions.backends.cache"})
    r = owctl(omerodir, "sessions", "info")
    assert r.returncode == 78 and b"DummyCache" in r.stderr


# --- db engine (SQLite) -------------------------------------------------------

def test_db_purge_matches_django_clearsessions(venv_531, omerodir,
                                               gunicorn_app, tmp_path):
    dbfile = omerodir / "var" / "sessions.sqlite3"
    (omerodir / "var").mkdir(exist_ok=True)

    def config(name):
        write_config(omerodir, {
            "omero.web.session_engine": "django.contrib.sessions.backends.db",
            "omero.web.databases": json.dumps({"default": {
                "ENGINE": "django.db.backends.sqlite3", "NAME": str(name)}})})
    config(dbfile)
    r = venv_531.manage(omerodir, "migrate", "sessions", "--noinput")
    assert r.returncode == 0, r.stderr
    g = gunicorn_app(venv_531, omerodir,
                     pidfile=omerodir / "var" / "django.pid")
    keys = [g.get("/login?user=d%d" % i).json()["session_key"]
            for i in range(6)]
    with sqlite3.connect(dbfile) as c:
        # expired a second ago, and a day ago (text, as Django writes it)
        c.execute("UPDATE django_session SET expire_date = datetime('now', "
                  "'-1 second') WHERE session_key = ?", (keys[0],))
        c.execute("UPDATE django_session SET expire_date = '2001-02-03 "
                  "04:05:06.123456' WHERE session_key IN (?, ?)",
                  (keys[1], keys[2]))
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(dbfile, copy)
    r = venv_531.manage(omerodir, "clearsessions")
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(dbfile) as c:
        left_django = {k for (k,) in c.execute(
            "SELECT session_key FROM django_session")}
    config(copy)
    r = owctl(omerodir, "sessions", "info", "--json")
    assert json.loads(r.stdout)["expired"] == 3
    r = owctl(omerodir, "sessions", "purge-expired")
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(copy) as c:
        left = {k for (k,) in c.execute("SELECT session_key FROM django_session")}
    assert left == left_django == set(keys[3:])
    r = owctl(omerodir, "sessions", "clear", "--yes")
    assert r.returncode == 0 and b"removed 3 sessions" in r.stdout


# --- usage --------------------------------------------------------------------

@pytest.mark.parametrize("args,status", [
    (["sessions"], 2),
    (["sessions", "nope"], 2),
    (["sessions", "info", "--bogus"], 2),
    (["sessions", "list", "--dry-run"], 2),
    (["sessions", "info", "--django-version", "2.2"], 2),
    (["web", "clearsessions", "--yes"], 2),
])
def test_usage_errors(omerodir, args, status):
    r = owctl(omerodir, *args)
    assert r.returncode == status, (r.stdout, r.stderr)
    assert b"usage: owctl" in r.stderr


def test_without_omerodir():
    e = base_env()
    r = run(["sessions", "info"], env=e)
    assert r.returncode == 125 and b"OMERODIR" in r.stderr
    r = run(["web", "clearsessions"], env=e)
    assert r.returncode == 101 and r.stderr == b"ERROR: OMERODIR not set\n"


# --- db / cached_db engines (PostgreSQL) --------------------------------------

# spaces, quotes, a backslash and non-ASCII: no conninfo-string quoting
PG_PASSWORD = "pg-Secret 7f'3a\\9c\"1e \u00e9"
PG_CACHE_KIND = "omero:3:django.contrib.sessions.cached_db"

# Run inside the venv with the stand-in's settings (DATABASES, SESSION_ENGINE
# and CACHES from config.xml, as OMERO.web sets them): Django's migration,
# then sessions made by the engine's own SessionStore.
PG_MAKE = r'''
import datetime, json
from importlib import import_module
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("migrate", "sessions", verbosity=0)
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
out = {}
def mk(name, expiry=None):
    s = SessionStore()
    s["user"] = name
    if expiry is not None:
        s.set_expiry(expiry)
    s.save()
    out[name] = s.session_key
for n in ("fresh", "old_day", "old_second", "old_hours"):
    mk(n)
mk("int300", 300)
mk("zero", 0)
mk("neg", -5)
if django.VERSION >= (4, 0):     # 3.2 cannot serialize a datetime to JSON
    mk("past", datetime.timedelta(seconds=-3600))
    mk("future", datetime.timedelta(days=3))
print(json.dumps({"keys": out, "django": django.get_version(),
                  "use_tz": settings.USE_TZ, "engine": settings.SESSION_ENGINE}))
'''

# Django's verdict: rows whose expire_date < now (the last four made old
# with psql below, set_expiry(-5) and a past datetime)
PG_EXPIRED = {"old_day", "old_second", "old_hours", "neg", "past"}


def pg_versions():
    return [("3.2", None)] + django_paths()


@pytest.fixture
def postgres_factory():
    """start(tcp=False, ssl=False, hba=None) -> PostgresCluster (see
    testenv.postgres); every cluster is stopped by PID at teardown."""
    from testenv.postgres import start_postgres
    clusters = []

    def start(**kw):
        pg = start_postgres(**kw)
        clusters.append(pg)
        return pg
    yield start
    for pg in clusters:
        pg.stop()


def pg_databases(pg, name, **extra):
    db = {"ENGINE": "django.db.backends.postgresql", "NAME": name,
          "USER": "omero", "PASSWORD": PG_PASSWORD, "HOST": pg.socket_dir,
          "PORT": str(pg.port)}
    db.update(extra)
    return json.dumps({"default": db})


def no_password(*results):
    for r in results:
        for out in (r.stdout, r.stderr):
            assert PG_PASSWORD.encode() not in out, out
            assert b"Secret" not in out, out


@pytest.mark.parametrize("engine", ["db", "cached_db"])
@pytest.mark.parametrize("ver,path", pg_versions())
def test_db_postgresql_purge_matches_django(venv_531, omerodir,
                                            postgres_factory, redis_factory,
                                            engine, ver, path):
    """Real Django creates the sessions in PostgreSQL (db, and cached_db
    with Redis); owctl's purge-expired leaves exactly the rows Django's
    clearsessions leaves on a copy of the database; clear empties it (and
    removes cached_db's cache copies, nothing else)."""
    pg = postgres_factory()
    pg.create_role("omero", PG_PASSWORD)
    pg.create_db("orig", owner="omero")
    env = {"PYTHONPATH": path} if path else {}
    srv = redis_factory() if engine == "cached_db" else None

    def config(name):
        props = {
            "omero.web.session_engine":
                "django.contrib.sessions.backends." + engine,
            "omero.web.databases": pg_databases(pg, name),
            "omero.web.session_cookie_age": str(AGE),
            # far from UTC: with USE_TZ False (3.2, 4.2) Django compares
            # naive local times in this zone
            "omero.web.time_zone": "Asia/Tokyo"}
        if srv:
            props["omero.web.caches"] = json.dumps({"default": {
                "BACKEND": "django_redis.cache.RedisCache" if path is None
                else "django.core.cache.backends.redis.RedisCache",
                "LOCATION": srv.url(db=2), "KEY_PREFIX": "omero",
                "VERSION": 3}})
        write_config(omerodir, props)

    config("orig")
    r = venv_531.run("-c", PG_MAKE, env=dict(env, OMERODIR=str(omerodir),
                     DJANGO_SETTINGS_MODULE="omeroweb.settings"),
                     cwd=venv_531.omeroweb_dir())
    assert r.returncode == 0, r.stderr
    made = json.loads(r.stdout.strip().splitlines()[-1])
    assert made["django"].startswith(ver)
    assert made["engine"].endswith("." + engine)
    assert made["use_tz"] == (ver == "5.2")
    keys = made["keys"]
    expired = PG_EXPIRED & set(keys)
    assert len(expired) == (4 if ver == "3.2" else 5)
    for n, off in (("old_day", "1 day"), ("old_second", "1 second"),
                   ("old_hours", "3 hours")):
        pg.psql("UPDATE django_session SET expire_date = now() - interval "
                "'%s' WHERE session_key = '%s'" % (off, keys[n]), db="orig")
    all_rows = "SELECT session_key FROM django_session"
    assert pg.rows(all_rows, "orig") == set(keys.values())
    if srv:
        rc = srv.client(db=2)
        # set_expiry(-5) / a past expiry: Django cached nothing
        assert {n for n in keys if rc.exists(PG_CACHE_KIND + keys[n])} == \
            set(keys) - {"neg", "past"}
        rc.set("omero:3:unrelated", b"x", ex=3600)
        rc.set(PG_CACHE_KIND + key(32, 321).upper(), b"x", ex=3600)
    pg.create_db("copy", owner="omero", template="orig")
    assert pg.rows(all_rows, "copy") == set(keys.values())

    r = venv_531.manage(omerodir, "clearsessions", env=env)
    assert r.returncode == 0, r.stderr
    left_django = pg.rows(all_rows, "orig")
    assert left_django == {keys[n] for n in set(keys) - expired}

    config("copy")
    v = ["--django-version", ver]
    info = owctl(omerodir, "sessions", "info", "--json", *v)
    assert info.returncode == 0, info.stderr
    j = json.loads(info.stdout)
    assert j["expired"] == len(expired) and j["sessions"] == len(keys)
    dry = owctl(omerodir, "sessions", "purge-expired", "--dry-run", *v)
    assert dry.returncode == 0, dry.stderr
    assert pg.rows(all_rows, "copy") == set(keys.values())
    r = owctl(omerodir, "sessions", "purge-expired", *v)
    assert r.returncode == 0, r.stderr
    assert b"removed %d expired sessions" % len(expired) in r.stdout
    assert pg.rows(all_rows, "copy") == left_django
    if srv:
        before = set(rc.keys("*"))
    c = owctl(omerodir, "sessions", "clear", "--yes", "--json", *v)
    assert c.returncode == 0, c.stderr
    res = json.loads(c.stdout)
    assert res["removed"] == len(left_django)
    assert pg.rows(all_rows, "copy") == set()
    assert pg.rows(all_rows, "orig") == left_django      # not the other db
    if srv:
        copies = {k for k in before if k.startswith(PG_CACHE_KIND.encode())
                  and k[len(PG_CACHE_KIND):].islower()}
        assert len(copies) == len(set(keys) - {"neg", "past"})
        assert res["cache_keys"]["removed"] == len(copies)
        assert set(rc.keys("*")) == before - copies
    no_password(info, dry, r, c)


# Django (through psycopg2) connecting with the same DATABASES: the count
# of django_session rows, or a traceback and status 1.
DJ_COUNT = r'''
import json, sys
import django
from django.conf import settings
settings.configure(DATABASES=json.loads(sys.argv[1]), USE_TZ=True)
django.setup()
from django.db import connection
with connection.cursor() as c:
    c.execute("SELECT count(*) FROM django_session")
    print(json.dumps({"count": c.fetchone()[0],
                      "django": django.get_version()}))
'''


def django_count(databases, path):
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = path
    p = subprocess.run(["/usr/bin/python3", "-c", DJ_COUNT, databases],
                       capture_output=True, text=True, env=env, timeout=120)
    if p.returncode:
        return None, p.stderr
    j = json.loads(p.stdout.strip().splitlines()[-1])
    return j["count"], j["django"]


def test_db_postgresql_connection(omerodir, postgres_factory):
    """How owctl reaches PostgreSQL, as Django/psycopg2 would: HOST as a
    socket directory or an address, PORT (string or number), USER and
    PASSWORD (quotes, spaces, non-ASCII) from omero.web.databases, OPTIONS
    passed to libpq (sslmode, sslrootcert, options, port) except Django's
    own (assume_role: SET ROLE after connecting), USER/HOST/PORT winning
    over OPTIONS as in Django; the password is never printed, not even
    when the server refuses it."""
    pg = postgres_factory(tcp=True, ssl=True, hba=[
        "local all postgres trust",
        "local all all scram-sha-256",
        "hostssl all all 127.0.0.1/32 scram-sha-256",
        "hostssl all all ::1/128 scram-sha-256"])
    pg.create_role("omero", PG_PASSWORD)
    pg.create_db("omero", owner="omero")
    pg.psql("SET ROLE omero;" + SESSION_SCHEMA, db="omero")
    for i, off in enumerate(["-1 day", "+1 hour", "+2 days"]):
        pg.psql("INSERT INTO django_session VALUES ('%s', 'data', now() + "
                "interval '%s')" % (key(32, 900 + i), off), db="omero")
    # the same table in schema "web" (reached with OPTIONS options)
    pg.psql("SET ROLE omero; CREATE SCHEMA web; SET search_path = web;" +
            SESSION_SCHEMA + "INSERT INTO django_session VALUES ('%s', 'x', "
            "now() - interval '1 day')" % key(32, 950), db="omero")
    # a table only role webowner may touch: webuser (NOINHERIT) needs
    # Django's OPTIONS assume_role
    pg.create_role("webuser", PG_PASSWORD, "NOINHERIT")
    pg.create_role("webowner")
    pg.psql("GRANT webowner TO webuser")
    pg.create_db("roles", owner="webowner")
    pg.psql("SET ROLE webowner;" + SESSION_SCHEMA + "INSERT INTO "
            "django_session VALUES ('%s', 'x', now() - interval '1 day')"
            % key(32, 960), db="roles")

    def props(name="omero", **db):
        return {"omero.web.session_engine":
                "django.contrib.sessions.backends.db",
                "omero.web.databases": pg_databases(pg, name, **db)}

    # the newest Django at hand (assume_role needs 4.2 or later)
    dj_path = (django_paths() or [(None, None)])[-1][1]

    def connections():
        return [line for line in pg.log_text().splitlines()
                if "connection authorized: user=omero" in line]

    seen = []           # the connections owctl's last run made

    def info(*args, name="omero", **db):
        write_config(omerodir, props(name, **db))
        before = len(connections())
        r = owctl(omerodir, "sessions", *(args or ("info", "--json")))
        seen[:] = connections()[before:]
        no_password(r)
        if not args:        # Django connects, or fails, alike
            n, why = django_count(props(name, **db)[
                "omero.web.databases"], dj_path)
            assert (n is not None) == (r.returncode == 0), (why, r.stderr)
            if n is not None:
                assert json.loads(r.stdout)["sessions"] == n
                assert dj_path is None or why.startswith("5.2")
        return r

    def ok(r, sessions=3, expired=1):
        assert r.returncode == 0, r.stderr
        j = json.loads(r.stdout)
        assert (j["sessions"], j["expired"]) == (sessions, expired)
        return j

    j = ok(info())                                   # Unix socket
    assert j["database"]["name"].startswith("postgresql://omero@")
    assert len(seen) == 1 and "SSL enabled" not in seen[0]
    for args in (("info",), ("list",), ("list", "--json"),
                 ("purge-expired", "--dry-run")):
        assert info(*args).returncode == 0
    ok(info(PORT=pg.port))                           # PORT as a number
    ok(info(HOST="127.0.0.1"))                       # TCP, sslmode=prefer
    assert len(seen) == 1 and "SSL enabled" in seen[0]
    ok(info(HOST="127.0.0.1", OPTIONS={"sslmode": "require"}))
    assert len(seen) == 1 and "SSL enabled" in seen[0]
    ok(info(HOST="localhost", OPTIONS={
        "sslmode": "verify-full", "sslrootcert": str(pg.base / "server.crt")}))
    # sslmode reaches libpq: without TLS the server has no hba line for it
    r = info(HOST="127.0.0.1", OPTIONS={"sslmode": "disable"})
    assert r.returncode != 0 and b"no encryption" in r.stderr, r.stderr
    r = info(HOST="127.0.0.1", OPTIONS={"sslmode": "verify-full",
                                        "sslrootcert": "/nonexistent.crt"})
    assert r.returncode != 0 and b"nonexistent.crt" in r.stderr
    # other libpq options, strings and numbers, as psycopg2 passes them
    ok(info(OPTIONS={"options": "-c search_path=web"}), sessions=1)
    ok(info(PORT="", OPTIONS={"port": pg.port, "connect_timeout": 5}))
    # Django's settings win over OPTIONS
    ok(info(OPTIONS={"host": "/nonexistent", "user": "nobody"}))
    # Django's own option: SET ROLE after connecting
    r = info(name="roles", USER="webuser")
    assert r.returncode != 0 and b"permission denied" in r.stderr
    ok(info(name="roles", USER="webuser",
            OPTIONS={"assume_role": "webowner"}), 1, 1)
    # the password is what is sent
    r = info(PASSWORD="wrong-" + PG_PASSWORD)
    assert r.returncode != 0
    assert b"password authentication failed" in r.stderr
    assert b"wrong-" not in r.stderr
    r = info(PASSWORD="")
    assert r.returncode != 0 and b"password" in r.stderr
    r = info(USER="nobody-here")
    assert r.returncode != 0 and b"nobody-here" in r.stderr
    # purge and clear over TCP with TLS, and with assume_role
    write_config(omerodir, props(HOST="127.0.0.1",
                                 OPTIONS={"sslmode": "require"}))
    r = owctl(omerodir, "sessions", "purge-expired")
    no_password(r)
    assert r.returncode == 0 and b"removed 1 expired session" in r.stdout
    r = owctl(omerodir, "sessions", "clear", "--yes")
    no_password(r)
    assert r.returncode == 0, r.stderr
    assert pg.psql("SELECT count(*) FROM django_session",
                   db="omero").strip() == "0"
    assert pg.psql("SELECT count(*) FROM web.django_session",
                   db="omero").strip() == "1"
    write_config(omerodir, props("roles", USER="webuser",
                                 OPTIONS={"assume_role": "webowner"}))
    r = owctl(omerodir, "sessions", "purge-expired")
    no_password(r)
    assert r.returncode == 0 and b"removed 1 expired session" in r.stdout
    assert pg.psql("SELECT count(*) FROM django_session",
                   db="roles").strip() == "0"


# --- golden vectors -----------------------------------------------------------

VNOW = 1795549861
VSECRET = "fixture-secret-key-for-omero-web-session-research-0001"


@pytest.mark.parametrize("ver,col", [("3.2", 6), ("4.2", 7), ("5.2", 8)])
def test_file_vectors_through_the_cli(omerodir, tmp_path, ver, col):
    """The recorded verdicts of real Django for every vector file: owctl
    removes the REMOVED ones (but the symlink, which it never follows),
    keeps and reports the CRASH ones, touches nothing else."""
    from owctlrun import VECTORS
    vdir = Path(VECTORS) / "sessions" / "file"
    d = tmp_path / "v"
    subprocess.run([str(vdir / "materialize.sh"), str(d), str(VNOW)],
                   check=True, capture_output=True)
    (omerodir / "var").mkdir(exist_ok=True)
    (omerodir / "var" / "django_secret_key").write_text(VSECRET + "\n")
    rows = [line.split("\t") for line in
            (vdir / "cases.tsv").read_text().splitlines()[1:]]
    want = {r[1] for r in rows if r[col] == "REMOVED" and
            not r[2].startswith("symlink")}
    crash = {r[1] for r in rows if r[col] == "CRASH"}
    before = snapshot(d)
    r = owctl(omerodir, "sessions", "purge-expired", "--session-dir", str(d),
              "--django-version", ver, "--now", str(VNOW), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert before - snapshot(d) == want
    assert out["removed"] == len(want) and out["kept_crash"] == len(crash)
    err = r.stderr.decode()
    for name in crash:
        assert name[:len("sessionid") + 8] in err and name not in err


# --- cached_db engine (SQLite + Redis) -----------------------------------------

CACHED_DB = r'''
import json, sys
mode, conf = sys.argv[1], json.loads(sys.argv[2])
import django
from django.conf import settings
settings.configure(
    SESSION_ENGINE="django.contrib.sessions.backends.cached_db",
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                           "NAME": conf["db"]}},
    CACHES=conf["caches"],
    INSTALLED_APPS=["django.contrib.sessions"],
    SECRET_KEY="cached-db-test-secret-key-0123456789-abcdefghijkl",
    SESSION_COOKIE_AGE=%(age)d, USE_TZ=True)
django.setup()
from django.core.management import call_command
from django.contrib.sessions.backends.cached_db import SessionStore
out = {"django": django.get_version()}
if mode == "make":
    call_command("migrate", "sessions", verbosity=0)
    keys = {}
    for i, exp in enumerate([None, None, None, None, 300, 0, -5, None]):
        s = SessionStore()
        s["user_id"] = i
        if exp is not None:
            s.set_expiry(exp)
        s.save()
        keys["s%%d" %% i] = s.session_key
    out["keys"] = keys
elif mode == "clearsessions":
    call_command("clearsessions")
else:
    out["loaded"] = {k: SessionStore(session_key=k).load()
                     for k in sys.argv[3:]}
print(json.dumps(out))
''' % {"age": AGE}


def cached_db_versions():
    out = [("3.2", None, "django_redis.cache.RedisCache")]
    for ver, path in django_paths():
        out.append((ver, path, "django.core.cache.backends.redis.RedisCache"))
    return out


def copy_redis(src, dst, db):
    """Every key of SRC's database DB into DST's, with its TTL."""
    s, d = src.client(db=db), dst.client(db=db)
    for k in s.keys("*"):
        ttl = s.pttl(k)
        d.restore(k, ttl if ttl > 0 else 0, s.dump(k), replace=True)


@pytest.mark.parametrize("ver,path,backend", cached_db_versions())
def test_cached_db_purge_and_clear_match_django(omerodir, redis_factory,
                                                tmp_path, ver, path, backend):
    """cached_db: purge-expired deletes the rows Django's clearsessions
    deletes and, like it, leaves the cache alone (the cache copies expire
    with their TTL); clear removes the rows AND the cache copies, after
    which Django finds none of the sessions."""
    orig, copy = redis_factory(), redis_factory()
    db = 5
    kind = "omero:3:django.contrib.sessions.cached_db"

    def conf(dbfile, srv):
        return {"db": str(dbfile), "caches": {"default": {
            "BACKEND": backend, "LOCATION": srv.url(db=db),
            "KEY_PREFIX": "omero", "VERSION": 3}}}

    def django(mode, c, *args):
        env = dict(os.environ)
        if path:
            env["PYTHONPATH"] = path
        p = subprocess.run(["/usr/bin/python3", "-c", CACHED_DB, mode,
                            json.dumps(c)] + list(args), capture_output=True,
                           text=True, env=env, timeout=120)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout.strip().splitlines()[-1])

    dbfile = tmp_path / "orig.sqlite3"
    made = django("make", conf(dbfile, orig))
    assert made["django"].startswith(ver)
    keys = made["keys"]
    rc = orig.client(db=db)
    # set_expiry(-5): the row expired at once and Django cached nothing
    assert not rc.exists(kind + keys["s6"])
    assert all(rc.exists(kind + keys[n]) for n in keys if n != "s6")
    with sqlite3.connect(dbfile) as c:
        c.execute("UPDATE django_session SET expire_date = '2001-02-03 "
                  "04:05:06.123456' WHERE session_key IN (?, ?)",
                  (keys["s0"], keys["s1"]))
    # unrelated keys next to the session copies
    k = key(32, 77)
    for other in ("omero:3:django.contrib.sessions.cache" + k,
                  "omero:2:django.contrib.sessions.cached_db" + k,
                  ":3:django.contrib.sessions.cached_db" + k,
                  kind + k.upper(), "omero:3:views.decorators.cache.x"):
        rc.set(other, b"x", ex=3600)
    cfile = tmp_path / "copy.sqlite3"
    shutil.copy(dbfile, cfile)
    copy_redis(orig, copy, db)

    def rows(f):
        with sqlite3.connect(f) as c:
            return {r for (r,) in c.execute(
                "SELECT session_key FROM django_session")}

    def rkeys(srv):
        return set(srv.client(db=db).keys("*"))

    assert rows(cfile) == rows(dbfile) and rkeys(copy) == rkeys(orig)
    django("clearsessions", conf(dbfile, orig))
    rows_django, keys_django = rows(dbfile), rkeys(orig)

    write_config(omerodir, {
        "omero.web.session_engine":
            "django.contrib.sessions.backends.cached_db",
        "omero.web.databases": json.dumps({"default": {
            "ENGINE": "django.db.backends.sqlite3", "NAME": str(cfile)}}),
        "omero.web.caches": json.dumps(conf(cfile, copy)["caches"]),
        "omero.web.django_additional_settings": json.dumps(
            [["USE_TZ", True]]),
        "omero.web.session_cookie_age": str(AGE)})
    v = ["--django-version", ver]
    r = owctl(omerodir, "sessions", "info", "--json", *v)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["expired"] == 3
    r = owctl(omerodir, "sessions", "purge-expired", *v)
    assert r.returncode == 0, r.stderr
    assert b"removed 3 expired sessions" in r.stdout
    assert rows(cfile) == rows_django == {keys[n] for n in keys} - \
        {keys["s0"], keys["s1"], keys["s6"]}
    # Django's clearsessions leaves the cache alone, and so does owctl:
    # the purged sessions' copies stay until their TTL (Django would
    # still serve them from the cache meanwhile)
    assert rkeys(copy) == keys_django
    assert (kind + keys["s0"]).encode() in keys_django
    assert django("load", conf(dbfile, orig), keys["s0"])["loaded"] == \
        {keys["s0"]: {"user_id": 0}}

    before = rkeys(copy)
    r = owctl(omerodir, "sessions", "clear", "--yes", "--json", *v)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)           # one JSON document
    assert res["removed"] == len(rows_django)
    copies = {x for x in before if x.startswith(kind.encode()) and
              x[len(kind):].isalnum() and x[len(kind):].islower()}
    assert len(copies) == 7
    assert res["cache_keys"]["removed"] == len(copies)
    assert rows(cfile) == set()
    assert rkeys(copy) == before - copies
    loaded = django("load", conf(cfile, copy), *keys.values())["loaded"]
    assert loaded == {k: {} for k in keys.values()}

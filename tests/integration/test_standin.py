# Proves the stand-in OMERO.web and the testenv helpers work with real
# components: wheel metadata, venv installs, gunicorn, file and Redis
# sessions, manage.py, failure modes, plugins, nginx, process cleanup.
import base64
import hashlib
import hmac
import json
import os
import pickle
import stat
import subprocess
import time
import zipfile
import zlib
from email.parser import Parser

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from testenv import SHARED_DIR, STANDIN_VERSIONS, procs
from testenv.configxml import config_xml_bytes, read_config, write_config
from testenv.gunicorn import GunicornError
from testenv.nginx import nginx_t
from testenv.venv import build_wheels

# checks the stand-in OMERO.web fixture, not owctl: with the first build only
pytestmark = pytest.mark.once

JSON_APPS = json.dumps


def wheel_metadata(path):
    with zipfile.ZipFile(path) as z:
        name = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        assert len(name) == 1, name
        return Parser().parsestr(z.read(name[0]).decode())


def requirements(md):
    return [Requirement(r) for r in md.get_all("Requires-Dist") or []]


def unsign_session(data, secret):
    """Verify and decode a Django >= 3.1 signed session payload by hand."""
    value, sig = data.rsplit(":", 1)
    key = hashlib.sha256(
        ("django.contrib.sessions.SessionStore" + "signer" + secret).encode()
    ).digest()
    mac = hmac.new(key, value.encode(), hashlib.sha256).digest()
    want = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert hmac.compare_digest(sig, want), "bad session signature"
    b64 = value.rsplit(":", 1)[0]
    compressed = b64.startswith(".")
    raw = base64.urlsafe_b64decode(b64.lstrip(".") + "=" * (-len(b64.lstrip(".")) % 4))
    if compressed:
        raw = zlib.decompress(raw)
    return json.loads(raw.decode("latin-1"))


def settings_of(venv, omerodir, code, env=None):
    """Run CODE with s = Django's settings from omeroweb.settings."""
    e = {"OMERODIR": str(omerodir), "DJANGO_SETTINGS_MODULE": "omeroweb.settings"}
    e.update(env or {})
    return venv.run("-c", "from django.conf import settings as s\n"
                    "s.SECRET_KEY\n" + code, env=e)


# --- wheels and venvs ------------------------------------------------------

def test_wheels_have_real_metadata_shape(wheelhouse):
    for v in STANDIN_VERSIONS:
        md = wheel_metadata(wheelhouse / ("omero_web-%s-py3-none-any.whl" % v))
        assert md["Name"] == "omero-web"
        assert md["Version"] == v
        assert SpecifierSet(md["Requires-Python"]) == SpecifierSet(">=3.10,<3.13")
        reqs = requirements(md)
        django = [r for r in reqs if r.name.lower() == "django"]
        assert len(django) == 1 and django[0].marker is None
        assert django[0].specifier == SpecifierSet(">=3.2")
        assert not any(r.name == "omero-py" for r in reqs)
        # Installs on Debian 12's Python and Django.
        assert "3.11" in SpecifierSet(md["Requires-Python"])
        assert "3.2.25" in django[0].specifier

    fig = {}
    for v in ("1.0.0", "2.0.0"):
        md = wheel_metadata(wheelhouse / ("omero_figure-%s-py3-none-any.whl" % v))
        assert md["Name"] == "omero-figure" and md["Version"] == v
        (req,) = [r for r in requirements(md) if r.name == "omero-web"]
        fig[v] = req.specifier
    assert "5.30.1" in fig["1.0.0"] and "5.31.0" not in fig["1.0.0"]
    assert "5.31.0" in fig["2.0.0"] and "5.30.1" not in fig["2.0.0"]


def test_build_wheels_is_idempotent(wheelhouse):
    before = {p.name: p.stat().st_mtime_ns for p in wheelhouse.glob("*.whl")}
    assert len(before) == 5
    t = time.monotonic()
    build_wheels(wheelhouse)
    assert time.monotonic() - t < 5
    after = {p.name: p.stat().st_mtime_ns for p in wheelhouse.glob("*.whl")}
    assert after == before


@pytest.mark.parametrize("version", STANDIN_VERSIONS)
def test_venv_dist_info(venv_factory, venv_530, venv_531, version):
    venv = venv_530 if version == "5.30.1" else venv_531
    di = venv.dist_info("omero-web")
    assert di is not None and di.name == "omero_web-%s.dist-info" % version
    assert venv.version("omero-web") == version
    # Gunicorn and Django come from Debian, not the venv.
    assert venv.dist_info("django") is None
    r = venv.run("-c", "import omeroweb.version as v; print(v.omeroweb_version)",
                 check=True)
    assert r.stdout.strip() == version
    facts = json.loads(venv.run("-m", "omeroweb.version_facts", check=True).stdout)
    real = facts["real_releases"][version]
    assert real["requires_python"] == ">=3.10,<3.13"
    pin = [Requirement(r) for r in real["requires_dist"]
           if r.lower().startswith("django>")][0]
    assert Version("3.2.25") not in pin.specifier
    assert (version == "5.31.0") == (Version("4.2.25") not in pin.specifier)
    assert os.access(venv.bin / "pip", os.X_OK)


def test_incompatible_plugin_is_refused_by_pip(venv_factory, wheelhouse):
    venv = venv_factory(None, name="venv-conflict")
    r = venv.install(wheelhouse, "omero-web==5.31.0", "omero-figure==1.0.0",
                     check=False)
    assert r.returncode != 0
    assert "omero-web" in (r.stdout + r.stderr)
    assert venv.dist_info("omero-web") is None


# --- settings --------------------------------------------------------------

def test_settings_profiles_and_last_property(venv_531, omerodir):
    write_config(
        omerodir,
        [("omero.web.session_cookie_name", "first"),
         ("omero.web.session_cookie_name", "second")],
        profiles={"web2": {"omero.web.session_cookie_name": "w2"}},
        active="web2")
    code = "print(s.SESSION_COOKIE_NAME, s.CONFIG_PROFILE)"
    assert settings_of(venv_531, omerodir, code).stdout.split() == ["w2", "web2"]
    r = settings_of(venv_531, omerodir, code, env={"OMERO_CONFIG": "default"})
    assert r.stdout.split() == ["second", "default"]
    r = settings_of(venv_531, omerodir, code, env={"OMERO_CONFIG": "nope"})
    assert r.stdout.split() == ["sessionid", "nope"]


def test_settings_defaults_and_secret_key(venv_530, omerodir):
    code = ("import json, tempfile; print(json.dumps([s.SESSION_ENGINE,"
            " s.SESSION_COOKIE_AGE, s.SESSION_SERIALIZER, s.STATIC_ROOT,"
            " s.STATIC_URL, s.SESSION_FILE_PATH, s.ALLOWED_HOSTS,"
            " s.SECRET_KEY, s.DEBUG, s.FORCE_SCRIPT_NAME]))")
    r = settings_of(venv_530, omerodir, code, env={"TMPDIR": str(omerodir)})
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    keyfile = omerodir / "var" / "django_secret_key"
    assert got == [
        "django.contrib.sessions.backends.file", 86400,
        "django.contrib.sessions.serializers.JSONSerializer",
        str(omerodir / "var" / "static"), "/static/", str(omerodir), ["*"],
        keyfile.read_text(), False, None]
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    assert len(keyfile.read_text()) == 50
    assert (omerodir / "var" / "log").is_dir()
    # omero.web.secret_key wins over the file; the deprecated engine alias,
    # JSON caches and the prefix are honoured.
    write_config(omerodir, {
        "omero.web.secret_key": "from-config",
        "omero.web.session_engine": "omeroweb.filesessionstore",
        "omero.web.prefix": "/omero",
        "omero.web.static_url": "/omero/static",
        "omero.web.caches": JSON_APPS({"default": {"BACKEND": "x.Y"}}),
    })
    code = ("print(s.SECRET_KEY, s.SESSION_ENGINE, s.FORCE_SCRIPT_NAME,"
            " s.STATIC_URL, s.CACHES['default']['BACKEND'])")
    r = settings_of(venv_530, omerodir, code)
    assert r.stdout.split() == ["from-config", "omeroweb.filesessionstore",
                                "/omero", "/omero/static/", "x.Y"]


@pytest.mark.parametrize("key,value,message", [
    ("omero.web.session_cookie_age", "abc",
     "Invalid SESSION_COOKIE_AGE (omero.web.session_cookie_age = 'abc')"),
    ("omero.web.session_engine", "redis",
     "Unknown session engine: redis"),
    ("omero.web.caches", "{not json",
     "Invalid CACHES (omero.web.caches = '{not json')"),
    ("omero.web.standin.break", "import", "broken on purpose"),
])
def test_settings_invalid_values_fail_at_import(venv_531, omerodir, key,
                                                value, message):
    write_config(omerodir, {key: value})
    r = settings_of(venv_531, omerodir, "print('imported')")
    assert r.returncode != 0
    assert "imported" not in r.stdout
    assert message in r.stderr


def test_settings_need_omerodir_and_parsable_xml(venv_531, omerodir):
    r = venv_531.run("-c", "import omeroweb.settings")
    assert r.returncode != 0 and "ERROR: OMERODIR not set" in r.stderr
    (omerodir / "etc" / "grid" / "config.xml").write_text("<icegrid><prop")
    r = settings_of(venv_531, omerodir, "pass")
    assert r.returncode != 0 and "ParseError" in r.stderr


def test_pickle_serializer_breaks_531_only(venv_530, venv_531, omerodir):
    write_config(omerodir, {"omero.web.session_serializer":
                            "django.contrib.sessions.serializers.PickleSerializer"})
    assert settings_of(venv_530, omerodir, "pass").returncode == 0
    r = settings_of(venv_531, omerodir, "pass")
    assert r.returncode != 0
    assert ('does not define a "PickleSerializer" attribute/class'
            in r.stderr)


def test_configxml_helper_matches_golden_samples():
    samples = SHARED_DIR / "vectors" / "config-xml" / "samples"
    checked = 0
    for js in sorted(samples.glob("*.json")):
        spec = json.loads(js.read_text())
        want = js.with_suffix(".xml").read_bytes()
        active = spec["reparsed"]["__ACTIVE__"]["omero.config.profile"]
        got = config_xml_bytes(spec["input"], active,
                               ctime="Thu Jan  1 00:00:00 2026")
        assert got == want, js.name
        checked += 1
    assert checked >= 6


# --- gunicorn, sessions, manage.py -----------------------------------------

@pytest.mark.parametrize("version", STANDIN_VERSIONS)
def test_gunicorn_serves_version(venv_530, venv_531, omerodir, gunicorn_app,
                                 version):
    venv = venv_530 if version == "5.30.1" else venv_531
    g = gunicorn_app(venv, omerodir)
    r = g.get("/version")
    assert r.status == 200
    body = r.json()
    django = venv.run("-c", "import django; print(django.get_version())",
                      check=True).stdout.strip()
    assert body["omero_web"] == version and body["django"] == django
    # The worker answered: a child of the gunicorn master.
    with open("/proc/%d/stat" % body["pid"]) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    assert ppid == g.pid
    assert g.get("/health").text == "ok"
    s = g.get("/standin/settings").json()
    assert s["cwd"] == str(venv.omeroweb_dir())
    assert s["tempdir"] == str(g.tmpdir)
    assert "Booting worker" in g.log_text()
    rc = g.stop()
    assert rc == 0
    assert not procs.alive(body["pid"])


@pytest.mark.parametrize("engine", [None, "omeroweb.filesessionstore"])
def test_login_writes_session_file(venv_531, omerodir, gunicorn_app, engine):
    props = {"omero.web.session_cookie_name": "owsid"}
    if engine:
        props["omero.web.session_engine"] = engine
    write_config(omerodir, props)
    g = gunicorn_app(venv_531, omerodir)
    assert g.get("/whoami").status == 401
    r = g.get("/login?user=alice")
    assert r.status == 200, r.text
    key = r.json()["session_key"]
    assert r.cookies == {"owsid": key}
    assert len(key) == 32
    f = g.tmpdir / ("owsid" + key)
    assert f.is_file()
    secret = (omerodir / "var" / "django_secret_key").read_text()
    assert unsign_session(f.read_text(), secret)["user"] == "alice"
    me = g.get("/whoami", cookies={"owsid": key})
    assert me.status == 200 and me.json()["user"] == "alice"
    # POST works too (CSRF exempt) and makes a second session.
    r2 = g.post("/login", data={"user": "bob"})
    assert r2.status == 200 and r2.json()["session_key"] != key
    assert len(list(g.tmpdir.glob("owsid*"))) == 2
    assert "login user=alice" in (omerodir / "var" / "log" / "OMEROweb.log").read_text()


@pytest.mark.parametrize("backend", [
    "django_redis.cache.RedisCache",
    "django.core.cache.backends.redis.RedisCache",  # mapped on Django 3.2
])
def test_redis_session(venv_531, omerodir, redis_factory, gunicorn_app,
                       backend):
    srv = redis_factory(password="s3cret")
    write_config(omerodir, {
        "omero.web.session_engine": "django.contrib.sessions.backends.cache",
        "omero.web.caches": json.dumps({"default": {
            "BACKEND": backend, "LOCATION": srv.url(db=2)}}),
    })
    g = gunicorn_app(venv_531, omerodir)
    r = g.get("/login?user=carol")
    assert r.status == 200, r.text
    key = r.json()["session_key"]
    db = srv.client(db=2)
    name = ":1:django.contrib.sessions.cache" + key
    assert db.exists(name)
    assert 0 < db.ttl(name) <= 86400
    assert pickle.loads(db.get(name))["user"] == "carol"
    assert list(g.tmpdir.iterdir()) == []
    assert g.get("/whoami", cookies={"sessionid": key}).json()["user"] == "carol"
    db.delete(name)
    assert g.get("/whoami", cookies={"sessionid": key}).status == 401


def test_redis_helper_password_and_unix_socket(redis_factory):
    import redis
    srv = redis_factory(password="pw", unixsocket=True)
    assert srv.url() == "redis://:pw@127.0.0.1:%d/0" % srv.port
    assert srv.unix_url(3) == "unix://:pw@%s?db=3" % srv.unixsocket
    u = redis.Redis(unix_socket_path=srv.unixsocket, password="pw")
    assert u.set("k", "v") and srv.client().get("k") == b"v"
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=srv.host, port=srv.port).get("k")
    pid = srv.pid
    srv.stop()
    assert not procs.alive(pid)


def test_db_session_engine(venv_531, omerodir, gunicorn_app):
    import sqlite3
    dbfile = omerodir / "var" / "sessions.sqlite3"
    write_config(omerodir, {
        "omero.web.session_engine": "django.contrib.sessions.backends.db",
        "omero.web.databases": json.dumps({"default": {
            "ENGINE": "django.db.backends.sqlite3", "NAME": str(dbfile)}}),
    })
    r = venv_531.manage(omerodir, "migrate", "sessions", "--noinput")
    assert r.returncode == 0, r.stderr
    g = gunicorn_app(venv_531, omerodir)
    key = g.get("/login?user=dave").json()["session_key"]
    with sqlite3.connect(dbfile) as db:
        rows = db.execute("SELECT session_key, session_data FROM django_session"
                          ).fetchall()
    assert [k for k, _ in rows] == [key]
    secret = (omerodir / "var" / "django_secret_key").read_text()
    assert unsign_session(rows[0][1], secret)["user"] == "dave"


def test_manage_clearsessions_and_collectstatic(venv_530, omerodir,
                                                gunicorn_app):
    write_config(omerodir, {"omero.web.session_cookie_age": "600"})
    g = gunicorn_app(venv_530, omerodir)
    old = g.tmpdir / ("sessionid" + g.get("/login?user=old").json()["session_key"])
    new = g.tmpdir / ("sessionid" + g.get("/login?user=new").json()["session_key"])
    other = g.tmpdir / "not-a-session"
    other.write_text("x")
    past = time.time() - 3600
    os.utime(old, (past, past))
    r = venv_530.manage(omerodir, "clearsessions", tmpdir=g.tmpdir)
    assert r.returncode == 0, r.stderr
    assert not old.exists()
    assert new.exists() and other.exists()

    r = venv_530.manage(omerodir, "collectstatic", "--noinput")
    assert r.returncode == 0, r.stderr
    assert "static files copied to '%s'" % (omerodir / "var" / "static") in r.stdout
    css = omerodir / "var" / "static" / "webclient" / "css" / "standin.css"
    assert css.is_file()


def test_prefix(venv_531, omerodir, gunicorn_app):
    write_config(omerodir, {"omero.web.prefix": "/omero"})
    g = gunicorn_app(venv_531, omerodir, script_name="/omero")
    assert g.url.endswith("/omero")
    assert g.get("/version").json()["omero_web"] == "5.31.0"
    r = g.get("/")
    assert r.status == 302 and r.header("Location") == "/omero/webclient/"
    page = g.get("/webclient/").text
    assert 'href="/static/webclient/css/standin.css"' in page


# --- failure modes -----------------------------------------------------------

def test_broken_variants(venv_531, omerodir, gunicorn_app):
    write_config(omerodir, {"omero.web.standin.break": "500"})
    with pytest.raises(GunicornError, match="500"):
        gunicorn_app(venv_531, omerodir)
    g = gunicorn_app(venv_531, omerodir, expect_healthy=False)
    assert g.get("/health").status == 500
    assert g.get("/version").status == 500
    g.stop()

    write_config(omerodir, {"omero.web.standin.break": "boot"})
    assert venv_531.manage(omerodir, "collectstatic", "--noinput").returncode == 0
    with pytest.raises(GunicornError, match="break=boot"):
        gunicorn_app(venv_531, omerodir, startup_timeout=20)

    write_config(omerodir, {"omero.web.standin.break": "import"})
    r = venv_531.manage(omerodir, "collectstatic", "--noinput")
    assert r.returncode != 0 and "break=import" in r.stderr
    g = gunicorn_app(venv_531, omerodir, wait=False)
    assert g.wait_exit(20) not in (None, 0)
    assert "break=import" in g.log_text()


def test_enabled_plugin_missing_fails_start(venv_531, venv_factory, omerodir,
                                            gunicorn_app):
    write_config(omerodir, {"omero.web.apps": json.dumps(["omero_figure"])})
    with pytest.raises(GunicornError, match="No module named 'omero_figure'"):
        gunicorn_app(venv_531, omerodir)
    assert venv_531.manage(omerodir, "clearsessions").returncode != 0

    venv = venv_factory("5.31.0", ["omero-figure==2.0.0"], name="venv-figure")
    g = gunicorn_app(venv, omerodir)
    fig = g.get("/figure/").json()
    assert fig["version"] == "2.0.0" and fig["app"] == "omero_figure"
    assert "omero_figure" in g.get("/webclient/").text


# --- nginx and cleanup -------------------------------------------------------

def test_nginx_in_front_of_gunicorn(venv_531, omerodir, gunicorn_app, nginx,
                                    free_port, tmp_path):
    g = gunicorn_app(venv_531, omerodir)
    assert venv_531.manage(omerodir, "collectstatic", "--noinput").returncode == 0
    port = free_port()
    conf = """
upstream omeroweb {{ server 127.0.0.1:{gport} fail_timeout=0; }}
server {{
    listen 127.0.0.1:{port};
    location /static {{ alias {static}; }}
    location / {{ proxy_pass http://omeroweb; proxy_set_header Host $host; }}
}}
""".format(gport=g.port, port=port, static=omerodir / "var" / "static")
    ok = nginx_t(conf, tmp_path / "check-ok")
    assert ok.returncode == 0, ok.stderr
    bad = nginx_t(conf.replace("proxy_pass", "proxy_passs"), tmp_path / "check-bad")
    assert bad.returncode != 0 and 'unknown directive "proxy_passs"' in bad.stderr

    ng = nginx(conf, port)
    from testenv import client
    r = client.get(ng.url + "/version")
    assert r.status == 200 and r.json()["omero_web"] == "5.31.0"
    css = client.get(ng.url + "/static/webclient/css/standin.css")
    assert css.status == 200 and css.header("Content-Type") == "text/css"
    assert "GET /version" in ng.access_log()


def test_reaper_kills_daemonised_gunicorn(venv_531, omerodir, free_port):
    port = free_port()
    pidfile = omerodir / "var" / "django.pid"
    (omerodir / "var").mkdir()
    env = {"OMERODIR": str(omerodir), "TMPDIR": str(omerodir)}
    r = venv_531.run("-m", "gunicorn", "-D", "-p", pidfile, "--bind",
                     "127.0.0.1:%d" % port, "--workers", "1",
                     "omeroweb.wsgi:application", env=env,
                     cwd=venv_531.omeroweb_dir())
    assert r.returncode == 0, r.stderr
    deadline = time.monotonic() + 20
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    assert procs.alive(pid)
    assert pid in procs.processes_under(omerodir)
    killed = procs.reap_strays(omerodir)
    assert any(k.startswith("%d " % pid) for k in killed)
    assert not procs.alive(pid)
    assert procs.processes_under(omerodir) == []


def test_read_config_roundtrip(omerodir):
    write_config(omerodir, {"a": "1"}, profiles={"x": {"b": "2"}}, active="x")
    assert read_config(omerodir) == {"b": "2"}
    assert read_config(omerodir, "default") == {"a": "1"}
    out = subprocess.run(["grep", "-c", "templates.xml",
                          str(omerodir / "etc" / "grid" / "config.xml")],
                         capture_output=True, text=True)
    assert out.stdout.strip() == "1"

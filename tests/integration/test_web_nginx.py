"""`owctl web config` and `owctl web nginx install` end to end.

* Every golden vector of omero-web's `omero web config` (../shared/vectors/
  nginx/), replayed through the owctl binary with the vector's properties
  written by `owctl config set`: byte-equal output, or the same message
  and exit status.
* owctl's refusals, --check (real nginx -t), --install (the maintenance
  page omero-web points at but does not ship).
* A real Debian nginx, started here on a free loopback port with a main
  config that includes the installed file, serving static files from
  static_root and proxying to a real gunicorn running the stand-in
  OMERO.web, with and without a prefix; the maintenance page once the app
  is stopped.
* Regeneration: a local edit survives a config change (diff3 merge) and
  `--reload` makes nginx serve the new behaviour; a conflicting edit and a
  broken configuration write nothing (or put the old file back).

The binary is $OWCTL_BUILD/src/owctl (default build/); nginx is
/usr/sbin/nginx (or $OWCTL_TEST_NGINX). Every server is stopped by PID.
"""

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

import owctlrun
from testenv import client, procs
from testenv.nginx import NGINX, main_conf, start_nginx
from testenv.ports import free_port

VECTORS = Path(owctlrun.VECTORS) / "nginx"
MIME_TYPES = Path("/etc/nginx/mime.types")
PAGE = Path("etc/templates/error/maintainance.html")
PAGE_TITLE = b"OMERO.web is temporarily unavailable"


def env_for(omerodir, **extra):
    path = os.environ.get("PATH", "/usr/bin:/bin")
    return owctlrun.base_env(OMERODIR=str(omerodir),
                             PATH=path + ":" + os.path.dirname(NGINX),
                             **extra)


def owctl(omerodir, *args, **kw):
    return owctlrun.run([str(a) for a in args], env=env_for(omerodir), **kw)


def config_set(omerodir, key, value=None):
    args = ["config", "set", key] + ([value] if value is not None else [])
    r = owctl(omerodir, *args)
    assert r.returncode == 0, r.stderr


def vector_names():
    return sorted(p.name[:-len(".input.json")]
                  for p in VECTORS.glob("*.input.json"))


# --- golden vectors ----------------------------------------------------------

def test_vectors_exist():
    names = vector_names()
    assert len(names) >= 10
    assert any((VECTORS / (n + ".stderr")).exists() for n in names)


@pytest.mark.parametrize("name", vector_names())
def test_vector(tmp_path, name):
    spec = json.loads((VECTORS / (name + ".input.json")).read_text())
    # The output names OMERODIR; ours is a temp dir holding config.xml, put
    # back to the vector's spelling before comparing (the temp path cannot
    # occur in the expected text).
    omerodir = tmp_path / "OMERO.web"
    (omerodir / "etc").mkdir(parents=True)
    if spec["type"] == "nginx-development":
        shutil.copy(MIME_TYPES, omerodir / "etc" / "mime.types")
    for key, value in spec.get("props", {}).items():
        config_set(omerodir, key, value)
    args = ["web", "config", spec["type"]]
    if "http" in spec:
        args += ["--http", str(spec["http"])]
    if "servername" in spec:
        args += ["--servername", spec["servername"]]
    if "max_body_size" in spec:
        args += ["--max-body-size", spec["max_body_size"]]
    r = owctl(omerodir, *args)
    conf = VECTORS / (name + ".conf")
    if conf.exists():
        want = conf.read_bytes()
        assert str(omerodir).encode() not in want
        assert r.stderr == b""
        assert r.returncode == 0
        got = r.stdout.replace(str(omerodir).encode(),
                               spec["OMERODIR"].encode())
        assert got == want
    else:
        assert r.stdout == b""
        assert r.stderr == (VECTORS / (name + ".stderr")).read_bytes()
        assert r.returncode == spec["exit_status"]


# --- upstream errors and owctl's refusals -----------------------------------

def test_upstream_errors(tmp_path, omerodir):
    r = owctl(omerodir, "web", "config", "nginx", "--system")
    assert (r.returncode, r.stderr) == (
        171, b"ERROR: --system is no longer supported, see --help\n")
    r = owctlrun.run(["web", "config", "nginx"], env=owctlrun.base_env())
    assert (r.returncode, r.stderr) == (101, b"ERROR: OMERODIR not set\n")
    config_set(omerodir, "omero.web.application_server", "development")
    r = owctl(omerodir, "web", "config", "nginx-location")
    assert r.returncode == 168
    assert r.stderr == (b"ERROR: configuration mismatch. omero.web."
                        b"application_server=development cannot be used "
                        b"with 'omero web config nginx-location'.\n")
    # argparse-style usage errors
    r = owctl(omerodir, "web", "config", "apache")
    assert r.returncode == 2 and b"invalid choice: 'apache'" in r.stderr
    r = owctl(omerodir, "web", "config", "nginx", "--http", "eighty")
    assert r.returncode == 2
    assert b"argument --http: invalid int value: 'eighty'" in r.stderr
    r = owctl(omerodir, "web", "config")
    assert r.returncode == 2 and r.stdout == b""


def test_reads_config_like_omeroweb_settings(tmp_path):
    """Read-only (nothing created), active profile or $OMERO_CONFIG, and a
    config.xml that does not parse fails like omero-web's settings (170)."""
    omerodir = tmp_path / "OMERO.web"
    omerodir.mkdir()
    r = owctl(omerodir, "web", "config", "nginx-location")
    assert r.returncode == 0
    assert list(omerodir.iterdir()) == []          # no etc/grid, no var
    config_set(omerodir, "omero.web.prefix", "/a")
    r = owctlrun.run(["config", "set", "omero.web.prefix", "/b"],
                     env=env_for(omerodir, OMERO_CONFIG="other"))
    assert r.returncode == 0
    xml = omerodir / "etc" / "grid" / "config.xml"
    before = xml.read_bytes()

    def location(**env):
        out = owctlrun.run(["web", "config", "nginx-location"],
                           env=env_for(omerodir, **env)).stdout.decode()
        return re.findall(r"^location (/\S*) \{$", out, re.M)[-1]
    assert location() == "/a"
    assert location(OMERO_CONFIG="other") == "/b"
    assert location(OMERO_CONFIG="missing") == "/"
    assert xml.read_bytes() == before
    assert not (omerodir / "var").exists()
    xml.write_text("<icegrid><properties")
    r = owctl(omerodir, "web", "config", "nginx")
    assert r.returncode == 170
    assert r.stderr.decode() == ("owctl: cannot read '%s': unclosed token: "
                                 "line 1, column 9\n" % xml)


@pytest.mark.parametrize("key,value,needle", [
    ("omero.web.prefix", "/", b"would make an empty nginx location"),
    ("omero.web.prefix", "omero", b"does not start with '/'; use '/omero'"),
    ("omero.web.static_url", "https://cdn.example.org/static/",
     b"is an absolute URL"),
    ("omero.web.application_server.port", "80a", b"is not a port number"),
])
def test_refusals_and_unsafe(omerodir, key, value, needle):
    config_set(omerodir, key, value)
    r = owctl(omerodir, "web", "config", "nginx", "--http", "8080")
    assert r.returncode == 65, r.stderr
    assert r.stdout == b""
    assert r.stderr.startswith(b"owctl: ") and needle in r.stderr
    unsafe = owctl(omerodir, "web", "config", "nginx", "--http", "8080",
                   "--unsafe")
    if key == "omero.web.application_server.port":
        # settings.py itself rejects it: no --unsafe way around
        assert unsafe.returncode == 65
        return
    assert unsafe.returncode == 0, unsafe.stderr
    if value == "/":
        # what omero-web writes: an nginx syntax error
        assert b"    location  {\n" in unsafe.stdout
        assert b"upstream omeroweb_ {" in unsafe.stdout


@pytest.mark.parametrize("key,value,args,message,unsafe_line", [
    # fuzz/RESULTS.md nginx #1 and #2, through the CLI
    (None, None, ["--servername", "#proxy_"],
     "--servername '#proxy_' starts a word with '#', which begins an nginx "
     "comment; give host names separated by spaces",
     "    server_name #proxy_;\n"),
    (None, None, ["--servername", "a\\"],
     "--servername 'a\\' holds '\\', which escapes the next character in "
     "nginx; give host names separated by spaces",
     "    server_name a\\;\n"),
    (None, None, ["--servername", "\"x"],
     "--servername '\"x' starts a word with '\"', which begins an nginx "
     "quoted string; give host names separated by spaces",
     "    server_name \"x;\n"),
    ("omero.web.application_server.host", "#x", [],
     "omero.web.application_server.host '#x' starts a word with '#', which "
     "begins an nginx comment; use a host name or an IP address",
     "    server #x:4080 fail_timeout=0;\n"),
    ("omero.web.static_url", "/st\tatic/", [],
     "omero.web.static_url '/st\\tatic/' holds '\\t', which ends a word "
     "in nginx; use a URL path without it",
     "    location /st\tatic {\n"),
    (None, None, ["--max-body-size", "9223372036854775808"],
     "--max-body-size '9223372036854775808' is more than nginx can store "
     "(at most 9223372036854775807 with that unit)",
     "    client_max_body_size 9223372036854775808;\n"),
])
def test_values_nginx_misreads(omerodir, key, value, args, message,
                               unsafe_line):
    if key:
        config_set(omerodir, key, value)
    r = owctl(omerodir, "web", "config", "nginx", *args)
    assert (r.returncode, r.stdout) == (65, b"")
    assert r.stderr.decode() == "owctl: %s\n" % message
    # --unsafe: omero-web's output, byte for byte
    unsafe = owctl(omerodir, "web", "config", "nginx", "--unsafe", *args)
    assert unsafe.returncode == 0, unsafe.stderr
    assert unsafe_line.encode() in unsafe.stdout


def test_development_needs_mime_types(omerodir):
    r = owctl(omerodir, "web", "config", "nginx-development")
    assert r.returncode == 65
    mt = "%s/etc/mime.types" % omerodir
    assert r.stderr.decode().startswith("owctl: '%s' does not exist" % mt)
    assert "ln -s /etc/nginx/mime.types" in r.stderr.decode()
    r = owctl(omerodir, "web", "config", "nginx-development",
              "--no-file-checks")
    assert r.returncode == 0
    assert ("include       %s;" % mt).encode() in r.stdout


def test_check_runs_real_nginx(omerodir):
    port = free_port("0.0.0.0")
    plain = owctl(omerodir, "web", "config", "nginx", "--http", port)
    checked = owctl(omerodir, "web", "config", "nginx", "--http", port,
                    "--check")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == plain.stdout
    config_set(omerodir, "omero.web.nginx_server_extra_config",
               json.dumps(["gzip on;", "bogus_directive on;"]))
    bad = owctl(omerodir, "web", "config", "nginx", "--http", port,
                "--check")
    assert bad.returncode == 65
    assert bad.stdout == b""
    line = owctl(omerodir, "web", "config", "nginx", "--http", port
                 ).stdout.decode().split("\n").index("bogus_directive on;")
    assert bad.stderr.decode() == (
        'owctl: nginx -t failed: [emerg] unknown directive '
        '"bogus_directive" in omero-web.conf:%d\n' % (line + 1))


def test_install_writes_maintenance_page(omerodir):
    page = omerodir / PAGE
    r = owctl(omerodir, "web", "config", "nginx", "--install")
    assert r.returncode == 0, r.stderr
    assert r.stdout == owctl(omerodir, "web", "config", "nginx").stdout
    assert r.stderr.decode() == \
        "owctl: installed the maintenance page '%s'\n" % page
    body = page.read_bytes()
    assert body.startswith(b"<!DOCTYPE html>") and PAGE_TITLE in body
    assert b"http" not in body.lower().replace(b"http-equiv", b"")
    assert page.stat().st_mode & 0o777 == 0o644
    # an administrator's own page is never replaced
    page.write_text("<p>our own</p>\n")
    r = owctl(omerodir, "web", "config", "nginx", "--install")
    assert r.returncode == 0
    assert b"kept the existing maintenance page" in r.stderr
    assert page.read_text() == "<p>our own</p>\n"


# --- real nginx in front of a real gunicorn ---------------------------------

class Site:
    """An OMERODIR served by gunicorn (stand-in OMERO.web) and a real nginx
    whose main config includes the file owctl installs."""

    def __init__(self, tmp_path, omerodir, venv, gunicorn_app):
        self.tmp = tmp_path
        self.omerodir = omerodir
        self.venv = venv
        self.gunicorn_app = gunicorn_app
        self.app_port = free_port()
        self.http_port = free_port()
        self.prefix_dir = tmp_path / "nginx"
        (self.prefix_dir / "logs").mkdir(parents=True)
        (self.prefix_dir / "temp").mkdir()
        self.confd = tmp_path / "conf.d"
        self.confd.mkdir()
        self.live = self.confd / "omero-web.conf"
        self.main = self.prefix_dir / "nginx.conf"
        self.nginx = None
        self.app = None
        config_set(omerodir, "omero.web.application_server.port",
                   str(self.app_port))

    def write_main(self, include):
        self.main.write_text(main_conf(self.prefix_dir, [include]))

    def start_app(self, prefix=None):
        if self.app is not None:
            self.app.stop()
        self.app = self.gunicorn_app(self.venv, self.omerodir,
                                     port=self.app_port, script_name=prefix)
        r = self.venv.manage(self.omerodir, "collectstatic", "--noinput")
        assert r.returncode == 0, r.stderr

    def start_nginx(self, include):
        self.nginx = start_nginx(self.prefix_dir, Path(include),
                                 port=self.http_port)
        return self.nginx

    def stop(self):
        if self.nginx is not None:
            self.nginx.stop()
        if self.app is not None:
            self.app.stop()

    def workers(self):
        """PIDs of the nginx master's worker processes."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.nginx.pid and procs.alive(int(entry)):
                pids.append(int(entry))
        return pids

    def wait_reloaded(self, old_workers):
        """Wait until the workers of the old configuration are gone (and
        new ones run), so that every request sees the new one."""
        assert wait_for(lambda: not any(procs.alive(w) for w in old_workers)
                        and self.workers(), timeout=20), old_workers

    def get(self, path, **kw):
        return client.get("http://127.0.0.1:%d%s" % (self.http_port, path),
                          **kw)

    def install(self, *args):
        return owctl(self.omerodir, "web", "nginx", "install", *args)


@pytest.fixture
def site(tmp_path, omerodir, venv_531, gunicorn_app):
    s = Site(tmp_path, omerodir, venv_531, gunicorn_app)
    yield s
    s.stop()


def wait_for(fn, timeout=10.0):
    """Poll FN until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.1)


@pytest.mark.parametrize("prefix", [None, "/omero"])
def test_nginx_serves_static_app_and_maintenance(site, prefix):
    if prefix:
        config_set(site.omerodir, "omero.web.prefix", prefix)
        config_set(site.omerodir, "omero.web.static_url", prefix + "/static/")
    site.start_app(prefix)
    site.write_main(site.live)
    r = site.install(site.live, "--http", site.http_port,
                     "--servername", "127.0.0.1", "--nginx-conf", site.main)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("--- /dev/null\n+++ %s\tnew\n" % site.live)
    assert "Changed: Installed %s\n" % site.live in out
    assert "Changed: Installed the maintenance page %s\n" % (
        site.omerodir / PAGE) in out
    # nginx reads the file (no warning); a note on omero-web's error_page
    maint = "@maintenance" + (prefix or "").replace("/", "_")
    assert r.stderr.decode() == (
        "owctl: note: nginx shows the maintenance page only with a "
        "server-level error_page (omero-web's, in 'location', does not "
        "cover proxied requests): owctl config append "
        "omero.web.nginx_server_extra_config "
        "'\"error_page 502 %s;\"'\n" % maint)
    # exactly what `web config` prints
    assert site.live.read_bytes() == owctl(
        site.omerodir, "web", "config", "nginx", "--http", site.http_port,
        "--servername", "127.0.0.1").stdout
    site.start_nginx(site.live)

    p = prefix or ""
    v = site.get(p + "/version")
    assert v.status == 200, v.text
    assert v.json()["omero_web"] == "5.31.0"
    page = site.get(p + "/webclient/")
    assert page.status == 200
    css = re.search(r'href="([^"]*standin\.css)"', page.text).group(1)
    assert css == p + "/static/webclient/css/standin.css"
    static = site.get(css)
    assert static.status == 200
    assert static.header("Content-Type") == "text/css"
    on_disk = site.omerodir / "var" / "static" / "webclient" / "css" / \
        "standin.css"
    assert static.body == on_disk.read_bytes()
    if prefix:
        root = site.get(prefix + "/")
        assert root.status == 302
        assert root.header("Location") == prefix + "/webclient/"

    # the app stops: static files still come from static_root (nginx, not
    # the app, serves them); omero-web's file shows nginx's own 502 page
    site.app.stop()
    again = site.get(css)
    assert again.status == 200 and again.body == on_disk.read_bytes()
    down = site.get(p + "/version")
    assert down.status == 502
    assert PAGE_TITLE not in down.body and b"nginx" in down.body
    # with the server-level error_page the note asks for, the maintenance
    # page is served
    config_set(site.omerodir, "omero.web.nginx_server_extra_config",
               json.dumps(["error_page 502 %s;" % maint]))
    old = site.workers()
    r = site.install(site.live, "--reload")
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    assert r.stdout.decode().endswith(
        "Changed: Updated %s\nChanged: Reloaded nginx\n" % site.live)
    site.wait_reloaded(old)
    down = site.get(p + "/version")
    assert down.status == 502
    assert PAGE_TITLE in down.body
    assert down.body == (site.omerodir / PAGE).read_bytes()
    assert down.header("Content-Type") == "text/html"


def test_nginx_location_in_own_server_block(site):
    """nginx-location included in a server block the admin owns."""
    site.start_app()
    loc = site.confd / "omero-web.location"
    wrapper = site.tmp / "server.conf"
    wrapper.write_text("server {\n    listen 127.0.0.1:%d;\n"
                       "    include %s;\n}\n" % (site.http_port, loc))
    site.write_main(wrapper)
    r = site.install(loc, "--type", "nginx-location", "--nginx-conf",
                     site.main)
    assert r.returncode == 0, r.stderr
    assert "Changed: Installed %s" % loc in r.stdout.decode()
    site.start_nginx(wrapper)
    assert site.get("/version").json()["omero_web"] == "5.31.0"
    # the recorded type is reused; nothing changed
    again = site.install(loc)
    assert again.returncode == 0
    assert again.stdout.decode() == "Unchanged: %s\n" % loc


def test_regenerate_merge_reload_conflict_and_rollback(site):
    site.start_app()
    site.write_main(site.live)
    first = site.install(site.live, "--http", site.http_port,
                         "--nginx-conf", site.main)
    assert first.returncode == 0, first.stderr
    site.start_nginx(site.live)
    assert site.get("/version").status == 200
    state = site.omerodir / "var" / "owctl" / "nginx"
    assert state.stat().st_mode & 0o777 == 0o700

    # idempotent: nothing to do, no "Changed:" for Ansible
    r = site.install(site.live)
    assert (r.returncode, r.stdout.decode()) == (
        0, "Unchanged: %s\n" % site.live)

    # 1. the admin adds a header; an upgrade moves OMERO.web under /omero
    text = site.live.read_text()
    edited = text.replace("    server_name $hostname;\n",
                          "    server_name $hostname;\n"
                          "    add_header X-Admin-Edit \"kept\";\n", 1)
    assert edited != text
    site.live.write_text(edited)
    config_set(site.omerodir, "omero.web.prefix", "/omero")
    site.start_app("/omero")
    dry = site.install(site.live, "--dry-run")
    assert dry.returncode == 0
    assert "(dry run: nothing written)" in dry.stdout.decode()
    assert site.live.read_text() == edited
    old = site.workers()
    r = site.install(site.live, "--reload")   # --http, --nginx-conf recorded
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "+    location /omero {\n" in out
    assert "X-Admin-Edit" not in out      # the diff is the upstream change
    assert out.endswith("Changed: Merged local edits into %s\n"
                        "Changed: Reloaded nginx\n" % site.live)
    # --dry-run showed the very same diff
    assert dry.stdout.decode().split("Changed:")[0] == \
        out.split("Changed:")[0]
    merged = site.live.read_text()
    assert "add_header X-Admin-Edit \"kept\";" in merged
    assert "location /omero {" in merged
    # the running nginx now proxies /omero and sends the admin's header
    site.wait_reloaded(old)
    v = site.get("/omero/version")
    assert v.status == 200 and v.json()["omero_web"] == "5.31.0"
    assert v.header("X-Admin-Edit") == "kept"
    assert site.get("/version").status == 404   # only /omero goes to the app

    # 2. a conflicting edit: nothing written, the conflict shown, exit 80
    before = site.live.read_bytes()
    site.live.write_bytes(before.replace(b"client_max_body_size 0;",
                                         b"client_max_body_size 10m;"))
    before = site.live.read_bytes()
    r = site.install(site.live, "--max-body-size", "1m", "--reload")
    assert r.returncode == 80
    out = r.stdout.decode()
    assert "+<<<<<<< %s (local edits)\n" % site.live in out
    assert "+>>>>>>> new (generated now)\n" in out
    assert b"nothing was written" in r.stderr
    assert site.live.read_bytes() == before
    conflict = Path(re.search(rb"in '([^']+\.conflict)'", r.stderr)
                    .group(1).decode())
    # resolve: keep the local side of each block, install with --merged
    resolved = re.sub(r"<<<<<<< [^\n]*\n(.*?)\|\|\|\|\|\|\| .*?>>>>>>> "
                      r"[^\n]*\n", r"\1", conflict.read_text(), flags=re.S)
    fixed = site.tmp / "resolved.conf"
    fixed.write_text(resolved)
    r = site.install(site.live, "--max-body-size", "1m", "--merged", fixed)
    assert r.returncode == 0, r.stderr
    assert "Changed: Installed the merged %s" % site.live in \
        r.stdout.decode()
    assert site.live.read_text() == resolved
    assert not conflict.exists()
    r = site.install(site.live)          # 1m is recorded now
    assert r.stdout.decode() == "Unchanged: %s\n" % site.live

    # 3. a broken local edit: the merge is clean, nginx -t fails, old file
    # back, nginx keeps serving
    broken = site.live.read_text().replace(
        "        alias ", "        bogus_directive on;\n        alias ", 1)
    site.live.write_text(broken)
    config_set(site.omerodir, "omero.web.prefix", "/omero-next")
    r = site.install(site.live, "--reload")
    config_set(site.omerodir, "omero.web.prefix", "/omero")
    assert r.returncode == 82, r.stderr
    err = r.stderr.decode()
    assert 'nginx -t failed: [emerg] unknown directive "bogus_directive" ' \
        'in %s:' % site.live in err
    assert "fails without the new file too" in err
    assert site.live.read_text() == broken
    assert "Reloaded" not in r.stdout.decode()
    assert site.get("/omero/version").status == 200

    # 4. a new file nginx rejects (from the config): the live file stays
    site.live.write_text(broken.replace("        bogus_directive on;\n", ""))
    good = site.live.read_bytes()
    config_set(site.omerodir, "omero.web.nginx_server_extra_config",
               json.dumps(["bogus_extra on;"]))
    r = site.install(site.live, "--reload")
    assert r.returncode == 82
    assert r.stderr.decode().endswith(
        "'%s' was put back as it was\n" % site.live)
    assert 'unknown directive "bogus_extra"' in r.stderr.decode()
    assert site.live.read_bytes() == good
    os.kill(site.nginx.pid, 1)           # even a reload keeps it serving
    time.sleep(0.5)
    assert site.nginx.alive()
    assert site.get("/omero/version").status == 200

    # 5. --force replaces edits that conflict; the old version is kept
    config_set(site.omerodir, "omero.web.nginx_server_extra_config")
    old = site.workers()
    r = site.install(site.live, "--max-body-size", "2m", "--force",
                     "--reload")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "Changed: Replaced local edits in %s\n" % site.live in out
    assert out.endswith("Changed: Reloaded nginx\n")
    kept = Path(re.search(rb"kept in '([^']+)'", r.stderr).group(1).decode())
    assert kept.read_bytes() == good
    assert kept.stat().st_mode & 0o777 == 0o600
    assert site.live.read_bytes() == owctl(
        site.omerodir, "web", "config", "nginx", "--http", site.http_port,
        "--max-body-size", "2m").stdout
    site.wait_reloaded(old)
    v = site.get("/omero/version")
    assert v.status == 200 and v.header("X-Admin-Edit") is None


def test_unmanaged_file_and_usage(site):
    site.live.write_text("server { listen 127.0.0.1:1; }\n")
    r = site.install(site.live, "--no-test")
    assert r.returncode == 81
    assert b"was not installed by owctl" in r.stderr
    assert "-server { listen 127.0.0.1:1; }" in r.stdout.decode()
    assert site.live.read_text() == "server { listen 127.0.0.1:1; }\n"
    r = site.install()
    assert r.returncode == 2 and b"usage: owctl web nginx install" in r.stderr
    r = site.install(site.live, "--type", "nginx-development")
    assert r.returncode == 2
    r = site.install(site.live, "--reload", "--no-test")
    assert r.returncode == 2
    r = owctl(site.omerodir, "web", "nginx", "bogus")
    assert r.returncode == 2 and b"owctl web nginx" in r.stderr

"""owctl plugins list/check/upgrade on real virtualenvs (Debian's
`python3 -m venv --system-site-packages`) holding the stand-in omero-web and
plugin wheels from tests/fixtures (omero-figure 1.0.0 needs omero-web
>=5.30,<5.31, 2.0.0 needs >=5.31; omero-iviewer 0.15.0 needs >=5.30).
What owctl says is checked against what Python, pip and the stand-in
OMERO.web themselves do in the same venv.
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from owctlrun import owctl_path  # noqa: E402
from testenv import SYSTEM_PYTHON  # noqa: E402
from testenv.configxml import write_config  # noqa: E402
from testenv.venv import clean_env  # noqa: E402

BROKEN = 84     # plugins check: the target would not start


def owctl(*args, omerodir=None, check=None):
    argv = [owctl_path()]
    if omerodir is not None:
        argv += ["--omerodir", str(omerodir)]
    r = subprocess.run(argv + [str(a) for a in args], capture_output=True,
                       text=True, env=clean_env(), timeout=300)
    if check is not None:
        assert r.returncode == check, (args, r.returncode, r.stdout,
                                       r.stderr)
    return r


def owjson(*args, **kw):
    r = owctl(*args, "--json", **kw)
    return r, json.loads(r.stdout)


def set_apps(omerodir, apps):
    write_config(omerodir, {"omero.web.apps": json.dumps(apps)})


def py_in(venv, code):
    return venv.run("-c", code, check=True).stdout


def pip_problems(venv):
    """`pip check` lines about omero distributions (Debian's own system
    packages have unrelated complaints, e.g. pygobject without pycairo)."""
    r = venv.pip("check", check=False)
    return [line for line in r.stdout.splitlines() if "omero" in line]


def finding_kinds(report, severity=None):
    return sorted(f["kind"] for f in report["findings"]
                  if severity is None or f["severity"] == severity)


# --- list --------------------------------------------------------------------

def test_list_matches_python(venv_factory, omerodir):
    venv = venv_factory("5.30.1", ["omero-figure==1.0.0",
                                   "omero-iviewer==0.15.0"])
    set_apps(omerodir, ["omero_figure", "omero_nope.apps.NopeConfig"])
    r, j = owjson("plugins", "list", "--venv", venv.path, omerodir=omerodir)
    assert r.returncode == 0, r.stderr
    assert j["schema"] == "owctl.plugins.list/1"
    assert j["venv"] == str(venv.path)
    # versions as importlib.metadata inside the venv reports them
    want = json.loads(py_in(venv, (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try: return m.version(n)\n"
        "    except m.PackageNotFoundError: return None\n"
        "print(json.dumps({'omero-web': v('omero-web'),"
        " 'omero-py': v('omero-py'), 'django': v('Django'),"
        " 'python': '%d.%d.%d' % sys.version_info[:3]}))")))
    assert j["core"] == {k: want[k] for k in ("omero-web", "omero-py",
                                              "django")}
    assert j["core"]["omero-web"] == "5.30.1"
    assert j["python"] == want["python"]
    # site dirs: the venv's sys.path entries that exist, in order
    path = json.loads(py_in(venv, "import sys, json; print(json.dumps("
                                  "sys.path))"))
    sites = [p for p in path if p.endswith(("site-packages", "dist-packages"))
             and os.path.isdir(p)]
    assert j["sites"] == sites
    # plugins: what Python finds requiring omero-web
    py_plugins = json.loads(py_in(venv, (
        "import importlib.metadata as m, json, re\n"
        "out = {}\n"
        "for d in m.distributions():\n"
        "    for r in d.requires or []:\n"
        "        if re.split(r'[\\s\\[(<>=!~;]', r, 1)[0].lower()"
        ".replace('_', '-') == 'omero-web':\n"
        "            out[d.metadata['Name']] = d.version\n"
        "print(json.dumps(out))")))
    assert {p["name"]: p["version"] for p in j["plugins"]} == py_plugins
    assert sorted(py_plugins) == ["omero-figure", "omero-iviewer"]
    apps = {a["app"]: (a["state"], a["distribution"]) for a in j["apps"]}
    assert apps == {"omero_figure": ("enabled", "omero-figure"),
                    "omero_nope.apps.NopeConfig": ("missing", None),
                    "omero_iviewer": ("installed", "omero-iviewer")}
    assert j["config"]["profile"] == "default"

    text = owctl("plugins", "list", "--venv", venv.path, omerodir=omerodir,
                 check=0).stdout
    assert "omero-web: 5.30.1" in text
    assert "omero_nope.apps.NopeConfig" in text and "MISSING" in text


def test_list_without_omerodir_warns(venv_531):
    r = owctl("plugins", "list", "--venv", venv_531.path, check=0)
    assert "OMERODIR is not set" in r.stderr
    assert "omero-web: 5.31.0" in r.stdout


def test_usage_errors(venv_531, tmp_path):
    r = owctl("plugins", check=2)
    assert "usage: owctl plugins" in r.stderr
    r = owctl("plugins", "lisst", check=2)
    assert "invalid choice: 'lisst'" in r.stderr
    r = owctl("plugins", "list", "--bogus", check=2)
    assert "usage: owctl plugins list [--venv DIR] [--json]" in r.stderr
    r = owctl("plugins", "check", "--venv", venv_531.path, "--target",
              "not-a-version", check=2)
    assert "invalid version 'not-a-version'" in r.stderr
    r = owctl("plugins", "check", "--venv", venv_531.path, "--index",
              "ftp://example.org/simple", check=2)
    assert "only http:// and https://" in r.stderr
    r = owctl("plugins", "list", "--venv", tmp_path / "nothing")
    assert r.returncode not in (0, 2)
    assert str(tmp_path / "nothing") in r.stderr
    r = owctl("help", "plugins", check=0)
    assert "upgrade" in r.stdout and "check" in r.stdout


# --- check -------------------------------------------------------------------

def test_check_compatible(venv_factory, wheelhouse, omerodir):
    venv = venv_factory("5.31.0", ["omero-figure==2.0.0"])
    set_apps(omerodir, ["omero_figure"])
    r, j = owjson("plugins", "check", "--venv", venv.path, "--index",
                  wheelhouse, omerodir=omerodir)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert j["schema"] == "owctl.plugins.check/1"
    assert j["will_start"] is True
    assert j["target"]["omero-web"] == "5.31.0"
    assert j["target"]["from"] == "index"
    assert j["target"]["requires_python"] is not None
    [fig] = j["plugins"]
    assert (fig["name"], fig["compatible"], fig["enabled"], fig["fits"],
            fig["upgrade"]) == ("omero-figure", True, True, "2.0.0", False)
    assert finding_kinds(j, "error") == []
    # pip agrees: nothing broken
    assert pip_problems(venv) == []


def test_incompatible_plugin_then_upgrade(venv_factory, wheelhouse,
                                          omerodir):
    venv = venv_factory("5.30.1", ["omero-figure==1.0.0"])
    set_apps(omerodir, ["omero_figure"])
    # before the upgrade: 5.30.1 is fine, the newest (5.31.0) is not
    owctl("plugins", "check", "--venv", venv.path, "--index", wheelhouse,
          "--target", "5.30.1", omerodir=omerodir, check=0)
    r, j = owjson("plugins", "check", "--venv", venv.path, "--index",
                  wheelhouse, omerodir=omerodir)
    assert r.returncode == BROKEN, r.stderr
    assert j["will_start"] is False and j["target"]["omero-web"] == "5.31.0"
    [f] = [f for f in j["findings"] if f["severity"] == "error"]
    assert (f["kind"], f["subject"]) == ("plugin-incompatible",
                                         "omero-figure")
    assert "2.0.0" in f["fix"]
    [fig] = j["plugins"]
    [req] = fig["requirements"]
    assert req["name"] == "omero-web" and req["satisfied"] is False
    assert fig["fits"] == "2.0.0" and fig["upgrade"] is True

    # the classic broken upgrade: omero-web alone
    venv.install(wheelhouse, "omero-web==5.31.0", upgrade=True)
    [problem] = pip_problems(venv)
    assert problem.startswith("omero-figure 1.0.0 has requirement omero-web")
    r = owctl("plugins", "check", "--venv", venv.path, "--index", wheelhouse,
              omerodir=omerodir, check=BROKEN)
    assert "BREAKS" in r.stdout and "upgrade to 2.0.0" in r.stdout
    assert "would not start" in r.stderr

    r = owctl("plugins", "upgrade", "--venv", venv.path, "--find-links",
              wheelhouse, "--dry-run", omerodir=omerodir, check=0)
    assert "Would install omero-figure-2.0.0" in r.stdout + r.stderr
    assert venv.version("omero-figure") == "1.0.0"

    r = owctl("plugins", "upgrade", "--venv", venv.path, "--find-links",
              wheelhouse, omerodir=omerodir, check=0)
    assert "--no-index --find-links" in r.stdout
    assert "Successfully installed omero-figure-2.0.0" in r.stdout
    assert "upgraded: omero-figure 1.0.0 -> 2.0.0" in r.stdout
    assert venv.version("omero-figure") == "2.0.0"
    assert pip_problems(venv) == []
    owctl("plugins", "check", "--venv", venv.path, "--index", wheelhouse,
          omerodir=omerodir, check=0)


def test_target_without_index(venv_factory, omerodir):
    venv = venv_factory("5.30.1", ["omero-figure==1.0.0"])
    set_apps(omerodir, ["omero_figure"])
    r, j = owjson("plugins", "check", "--venv", venv.path, "--target",
                  "5.31.0", omerodir=omerodir)
    assert r.returncode == BROKEN
    assert finding_kinds(j) == ["plugin-incompatible", "target-unknown"]
    assert "--index" in [f for f in j["findings"]
                         if f["kind"] == "plugin-incompatible"][0]["fix"]
    r, j = owjson("plugins", "check", "--venv", venv.path, omerodir=omerodir)
    assert r.returncode == 0 and j["target"]["from"] == "installed"


def test_disabled_incompatible_plugin_is_a_warning(venv_factory, wheelhouse,
                                                  omerodir):
    venv = venv_factory("5.30.1", ["omero-figure==1.0.0"])
    set_apps(omerodir, [])
    r, j = owjson("plugins", "check", "--venv", venv.path, "--index",
                  wheelhouse, omerodir=omerodir)
    assert r.returncode == 0, r.stdout
    assert finding_kinds(j, "warning") == ["plugin-incompatible"]


def test_missing_app(venv_factory, wheelhouse, omerodir, tmp_path):
    venv = venv_factory("5.31.0", ["omero-figure==2.0.0"])
    set_apps(omerodir, ["omero_figure", "omero_iviewer"])
    r, j = owjson("plugins", "check", "--venv", venv.path, "--index",
                  wheelhouse, omerodir=omerodir)
    assert r.returncode == BROKEN
    [f] = j["findings"]
    assert (f["severity"], f["kind"], f["subject"]) == (
        "error", "app-missing", "omero_iviewer")
    assert "omero-iviewer==0.15.0" in f["fix"]
    # and indeed the stand-in OMERO.web cannot load its settings
    bad = venv.manage(omerodir, "check", tmpdir=tmp_path)
    assert bad.returncode != 0 and "omero_iviewer" in bad.stderr
    set_apps(omerodir, ["omero_figure"])
    assert venv.manage(omerodir, "check", tmpdir=tmp_path).returncode == 0
    owctl("plugins", "check", "--venv", venv.path, "--index", wheelhouse,
          omerodir=omerodir, check=0)


def write_wheel(path, name, version, metadata_extra):
    """A wheel written by Python's zipfile (deflated), not by pip."""
    dist = "%s-%s.dist-info" % (name.replace("-", "_"), version)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(dist + "/METADATA", "Metadata-Version: 2.1\nName: %s\n"
                   "Version: %s\n%s" % (name, version, metadata_extra))
        z.writestr(dist + "/WHEEL", "Wheel-Version: 1.0\n")
        z.writestr(dist + "/RECORD", "")


def test_target_requirements(venv_factory, wheelhouse, omerodir, tmp_path):
    venv = venv_factory("5.31.0", [])
    set_apps(omerodir, [])
    wh = tmp_path / "wh"
    shutil.copytree(wheelhouse, wh)
    write_wheel(wh / "omero_web-6.0.0-py3-none-any.whl", "omero-web",
                "6.0.0", "Requires-Python: >=3.99\n"
                "Requires-Dist: Django (>=99)\n"
                "Requires-Dist: omero-py>=5.19.0; python_version >= '3'\n"
                "Requires-Dist: django-redis>=6; extra == \"redis\"\n")
    r, j = owjson("plugins", "check", "--venv", venv.path, "--index", wh,
                  "--target", "6.0.0", omerodir=omerodir)
    assert r.returncode == BROKEN
    errors = {(f["kind"], f["subject"]) for f in j["findings"]
              if f["severity"] == "error"}
    assert errors == {("python-unsupported", "omero-web"),
                      ("dependency-unsatisfiable", "django"),
                      ("dependency-unsatisfiable", "omero-py")}
    # the extra-only requirement was not held against the target
    assert not any(f["subject"] == "django-redis" for f in j["findings"])
    # without --target, pip would skip 6.0.0 (its METADATA's
    # Requires-Python) and so does owctl
    r, j = owjson("plugins", "check", "--venv", venv.path, "--index", wh,
                  omerodir=omerodir)
    assert r.returncode == 0, r.stdout
    assert (j["target"]["omero-web"], j["target"]["from"]) == ("5.31.0",
                                                               "index")
    # a target the index does not have is an error
    r, j = owjson("plugins", "check", "--venv", venv.path, "--index", wh,
                  "--target", "5.99", omerodir=omerodir)
    assert r.returncode == BROKEN
    assert "target-not-in-index" in finding_kinds(j, "error")


# --- a PEP 503 index over HTTP ----------------------------------------------

def make_simple_index(root, wheelhouse, tamper=None, extra=()):
    """root/simple/<project>/index.html with sha256 fragments and
    data-requires-python, files under root/files (relative hrefs)."""
    files = root / "files"
    files.mkdir(parents=True)
    projects = {}
    for whl in sorted(Path(wheelhouse).glob("*.whl")):
        shutil.copy(whl, files / whl.name)
        projects.setdefault(whl.name.split("-")[0].replace("_", "-"),
                            []).append((whl.name, None))
    for src, name, project, rp in extra:
        shutil.copy(src, files / name)
        projects.setdefault(project, []).append((name, rp))
    for project, entries in projects.items():
        d = root / "simple" / project
        d.mkdir(parents=True)
        links = []
        for fname, rp in entries:
            p = files / fname
            digest = hashlib.sha256(p.read_bytes()).hexdigest() \
                if p.exists() else "0" * 64
            if tamper and fname == tamper:
                digest = "f" * 64
            attr = ' data-requires-python="%s"' % rp.replace(
                ">", "&gt;").replace("<", "&lt;") if rp else ""
            links.append('<a href="../../files/%s#sha256=%s"%s>%s</a><br/>'
                         % (fname, digest, attr, fname))
        (d / "index.html").write_text(
            "<!DOCTYPE html><html><body>\n%s\n</body></html>\n"
            % "\n".join(links))


class HttpServer:
    def __init__(self, root, port):
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, "-m", "http.server", str(port), "--bind",
             "127.0.0.1", "--directory", str(root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = "http://127.0.0.1:%d/simple/" % port
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("http.server did not start")
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.stderr.read().decode()


@pytest.fixture
def http_index(tmp_path, free_port):
    servers = []

    def start(wheelhouse, **kw):
        root = tmp_path / ("index%d" % len(servers))
        make_simple_index(root, wheelhouse, **kw)
        srv = HttpServer(root, free_port())
        servers.append(srv)
        return srv
    yield start
    for s in servers:
        s.stop()


def test_check_http_index(venv_factory, wheelhouse, omerodir, http_index):
    venv = venv_factory("5.30.1", ["omero-figure==1.0.0"])
    set_apps(omerodir, ["omero_figure"])
    # a newer omero-web this Python may not use: data-requires-python
    srv = http_index(wheelhouse, extra=[
        (Path(wheelhouse) / "omero_web-5.31.0-py3-none-any.whl",
         "omero_web-5.32.0-py3-none-any.whl", "omero-web", ">=3.99")])
    r, j = owjson("plugins", "check", "--venv", venv.path, "--index",
                  srv.url, omerodir=omerodir)
    assert r.returncode == BROKEN, r.stderr
    assert j["target"]["omero-web"] == "5.31.0"
    [fig] = j["plugins"]
    assert fig["fits"] == "2.0.0" and fig["compatible"] is False
    log = srv.stop()
    assert "GET /simple/omero-web/" in log
    assert "GET /files/omero_figure-2.0.0-py3-none-any.whl" in log
    assert "omero_web-5.32.0" not in log    # never downloaded


def test_http_index_checks_sha256(venv_factory, wheelhouse, omerodir,
                                  http_index):
    venv = venv_factory("5.30.1", [])
    set_apps(omerodir, [])
    srv = http_index(wheelhouse, tamper="omero_web-5.31.0-py3-none-any.whl")
    r = owctl("plugins", "check", "--venv", venv.path, "--index", srv.url,
              omerodir=omerodir)
    assert r.returncode == 74, (r.stdout, r.stderr)
    assert "does not match its sha256" in r.stderr


def test_unreachable_index(venv_531, omerodir, free_port):
    r = owctl("plugins", "check", "--venv", venv_531.path, "--index",
              "http://127.0.0.1:%d/simple/" % free_port(), omerodir=omerodir)
    assert r.returncode == 74
    assert "cannot fetch" in r.stderr


# --- a PEP 503 simple index over HTTP ----------------------------------------

def test_check_with_http_simple_index(venv_factory, wheelhouse, omerodir,
                                      tmp_path):
    """`--index URL`: the same verdict from a real HTTP simple index (pages
    written like PEP 503, served by python3 -m http.server) as from the
    wheelhouse directory; a missing project page is an error."""
    from testenv.ports import free_port, wait_for_port
    root = tmp_path / "www" / "simple"
    for whl in sorted(Path(wheelhouse).glob("*.whl")):
        project = whl.name.split("-")[0].replace("_", "-").lower()
        page = root / project
        page.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(whl.read_bytes()).hexdigest()
        shutil.copy(whl, page / whl.name)
        with open(page / "index.html", "a") as f:
            f.write('<a href="%s#sha256=%s">%s</a><br>\n'
                    % (whl.name, digest, whl.name))
    port = free_port()
    server = subprocess.Popen(
        [SYSTEM_PYTHON, "-m", "http.server", "--bind", "127.0.0.1",
         str(port)], cwd=tmp_path / "www", stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port, proc=server)
        venv = venv_factory("5.30.1", ["omero-figure==1.0.0"])
        set_apps(omerodir, ["omero_figure"])
        url = "http://127.0.0.1:%d/simple/" % port
        r_dir, j_dir = owjson("plugins", "check", "--venv", venv.path,
                              "--index", wheelhouse, omerodir=omerodir)
        r_url, j_url = owjson("plugins", "check", "--venv", venv.path,
                              "--index", url, omerodir=omerodir)
        assert r_url.returncode == r_dir.returncode == BROKEN, r_url.stderr
        assert j_url["target"]["omero-web"] == "5.31.0"
        assert [(p["name"], p["fits"], p["upgrade"])
                for p in j_url["plugins"]] == \
            [(p["name"], p["fits"], p["upgrade"]) for p in j_dir["plugins"]]
        assert finding_kinds(j_url) == finding_kinds(j_dir)
        # no page for omero-web (404): a warning, and the installed
        # version is the target, as with a wheelhouse without omero-web
        shutil.rmtree(root / "omero-web")
        r, j = owjson("plugins", "check", "--venv", venv.path, "--index",
                      url, omerodir=omerodir)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert j["target"]["omero-web"] == "5.30.1"
        assert j["target"]["from"] == "installed"
        assert finding_kinds(j, "warning"), j["findings"]
    finally:
        server.terminate()
        server.wait(timeout=10)

"""nginx_check_conf() against the real nginx: configs rendered by
tests/unit/nginx-render (the core of `owctl web config nginx*`) are tested
with `nginx -t` in a throwaway prefix.  Good configs of each type pass,
broken ones fail with nginx's own message pointing at the right line, the
verdicts agree with nginx run directly, and nothing is left behind or
written under OMERODIR.  The helper is looked up in $OWCTL_BUILD (default
"build"); nginx is Debian's /usr/sbin/nginx (or $OWCTL_TEST_NGINX).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testenv.ports import free_port

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SHARED_DIR", REPO.parent / "shared"))
VECTORS = SHARED / "vectors" / "nginx"
NGINX = os.environ.get("OWCTL_TEST_NGINX", "/usr/sbin/nginx")
MIME_TYPES = Path("/etc/nginx/mime.types")
EXTRA = "omero.web.nginx_server_extra_config"


def helper():
    build = Path(os.environ.get("OWCTL_BUILD", "build"))
    if not build.is_absolute():
        build = REPO / build
    exe = build / "tests" / "unit" / "nginx-render"
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} not built (set OWCTL_BUILD to the meson build dir)")
    return exe


@pytest.fixture
def tmpdir_env(tmp_path):
    """A TMPDIR of our own, to see what the check leaves behind."""
    t = tmp_path / "tmpdir"
    t.mkdir()
    env = dict(os.environ, TMPDIR=str(t),
               PATH=os.path.dirname(NGINX) + ":" + os.environ.get("PATH", ""))
    yield env
    assert list(t.iterdir()) == [], "nginx_check_conf left files behind"


def render(tmp_path, env, spec, *args):
    path = tmp_path / ("input-%d.json" % len(list(tmp_path.glob("input-*"))))
    path.write_text(json.dumps(spec))
    return subprocess.run([str(helper()), str(path), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def vector(name):
    return json.loads((VECTORS / (name + ".input.json")).read_text())


def line_of(text, needle):
    """1-based number of the first line of TEXT that contains NEEDLE."""
    for i, line in enumerate(text.split("\n"), 1):
        if needle in line:
            return i
    raise AssertionError("%r not in output" % needle)


def omerodir(tmp_path, with_mime=True):
    d = tmp_path / "OMERO.web"
    (d / "etc").mkdir(parents=True)
    if with_mime:
        shutil.copy(MIME_TYPES, d / "etc" / "mime.types")
    return d


def tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_nginx_is_there():
    assert os.access(NGINX, os.X_OK), "nginx is not installed"


@pytest.mark.parametrize("name", [
    "01_nginx_defaults",
    "03_nginx_location_defaults",
    "04_nginx_prefix_opts",
    "05_nginx_location_dash_prefix",
])
def test_rendered_configs_pass(tmp_path, tmpdir_env, name):
    spec = vector(name)
    if spec["type"] == "nginx":
        spec["http"] = free_port("0.0.0.0")  # no root needed for the bind
    plain = render(tmp_path, tmpdir_env, spec)
    assert plain.returncode == 0, plain.stderr
    checked = render(tmp_path, tmpdir_env, spec, "--check")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == plain.stdout
    assert "test is successful" in checked.stderr
    if name != "01_nginx_defaults":
        return
    # the vector itself, byte for byte, when the port does not need root
    assert plain.stdout.replace("listen %d;" % spec["http"], "listen 80;") \
        == (VECTORS / (name + ".conf")).read_text()


def test_development_config_passes_and_touches_nothing(tmp_path, tmpdir_env):
    root = omerodir(tmp_path)
    before = tree(root)
    system = Path("/var/lib/nginx")  # compiled-in temp path parent
    system_before = tree(system) if system.is_dir() else None
    spec = {"type": "nginx-development", "OMERODIR": str(root),
            "http": free_port("0.0.0.0")}
    res = render(tmp_path, tmpdir_env, spec, "--check")
    assert res.returncode == 0, res.stderr
    assert "pid %s/var/pid.nginx;" % root in res.stdout
    # nginx -t creates pid, logs and temp dirs: all went to the temp dir
    assert tree(root) == before
    assert not (root / "var").exists()
    if system_before is not None:
        assert tree(system) == system_before


def test_development_without_mime_types(tmp_path, tmpdir_env):
    root = omerodir(tmp_path, with_mime=False)
    spec = {"type": "nginx-development", "OMERODIR": str(root),
            "http": free_port("0.0.0.0")}
    refused = render(tmp_path, tmpdir_env, spec, "--check")
    assert refused.returncode == 65
    assert refused.stdout == ""
    assert refused.stderr.startswith("'%s/etc/mime.types' does not exist"
                                     % root)
    # rendered anyway: nginx itself says what is wrong, and where
    res = render(tmp_path, tmpdir_env, spec, "--check", "--no-file-checks")
    assert res.returncode == 65
    n = line_of(res.stdout, "/etc/mime.types;")
    assert res.stderr.split("\n")[0] == (
        'nginx -t failed: [emerg] open() "%s/etc/mime.types" failed '
        "(2: No such file or directory) in omero-web.conf:%d" % (root, n))


@pytest.mark.parametrize("kind", ["nginx", "nginx-development"])
def test_broken_extra_config_fails_at_its_line(tmp_path, tmpdir_env, kind):
    spec = {"type": kind, "OMERODIR": str(omerodir(tmp_path)),
            "http": free_port("0.0.0.0"),
            "props": {EXTRA: json.dumps(["gzip on;", "bogus_directive on;"])}}
    res = render(tmp_path, tmpdir_env, spec, "--check",
                 "--name", "/etc/nginx/conf.d/omero-web.conf")
    assert res.returncode == 65, res.stderr
    n = line_of(res.stdout, "bogus_directive on;")
    assert res.stderr.split("\n")[0] == (
        'nginx -t failed: [emerg] unknown directive "bogus_directive" in '
        "/etc/nginx/conf.d/omero-web.conf:%d" % n)


def test_upstream_ssl_example_is_caught(tmp_path, tmpdir_env):
    """Vector 06 (--http 443 plus `listen 443 ssl;` in the extra config) is
    what omero-web prints; nginx refuses it."""
    res = render(tmp_path, tmpdir_env, vector("06_nginx_extra_config_tcp"),
                 "--check")
    assert res.stdout == \
        (VECTORS / "06_nginx_extra_config_tcp.conf").read_text()
    assert res.returncode == 65
    n = line_of(res.stdout, "listen 443 ssl;")
    assert res.stderr.split("\n")[0] == (
        "nginx -t failed: [emerg] a duplicate listen 0.0.0.0:443 in "
        "omero-web.conf:%d" % n)


def direct_nginx_t(tmp_path, snippet):
    """nginx -t on SNIPPET (http context), set up by hand: the oracle."""
    d = tmp_path / "oracle"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    (d / "snippet.conf").write_text(snippet)
    lines = ["pid %s/pid;" % d, "error_log %s/error.log;" % d,
             "events {}", "http {", "access_log %s/access.log;" % d]
    lines += ["%s_temp_path %s/%s;" % (t, d, t)
              for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")]
    lines += ["include %s/snippet.conf;" % d, "}"]
    (d / "nginx.conf").write_text("\n".join(lines) + "\n")
    res = subprocess.run([NGINX, "-t", "-p", str(d) + "/", "-e",
                          str(d / "error.log"), "-c", str(d / "nginx.conf")],
                         capture_output=True, text=True, timeout=60)
    emerg = [ln.replace(str(d / "snippet.conf"), "omero-web.conf")
             for ln in res.stderr.split("\n") if "[emerg]" in ln]
    return res.returncode, emerg


@pytest.mark.parametrize("extra", [
    [],
    ["gzip on;"],
    ["location /health { return 204; }"],
    ["bogus;"],
    ["client_max_body_size 1q;"],
    ["proxy_read_timeout 10s;", "proxy_read_timeout 20s;"],
    ["location /a {", "}", "}"],
])
def test_verdict_agrees_with_nginx(tmp_path, tmpdir_env, extra):
    spec = {"type": "nginx", "OMERODIR": "/srv/omero",
            "http": free_port("0.0.0.0"), "props": {EXTRA: json.dumps(extra)}}
    ours = render(tmp_path, tmpdir_env, spec, "--check")
    assert ours.returncode in (0, 65), ours.stderr
    status, emerg = direct_nginx_t(tmp_path, ours.stdout)
    assert (ours.returncode == 0) == (status == 0), (ours.stderr, emerg)
    if status:
        assert ours.stderr.split("\n")[0] == \
            "nginx -t failed: " + emerg[0].replace("nginx: ", "", 1)

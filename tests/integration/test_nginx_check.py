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
import re
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
    # --allow-unsafe: the last case is refused (a "}" too many) otherwise
    ours = render(tmp_path, tmpdir_env, spec, "--check", "--allow-unsafe")
    assert ours.returncode in (0, 65), ours.stderr
    status, emerg = direct_nginx_t(tmp_path, ours.stdout)
    assert (ours.returncode == 0) == (status == 0), (ours.stderr, emerg)
    if status:
        assert ours.stderr.split("\n")[0] == \
            "nginx -t failed: " + emerg[0].replace("nginx: ", "", 1)


# --- values nginx's tokenizer would misread (fuzz/RESULTS.md, nginx #1-#2) --

def nginx_t_two_servers(tmp_path, kind, conf, port):
    """nginx -t on CONF with a second server on the same port, so that
    server names are hashed (nginx checks wildcards only then); a
    nginx-location snippet goes inside a server of its own."""
    d = tmp_path / "two"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    (d / "snippet.conf").write_text(conf)
    lines = ["pid %s/pid;" % d, "error_log %s/error.log;" % d,
             "events {}", "http {", "access_log %s/access.log;" % d]
    lines += ["%s_temp_path %s/%s;" % (t, d, t)
              for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")]
    if kind == "nginx-location":
        lines += ["server {", "listen 127.0.0.1:%d;" % port,
                  "include %s/snippet.conf;" % d, "}"]
    else:
        lines += ["include %s/snippet.conf;" % d]
    lines += ["server {", "listen %d;" % port, "server_name zz.invalid;",
              "}", "}"]
    (d / "nginx.conf").write_text("\n".join(lines) + "\n")
    res = subprocess.run([NGINX, "-t", "-p", str(d) + "/", "-e",
                          str(d / "error.log"), "-c", str(d / "nginx.conf")],
                         capture_output=True, text=True, timeout=60)
    return res.returncode, res.stderr


# The fuzz findings and their families: each is refused with the property
# and the character; --allow-unsafe (the CLI's --unsafe) writes what
# omero-web writes, which nginx misreads: the test fails ("fails"), or a
# template line is swallowed ("swallows": "sendfile on;" read as more
# server names, so "sendfile maybe;" passes), or the value nginx sees is
# not the one given (None: '#proxy_' loses its quotes).
FINDINGS = [
    ({"servername": "#proxy_"}, "--servername '#proxy_' starts a word with "
     "'#', which begins an nginx comment", "swallows"),
    ({"servername": "'#proxy_'"}, "--servername ''#proxy_'' starts a word "
     "with ''', which begins an nginx quoted string", None),
    ({"servername": "a\\"}, "--servername 'a\\' holds '\\', which escapes "
     "the next character in nginx", "swallows"),
    ({"servername": "\"x"}, "--servername '\"x' starts a word with '\"'",
     "fails"),
    ({"props": {"omero.web.application_server.host": "#x"}},
     "omero.web.application_server.host '#x' starts a word with '#'",
     "fails"),
    ({"props": {"omero.web.prefix": "/a;b"}},
     "omero.web.prefix '/a;b' holds ';'", "fails"),
    ({"props": {"omero.web.static_url": "/s{"}},
     "omero.web.static_url '/s{' holds '{'", "fails"),
    ({"props": {"omero.web.static_root": "/srv/s t"}},
     "omero.web.static_root '/srv/s t' holds ' '", "fails"),
    ({"props": {EXTRA: json.dumps(["location /x {"])}},
     "omero.web.nginx_server_extra_config: line 1 opens a block it does "
     "not close", "fails"),
]


def sendfile_maybe(conf):
    assert "    sendfile on;\n" in conf
    return conf.replace("    sendfile on;\n", "    sendfile maybe;\n")


@pytest.mark.parametrize("extra,message,breakage", FINDINGS)
def test_findings_refused_unsafe_is_broken(tmp_path, tmpdir_env, extra,
                                           message, breakage):
    port = free_port("0.0.0.0")
    spec = dict({"type": "nginx", "OMERODIR": "/srv/omero", "http": port},
                **extra)
    res = render(tmp_path, tmpdir_env, spec)
    assert res.returncode == 65
    assert res.stdout == ""
    assert res.stderr.startswith(message), res.stderr
    assert res.stderr.count("\n") == 1
    unsafe = render(tmp_path, tmpdir_env, spec, "--allow-unsafe")
    assert unsafe.returncode == 0, unsafe.stderr
    status, log = nginx_t_two_servers(tmp_path, "nginx", unsafe.stdout, port)
    if breakage == "fails":
        assert status != 0, log
    elif breakage == "swallows":
        assert status == 0, log
        status, log = nginx_t_two_servers(
            tmp_path, "nginx", sendfile_maybe(unsafe.stdout), port)
        assert status == 0, log
        # read as a directive (the default render), the line is an error
        good = render(tmp_path, tmpdir_env, {"type": "nginx", "http": port,
                                             "OMERODIR": "/srv/omero"})
        status, log = nginx_t_two_servers(
            tmp_path, "nginx", sendfile_maybe(good.stdout), port)
        assert status != 0 and 'invalid value "maybe"' in log, log


WORD = "abz09-._"
NASTY = "#\"'}{;\\$ \t\n*?[]~/:é\x01"


def fuzzish(rng, base, n=6):
    # mostly plain bytes and those nginx takes inside a word
    chars = WORD * 8 + "#\"'}$\xe9" * 3 + NASTY
    return base + "".join(rng.choice(chars) for _ in range(rng.randint(1, n)))


def fuzzish_spec(rng, omerodirs):
    kind = rng.choice(["nginx", "nginx", "nginx-location",
                       "nginx-development"])
    spec = {"type": kind, "props": {}}
    if kind == "nginx-development":
        spec["OMERODIR"] = str(rng.choice(omerodirs))
    else:
        spec["OMERODIR"] = fuzzish(rng, "/srv/o")
    if rng.random() < 0.6:
        names = [fuzzish(rng, rng.choice(["", "*.", ".", "a.", "x"]))
                 for _ in range(rng.randint(1, 3))]
        spec["servername"] = rng.choice([" ", "\t"]).join(names)
    if rng.random() < 0.4:
        spec["max_body_size"] = rng.choice([
            "".join(rng.choice("0123456789")
                    for _ in range(rng.randint(1, 21)))
            + rng.choice(["", "k", "M", "g", "x", " "]),
            "9223372036854775807", "9007199254740991k", "8589934592g"])
    props = spec["props"]
    if rng.random() < 0.5:
        props["omero.web.prefix"] = fuzzish(rng, rng.choice(["/", "/p", ""]))
    if rng.random() < 0.5:
        props["omero.web.static_url"] = fuzzish(rng, rng.choice(["/s", ""]))
    if rng.random() < 0.3:
        props["omero.web.static_root"] = fuzzish(rng, "/srv/st")
    if rng.random() < 0.4:
        props["omero.web.application_server.host"] = rng.choice(
            # a host name that resolves, or one with a byte no host has
            ["127.0.0.1", "[::1]", "localhost",
             fuzzish(rng, "h", 3) + rng.choice(NASTY)])
    if rng.random() < 0.3:
        props[EXTRA] = json.dumps(rng.choice([
            ["gzip on;"], ["add_header X-A \"a;b{}\";", "# { ' \""],
            ["location /fz { return 204; }"], ["set $a ${host}c;"],
            ["gzip on"], ["location /x {"], ["}"], ["add_header X \"a;"],
        ]))
    return spec


def test_accepted_fuzzish_inputs_pass_real_nginx(tmp_path, tmpdir_env):
    """Random values from the families the fuzzer found (bytes nginx reads
    specially, in every substituted field): whatever the renderer accepts,
    the real nginx accepts too (with a second server on the port, so that
    server names are checked); whatever it refuses gets one line naming the
    property. Seeded: a failure replays."""
    import random
    rng = random.Random(4)
    omerodirs = []
    for name in ["plain", "a#b", "c}d", "e'f\"g", "h$i"]:
        d = tmp_path / name / "OMERO.web"
        (d / "etc").mkdir(parents=True)
        shutil.copy(MIME_TYPES, d / "etc" / "mime.types")
        omerodirs.append(d)
    accepted = refused = 0
    for _ in range(200):
        spec = fuzzish_spec(rng, omerodirs)
        port = free_port("0.0.0.0")
        spec["http"] = port
        if spec["type"] == "nginx-development":
            res = render(tmp_path, tmpdir_env, spec, "--check")
            if res.returncode == 0:
                accepted += 1
            else:
                refused += 1
                assert res.returncode == 65, (spec, res.stderr)
                assert not res.stderr.startswith("nginx -t failed"), \
                    (spec, res.stderr)
            continue
        res = render(tmp_path, tmpdir_env, spec)
        if res.returncode:
            refused += 1
            assert res.returncode == 65, (spec, res.stderr)
            assert res.stderr.count("\n") == 1, (spec, res.stderr)
            assert re.match(r"(--servername|--max-body-size|OMERODIR|"
                            r"omero\.web\.[a-z_.]+):? '?", res.stderr), \
                (spec, res.stderr)
            continue
        accepted += 1
        status, log = nginx_t_two_servers(tmp_path, spec["type"],
                                          res.stdout, port)
        assert status == 0, (spec, res.stdout, log)
    assert accepted >= 30 and refused >= 30, (accepted, refused)

"""owctl's output conventions (owctl(1), OUTPUT CONVENTIONS): every JSON
document starts with "schema": "owctl.<command>/<version>" and is alone on
stdout; no colour escapes, even on a terminal; -q/-v are taken after the
command and subcommand too. The schemas of config and plugins are checked
field by field here (the others in their commands' tests)."""
import json
import os
import pty
import re
import subprocess

from owctlrun import base_env, owctl_path
from testenv.venv import clean_env

SCHEMA = re.compile(r"^owctl\.[a-z]+(\.[a-z-]+)?/[1-9][0-9]*$")


def owctl(*args, omerodir=None, env=None):
    e = env or base_env()
    if omerodir is not None:
        e["OMERODIR"] = str(omerodir)
    return subprocess.run([owctl_path(), *[str(a) for a in args]],
                          capture_output=True, text=True, env=e, timeout=300)


def document(r, schema):
    """The one JSON document on stdout; "schema" is its first key."""
    assert r.stdout.lstrip().startswith('{\n "schema": '), r.stdout[:200]
    j = json.loads(r.stdout)
    assert SCHEMA.match(j["schema"]) and j["schema"] == schema, j["schema"]
    return j


def test_config_get_json(omerodir):
    owctl("config", "set", "omero.web.prefix", "/omero", omerodir=omerodir)
    owctl("config", "set", "omero.web.public.password", "s3cret",
          omerodir=omerodir)
    owctl("config", "set", "omero.web.empty.password", "", omerodir=omerodir)
    r = owctl("config", "get", "--json", omerodir=omerodir)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    j = document(r, "owctl.config.get/1")
    assert j["path"] == str(omerodir / "etc" / "grid" / "config.xml")
    assert j["profile"] == "default" and j["version"] == "5.1.0"
    assert j["properties"] == {"omero.web.empty.password": "",
                               "omero.web.prefix": "/omero",
                               "omero.web.public.password": "********"}
    assert list(j["properties"]) == sorted(j["properties"])
    assert "missing" not in j
    # the global --json, explicit keys (repeated), --show-password
    r = owctl("--json", "config", "get", "--show-password",
              "omero.web.public.password", "nope", "nope", omerodir=omerodir)
    j = document(r, "owctl.config.get/1")
    assert j["properties"] == {"omero.web.public.password": "s3cret"}
    assert j["missing"] == ["nope"]
    # OMERO_CONFIG picks the profile
    env = base_env(OMERODIR=str(omerodir), OMERO_CONFIG="other")
    j = document(owctl("config", "get", "--json", env=env),
                 "owctl.config.get/1")
    assert (j["profile"], j["properties"]) == ("other", {})


def test_config_validate_json(omerodir):
    owctl("config", "set", "omero.web.application_server.port", "eighty",
          omerodir=omerodir)
    r = owctl("config", "validate", "--json", omerodir=omerodir)
    assert r.returncode == 1, r.stderr
    j = document(r, "owctl.config.validate/1")
    assert list(j)[:2] == ["schema", "profile"]
    assert j["errors"] >= 1 and j["errors"] == len(
        [f for f in j["findings"] if f["severity"] == "error"])
    assert any(f["key"] == "omero.web.application_server.port"
               for f in j["findings"])


def test_plugins_json_documents(venv_factory, wheelhouse, omerodir):
    venv = venv_factory("5.30.1", ["omero-figure==1.0.0"],
                        name="venv-conventions")
    owctl("config", "set", "omero.web.apps", '["omero_figure"]',
          omerodir=omerodir)
    env = clean_env()
    env["OMERODIR"] = str(omerodir)
    document(owctl("plugins", "list", "--venv", venv.path, "--json",
                   env=env), "owctl.plugins.list/1")
    document(owctl("plugins", "check", "--venv", venv.path, "--json",
                   env=env), "owctl.plugins.check/1")
    # -q after the subcommand silences warnings (here: no OMERODIR)
    noomero = clean_env()
    noomero.pop("OMERODIR", None)
    r = owctl("plugins", "list", "--venv", venv.path, env=noomero)
    assert r.returncode == 0 and "OMERODIR is not set" in r.stderr
    r = owctl("plugins", "list", "-q", "--venv", venv.path, env=noomero)
    assert (r.returncode, r.stderr) == (0, "")

    # upgrade --json: pip's output on stderr, the document alone on stdout
    venv.install(wheelhouse, "omero-web==5.31.0", upgrade=True)
    r = owctl("plugins", "upgrade", "--venv", venv.path, "--find-links",
              wheelhouse, "--json", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    j = document(r, "owctl.plugins.upgrade/1")
    assert (j["venv"], j["dry_run"], j["plugins"]) == (
        str(venv.path), False, ["omero-figure"])
    assert j["changes"] == [{"action": "upgraded", "name": "omero-figure",
                             "from": "1.0.0", "to": "2.0.0"}]
    assert "running: " in r.stderr and "Successfully installed" in r.stderr
    assert venv.version("omero-figure") == "2.0.0"
    # a second run changes nothing and says so
    r = owctl("plugins", "upgrade", "--venv", venv.path, "--find-links",
              wheelhouse, "--json", env=env)
    assert document(r, "owctl.plugins.upgrade/1")["changes"] == []
    # and the text form is unchanged
    r = owctl("plugins", "upgrade", "--venv", venv.path, "--find-links",
              wheelhouse, env=env)
    assert r.stdout.startswith("running: ") and "upgraded:" not in r.stdout


def test_quiet_and_verbose_after_the_subcommand(omerodir, tmp_path):
    owctl("config", "set", "a.key", "1", omerodir=omerodir)
    for argv in (["config", "get", "-q"], ["config", "-v", "get"],
                 ["config", "get", "--quiet"], ["config", "get", "--verbose"],
                 ["-q", "config", "get"], ["config", "get", "-qv"]):
        r = owctl(*argv, omerodir=omerodir)
        assert (r.returncode, r.stdout) == (0, "a.key=1\n"), (argv, r.stderr)
    # config load has its own -q (ignore duplicates): still that meaning
    f = tmp_path / "dup.omero"
    f.write_text("a.key=2\n")
    assert owctl("config", "load", str(f), omerodir=omerodir).returncode != 0
    assert owctl("config", "load", "-q", str(f),
                 omerodir=omerodir).returncode == 0
    # unknown options are still usage errors
    r = owctl("config", "get", "-x", omerodir=omerodir)
    assert r.returncode == 2 and "unrecognized option '-x'" in r.stderr


def run_on_terminal(argv, env):
    """stdout and stderr on a pseudo-terminal; returns (status, output)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=60), out


def test_no_colour_even_on_a_terminal(omerodir):
    owctl("config", "set", "omero.web.application_server.port", "eighty",
          omerodir=omerodir)
    env = base_env(OMERODIR=str(omerodir), TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    families = re.findall(r"^  (\S+) ", owctl("help").stdout, re.M)
    cases = [["help"], ["config", "get"], ["config", "validate"],
             ["config", "explain", "omero.web.application_server.port"],
             ["config", "nosuch"]] + [["help", f] for f in families]
    for argv in cases:
        status, out = run_on_terminal([owctl_path(), *argv], env)
        assert out, argv
        assert b"\x1b" not in out, (argv, out[:300])

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

import pytest

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


# --- every family, every subcommand (the tables come from 'owctl help') ---

def command_table():
    """[(family, subcommand or None, usage)] from 'owctl help [FAMILY]'."""
    out = []
    for fam in re.findall(r"^  (\S+) ", owctl("help").stdout, re.M):
        text = owctl("help", fam).stdout
        subs = re.findall(r"^  (\S+) (.*)$", text, re.M)
        if subs:
            out += [(fam, name, usage) for name, usage in subs]
        else:
            out.append((fam, None, text.splitlines()[0]))
    return out


def test_command_table_is_read():
    """The loops below see every family and every subcommand."""
    t = command_table()
    fams = {f for f, _, _ in t}
    assert {"config", "load", "web", "plugins", "upgrade",
            "sessions"} <= fams, fams
    assert ("web", "clearsessions") in {(f, s) for f, s, _ in t}
    assert ("sessions", "purge-expired") in {(f, s) for f, s, _ in t}


def quiet_verbose_cases():
    for fam, sub, _ in command_table():
        yield pytest.param(fam, sub, id="%s-%s" % (fam, sub or ""))


@pytest.mark.parametrize("fam,sub", list(quiet_verbose_cases()))
def test_quiet_verbose_accepted_after_the_subcommand(fam, sub, omerodir):
    """-q/-v/--quiet/--verbose after the subcommand are the global options
    (not usage errors), and an unknown option is still one."""
    cmd = [fam] + ([sub] if sub else [])
    usage = "usage: owctl " + " ".join(cmd)
    for opt in ("-q", "-v", "--quiet", "--verbose", "-qv"):
        r = owctl(*cmd, opt, "-h", omerodir=omerodir)
        assert (r.returncode, r.stderr) == (0, ""), (cmd, opt, r.stderr)
        assert r.stdout.startswith(usage), (cmd, opt, r.stdout[:200])
    r = owctl(*cmd, "-q", "--no-such-option", omerodir=omerodir)
    assert r.returncode == 2, (cmd, r.stdout, r.stderr)
    assert "unrecognized option '--no-such-option'" in r.stderr, r.stderr


def same_as_global(argv_after, argv_global, omerodir, quiet_empty=True):
    """argv with -q after the subcommand == with -q before the command."""
    a = owctl(*argv_after, omerodir=omerodir)
    b = owctl(*argv_global, omerodir=omerodir)
    assert (a.returncode, a.stdout, a.stderr) == \
        (b.returncode, b.stdout, b.stderr), (argv_after, a.stderr)
    return a


def test_quiet_verbose_after_the_subcommand_take_effect(omerodir, tmp_path):
    sess = tmp_path / "sessions"
    sess.mkdir()
    owctl("config", "set", "omero.web.secret_key", "x" * 50,
          omerodir=omerodir)
    # web: stop prints its progress, -q silences it, -v is the default text
    loud = owctl("web", "stop", omerodir=omerodir)
    assert loud.returncode == 0 and "Stopping OMERO.web" in loud.stdout
    r = same_as_global(["web", "stop", "-q"], ["-q", "web", "stop"],
                       omerodir)
    assert (r.returncode, r.stdout) == (0, "")
    r = same_as_global(["web", "-q", "stop"], ["-q", "web", "stop"],
                       omerodir)
    assert r.stdout == ""
    same_as_global(["web", "stop", "--verbose"], ["-v", "web", "stop"],
                   omerodir)
    same_as_global(["web", "status", "-q"], ["-q", "web", "status"],
                   omerodir)
    # web clearsessions: upstream's "Clearing ..." line goes with -q
    argv = ["web", "clearsessions", "--session-dir", sess]
    r = owctl(*argv, omerodir=omerodir)
    assert r.returncode == 0 and r.stdout.startswith("Clearing"), r.stderr
    r = same_as_global(argv + ["-q"], ["-q"] + argv, omerodir)
    assert (r.returncode, r.stdout) == (0, "")
    # sessions: purge-expired's summary goes with -q
    for sub in ("purge-expired", "info", "list"):
        argv = ["sessions", sub, "--session-dir", sess]
        loud = owctl(*argv, omerodir=omerodir)
        assert loud.returncode == 0 and loud.stdout, (sub, loud.stderr)
        r = same_as_global(argv + ["-q"], ["-q"] + argv, omerodir)
        if sub == "purge-expired":
            assert r.stdout == ""
        same_as_global(argv + ["-v"], ["-v"] + argv, omerodir)
    # load has no -q of its own (omero load has none): the global one
    f = tmp_path / "set.omero"
    f.write_text("config set a.key 1\nconfig get a.key\n")
    r = same_as_global(["load", str(f), "-q"], ["-q", "load", str(f)],
                       omerodir)
    assert (r.returncode, r.stdout) == (0, "1\n")
    r = same_as_global(["load", "-v", str(f)], ["-v", "load", str(f)],
                       omerodir)
    assert (r.returncode, r.stdout) == (0, "1\n")


# --- every --json of every command: one document, "schema" first ---------

def json_cases():
    for fam, sub, usage in command_table():
        if "--json" in usage:
            yield fam, sub, usage


# Commands whose --json run is not repeated here, and why.
JSON_ELSEWHERE = {
    ("upgrade", "run"): "performs the upgrade (test_upgrade.py)",
}
# These must print a document in the sandbox below (exit 0).
MUST_PRINT = {("config", "get"), ("config", "validate"), ("web", "status"),
              ("web", "diagnostics"), ("web", "clearsessions"),
              ("sessions", "info"), ("sessions", "purge-expired"),
              ("sessions", "clear"), ("sessions", "list"),
              ("plugins", "list"), ("plugins", "check"),
              ("upgrade", "plan")}
# web clearsessions prints what sessions purge-expired prints
SAME_SCHEMA = {("web", "clearsessions"): "owctl.sessions.purge/1"}


def json_argv(fam, sub, usage, venv, sess, wheelhouse):
    argv = [fam, sub, "--json"]
    if "--venv DIR" in usage:
        argv += ["--venv", venv.path]
    if "--session-dir" in usage:
        argv += ["--session-dir", sess]
    if "--to VERSION" in usage:
        argv += ["--to", "5.31.0", "--find-links", wheelhouse]
    if "--find-links DIR" in usage and "--to VERSION" not in usage:
        argv += ["--find-links", wheelhouse]
    if "--dry-run" in usage:
        argv.append("--dry-run")
    if (fam, sub) == ("web", "diagnostics"):
        argv += ["--no-logs", "--timeout", "1"]
    return argv


def first_key(text):
    pairs = json.loads(text, object_pairs_hook=lambda p: p)
    return pairs[0] if pairs else None


def test_every_json_output_has_schema_first(venv_530, wheelhouse, omerodir,
                                            tmp_path):
    sess = tmp_path / "sessions"
    sess.mkdir()
    owctl("config", "set", "omero.web.secret_key", "x" * 50,
          omerodir=omerodir)
    env = clean_env()
    env["OMERODIR"] = str(omerodir)
    env["TMPDIR"] = str(tmp_path)
    cases = list(json_cases())
    assert {(f, s) for f, s, _ in cases} >= \
        MUST_PRINT | set(JSON_ELSEWHERE)
    printed = set()
    for fam, sub, usage in cases:
        if (fam, sub) in JSON_ELSEWHERE:
            continue
        argv = json_argv(fam, sub, usage, venv_530, sess, wheelhouse)
        for form in (argv, ["--json"] + [a for a in argv if a != "--json"]):
            r = owctl(*form, env=env)
            if r.returncode == 0 or r.stdout.strip():
                assert r.stdout.strip(), (form, r.stderr)
                key = first_key(r.stdout)      # exactly one document
                assert key and key[0] == "schema", (form, r.stdout[:200])
                assert SCHEMA.match(key[1]), (form, key)
                assert key[1] == SAME_SCHEMA.get((fam, sub)) or \
                    key[1].startswith("owctl.%s." % fam), (form, key)
                assert r.stdout.startswith('{\n "schema": '), \
                    (form, r.stdout[:80])
                printed.add((fam, sub))
            else:
                assert r.stdout == "", form
    assert MUST_PRINT <= printed, MUST_PRINT - printed


def test_diagnostics_json_indentation(omerodir):
    r = owctl("web", "diagnostics", "--json", "--no-logs", "--timeout", "1",
              omerodir=omerodir)
    assert r.returncode == 0
    assert r.stdout.startswith('{\n "schema": ')


def test_sessions_json_documents(omerodir, tmp_path):
    sess = tmp_path / "sessions"
    sess.mkdir()
    (sess / "not-a-session").write_text("x")
    owctl("config", "set", "omero.web.secret_key", "x" * 50,
          omerodir=omerodir)
    d = ["--session-dir", sess]
    j = document(owctl("sessions", "info", "--json", *d, omerodir=omerodir),
                 "owctl.sessions.info/1")
    assert list(j)[:2] == ["schema", "engine"] and j["sessions"] == 0
    assert j["not_sessions"] == {"other prefix": 1}, j
    for argv, schema in (
            (["sessions", "purge-expired", "--json"],
             "owctl.sessions.purge/1"),
            (["sessions", "purge-expired", "--dry-run", "--json"],
             "owctl.sessions.purge/1"),
            (["web", "clearsessions", "--json"], "owctl.sessions.purge/1"),
            (["--json", "web", "clearsessions"], "owctl.sessions.purge/1"),
            (["sessions", "clear", "--yes", "--json"],
             "owctl.sessions.clear/1")):
        r = owctl(*argv, *d, omerodir=omerodir)
        assert r.returncode == 0, (argv, r.stderr)
        j = document(r, schema)
        assert j["removed"] == 0 and j["engine"] == "file", (argv, j)
        assert "Clearing" not in r.stdout
    j = document(owctl("sessions", "list", "--json", *d, omerodir=omerodir),
                 "owctl.sessions.list/1")
    assert j == {"schema": "owctl.sessions.list/1", "sessions": []}
    # web clearsessions without --json keeps upstream's words
    r = owctl("web", "clearsessions", *d, omerodir=omerodir)
    assert r.stdout == ("Clearing expired sessions. This may take some "
                        "time... [OK]\n")

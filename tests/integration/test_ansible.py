"""doc/ansible/upgrade-omero-web.yml is idempotent: `--report=changed`
prints omero's `Changed: ...` lines only when something changed (plain
`--report` keeps omero's every-time line), and the playbook itself, run for
real with ansible-playbook (-c local) on a sandbox deployment (the stand-in
omero-web of tests/fixtures in a venv, upgraded 5.30.1 -> 5.31.0 by the
play, then restarted by its handler), reports changed=0 the second time.
The nginx task is not exercised (omero_web_nginx: "")."""
import json
import os
import re
import shutil
import subprocess

import pytest

from owctlrun import ROOT, base_env, owctl_path
from testenv import procs

PLAYBOOK = os.path.join(ROOT, "doc", "ansible", "upgrade-omero-web.yml")


def owctl(omerodir, *args):
    return subprocess.run([owctl_path(), *args], capture_output=True,
                          text=True, env=base_env(OMERODIR=str(omerodir)),
                          timeout=60)


def config_xml(omerodir):
    p = omerodir / "etc" / "grid" / "config.xml"
    return p.read_bytes(), p.stat().st_mtime_ns


# The playbook's config tasks, as owctl command lines.
PLAY_COMMANDS = [
    ["config", "set", "--report=changed", "--",
     "omero.web.application_server.port", "4080"],
    ["config", "set", "--report=changed", "--", "omero.web.prefix", "/omero"],
    ["config", "set", "--report=changed", "--", "omero.web.static_url",
     "/omero/static/"],
    ["config", "append", "--report=changed", "--set", "omero.web.apps",
     '"omero_iviewer"'],
]


def test_report_changed_only_when_something_changed(omerodir):
    first = [owctl(omerodir, *c) for c in PLAY_COMMANDS]
    assert [r.returncode for r in first] == [0] * len(first), first
    assert [r.stdout for r in first] == [
        "Changed: Set omero.web.application_server.port:4080\n",
        "Changed: Set omero.web.prefix:/omero\n",
        "Changed: Set omero.web.static_url:/omero/static/\n",
        'Changed: Appended omero.web.apps:"omero_iviewer"\n']
    before = config_xml(omerodir)
    second = [owctl(omerodir, *c) for c in PLAY_COMMANDS]
    assert [(r.returncode, r.stdout, r.stderr) for r in second] == \
        [(0, "", "")] * len(second)
    # nothing changed, so config.xml was not even rewritten
    assert config_xml(omerodir) == before

    # a different value is a change again, and a removal is one once
    r = owctl(omerodir, "config", "set", "--report=changed", "omero.web.prefix",
              "/web")
    assert r.stdout == "Changed: Set omero.web.prefix:/web\n"
    r = owctl(omerodir, "config", "set", "--report=changed", "omero.web.prefix")
    assert r.stdout == "Changed: Removed omero.web.prefix\n"
    r = owctl(omerodir, "config", "set", "--report=changed", "omero.web.prefix")
    assert (r.returncode, r.stdout) == (0, "")
    assert owctl(omerodir, "config", "get", "omero.web.prefix").stdout == ""

    # plain --report stays omero's: a line on every call
    for _ in range(2):
        r = owctl(omerodir, "config", "set", "--report", "omero.web.prefix",
                  "/omero")
        assert r.stdout == "Changed: Set omero.web.prefix:/omero\n"
    r = owctl(omerodir, "config", "set", "--report", "never.existed")
    assert r.stdout == "Changed: Removed never.existed\n"

    # -f FILE: plain --report prints nothing there (as omero), =changed does
    val = omerodir / "v.txt"
    val.write_text("from a file\n")
    r = owctl(omerodir, "config", "set", "--report", "-f", str(val), "k.f")
    assert (r.returncode, r.stdout) == (0, "")
    r = owctl(omerodir, "config", "set", "--report=changed", "-f", str(val),
              "k.g")
    assert r.stdout == "Changed: Set k.g:from a file\n"
    r = owctl(omerodir, "config", "set", "--report=changed", "-f", str(val),
              "k.g")
    assert r.stdout == ""

    r = owctl(omerodir, "config", "set", "--report=always", "k", "v")
    assert r.returncode == 2
    assert "--report: invalid value 'always'" in r.stderr


def _free_port():
    from testenv.ports import free_port
    return free_port()


@pytest.mark.once
def test_playbook_second_run_reports_no_change(tmp_path, omerodir,
                                              venv_factory, wheelhouse):
    playbook = shutil.which("ansible-playbook")
    if not playbook:
        pytest.fail("ansible-playbook is not installed (Debian: ansible-core)")
    venv = venv_factory("5.30.1", plugins=["omero-iviewer==0.15.0"],
                        name="venv-ansible")
    assert venv.version("omero-web") == "5.30.1"
    port = _free_port()
    home = tmp_path / "home"
    sessions = tmp_path / "sessions"
    home.mkdir()
    sessions.mkdir()
    with open(tmp_path / "vars.json", "w") as f:
        json.dump({
            "omero_web_version": "5.31.0",
            "omero_web_venv": str(venv.path),
            "omero_web_pip_extra_args": "--no-index --find-links %s"
                                        % wheelhouse,
            "omero_web_omerodir": str(omerodir),
            "omero_web_user": "root",
            "omero_web_nginx": "",
            "owctl": owctl_path(),
            "omero_web_config": {
                "omero.web.application_server.port": str(port),
                "omero.web.prefix": "/omero",
                "omero.web.static_url": "/omero/static/",
                "omero.web.wsgi_workers": 2,
            },
            "omero_web_apps": ['"omero_iviewer"'],
        }, f)
    env = base_env(HOME=str(home), TMPDIR=str(sessions),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
                   ANSIBLE_REMOTE_TEMP=str(home / "rtmp"),
                   ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3")
    env.pop("VIRTUAL_ENV", None)
    argv = [playbook, "-i", "localhost,", "-c", "local",
            # no sudo here: become root with su (root needs no password)
            "-e", "ansible_become_method=su", "-e", "@%s" % (tmp_path / "vars.json"),
            PLAYBOOK]
    pidfile = omerodir / "var" / "django.pid"
    procs.track_pidfile(pidfile, name="gunicorn (ansible)", expect="omeroweb.wsgi:application")

    def play():
        p = subprocess.run(argv, capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=600)
        m = re.search(r"^localhost\s*: ok=(\d+)\s+changed=(\d+)\s+"
                      r"unreachable=(\d+)\s+failed=(\d+)", p.stdout, re.M)
        assert p.returncode == 0 and m, p.stdout[-6000:] + p.stderr[-3000:]
        return p.stdout, {k: int(v) for k, v in zip(
            ("ok", "changed", "unreachable", "failed"), m.groups())}

    try:
        out1, recap1 = play()
        # pip upgrade, four config values, one app, the backup, the restart
        assert recap1["changed"] >= 4, out1
        assert "RUNNING HANDLER [Restart OMERO.web]" in out1, out1
        assert venv.version("omero-web") == "5.31.0"
        assert (omerodir / "backup" / "config-before-5.31.0.export").exists()
        r = owctl(omerodir, "config", "get", "omero.web.apps")
        assert r.stdout == '["omero_iviewer"]\n'
        r = subprocess.run([owctl_path(), "web", "status"],
                           capture_output=True, text=True,
                           env=base_env(OMERODIR=str(omerodir)))
        assert r.returncode == 0, r.stdout + r.stderr
        pid = int(pidfile.read_text())
        before = config_xml(omerodir)

        print("first run:", recap1)
        out2, recap2 = play()
        print("second run:", recap2)
        assert recap2["changed"] == 0 and recap2["failed"] == 0, out2
        assert "RUNNING HANDLER" not in out2, out2
        assert config_xml(omerodir) == before
        assert int(pidfile.read_text()) == pid, "restarted on the second run"
    finally:
        subprocess.run([owctl_path(), "web", "stop", "--timeout", "20"],
                       capture_output=True,
                       env=base_env(OMERODIR=str(omerodir)), timeout=60)

"""What ships: `meson install` (binary, every doc/*.1 man page, the bash
completion, the systemd examples), the bash completion itself against the
built owctl, the systemd examples against `owctl web systemd-unit` and
`systemd-analyze verify`, and the
Debian package from scripts/make-deb, which is installed into this machine
with dpkg -i, checked (owctl --version, man -w, completion) and removed
with dpkg -r, leaving the machine as it was (the test refuses to run when
an owctl package or /usr/bin/owctl is already there)."""
import glob
import os
import re
import shutil
import subprocess

import pytest

from owctlrun import ROOT, base_env, build_dir, owctl_path

COMPLETION = os.path.join(ROOT, "contrib", "owctl.bash-completion")
MAN_PAGES = sorted(os.path.basename(f)
                   for f in glob.glob(os.path.join(ROOT, "doc", "*.1")))
SYSTEMD_DIR = os.path.join(ROOT, "contrib", "systemd")
SYSTEMD_UNITS = ["omero-web.service", "omero-web-clearsessions.service",
                 "omero-web-clearsessions.timer"]
SYSTEMD_EXAMPLES = "share/doc/owctl/examples/systemd"


def project_version():
    with open(os.path.join(ROOT, "meson.build"), encoding="utf-8") as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def test_meson_install_ships_everything(tmp_path):
    p = subprocess.run(["meson", "install", "-C", build_dir(), "--no-rebuild",
                        "--quiet", "--destdir", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    files = {os.path.relpath(os.path.join(d, f), tmp_path)
             for d, _, fs in os.walk(tmp_path) for f in fs}
    prefixes = {f.split("/bin/owctl")[0] for f in files
                if f.endswith("/bin/owctl")}
    assert len(prefixes) == 1, files
    prefix = prefixes.pop()
    assert MAN_PAGES, "no doc/*.1"
    for page in MAN_PAGES:
        assert "%s/share/man/man1/%s" % (prefix, page) in files, \
            "doc/%s is not installed: add it to install_man() in meson.build" % page
    assert ("%s/share/bash-completion/completions/owctl" % prefix) in files
    for unit in SYSTEMD_UNITS + ["README.md"]:
        assert "%s/%s/%s" % (prefix, SYSTEMD_EXAMPLES, unit) in files, files


def test_systemd_examples_are_what_owctl_prints(tmp_path):
    """contrib/systemd/*.service|timer == `owctl web systemd-unit` for the
    Ansible role's layout: regenerate them with contrib/systemd/generate."""
    p = subprocess.run([os.path.join(SYSTEMD_DIR, "generate"), owctl_path(),
                        str(tmp_path)], capture_output=True, text=True,
                       env=base_env(), timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert sorted(os.listdir(tmp_path)) == sorted(SYSTEMD_UNITS)
    for unit in SYSTEMD_UNITS:
        with open(os.path.join(SYSTEMD_DIR, unit), encoding="utf-8") as f:
            shipped = f.read()
        with open(os.path.join(tmp_path, unit), encoding="utf-8") as f:
            printed = f.read()
        assert shipped == printed, (
            "contrib/systemd/%s differs from `owctl web systemd-unit`; run "
            "contrib/systemd/generate %s" % (unit, owctl_path()))
    with open(os.path.join(SYSTEMD_DIR, "omero-web.service"),
              encoding="utf-8") as f:
        svc = f.read()
    assert "Type=notify" in svc and "User=omero-web" in svc
    assert "ExecStart=/usr/bin/owctl web --venv /opt/omero/web/venv3 start " \
        "--foreground" in svc
    assert "Environment=OMERODIR=/opt/omero/web/OMERO.web" in svc
    assert "/tmp" not in svc


def test_systemd_examples_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.fail("systemd-analyze is not installed (Debian: systemd)")
    # the units name /usr/bin/owctl; point them at the owctl under test
    for unit in SYSTEMD_UNITS:
        with open(os.path.join(SYSTEMD_DIR, unit), encoding="utf-8") as f:
            text = f.read().replace("/usr/bin/owctl", owctl_path())
        with open(os.path.join(tmp_path, unit), "w", encoding="utf-8") as f:
            f.write(text)
    p = subprocess.run([analyze, "verify"] + [
        os.path.join(tmp_path, u) for u in SYSTEMD_UNITS],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert p.returncode == 0 and p.stderr == "", p.stdout + p.stderr


def complete(words, env=None):
    """COMPREPLY of the completion for `owctl WORDS...` (last: the cursor)."""
    script = ('source "$1"; shift; COMP_WORDS=("$@"); '
              'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _owctl; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    p = subprocess.run(["bash", "-c", script, "bash", COMPLETION] + list(words),
                       capture_output=True, text=True, timeout=60,
                       env=env or base_env())
    assert p.returncode == 0, p.stderr
    return [w for w in p.stdout.split("\n") if w]


def test_completion_follows_owctl_help(tmp_path):
    owctl = owctl_path()
    env = base_env(OMERODIR=str(tmp_path))
    families = re.findall(r"^  (\S+) ", subprocess.run(
        [owctl, "help"], capture_output=True, text=True).stdout, re.M)
    assert "config" in families
    assert sorted(complete([owctl, ""], env)) == sorted(families + ["help"])
    assert complete([owctl, "con"], env) == ["config"]
    assert "--omerodir" in complete([owctl, "--"], env)

    subs = re.findall(r"^  (\S+) ", subprocess.run(
        [owctl, "help", "config"], capture_output=True, text=True).stdout, re.M)
    assert complete([owctl, "config", ""], env) == subs
    assert complete([owctl, "help", "config", "exp"], env) == [
        s for s in subs if s.startswith("exp")]
    assert {"--source", "--wait"} <= set(complete([owctl, "config", "--"], env))
    assert {"--report", "--help"} <= set(
        complete([owctl, "config", "set", "--"], env))
    # an option's argument: --wait SECONDS gives nothing, not subcommands
    assert complete([owctl, "config", "--wait", ""], env) == []

    # KEY: the schema's properties and the active profile's keys
    keys = complete([owctl, "config", "set", "omero.web.pref"], env)
    assert keys == ["omero.web.prefix"]
    subprocess.run([owctl, "config", "set", "omero.web.zz_custom", "1"],
                   env=env, check=True)
    assert complete([owctl, "--omerodir", str(tmp_path), "config", "get",
                     "omero.web.zz"], base_env()) == ["omero.web.zz_custom"]
    # after KEY comes VALUE: nothing to offer
    assert complete([owctl, "config", "set", "omero.web.prefix", ""], env) == []
    # NAME: profile names
    assert complete([owctl, "config", "def", ""], env) == ["default"]


def help_lines(*args):
    p = subprocess.run([owctl_path(), "help", *args], capture_output=True,
                       text=True, env=base_env())
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_completion_covers_every_subcommand_and_option(tmp_path):
    """Every family's subcommands and every long option of every usage
    line (owctl help FAMILY SUB) complete, whatever the usage syntax
    (--report[=changed], --bundle FILE.tar.gz, [--a X | --b Y])."""
    owctl = owctl_path()
    env = base_env(OMERODIR=str(tmp_path))
    families = re.findall(r"^  (\S+) ", help_lines(), re.M)
    checked = 0
    for fam in families:
        famhelp = help_lines(fam)
        subs = re.findall(r"^  (\S+) ", famhelp, re.M)
        if not subs:	# a leaf command (load)
            usage = famhelp.splitlines()[0]
            want = set(re.findall(r"(--[a-z][-a-z]*)", usage))
            assert want <= set(complete([owctl, fam, "--"], env)), usage
            continue
        assert complete([owctl, fam, ""], env) == subs, fam
        for sub in subs:
            usage = help_lines(fam, sub).splitlines()[0]
            want = set(re.findall(r"(?<![\w-])(--[a-z][-a-z]*)", usage))
            got = set(complete([owctl, fam, sub, "--"], env))
            assert want <= got, (usage, sorted(want - got))
            assert "--help" in got
            checked += 1
    assert checked > 30, checked


def test_completion_option_arguments(tmp_path):
    owctl = owctl_path()
    env = base_env(OMERODIR=str(tmp_path))
    # options being added to upgrade and web restart this release
    assert {"--new-venv", "--from-omerodir", "--zero-downtime", "--to"} <= \
        set(complete([owctl, "upgrade", "run", "--"], env))
    assert "--zero-downtime" in complete([owctl, "web", "restart", "--"], env)
    assert "diagnostics" in complete([owctl, "web", ""], env)
    assert complete([owctl, "sessions", ""], env) == re.findall(
        r"^  (\S+) ", help_lines("sessions"), re.M)
    # choices after an option, and as a positional
    assert complete([owctl, "upgrade", "run", "--clear-sessions", ""],
                    env) == ["auto", "always", "never"]
    assert complete([owctl, "sessions", "info", "--django-version", ""],
                    env) == ["3.2", "4.2", "5.2"]
    assert complete([owctl, "web", "config", "nginx-"], env) == [
        "nginx-development", "nginx-location"]
    # placeholders are not choices: --index DIR|URL offers no "DIR" "URL"
    assert complete([owctl, "plugins", "check", "--index", ""], env) == []
    # DIR: directories only
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("")
    assert complete([owctl, "web", "--venv", str(tmp_path / "a")], env) == \
        [str(tmp_path / "adir")]
    # an option's argument is not a positional: KEY still comes next
    assert complete([owctl, "config", "set", "--report", "omero.web.pref"],
                    env) == ["omero.web.prefix"]
    assert complete([owctl, "web", "diagnostics", "--bundle", "x.tar.gz",
                     "--j"], env) == ["--json"]
    # global options, long and short
    assert {"--omerodir", "--json", "--version", "-q", "-v"} <= set(
        complete([owctl, "-"], env))


def test_completion_hidden_schema_keys_match_explain(tmp_path):
    p = subprocess.run([owctl_path(), "config", "keys", "--schema"],
                       capture_output=True, text=True, env=base_env())
    assert p.returncode == 0, p.stderr
    keys = p.stdout.split()
    assert len(keys) > 50 and "omero.web.prefix" in keys
    for k in ("omero.web.prefix", keys[-1]):
        q = subprocess.run([owctl_path(), "config", "explain", k],
                           capture_output=True, text=True,
                           env=base_env(OMERODIR=str(tmp_path)))
        assert q.stdout.startswith(k), (k, q.stdout, q.stderr)


def dpkg_status(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, text=True)
    return p.stdout if p.returncode == 0 else ""


@pytest.mark.once
def test_deb_installs_and_removes_cleanly(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("dpkg -i needs root (make test runs as root)")
    assert "installed" not in dpkg_status("owctl").replace("not-installed", ""), \
        "an owctl package is installed already; this test would replace it"
    assert not os.path.exists("/usr/bin/owctl"), \
        "/usr/bin/owctl exists; this test would overwrite it"

    p = subprocess.run([os.path.join(ROOT, "scripts", "make-deb"), str(tmp_path)],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    version = project_version()
    deb = p.stdout.strip().splitlines()[-1]
    assert os.path.basename(deb) == "owctl_%s_%s.deb" % (
        version, subprocess.run(["dpkg", "--print-architecture"],
                                capture_output=True, text=True).stdout.strip())

    info = subprocess.run(["dpkg-deb", "-f", deb, "Package", "Version",
                           "Depends"], capture_output=True, text=True).stdout
    assert "Package: owctl" in info and "Version: %s" % version in info
    assert re.search(r"^Depends: .*libc6 \(>= ", info, re.M), info
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True,
                             text=True).stdout
    for page in MAN_PAGES:
        assert "./usr/share/man/man1/%s.gz" % page in listing, listing
    assert "./usr/share/bash-completion/completions/owctl" in listing
    assert "./usr/share/doc/owctl/copyright" in listing
    for unit in SYSTEMD_UNITS:
        assert "./usr/%s/%s" % (SYSTEMD_EXAMPLES, unit) in listing, listing

    shipped = [line.split()[-1][1:] for line in listing.splitlines()
               if not line.startswith("d")]
    installed = False
    r = None
    try:
        p = subprocess.run(["dpkg", "-i", deb], capture_output=True, text=True,
                           timeout=300)
        installed = True
        assert p.returncode == 0, p.stdout + p.stderr
        assert dpkg_status("owctl") == "install ok installed"

        v = subprocess.run(["/usr/bin/owctl", "--version"],
                           capture_output=True, text=True)
        assert v.returncode == 0 and v.stdout == "owctl %s\n" % version, v
        for page in MAN_PAGES:
            name = page[:-2]
            m = subprocess.run(["man", "-w", name], capture_output=True,
                               text=True)
            assert m.stdout.strip() == "/usr/share/man/man1/%s.gz" % page, \
                (m.stdout, m.stderr)
        # the installed completion finds the installed owctl on PATH
        env = base_env(PATH="/usr/bin:/bin", OMERODIR=str(tmp_path))
        p = subprocess.run(
            ["bash", "-c", 'source /usr/share/bash-completion/completions/owctl;'
             ' COMP_WORDS=(owctl config set omero.web.static_u); COMP_CWORD=3;'
             ' _owctl; echo "${COMPREPLY[@]}"'],
            capture_output=True, text=True, env=env)
        assert p.stdout.split() == ["omero.web.static_url"], p.stdout + p.stderr
        for unit in SYSTEMD_UNITS:
            with open("/usr/%s/%s" % (SYSTEMD_EXAMPLES, unit),
                      encoding="utf-8") as f, \
                    open(os.path.join(SYSTEMD_DIR, unit),
                         encoding="utf-8") as g:
                assert f.read() == g.read(), unit
    finally:
        if installed:
            r = subprocess.run(["dpkg", "-r", "owctl"], capture_output=True,
                               text=True, timeout=300)
            if dpkg_status("owctl") and "not-installed" not in dpkg_status("owctl"):
                subprocess.run(["dpkg", "-P", "owctl"], capture_output=True,
                               timeout=300)
    assert r is not None and r.returncode == 0, r and r.stdout + r.stderr
    assert dpkg_status("owctl") in ("", "unknown ok not-installed"), \
        dpkg_status("owctl")
    left = [f for f in shipped if os.path.lexists(f)
            and not os.path.isdir(f)]
    assert not left, "files left after dpkg -r: %s" % left
    assert not os.path.exists("/usr/share/doc/owctl")
    assert not os.path.exists("/usr/%s" % SYSTEMD_EXAMPLES)

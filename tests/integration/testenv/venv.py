# Python virtual environments holding the stand-in omero-web, made the way
# OMERO.web is deployed (venv + pip) but offline: `python3 -m venv
# --system-site-packages` (Debian's Django, gunicorn, django-redis show
# through) and `pip install --no-index --find-links WHEELHOUSE`.
import email.parser
import os
import re
import subprocess
from pathlib import Path

from testenv import BUILD_WHEELS, SYSTEM_PYTHON

# Environment variables that would let pip or Python look elsewhere.
_SCRUB = re.compile(
    r"^(PIP_.*|PYTHONPATH|PYTHONHOME|PYTHONSTARTUP|PYTHONUSERBASE|VIRTUAL_ENV"
    r"|DJANGO_SETTINGS_MODULE|OMERO_CONFIG|OMERODIR|SCRIPT_NAME)$"
)


def clean_env(extra=None):
    """os.environ without pip/Python/OMERO overrides, plus EXTRA."""
    env = {k: v for k, v in os.environ.items() if not _SCRUB.match(k)}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra or {})
    return env


def build_wheels(wheelhouse):
    """Run tests/fixtures/build-wheels.sh WHEELHOUSE; return WHEELHOUSE."""
    r = subprocess.run(["sh", str(BUILD_WHEELS), str(wheelhouse)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("build-wheels.sh failed (%d):\n%s%s"
                           % (r.returncode, r.stdout, r.stderr))
    return Path(wheelhouse)


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


class Venv:
    """A virtual environment at PATH."""

    def __init__(self, path):
        self.path = Path(path)
        self.python = self.path / "bin" / "python"
        self.bin = self.path / "bin"

    def __repr__(self):
        return "<Venv %s>" % self.path

    def run(self, *args, env=None, cwd=None, check=False, timeout=120):
        """Run VENV/bin/python ARGS; CompletedProcess with text output."""
        r = subprocess.run([str(self.python)] + [str(a) for a in args],
                           env=clean_env(env), cwd=cwd, capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("%s %s failed (%d):\n%s%s" % (
                self.python, " ".join(map(str, args)), r.returncode,
                r.stdout, r.stderr))
        return r

    def pip(self, *args, check=True):
        """VENV/bin/python -m pip ARGS (no index unless ARGS say so)."""
        return self.run("-m", "pip", *args, check=check)

    def install(self, wheelhouse, *reqs, upgrade=False, check=True):
        """pip install --no-index --find-links WHEELHOUSE REQS."""
        args = ["install", "--no-index", "--find-links", str(wheelhouse)]
        if upgrade:
            args.append("--upgrade")
        return self.pip(*args, *reqs, check=check)

    def site_packages(self):
        found = sorted(self.path.glob("lib/python3*/site-packages"))
        if not found:
            raise RuntimeError("no site-packages in %s" % self.path)
        return found[0]

    def dist_info(self, name):
        """Path of NAME's .dist-info in the venv's own site-packages, or None."""
        want = _norm(name)
        for d in self.site_packages().glob("*.dist-info"):
            dist = d.name[: -len(".dist-info")].rsplit("-", 1)[0]
            if _norm(dist) == want:
                return d
        return None

    def metadata(self, name):
        """Parsed METADATA (email.message.Message) of NAME, or None."""
        d = self.dist_info(name)
        if d is None:
            return None
        with open(d / "METADATA", encoding="utf-8") as f:
            return email.parser.Parser().parse(f)

    def version(self, name):
        """Installed version of NAME in this venv, or None."""
        md = self.metadata(name)
        return md["Version"] if md is not None else None

    def omeroweb_dir(self):
        """The installed omeroweb package dir (cwd of `omero web` commands)."""
        d = self.site_packages() / "omeroweb"
        if not (d / "__init__.py").exists():
            raise RuntimeError("omeroweb not installed in %s" % self.path)
        return d

    def manage(self, omerodir, *args, tmpdir=None, env=None, check=False):
        """python manage.py ARGS with cwd = omeroweb dir, like `omero web`."""
        e = {"OMERODIR": str(omerodir)}
        if tmpdir is not None:
            e["TMPDIR"] = str(tmpdir)
        e.update(env or {})
        return self.run("manage.py", *args, env=e, cwd=self.omeroweb_dir(),
                        check=check)


def _write_pip_shims(venv):
    # Real venvs have bin/pip; Debian's pip (system site) does the work.
    for name in ("pip", "pip3"):
        p = venv.bin / name
        p.write_text('#!/bin/sh\nexec "%s" -m pip "$@"\n' % venv.python)
        p.chmod(0o755)


def create_venv(path, *, with_pip="shim"):
    """Create a --system-site-packages venv at PATH and return a Venv.

    WITH_PIP: "shim" (default, fast: bin/pip runs Debian's pip inside the
    venv), "ensurepip" (a real pip copy, ~3 s) or None (no bin/pip).
    """
    args = [SYSTEM_PYTHON, "-m", "venv", "--system-site-packages"]
    if with_pip != "ensurepip":
        args.append("--without-pip")
    r = subprocess.run(args + [str(path)], env=clean_env(),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("venv creation failed:\n%s%s" % (r.stdout, r.stderr))
    venv = Venv(path)
    if with_pip == "shim":
        _write_pip_shims(venv)
    return venv


def make_venv(path, wheelhouse, *reqs, with_pip="shim"):
    """create_venv(PATH) then install REQS (e.g. "omero-web==5.31.0")."""
    venv = create_venv(path, with_pip=with_pip)
    if reqs:
        venv.install(wheelhouse, *reqs)
    return venv

"""Locate and run the owctl binary under test, and the shared vectors."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("SHARED_DIR", os.path.join(os.path.dirname(ROOT), "shared"))
VECTORS = os.path.join(SHARED, "vectors")


def build_dir():
    b = os.environ.get("OWCTL_BUILD", "build")
    return b if os.path.isabs(b) else os.path.join(ROOT, b)


def owctl_path():
    p = os.path.join(build_dir(), "src", "owctl")
    if not os.path.exists(p):
        raise RuntimeError("owctl is not built: %s (run make)" % p)
    return p


def base_env(**extra):
    """A clean environment: no OMERO_CONFIG or OMERODIR leaking in."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMERO_CONFIG", "OMERODIR", "VISUAL", "EDITOR")}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    env.update(extra)
    return env


def run(args, env=None, stdin=None, cwd=None, user=None, timeout=60):
    """Run owctl with args; returns CompletedProcess with bytes output."""
    kw = {}
    if user is not None:
        import pwd
        pw = pwd.getpwnam(user)

        def demote():
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
        kw["preexec_fn"] = demote
    return subprocess.run([owctl_path()] + list(args), input=stdin,
                          capture_output=True, env=env if env is not None else base_env(),
                          cwd=cwd, timeout=timeout, **kw)

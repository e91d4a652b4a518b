# Start and stop server processes by PID, and remember every one of them so
# that nothing outlives the test run: each process runs in its own process
# group, stop() signals that group, stop_all() and reap_strays() are the
# safety nets used by conftest.py's finalizers.
import atexit
import os
import signal
import subprocess
import time
from pathlib import Path

# pid -> dict(name, popen, group, expect)
_tracked = {}
# pidfile path -> dict(name, expect)
_pidfiles = {}


def spawn(argv, *, name, log, cwd=None, env=None):
    """Start ARGV in a new session (own process group), output to LOG.

    Returns the Popen; the process is tracked until stop() reaps it.
    """
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(a) for a in argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _tracked[proc.pid] = {"name": name, "popen": proc, "group": True,
                          "expect": None}
    return proc


def track_pid(pid, name, expect=None, group=False):
    """Remember a process we did not spawn ourselves (e.g. a daemon).

    EXPECT, if given, must occur in /proc/PID/cmdline for it to be killed
    later (protection against PID reuse).  GROUP: kill its process group.
    """
    _tracked[int(pid)] = {"name": name, "popen": None, "group": group,
                          "expect": expect}


def track_pidfile(path, name="daemon", expect=None):
    """Kill whatever PID is in PATH at cleanup time (daemonised servers).

    Use it for `gunicorn -D -p FILE` started by owctl itself.
    """
    _pidfiles[str(path)] = {"name": name, "expect": expect}


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


def alive(pid):
    """True if PID exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg also succeeds for zombies: look for a live member.
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) == pgid and alive(int(entry)):
                return True
        except OSError:
            continue
    return False


def _signal(pid, sig, group):
    try:
        if group:
            pgid = os.getpgid(pid)
            if pgid == os.getpgrp():  # never our own group
                os.kill(pid, sig)
            else:
                os.killpg(pgid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop(proc_or_pid, timeout=10.0, sig=signal.SIGTERM):
    """Stop a process (and its group if we spawned it): SIG, wait, SIGKILL.

    Returns the exit status if we spawned it (Popen.returncode), else None.
    Safe to call twice.
    """
    pid = proc_or_pid if isinstance(proc_or_pid, int) else proc_or_pid.pid
    info = _tracked.pop(pid, {"name": "?", "popen": None, "group": False,
                              "expect": None})
    popen = info["popen"]
    if popen is None and not isinstance(proc_or_pid, int):
        popen = proc_or_pid
        info["group"] = True
    if info["expect"] is not None:
        cmd = _cmdline(pid)
        if cmd is None or info["expect"] not in cmd:
            return None
    group = info["group"]
    try:
        pgid = os.getpgid(pid) if group else None
    except ProcessLookupError:
        pgid = None
    if popen is not None and popen.poll() is not None:
        # Leader gone; its group may still hold workers.
        if pgid is None:
            pgid = pid
    else:
        _signal(pid, sig, group)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = (popen.poll() is not None) if popen is not None else not alive(pid)
        if done and (pgid is None or not _group_alive(pgid)):
            break
        time.sleep(0.05)
    else:
        if alive(pid):
            _signal(pid, signal.SIGKILL, group)
        if pgid is not None and pgid != os.getpgrp() and _group_alive(pgid):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    if popen is not None:
        try:
            return popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None
    deadline = time.monotonic() + 5.0
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return None


def stop_pidfile(path, timeout=10.0, expect=None):
    """Stop the process whose PID is in PATH (if any and still alive)."""
    try:
        pid = int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return False
    if not alive(pid):
        return False
    if expect is not None and expect not in (_cmdline(pid) or ""):
        return False
    track_pid(pid, "pidfile %s" % path, expect=expect)
    stop(pid, timeout=timeout)
    return True


def tracked():
    """Names and PIDs of the processes still tracked."""
    return {pid: info["name"] for pid, info in _tracked.items()}


def stop_all(timeout=5.0):
    """Stop every tracked process and pidfile; return names still running."""
    left = []
    for path, info in list(_pidfiles.items()):
        stop_pidfile(path, timeout=timeout, expect=info["expect"])
        _pidfiles.pop(path, None)
    for pid, info in list(_tracked.items()):
        running = (info["popen"].poll() is None) if info["popen"] else alive(pid)
        if running:
            left.append("%s (pid %d)" % (info["name"], pid))
        stop(pid, timeout=timeout)
    return left


def _ancestors():
    pids = set()
    pid = os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def processes_under(directory):
    """PIDs whose cwd, command line or environment mentions DIRECTORY/."""
    marker = str(directory).rstrip("/") + "/"
    bmarker = marker.encode()
    skip = _ancestors()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid in skip or not alive(pid):
            continue
        hit = False
        try:
            cwd = os.readlink("/proc/%d/cwd" % pid) + "/"
            hit = cwd.startswith(marker)
        except OSError:
            pass
        for what in ("cmdline", "environ"):
            if hit:
                break
            try:
                with open("/proc/%d/%s" % (pid, what), "rb") as f:
                    hit = bmarker in f.read()
            except OSError:
                pass
        if hit:
            found.append(pid)
    return found


def reap_strays(directory, timeout=5.0):
    """Kill every process tied to DIRECTORY (see processes_under), by PID.

    Catches servers that daemonised themselves (gunicorn -D started by
    owctl) in a test's temp dir.  Returns the list of "pid cmdline" killed.
    """
    killed = []
    pids = processes_under(directory)
    for pid in pids:
        killed.append("%d %s" % (pid, (_cmdline(pid) or "").strip()))
        _signal(pid, signal.SIGTERM, False)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if alive(p)]
        time.sleep(0.05)
    for pid in pids:
        _signal(pid, signal.SIGKILL, False)
    deadline = time.monotonic() + 5.0
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if alive(p)]
        time.sleep(0.02)
    return killed


atexit.register(stop_all)

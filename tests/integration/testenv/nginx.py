# Run nginx for tests: a generated main nginx.conf (foreground, pid/logs/temp
# paths inside a prefix dir, `user root;` when we are root so workers can
# read 0700 pytest dirs) that includes the server-level file under test,
# e.g. what `owctl web config nginx` wrote.  Also `nginx -t` on such a file.
import os
import subprocess
import time
from pathlib import Path

from testenv import procs
from testenv.ports import port_open

NGINX = os.environ.get("OWCTL_TEST_NGINX", "/usr/sbin/nginx")
MIME_TYPES = "/etc/nginx/mime.types"


class NginxError(RuntimeError):
    pass


def main_conf(prefix, includes=(), *, http_extra=""):
    """Text of a complete nginx.conf rooted in PREFIX, including INCLUDES.

    INCLUDES are files in http context (upstream + server blocks).
    """
    prefix = Path(prefix)
    lines = []
    if os.geteuid() == 0:
        lines.append("user root;")
    lines += [
        "daemon off;",
        "worker_processes 1;",
        "pid %s;" % (prefix / "nginx.pid"),
        "error_log %s info;" % (prefix / "logs" / "error.log"),
        "events { worker_connections 64; }",
        "http {",
    ]
    if os.path.exists(MIME_TYPES):
        lines.append("    include %s;" % MIME_TYPES)
    lines += [
        "    default_type application/octet-stream;",
        "    access_log %s;" % (prefix / "logs" / "access.log"),
    ]
    for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        lines.append("    %s_temp_path %s;" % (t, prefix / "temp" / t))
    if http_extra:
        lines.append(http_extra)
    for inc in includes:
        lines.append("    include %s;" % Path(inc).resolve())
    lines.append("}")
    return "\n".join(lines) + "\n"


def _prepare(prefix, server_conf, http_extra):
    prefix = Path(prefix)
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "temp").mkdir(exist_ok=True)
    is_path = isinstance(server_conf, Path) or (
        "\n" not in server_conf and os.path.exists(server_conf))
    if is_path:
        inc = Path(server_conf)
    else:
        inc = prefix / "server.conf"
        inc.write_text(server_conf)
    conf = prefix / "nginx.conf"
    conf.write_text(main_conf(prefix, [inc], http_extra=http_extra))
    return conf


def nginx_t(server_conf, prefix, *, http_extra="", wrap=True):
    """Run `nginx -t` on SERVER_CONF (path or text, http context).

    PREFIX is a scratch dir for the generated main conf and logs.  With
    WRAP False, SERVER_CONF is a complete main conf used as is.
    Returns the CompletedProcess (returncode, stdout, stderr as text).
    """
    prefix = Path(prefix)
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "temp").mkdir(exist_ok=True)
    conf = _prepare(prefix, server_conf, http_extra) if wrap else Path(server_conf)
    return subprocess.run(
        [NGINX, "-t", "-p", str(prefix), "-c", str(conf),
         "-e", str(prefix / "logs" / "error.log")],
        capture_output=True, text=True)


class Nginx:
    def __init__(self, proc, *, prefix, conf, host, port):
        self.proc = proc
        self.pid = proc.pid
        self.prefix = Path(prefix)
        self.conf = Path(conf)
        self.host = host
        self.port = port
        self.url = "http://%s:%d" % (host, port)

    def __repr__(self):
        return "<Nginx pid %d %s>" % (self.pid, self.url)

    def error_log(self):
        p = self.prefix / "logs" / "error.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def access_log(self):
        p = self.prefix / "logs" / "access.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def alive(self):
        return self.proc.poll() is None

    def reload(self):
        """SIGHUP the master (re-read the config)."""
        os.kill(self.pid, 1)

    def stop(self, timeout=10.0):
        return procs.stop(self.proc, timeout=timeout)


def start_nginx(prefix, server_conf, *, port, host="127.0.0.1",
                http_extra="", startup_timeout=10.0):
    """Start nginx in the foreground with SERVER_CONF (path or text).

    PORT is the port SERVER_CONF listens on (we wait for it).  Runs
    `nginx -t` first so a bad config raises NginxError with its message.
    """
    prefix = Path(prefix)
    t = nginx_t(server_conf, prefix, http_extra=http_extra)
    if t.returncode != 0:
        raise NginxError("nginx -t failed:\n%s%s" % (t.stdout, t.stderr))
    conf = prefix / "nginx.conf"
    proc = procs.spawn(
        [NGINX, "-p", prefix, "-c", conf, "-e", prefix / "logs" / "error.log"],
        name="nginx %s" % prefix, log=prefix / "logs" / "stdout.log")
    ng = Nginx(proc, prefix=prefix, conf=conf, host=host, port=port)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if port_open(host, port):
            return ng
        time.sleep(0.05)
    ng.stop()
    raise NginxError("nginx did not start listening on %s:%d:\n%s"
                     % (host, port, ng.error_log()[-3000:]))

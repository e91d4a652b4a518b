# A throw-away redis-server on a free loopback port (optionally also a Unix
# socket and a password), with its own dir and no persistence, run in the
# foreground and stopped by PID.
import time
from pathlib import Path

import redis as redis_py  # Debian's python3-redis (the client library)

from testenv import procs
from testenv.ports import free_port

REDIS_SERVER = "/usr/bin/redis-server"


class RedisError(RuntimeError):
    pass


class RedisServer:
    def __init__(self, proc, *, host, port, password, workdir, unixsocket,
                 log):
        self.proc = proc
        self.pid = proc.pid
        self.host = host
        self.port = port
        self.password = password
        self.dir = Path(workdir)
        self.unixsocket = unixsocket
        self.log = Path(log)

    def __repr__(self):
        return "<RedisServer pid %d %s:%d>" % (self.pid, self.host, self.port)

    def url(self, db=0):
        """redis://[:password@]host:port/db, as used in omero.web.caches."""
        auth = ":%s@" % self.password if self.password else ""
        return "redis://%s%s:%d/%d" % (auth, self.host, self.port, db)

    def unix_url(self, db=0):
        """unix://[:password@]/path.sock?db=N (None without a socket)."""
        if not self.unixsocket:
            return None
        auth = ":%s@" % self.password if self.password else ""
        return "unix://%s%s?db=%d" % (auth, self.unixsocket, db)

    def client(self, db=0):
        """A redis-py client (decode_responses=False) for database DB."""
        return redis_py.Redis(host=self.host, port=self.port, db=db,
                              password=self.password, socket_timeout=5)

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10.0):
        return procs.stop(self.proc, timeout=timeout)


def start_redis(workdir, *, host="127.0.0.1", port=None, password=None,
                unixsocket=False, startup_timeout=10.0, extra_conf=()):
    """Start redis-server in WORKDIR (created) and wait for PING.

    UNIXSOCKET True adds WORKDIR/redis.sock; EXTRA_CONF lines are added to
    redis.conf ("%(port)d" in them is the port).  Raises RedisError.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sock = str(workdir / "redis.sock") if unixsocket else None
    log = workdir / "redis.log"
    attempts = 3 if port is None else 1
    for attempt in range(attempts):
        p = port if port is not None else free_port(host)
        conf = [
            "bind %s" % host,
            "port %d" % p,
            "dir %s" % workdir,
            "daemonize no",
            'save ""',
            "appendonly no",
            "logfile %s" % log,
            "pidfile %s" % (workdir / "redis.pid"),
        ]
        if password:
            conf.append("requirepass %s" % password)
        if sock:
            conf += ["unixsocket %s" % sock, "unixsocketperm 700"]
        conf += [line % {"port": p} for line in extra_conf]
        cf = workdir / "redis.conf"
        cf.write_text("\n".join(conf) + "\n")
        proc = procs.spawn([REDIS_SERVER, cf], name="redis-server %s" % workdir,
                           log=workdir / "redis.stdout", cwd=workdir)
        srv = RedisServer(proc, host=host, port=p, password=password,
                          workdir=workdir, unixsocket=sock, log=log)
        deadline = time.monotonic() + startup_timeout
        err = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if srv.client().ping():
                    return srv
            except redis_py.exceptions.RedisError as e:
                err = e
            time.sleep(0.05)
        srv.stop()
        text = srv.log_text()
        if "Address already in use" in text and attempt + 1 < attempts:
            log.unlink()
            continue
        raise RedisError("redis-server did not start (%s):\n%s"
                         % (err, text[-3000:]))
    raise RedisError("could not bind a free port")
